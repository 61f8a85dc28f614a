"""The speedrun: tokenizer -> pretrain -> SFT -> GRPO -> evaluation -> report, one command.

    nanoseek speedrun [--profile speedrun|tiny] [--name NAME]

Everything lands in `runs/<name>/`: one directory per stage, `stages.json` (what each
finished stage took and reached), `report.md` with PNG plots, and `model/`, the final HF
checkpoint to chat with. A stage that finished is never redone: rerunning the command
continues where it stopped (a killed pretraining, SFT or RL stage resumes from its checkpoint).

Profiles are named budgets for the same pipeline: `speedrun` fits 20 minutes on 2 CPU cores,
`tiny` is a smoke test of under 3 minutes, `gpu` is a larger model for one GPU (or many:
`torchrun --nproc_per_node N -m nanoseek.cli pretrain ...` for the pretraining stage).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from nanoseek.data.mixture import MixtureConfig
from nanoseek.eval.evaluate import EvalConfig
from nanoseek.train import checkpoint as ckpt
from nanoseek.train.grpo import GRPOConfig
from nanoseek.train.pretrain import DataConfig
from nanoseek.train.trainer import TrainConfig

STAGES = ("tokenizer", "pretrain", "sft", "rl", "eval", "report")
TOKENIZER_TASK_CHATS = 3000  # generated task chats the tokenizer is trained on (beside all other text)
SPEEDRUN_TOP_LEVEL = 3  # the hardest task level the speedrun pretrains on, and so reinforces and evaluates
# The speedrun's 20 minutes: GRPO stops at its RL_SECONDS; SFT plans the steps that fit SFT_SECONDS
# (its step count, a cap, is what fits on the slowest CPU measured); pretraining takes the rest.
# It plans its steps to leave PRETRAIN_RESERVE_STEPS of its own measured steps' time for SFT and
# evaluation, which run at the same CPU's speed and took less than that on every CPU measured
# (docs/experiments.md), so a faster CPU pretrains longer as well as faster. Its step cap lies
# above what fits on every CPU measured. MARGIN_SECONDS covers tokenizer, report and the spread.
SPEEDRUN_SECONDS, MARGIN_SECONDS, RL_SECONDS, SFT_SECONDS = 1200, 70, 90, 150
PRETRAIN_SECONDS, PRETRAIN_RESERVE_STEPS = SPEEDRUN_SECONDS - MARGIN_SECONDS - RL_SECONDS, 850


@dataclass
class Profile:
    model_preset: str
    vocab_size: int
    mixture: MixtureConfig  # what pretraining draws (shares of tasks, chat, text; families; languages)
    sft_task_chats: int  # generated task chats in the SFT set (chats join in the mixture's proportion)
    pretrain: TrainConfig
    pretrain_data: DataConfig
    sft: TrainConfig
    sft_data: DataConfig
    rl: GRPOConfig
    eval: EvalConfig
    model_overrides: dict = field(default_factory=dict)


def _profiles() -> dict[str, Callable[[], Profile]]:
    quiet = dict(progress=None, save_every=50, keep_last=2)
    return {
        "speedrun": lambda: Profile(
            model_preset="speedrun", vocab_size=4096, mixture=MixtureConfig(max_difficulty=SPEEDRUN_TOP_LEVEL),
            sft_task_chats=3000,
            # lr 1e-3, compiled, MTP only in the last tenth (docs/experiments.md); precision "auto" (bf16 on
            # CPUs with bf16 units). SFT compiled too: it reuses pretraining's graphs (same shapes).
            # max_seconds: the 20 minutes hold on slower CPUs too, which train fewer steps (budget.py).
            pretrain=TrainConfig(steps=6000, lr=1e-3, warmup_steps=20, router_bias_gamma=0.01, compile=True,
                                 mtp_start=0.9, max_seconds=PRETRAIN_SECONDS,
                                 reserve_steps=PRETRAIN_RESERVE_STEPS, **quiet),
            pretrain_data=DataConfig(batch_size=8, seq_len=256),
            sft=TrainConfig(steps=200, lr=5e-4, warmup_steps=10, schedule="cosine", router_bias_gamma=0.01,
                            compile=True, max_seconds=SFT_SECONDS, **quiet),
            sft_data=DataConfig(batch_size=8, seq_len=256),
            # loss_norm "token": GRPO's per-sequence mean weights the shorter (right) answers' tokens
            # more, so a shared prefix drifts; it ran addition as multiplication (docs/experiments.md, runs 44-48).
            rl=GRPOConfig(steps=30, prompts_per_step=8, group_size=8, max_new_tokens=256, lr=2e-5, loss_norm="token",
                          families=("addition", "subtraction", "multiplication", "linear_equation"),
                          max_difficulty=SPEEDRUN_TOP_LEVEL, max_seconds=RL_SECONDS),
            # max_new_tokens: room for every level-3 arithmetic trace with its answer (docs/experiments.md);
            # the longest logic traces still run past it
            eval=EvalConfig(n_per=64, k=1, max_new_tokens=256, difficulty=tuple(range(1, SPEEDRUN_TOP_LEVEL + 1)),
                            max_slots=256),
        ),
        "tiny": lambda: Profile(
            model_preset="tiny", vocab_size=1024, mixture=MixtureConfig(), sft_task_chats=100,
            pretrain=TrainConfig(steps=30, lr=3e-3, warmup_steps=3, router_bias_gamma=0.01, **quiet),
            pretrain_data=DataConfig(batch_size=8, seq_len=128),
            sft=TrainConfig(steps=20, lr=1e-3, warmup_steps=2, schedule="cosine", **quiet),
            sft_data=DataConfig(batch_size=8, seq_len=128),
            rl=GRPOConfig(steps=2, prompts_per_step=4, group_size=4, max_new_tokens=32,
                          families=("addition",), langs=("en",)),
            eval=EvalConfig(n_per=2, max_new_tokens=32, families=("addition", "calendar")),
        ),
        "gpu": lambda: Profile(
            model_preset="reference", vocab_size=8192, mixture=MixtureConfig(), sft_task_chats=20000,
            pretrain=TrainConfig(steps=5000, lr=2e-3, warmup_steps=200, router_bias_gamma=0.001,
                                 compile=True, save_every=500),
            pretrain_data=DataConfig(batch_size=64, seq_len=1024),
            sft=TrainConfig(steps=1000, lr=5e-4, warmup_steps=50, schedule="cosine", save_every=500),
            sft_data=DataConfig(batch_size=32, seq_len=1024),
            rl=GRPOConfig(steps=200, prompts_per_step=32, group_size=16, max_new_tokens=512),
            eval=EvalConfig(n_per=50, k=4, max_new_tokens=512),
            model_overrides={"num_nextn_predict_layers": 1, "max_position_embeddings": 4096},
        ),
    }


PROFILES = tuple(_profiles())


def profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {list(PROFILES)}")
    return _profiles()[name]()


class Speedrun:
    """Runs the stages in order into `run_dir`, skipping those `stages.json` marks as done."""

    def __init__(self, run_dir: str | Path, profile_name: str = "speedrun", log: Callable[[str], None] = print,
                 custom: Profile | None = None):
        """`custom` replaces the named profile's settings (tests use a miniature one; `speedrun`
        one without time budgets)."""
        self.run_dir, self.profile_name, self.log = Path(run_dir), profile_name, log
        self.profile = custom or profile(profile_name)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        recorded = self._read_json("run.json")
        if recorded and recorded["profile"] != profile_name:
            raise ckpt.RunError(f"{self.run_dir} holds a '{recorded['profile']}' run, not '{profile_name}': "
                                f"choose another --name")
        ckpt.atomic_write_text(self.run_dir / "run.json", json.dumps({"profile": profile_name}) + "\n")
        self.stages: dict[str, dict] = self._read_json("stages.json") or {}

    def run(self) -> Path:
        t0 = time.perf_counter()
        for i, name in enumerate(STAGES, start=1):
            if name in self.stages:
                self.log(f"[{i}/{len(STAGES)}] {name}: done earlier ({self.stages[name]['seconds']:.0f}s), skipped")
                continue
            self.log(f"[{i}/{len(STAGES)}] {name} ...")
            start = time.perf_counter()
            numbers = getattr(self, f"_{name}")()
            self.stages[name] = {"seconds": round(time.perf_counter() - start, 1), **numbers}
            ckpt.atomic_write_text(self.run_dir / "stages.json", json.dumps(self.stages, indent=2) + "\n")
            self.log(f"[{i}/{len(STAGES)}] {name} done in {self.stages[name]['seconds']:.0f}s: {numbers}")
        self.log(f"speedrun finished in {time.perf_counter() - t0:.0f}s this session; report: "
                 f"{self.run_dir / 'report.md'}")
        self.log(f"chat with it:  nanoseek chat --model {self.run_dir / 'model'}")
        self.log(f"or serve it:   nanoseek serve --model {self.run_dir / 'model'}")
        return self.run_dir / "model"

    # ---- stages -------------------------------------------------------------------------

    def _tokenizer(self) -> dict:
        """BPE on the bundled text and chats plus a sample of the generated task chats."""
        from nanoseek.data.corpus import pretraining_mixture
        from nanoseek.data.mixture import task_chats
        from nanoseek.tokenizer import render_chat, train_tokenizer

        texts = [d.text for d in pretraining_mixture(tasks_per_family=0)]
        texts += [render_chat(c) for c in task_chats(TOKENIZER_TASK_CHATS, self.profile.mixture, seed=2)]
        tokenizer = train_tokenizer(texts, self.profile.vocab_size)
        tokenizer.save(self.run_dir / "data")
        tokens = sum(map(len, tokenizer.encode_batch(texts)))
        return {"docs": len(texts), "vocabulary": tokenizer.vocab_size,
                "bytes_per_token": round(sum(len(t.encode()) for t in texts) / tokens, 2)}

    def _pretrain(self) -> dict:
        from nanoseek.train.pretrain import pretrain

        out = self.run_dir / "base"
        p = self.profile
        result = pretrain(self.run_dir / "data", out, model_preset=p.model_preset, train_config=p.pretrain,
                          data=p.pretrain_data, model_overrides=p.model_overrides or None,
                          resume=ckpt.latest_checkpoint(out) is not None, mixture=p.mixture)
        return _train_numbers(result, out)

    def _sft(self) -> dict:
        from nanoseek.data.mixture import sft_chats
        from nanoseek.train.sft import sft

        out = self.run_dir / "sft"
        p = self.profile
        chats = sft_chats(p.sft_task_chats, p.mixture, seed=1)
        result = sft(self.run_dir / "base", out, train_config=p.sft, data=p.sft_data, chats=chats,
                     resume=ckpt.latest_checkpoint(out) is not None)
        return _train_numbers(result, out) | {"chats": len(chats)}

    def _rl(self) -> dict:
        from nanoseek.train.grpo import grpo

        out = self.run_dir / "rl"
        resume = ckpt.latest_checkpoint(out) is not None
        if not resume:  # killed before its first checkpoint: nothing there to keep
            shutil.rmtree(out, ignore_errors=True)
        result = grpo(self.run_dir / "sft", out, self.profile.rl, resume=resume)
        if result.interrupted:
            raise KeyboardInterrupt(f"stopped by signal {result.interrupted}; rerun to continue")
        h = result.history
        final = self.run_dir / "model"
        shutil.rmtree(final, ignore_errors=True)
        shutil.copytree(out, final, ignore=shutil.ignore_patterns("checkpoints", "*.jsonl", "*.png", "run.json"))
        return {"steps": result.steps, "tokens": sum(m["tokens"] for m in h),
                "reward": f"{h[0]['reward']:.3f} -> {h[-1]['reward']:.3f}"}

    def _eval(self) -> dict:
        """The final model gets the profile's whole evaluation; the SFT model, there for the
        before/after comparison of RL, all of it but the unseen phrasings (time)."""
        from nanoseek.eval.evaluate import evaluate_dir

        before = replace(self.profile.eval, unseen_phrasings=False)
        summary = {}
        for name, model_dir, evaluation in [("sft", self.run_dir / "sft", before),
                                            ("rl", self.run_dir / "model", self.profile.eval)]:
            results = evaluate_dir(model_dir, evaluation)
            results.save(self.run_dir / f"eval_{name}.json")
            summary[f"pass@1_{name}"] = round(results.get("pass@1"), 4)
        return summary

    def _report(self) -> dict:
        from nanoseek import Transformer
        from nanoseek.eval.evaluate import EvalResults
        from nanoseek.data.mixture import token_table
        from nanoseek.eval.report import markdown_table, plot_eval, plot_grpo, plot_loss, rl_section, write_report
        from nanoseek.train.pretrain import MIXTURE_FILE

        results = {name: EvalResults.load(self.run_dir / f"eval_{name}.json") for name in ("sft", "rl")}
        plots = [plot_loss({s: self.run_dir / s / ckpt.METRICS_FILE for s in ("base", "sft")},
                           self.run_dir / "loss.png"),
                 *plot_grpo(self.run_dir / "rl" / ckpt.METRICS_FILE, self.run_dir, prefix="rl",
                            window=self.profile.rl.pass_window),
                 plot_eval(results, self.run_dir / "accuracy.png")]
        model = Transformer.from_pretrained(self.run_dir / "model")
        facts = {"profile": self.profile_name, "preset": self.profile.model_preset,
                 "parameters": f"{model.num_params():,}", "active parameters": f"{model.num_params(active=True):,}",
                 "vocabulary": model.config.vocab_size}
        stages = [{"stage": name, **numbers} for name, numbers in self.stages.items()]
        total = sum(s["seconds"] for s in self.stages.values())
        tokens = json.loads((self.run_dir / "base" / MIXTURE_FILE).read_text())
        budgets = "; ".join(_budget_line(name, config, self.stages[stage]["steps"]) for name, stage, config in
                            [("pretraining", "pretrain", self.profile.pretrain), ("SFT", "sft", self.profile.sft)])
        notes = (f"Total stage time: {total:.0f}s. {budgets}.\n\n"
                 "## Pretraining tokens trained per source and language\n\n"
                 + markdown_table(*token_table(tokens)))
        rl = rl_section("rl", "sft", results["sft"], "rl", results["rl"], self.profile.rl.reward)
        write_report(self.run_dir, stages, results, [p for p in plots if p], model=facts,
                     title=f"nanoseek speedrun ({self.profile_name})", notes=notes, sections=[rl])
        return {}

    def _read_json(self, name: str) -> dict | None:
        path = self.run_dir / name
        return json.loads(path.read_text()) if path.is_file() else None


def _budget_line(name: str, config: TrainConfig, steps: int) -> str:
    """How many of a training stage's steps its time budget let run."""
    if config.max_seconds is None:
        return f"{name}: {steps} steps, no time budget"
    kept = f" less {config.reserve_steps:.0f} steps' time kept for the stages after" if config.reserve_steps else ""
    return f"{name}: {steps} of {config.steps} steps fit its {config.max_seconds:.0f} s budget{kept}"


