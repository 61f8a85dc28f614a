"""The RL recipes, each one function (and one `nanoseek rl --recipe ...` command):

    rl_recipe   GRPO on a checkpoint (usually the SFT model), evaluated before and after
    r1_zero     R1-Zero: GRPO straight from the pretrained base with the plain-text R1-Zero
                template; accuracy + format rewards only (R1-Zero had no language reward)
    r1          R1: cold-start SFT on a few worked traces -> GRPO with the language-
                consistency reward -> rejection sampling of correct, well-formed,
                single-language traces -> SFT (from the base, as R1) -> GRPO again
    distill     (nanoseek.train.distill) a teacher's verified traces -> SFT of a student
    compare_presets  GRPO presets side by side: one checkpoint, one budget each, evaluated
                after each (benchmarks/rl_presets.py)

Every recipe writes into `out_dir`: one sub-directory per stage (an HF checkpoint with its
metrics.jsonl), `eval_<stage>.json`, PNG plots and `report.md` with the before/after tables
(per RL stage whose starting and final models were both evaluated: reward, greedy and sampled
pass@1 per family before and after, with 95% intervals).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

from nanoseek.data.rewards import RewardWeights
from nanoseek.eval.evaluate import EvalConfig, EvalResults, evaluate_dir, load_checkpoint
from nanoseek.eval.report import plot_eval, plot_grpo, plot_loss, rl_section, write_report
from nanoseek.train import checkpoint as ckpt
from nanoseek.train.grpo import PRESETS, GRPOConfig, grpo
from nanoseek.train.trainer import TrainConfig


@dataclass
class RecipeResult:
    out_dir: Path
    final_model: Path
    stages: list[dict] = field(default_factory=list)  # name, seconds, and the stage's own numbers
    results: dict[str, EvalResults] = field(default_factory=dict)  # evaluation name -> results
    report: Path | None = None

    def summary(self) -> str:
        names = list(self.results)
        parts = [f"{n} {100 * self.results[n].get('pass@1'):.1f}%" for n in names]
        return f"held-out pass@1: {' -> '.join(parts)}; report: {self.report}; model: {self.final_model}"


class _Recipe:
    """Bookkeeping shared by the recipes: stage timings, evaluations, plots, the report."""

    def __init__(self, out_dir: str | Path, evaluation: EvalConfig, template: str = "chat"):
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and any(self.out_dir.iterdir()):
            raise ckpt.RunError(f"{self.out_dir} exists and is not empty: choose another --out")
        self.evaluation, self.template = evaluation, template
        self.stages: list[dict] = []
        self.results: dict[str, EvalResults] = {}
        self.plots: list[Path] = []
        self.losses: dict[str, Path] = {}
        self.evaluated: dict[Path, str] = {}  # model directory -> the name of its evaluation
        self.rl_runs: list[tuple[str, Path, GRPOConfig]] = []  # stage name, starting model, settings

    def eval(self, name: str, model_dir: Path) -> EvalResults:
        r = evaluate_dir(model_dir, self.evaluation, self.template)
        self.results[name] = r
        self.evaluated[Path(model_dir).resolve()] = name
        self.out_dir.mkdir(parents=True, exist_ok=True)
        r.save(self.out_dir / f"eval_{name}.json")
        print(f"eval {name}: pass@1 {100 * r.get('pass@1'):.1f}% "
              f"(format {100 * r.get('format'):.0f}%, {r.seconds:.0f}s)", flush=True)
        return r

    def stage(self, name: str, seconds: float, **numbers) -> None:
        self.stages.append({"stage": name, "seconds": round(seconds, 1), **numbers})

    def rl(self, name: str, init: Path, config: GRPOConfig) -> Path:
        t = time.perf_counter()
        result = grpo(init, self.out_dir / name, config)
        h = result.history
        self.stage(name, time.perf_counter() - t, steps=result.steps,
                   tokens=sum(m["tokens"] for m in h),
                   reward=f"{h[0]['reward']:.3f} -> {h[-1]['reward']:.3f}",
                   response_length=f"{h[0]['response_length']:.0f} -> {h[-1]['response_length']:.0f}")
        self.plots += plot_grpo(self.out_dir / name / ckpt.METRICS_FILE, self.out_dir, prefix=name,
                                window=config.pass_window)
        self.rl_runs.append((name, Path(init).resolve(), config))
        return self.out_dir / name

    def sft(self, name: str, init: Path, chats: list[list[dict]], train_config: TrainConfig,
            seq_len: int, batch_size: int, seed: int = 0) -> Path:
        from nanoseek.train.pretrain import DataConfig
        from nanoseek.train.sft import sft

        t = time.perf_counter()
        result = sft(init, self.out_dir / name, train_config=train_config, chats=chats,
                     data=DataConfig(batch_size=batch_size, seq_len=seq_len, seed=seed))
        self.stage(name, time.perf_counter() - t, steps=result.step, tokens=result.tokens,
                   loss=round(result.losses[-1], 4) if result.losses else None, chats=len(chats))
        self.losses[name] = self.out_dir / name / ckpt.METRICS_FILE
        return self.out_dir / name

    def finish(self, final_model: Path, title: str, notes: str | None = None) -> RecipeResult:
        plots = list(self.plots)
        if self.losses:
            p = plot_loss(self.losses, self.out_dir / "sft_loss.png")
            plots += [p] if p else []
        if self.results:
            p = plot_eval(self.results, self.out_dir / "eval_pass1.png")
            plots += [p] if p else []
        report = write_report(self.out_dir, self.stages, self.results, plots, title=title, notes=notes,
                              sections=self._rl_sections())
        return RecipeResult(self.out_dir, final_model, self.stages, self.results, report)


    def _rl_sections(self) -> list[str]:
        sections = []
        for name, init, config in self.rl_runs:
            before, after = self.evaluated.get(init), self.evaluated.get((self.out_dir / name).resolve())
            if before and after:
                sections.append(rl_section(name, before, self.results[before], after, self.results[after],
                                           config.reward))
        return sections


# ---- recipes ------------------------------------------------------------------------------------


def rl_recipe(model_dir: str | Path, out_dir: str | Path, config: GRPOConfig | None = None, *,
              evaluation: EvalConfig | None = None) -> RecipeResult:
    """GRPO on `model_dir` (e.g. the SFT model) into out_dir/rl, held-out eval before and after."""
    config = config or GRPOConfig()
    rec = _Recipe(out_dir, evaluation or EvalConfig(), config.template)
    model_dir = Path(model_dir)
    rec.eval("before", model_dir)
    final = rec.rl("rl", model_dir, config)
    rec.eval("after", final)
    return rec.finish(final, "GRPO", _config_note(config))


def r1_zero(base_dir: str | Path, out_dir: str | Path, config: GRPOConfig | None = None, *,
            evaluation: EvalConfig | None = None) -> RecipeResult:
    """R1-Zero: RL from the pretrained base, R1-Zero template, accuracy + format rewards."""
    config = config or GRPOConfig()
    config = replace(config, template="r1-zero", reward=replace(config.reward, language=0.0))
    rec = _Recipe(out_dir, evaluation or EvalConfig(), "r1-zero")
    base_dir = Path(base_dir)
    rec.eval("base", base_dir)
    final = rec.rl("r1_zero", base_dir, config)
    rec.eval("r1_zero", final)
    return rec.finish(final, "R1-Zero: GRPO from the base model", _config_note(config))


def compare_presets(model_dir: str | Path, out_dir: str | Path, presets: Sequence[str] = ("default", "nanochat"),
                    base: GRPOConfig | None = None, *, evaluation: EvalConfig | None = None) -> RecipeResult:
    """GRPO from `model_dir` once per named preset (`base.with_preset(name)`: the preset's
    settings over base's, so every run has base's budget, steps and max_seconds), each into
    out_dir/<preset>; the held-out evaluation before (once) and after each run. For a fair
    comparison by wall time, run it on an otherwise idle machine."""
    base = base or GRPOConfig()
    configs = {name: base.with_preset(name) for name in presets}  # bad names fail before any work
    rec = _Recipe(out_dir, evaluation or EvalConfig(), base.template)
    model_dir = Path(model_dir)
    rec.eval("before", model_dir)
    final = model_dir
    for name, config in configs.items():
        final = rec.rl(name, model_dir, config)
        rec.eval(name, final)
    presets_note = "; ".join(f"{name}: {PRESETS[name] or 'as base'}" for name in configs)
    return rec.finish(final, "GRPO presets from one checkpoint, one budget each",
                      f"Base {_config_note(base)}\n\nPresets over the base: {presets_note}.")


@dataclass
class R1Config:
    """The four stages of R1 (sizes for the CPU speedrun model; scale them up on a GPU)."""

    cold_start_per_family: int = 12  # worked traces per family and language for the cold start
    cold_start: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=60, lr=3e-4, warmup_steps=5, schedule="cosine", save_every=0, progress=False))
    rl1: GRPOConfig = field(default_factory=lambda: GRPOConfig(reward=RewardWeights(1.0, 0.2, 0.1)))
    rejection_per_family: int = 8  # training problems per family and language
    rejection_k: int = 4  # samples per problem
    sft2: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=60, lr=3e-4, warmup_steps=5, schedule="cosine", save_every=0, progress=False))
    sft2_from: str = "base"  # "base" (as R1: fine-tune the base on the curated data) | "rl1"
    rl2: GRPOConfig = field(default_factory=GRPOConfig)
    seq_len: int = 384
    batch_size: int = 8
    seed: int = 0


def r1(base_dir: str | Path, out_dir: str | Path, config: R1Config | None = None, *,
       evaluation: EvalConfig | None = None) -> RecipeResult:
    """DeepSeek-R1's pipeline on a pretrained base. The SFT data of stage 3 is the rejection-
    sampled traces plus the cold-start traces and identity chats (R1 added non-reasoning
    data there too)."""
    from nanoseek.data.corpus import task_conversations
    from nanoseek.data.identity import identity_conversations
    from nanoseek.train.rejection import rejection_sample, train_problems

    cfg = config or R1Config()
    if cfg.sft2_from not in ("base", "rl1"):
        raise ValueError(f"R1Config.sft2_from must be 'base' or 'rl1', got {cfg.sft2_from!r}")
    rec = _Recipe(out_dir, evaluation or EvalConfig())
    base_dir = Path(base_dir)
    langs = cfg.rl1.langs
    # 1. cold start
    cold = [c for lang in langs for c in task_conversations(lang, cfg.cold_start_per_family, cfg.seed)]
    cold_dir = rec.sft("cold_start", base_dir, cold, cfg.cold_start, cfg.seq_len, cfg.batch_size, cfg.seed)
    rec.eval("cold_start", cold_dir)
    # 2. reasoning RL with the language-consistency reward
    rl1_dir = rec.rl("rl1", cold_dir, cfg.rl1)
    rec.eval("rl1", rl1_dir)
    # 3. rejection sampling from the RL model, then SFT
    t = time.perf_counter()
    model, tokenizer = load_checkpoint(rl1_dir)
    problems = train_problems(cfg.rl1.families, langs, cfg.rejection_per_family, seed=cfg.seed + 1)
    kept, stats = rejection_sample(model, tokenizer, problems, cfg.rejection_k,
                                   max_new_tokens=cfg.rl1.max_new_tokens, seed=cfg.seed)
    with open(rec.out_dir / "rejection_sampled.jsonl", "w", encoding="utf-8") as f:
        for chat in kept:
            f.write(json.dumps({"messages": chat}, ensure_ascii=False) + "\n")
    rec.stage("rejection_sampling", time.perf_counter() - t, **stats)
    general = [c for lang in langs for c in identity_conversations(lang, cfg.seed)]
    sft2_init = base_dir if cfg.sft2_from == "base" else rl1_dir
    sft2_dir = rec.sft("sft2", sft2_init, kept + cold + general, cfg.sft2, cfg.seq_len, cfg.batch_size,
                       cfg.seed)
    rec.eval("sft2", sft2_dir)
    # 4. RL again, all rewards
    rl2_dir = rec.rl("rl2", sft2_dir, cfg.rl2)
    rec.eval("rl2", rl2_dir)
    note = (f"Rejection sampling kept {stats['kept']} of {stats['samples']} samples "
            f"({100 * stats['correct']:.0f}% correct, {100 * stats['well_formed']:.0f}% well formed).\n\n"
            + _config_note(cfg.rl2))
    return rec.finish(rl2_dir, "R1: cold start -> RL -> rejection sampling + SFT -> RL", note)


def _config_note(config: GRPOConfig) -> str:
    keys = ["steps", "prompts_per_step", "group_size", "max_new_tokens", "lr", "inner_updates", "beta",
            "clip_eps", "loss_norm", "scale_rewards", "advantage", "policy_loss", "temperature", "template",
            "pass_window", "dynamic_sampling"]
    d = asdict(config)
    return "GRPO: " + ", ".join(f"{k}={d[k]}" for k in keys) + f", reward weights {d['reward']}."


def summary_rows(results: dict[str, EvalResults], families: Sequence[str] | None = None) -> list[dict]:
    """pass@1 per family for each evaluation (handy for printing)."""
    families = families or next(iter(results.values())).families
    return [{"eval": n, **{f: round(r.get("pass@1", f), 3) for f in families}, "all": round(r.get("pass@1"), 3)}
            for n, r in results.items()]


__all__ = ["R1Config", "RecipeResult", "compare_presets", "r1", "r1_zero", "rl_recipe"]