def _train_numbers(result, out_dir: Path) -> dict:
    """Steps, tokens, final loss, and throughput and MFU (median over the run's logged steps)."""
    from statistics import median

    from nanoseek.train.metrics import read_metrics

    if result.interrupted:
        raise KeyboardInterrupt(f"stopped by signal {result.interrupted}; rerun to continue")
    steps = read_metrics(out_dir / ckpt.METRICS_FILE)
    return {"steps": result.step, "tokens": sum(m["tokens"] for m in steps),
            "loss": round(steps[-1]["loss"], 4),
            "tokens_per_s": round(median(m["tokens_per_s"] for m in steps)),
            "mfu": f"{median(m['mfu'] for m in steps):.1%}"}


def speedrun(name: str = "speedrun", profile_name: str = "speedrun", runs_dir: str | Path = "runs",
             time_budget: bool = True) -> Path:
    """Run (or continue) `runs/<name>` with a profile; returns the final checkpoint directory.
    `time_budget=False` drops the training stages' wall-time budgets (all their steps)."""
    p = profile(profile_name)
    if not time_budget:
        p.pretrain, p.sft = replace(p.pretrain, max_seconds=None), replace(p.sft, max_seconds=None)
    return Speedrun(Path(runs_dir) / name, profile_name, custom=p).run()
