"""The `nanoseek` command. Thin: each subcommand parses its arguments and calls the library.

Adding a subcommand: write `_add_NAME(sub)` that builds its parser and sets `run=` to a
function taking the parsed args and returning an exit code, and list it in COMMANDS.
Errors a user can fix (bad preset, missing directory, an output directory holding another
run) are one line on stderr and exit status 2; nothing is written before they are checked.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

EXIT_USAGE = 2  # bad input: nothing was done
EXIT_DIVERGED = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage dump
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


# ---- shared options -------------------------------------------------------------------------


def _add_train_options(p: argparse.ArgumentParser, *, lr: float, schedule: str, warmup: int) -> None:
    from nanoseek.train.precision import PRECISIONS
    from nanoseek.train.schedule import SCHEDULES

    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=int, default=200, help="optimizer steps (default 200)")
    g.add_argument("--batch-size", type=int, default=8, help="sequences per micro-batch per process")
    g.add_argument("--seq-len", type=int, default=256, help="tokens per sequence")
    g.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    g.add_argument("--lr", type=float, default=lr, help=f"peak learning rate (default {lr})")
    g.add_argument("--schedule", default=schedule, help=f"one of {', '.join(SCHEDULES)} (default {schedule})")
    g.add_argument("--warmup-steps", type=int, default=warmup)
    g.add_argument("--decay-frac", type=float, default=0.2, help="WSD: share of steps spent decaying")
    g.add_argument("--min-lr-ratio", type=float, default=0.1, help="final lr / peak lr")
    g.add_argument("--weight-decay", type=float, default=0.1, help="AdamW decay of weight matrices")
    g.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm (0 = off)")
    g.add_argument("--router-bias-gamma", type=float, default=1e-3, help="MoE bias update speed")
    g.add_argument("--seed", type=int, default=0)
    g = p.add_argument_group("run")
    g.add_argument("--out", required=True, help="output directory (checkpoints, metrics, final model)")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    g.add_argument("--save-every", type=int, default=100, help="checkpoint period in steps (0 = end only)")
    g.add_argument("--keep-last", type=int, default=3, help="checkpoints kept")
    g.add_argument("--max-bad-steps", type=int, default=5, help="NaN/inf steps in a row before aborting")
    g.add_argument("--max-seconds", type=float, default=None,
                   help="wall-time budget: train the steps that fit (planned from the measured speed)")
    g.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                   help="torch.compile the training step (--no-compile: eager)")
    g.add_argument("--parallel", default="ddp", help="under torchrun: ddp, fsdp or replicate")
    g.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="matmul precision: fp32, bf16 (mixed), int8 (V3's block-scaled GEMMs); "
                        "auto = bf16 where the hardware has bf16 units, else fp32")
    g.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: cores / processes)")
    g.add_argument("--log-every", type=int, default=10, help="text log period without a progress bar")
    g.add_argument("--no-progress", action="store_true", help="no progress bar, plain log lines")


def _train_config(args: argparse.Namespace):
    from nanoseek.train import TrainConfig

    return TrainConfig(
        steps=args.steps, grad_accum=args.grad_accum, lr=args.lr, schedule=args.schedule,
        warmup_steps=args.warmup_steps, decay_frac=args.decay_frac, min_lr_ratio=args.min_lr_ratio,
        weight_decay=args.weight_decay, grad_clip=args.grad_clip, router_bias_gamma=args.router_bias_gamma,
        compile=args.compile, parallel=args.parallel, save_every=args.save_every, keep_last=args.keep_last,
        max_bad_steps=args.max_bad_steps, max_seconds=args.max_seconds, log_every=args.log_every,
        progress=False if args.no_progress else None, precision=args.precision,
    )


def _data_config(args: argparse.Namespace):
    from nanoseek.train import DataConfig

    return DataConfig(batch_size=args.batch_size, seq_len=args.seq_len, seed=args.seed)


def _set_threads(args: argparse.Namespace) -> None:
    import torch

    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // local))


def _finish(result) -> int:
    from nanoseek.train import distributed

    if distributed.current().is_main:
        print(result.summary(), file=sys.stderr)
    distributed.shutdown()
    return 128 + result.interrupted if result.interrupted else 0


# ---- subcommands ----------------------------------------------------------------------------


def _add_pretrain(sub) -> None:
    p = sub.add_parser("pretrain", help="pretrain a fresh model on packed token shards")
    p.add_argument("--data", required=True, help="directory of packed shards (index.json)")
    p.add_argument("--preset", default="speedrun", help="model size: tiny, reference, speedrun")
    p.add_argument("--tokenizer", default=None, help="directory with tokenizer.json (default: --data)")
    p.add_argument("--mtp-loss-weight", type=float, default=None, help="MTP lambda (default: the preset's)")
    p.add_argument("--balance-loss-alpha", type=float, default=None, help="balance loss alpha")
    _add_train_options(p, lr=3e-3, schedule="wsd", warmup=20)
    p.set_defaults(run=_run_pretrain)


def _run_pretrain(args: argparse.Namespace) -> int:
    from nanoseek.config import PRESETS
    from nanoseek.train import pretrain

    if args.preset not in PRESETS:  # before any heavy work
        raise ValueError(f"unknown preset {args.preset!r}; choose one of {', '.join(sorted(PRESETS))}")
    overrides = {k: v for k, v in [("mtp_loss_weight", args.mtp_loss_weight),
                                   ("balance_loss_alpha", args.balance_loss_alpha)] if v is not None}
    _set_threads(args)
    result = pretrain(args.data, args.out, model_preset=args.preset, train_config=_train_config(args),
                      data=_data_config(args), tokenizer_dir=args.tokenizer, model_overrides=overrides,
                      resume=args.resume)
    return _finish(result)


def _add_sft(sub) -> None:
    p = sub.add_parser("sft", help="fine-tune a checkpoint on chats with worked reasoning")
    p.add_argument("--model", required=True, help="checkpoint directory to start from")
    p.add_argument("--data", default=None, help="directory of .jsonl {\"messages\": [...]} files (added to the default mix)")
    p.add_argument("--tasks-per-family", type=int, default=200, help="verifiable task problems per family and language")
    _add_train_options(p, lr=3e-4, schedule="cosine", warmup=10)
    p.set_defaults(run=_run_sft)


def _run_sft(args: argparse.Namespace) -> int:
    from nanoseek.train import sft

    _set_threads(args)
    result = sft(args.model, args.out, data_dir=args.data, train_config=_train_config(args),
                 data=_data_config(args), tasks_per_family=args.tasks_per_family, resume=args.resume)
    return _finish(result)


def _add_chat(sub) -> None:
    p = sub.add_parser("chat", help="talk to a checkpoint in the terminal, watching it think")
    p.add_argument("--model", required=True, help="checkpoint directory")
    p.add_argument("--policy", default=None, help="operator policy file (.toml or .yaml)")
    p.add_argument("--temperature", type=float, default=None, help="default: the checkpoint's generation_config")
    p.add_argument("--max-tokens", type=int, default=None, help="reply length limit (default: the context left)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                   help="compile the decode steps first (cold: ~1 min for our presets, ~10 min for a 1.5B checkpoint; "
                        "~10 s cached; 4-5x faster replies on our presets)")
    _add_quantize(p)
    p.set_defaults(run=_run_chat)


def _add_quantize(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quantize", default=None, metavar="MODE",
                   help="int8: int8 weights and per-token int8 activations in the linear layers (default: as stored)")


def _check_quantize(args: argparse.Namespace) -> None:
    """Before the checkpoint loads, which takes a while."""
    from nanoseek.inference.quantize import check_mode

    check_mode(args.quantize)


def _run_chat(args: argparse.Namespace) -> int:
    from nanoseek.serve.terminal import main as chat

    _check_quantize(args)
    return chat(args.model, policy_file=args.policy, temperature=args.temperature, max_tokens=args.max_tokens,
                compile=args.compile, quantize=args.quantize)


def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="OpenAI/DeepSeek-compatible API and web chat for a checkpoint")
    p.add_argument("--model", required=True, help="checkpoint directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' on /v1 (default: open)")
    p.add_argument("--policy", default=None, help="operator policy file (.toml or .yaml), shown at /v1/models")
    p.add_argument("--name", default=None, help="model id clients send (default: the directory's name)")
    p.add_argument("--max-slots", type=int, default=32, help="requests decoded together (default 32)")
    p.add_argument("--max-waiting", type=int, default=96, help="requests queued beyond those; more get 429")
    p.add_argument("--speculative", action="store_true",
                   help="MTP self-speculative decoding (same output; pays off on deep models, not the 4-layer presets)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                   help="compile the decode steps before serving (cold: ~1 min for our presets, ~10 min for a 1.5B "
                        "checkpoint; ~10 s once cached)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web page origin (https://app.example) allowed to call the API from a browser; "
                        "repeatable (default: only the server's own web chat)")
    _add_quantize(p)
    p.set_defaults(run=_run_serve)


def _is_origin(text: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and text == f"{parts.scheme}://{parts.netloc}"


def _run_serve(args: argparse.Namespace) -> int:
    from nanoseek.serve.api import serve

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535], got {args.port}")
    if args.max_slots < 1 or args.max_waiting < 0:
        raise ValueError("--max-slots must be >= 1 and --max-waiting >= 0")
    _check_quantize(args)
    bad = [o for o in args.allow_origin if not _is_origin(o)]
    if bad:
        raise ValueError(f"--allow-origin takes an origin like https://app.example:8443 (scheme, host, "
                         f"optional port, no path), got {bad[0]!r}")
    serve(args.model, host=args.host, port=args.port, api_key=args.api_key, policy_file=args.policy,
          name=args.name, max_slots=args.max_slots, max_waiting=args.max_waiting, speculative=args.speculative,
          compile=args.compile, allow_origins=args.allow_origin, quantize=args.quantize)
    return 0


# ---- reinforcement learning and evaluation (nanoseek.train.grpo, .recipes, nanoseek.eval) ------
# Options left unset fall back to GRPOConfig's / EvalConfig's defaults (documented there), so
# the defaults live in one place and building the parser imports nothing heavy.


def _csv(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _window(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    try:
        return float(low), float(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH (two numbers), got {text!r}") from None


def _given(args: argparse.Namespace, names: dict[str, str]) -> dict:
    """{config field: value} for the options the user gave (None = not given)."""
    return {field: getattr(args, dest) for dest, field in names.items() if getattr(args, dest) is not None}


_EVAL_FIELDS = {"families": "families", "langs": "langs", "eval_n": "n_per", "eval_k": "k", "seed": "seed",
                "eval_max_new_tokens": "max_new_tokens", "eval_difficulty": "difficulty",
                "eval_temperature": "temperature", "unseen_phrasings": "unseen_phrasings",
                "open_prompts": "open_prompts"}
_GRPO_FIELDS = {"steps": "steps", "prompts_per_step": "prompts_per_step", "group_size": "group_size",
                "max_new_tokens": "max_new_tokens", "temperature": "temperature", "lr": "lr",
                "inner_updates": "inner_updates", "micro_batch": "micro_batch", "beta": "beta",
                "clip_eps": "clip_eps", "clip_eps_high": "clip_eps_high", "loss_norm": "loss_norm",
                "ref_reset_every": "ref_reset_every", "old_logprobs": "old_logprobs", "precision": "precision",
                "difficulty": "difficulty", "max_difficulty": "max_difficulty", "pass_window": "pass_window", "pass_explore": "pass_explore",
                "dynamic_sampling": "dynamic_sampling", "max_refill_rounds": "max_refill_rounds",
                "families": "families", "langs": "langs", "seed": "seed", "max_seconds": "max_seconds",
                "save_every": "save_every"}


def _add_eval_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("evaluation (held-out eval split; defaults: nanoseek.eval.EvalConfig)")
    g.add_argument("--families", type=_csv, default=None, help="comma-separated task families (default: all)")
    g.add_argument("--langs", type=_csv, default=None, help="comma-separated languages (default: en,es,zh)")
    g.add_argument("--eval-n", type=int, default=None, help="problems per family and language (default 10)")
    g.add_argument("--eval-k", type=int, default=None,
                   help="samples per problem of the sampled decoding, besides greedy (default 4; 0: greedy only)")
    g.add_argument("--eval-temperature", type=float, default=None, help="of the sampled decoding (default 0.6)")
    g.add_argument("--eval-max-new-tokens", type=int, default=None)
    g.add_argument("--eval-difficulty", type=int, default=None, help="one level (default: spread over all)")
    g.add_argument("--no-unseen-phrasings", dest="unseen_phrasings", action="store_false", default=None,
                   help="skip the problems in question wordings training never saw")
    g.add_argument("--no-open-prompts", dest="open_prompts", action="store_false", default=None,
                   help="skip the open chat prompts (stops, loops, language)")
    g.add_argument("--seed", type=int, default=None)
    g.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")


def _add_rl(sub) -> None:
    from nanoseek.train.precision import PRECISIONS

    p = sub.add_parser("rl", help="GRPO reasoning RL; the R1-Zero, R1 and distillation recipes")
    p.add_argument("--model", required=True,
                   help="checkpoint to start from: the SFT model (grpo), the base (r1-zero, r1), the student (distill)")
    p.add_argument("--out", required=True, help="new output directory: stages, metrics, plots, report.md")
    p.add_argument("--recipe", default="grpo", choices=["grpo", "r1-zero", "r1", "distill"])
    p.add_argument("--teacher", default=None, help="distill: the larger teacher checkpoint")
    p.add_argument("--no-eval", action="store_true", help="grpo: train only (no held-out eval, no report)")
    p.add_argument("--resume", action="store_true",
                   help="grpo --no-eval: continue the run in --out from its last checkpoint")
    g = p.add_argument_group("GRPO (defaults: nanoseek.train.grpo.GRPOConfig, or its --preset)")
    g.add_argument("--preset", default="default",
                   help="a named setting (GRPOConfig.preset): default, nanochat (on-policy, no KL, token mean, "
                        "r - group mean), edge (pass-rate window + dynamic sampling); options given override it")
    g.add_argument("--steps", type=int, help="rollouts")
    g.add_argument("--prompts-per-step", type=int)
    g.add_argument("--group-size", type=int, help="samples per prompt (G)")
    g.add_argument("--max-new-tokens", type=int)
    g.add_argument("--temperature", type=float)
    g.add_argument("--lr", type=float)
    g.add_argument("--inner-updates", type=int, help="optimizer steps per rollout")
    g.add_argument("--micro-batch", type=int, help="sequences per forward/backward")
    g.add_argument("--beta", type=float, help="KL coefficient (0 = no KL term)")
    g.add_argument("--clip-eps", type=float)
    g.add_argument("--clip-eps-high", type=float, help="DAPO clip-higher (default: --clip-eps)")
    g.add_argument("--loss-norm", choices=["sequence", "token", "constant"],
                   help="sequence (GRPO), token (DAPO), constant (Dr. GRPO)")
    g.add_argument("--no-scale-rewards", action="store_true", help="Dr. GRPO: no division by the group std")
    g.add_argument("--ref-reset-every", type=int, help="reset the KL reference every N steps")
    g.add_argument("--old-logprobs", choices=["model", "engine"])
    g.add_argument("--precision", choices=PRECISIONS, help="the policy's matmuls (default fp32)")
    g.add_argument("--difficulty", type=int, help="starting task level")
    g.add_argument("--max-difficulty", type=int,
                   help="the curriculum's top level: the highest the model was pretrained on (the speedrun: 3)")
    g.add_argument("--no-curriculum", action="store_true", help="keep every family at --difficulty")
    g.add_argument("--pass-window", type=_window,
                   help="LOW,HIGH: prompts from (family, level) cells whose online pass rate is inside, e.g. 0.1,0.9")
    g.add_argument("--pass-explore", type=float, help="with --pass-window: share of prompts from any cell")
    g.add_argument("--dynamic-sampling", action="store_true", default=None,
                   help="DAPO: drop groups whose rewards are all equal and refill from further prompts")
    g.add_argument("--max-refill-rounds", type=int, help="dynamic sampling's extra rollout rounds per step, at most")
    g.add_argument("--partial-credit", type=float, help="weight of the partial-credit reward (digits right; default 0)")
    g.add_argument("--reward-weights", default=None, help="accuracy,format,language (default 1,0.2,0.1)")
    g.add_argument("--max-seconds", type=float, help="wall-time budget: stop RL before the step that would pass it")
    g.add_argument("--save-every", type=int, help="checkpoint period in steps (0 = end only)")
    _add_eval_options(p)
    p.set_defaults(run=_run_rl)


def _run_rl(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from nanoseek.data.rewards import RewardWeights
    from nanoseek.eval.evaluate import EvalConfig
    from nanoseek.train import recipes
    from nanoseek.train.grpo import GRPOConfig, grpo

    fields = _given(args, _GRPO_FIELDS)
    if args.no_scale_rewards:
        fields["scale_rewards"] = False
    if args.no_curriculum:
        fields["curriculum"] = False
    if args.reward_weights is not None:
        weights = [float(w) for w in args.reward_weights.split(",")]
        if len(weights) != 3:
            raise ValueError(f"--reward-weights must be accuracy,format,language; got {args.reward_weights!r}")
        fields["reward"] = RewardWeights(*weights)
    if args.partial_credit is not None:
        fields["reward"] = replace(fields.get("reward", RewardWeights()), partial=args.partial_credit)
    config = GRPOConfig.preset(args.preset, **fields)  # validates before any heavy work
    evaluation = EvalConfig(**_given(args, _EVAL_FIELDS))
    if args.recipe == "distill" and not args.teacher:
        raise ValueError("--recipe distill needs --teacher DIR")
    if args.resume and not (args.recipe == "grpo" and args.no_eval):
        raise ValueError("--resume continues a GRPO run: it needs --recipe grpo --no-eval")
    _set_threads(args)
    if args.recipe == "grpo" and args.no_eval:
        return _finish(grpo(args.model, args.out, config, resume=args.resume))
    if args.recipe == "grpo":
        result = recipes.rl_recipe(args.model, args.out, config, evaluation=evaluation)
    elif args.recipe == "r1-zero":
        result = recipes.r1_zero(args.model, args.out, config, evaluation=evaluation)
    elif args.recipe == "r1":
        result = recipes.r1(args.model, args.out, recipes.R1Config(rl1=config, rl2=config, seed=config.seed),
                            evaluation=evaluation)
    else:
        from nanoseek.train.distill import DistillConfig, distill

        result = distill(args.teacher, args.model, args.out,
                         DistillConfig(families=config.families, langs=config.langs, seed=config.seed),
                         rl_config=config, evaluation=evaluation)
    print(result.summary(), file=sys.stderr)
    return 0


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="held-out pass@1 with intervals (greedy, sampled, unseen phrasings), "
                                    "per family, language and level; open chat prompts")
    p.add_argument("--model", required=True, help="checkpoint directory")
    p.add_argument("--out", default=None, help="directory for eval.json, a plot and report.md (default: print only)")
    p.add_argument("--template", default="chat", choices=["chat", "r1-zero"])
    _add_eval_options(p)
    p.set_defaults(run=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from nanoseek.eval.report import open_prompts_table, pass1_table, plot_eval, write_report
    from nanoseek.eval.evaluate import EvalConfig, evaluate_dir

    evaluation = EvalConfig(**_given(args, _EVAL_FIELDS))
    if not (Path(args.model) / "config.json").is_file():
        raise FileNotFoundError(f"--model {args.model} is not a checkpoint directory (no config.json)")
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    results = evaluate_dir(args.model, evaluation, args.template)
    print(pass1_table(results))
    if results.open_prompts is not None:
        print("\n" + open_prompts_table(results.open_prompts))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        results.save(out / "eval.json")
        named = {Path(args.model).resolve().name: results}
        plots = [p for p in [plot_eval(named, out / "eval_pass1.png")] if p]
        report = write_report(out, [], named, plots, title=f"Evaluation of {args.model}")
        print(f"report: {report}", file=sys.stderr)
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="convert a checkpoint for another runtime (GGUF for llama.cpp)")
    p.add_argument("--model", required=True, help="checkpoint directory (config.json, safetensors, tokenizer)")
    p.add_argument("--format", default="gguf", choices=["gguf"],
                   help="gguf (default): llama.cpp's deepseek2, qwen2 or llama, by the checkpoint's model_type")
    p.add_argument("--out", required=True, help="output file, e.g. model-f16.gguf")
    p.add_argument("--dtype", default="f16", choices=["f32", "f16"],
                   help="weight type (default f16; norms, biases and the router stay f32)")
    p.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nanoseek.interop.gguf import architecture, export_gguf

    if Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a directory; give a file name such as model.gguf")
    out = export_gguf(args.model, args.out, dtype=args.dtype)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {architecture(args.model)}, {args.dtype})",
          file=sys.stderr)
    return 0


def _add_speedrun(sub) -> None:
    from nanoseek.speedrun import PROFILES

    p = sub.add_parser("speedrun", help="tokenizer -> pretrain -> SFT -> GRPO -> eval -> report, resumable")
    p.add_argument("--profile", default="speedrun", choices=PROFILES,
                   help="speedrun: 20 min on 2 CPU cores; tiny: a 3-minute smoke test; gpu: one GPU")
    p.add_argument("--name", default=None, help="run name: runs/<name>/ (default: the profile's name)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--no-time-budget", action="store_true",
                   help="train the profile's full step counts however long they take (by default a slower "
                        "CPU trains the steps that fit the profile's minutes)")
    p.set_defaults(run=_run_speedrun)


def _run_speedrun(args: argparse.Namespace) -> int:
    import torch

    from nanoseek.speedrun import speedrun

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    speedrun(args.name or args.profile, args.profile, args.runs_dir, time_budget=not args.no_time_budget)
    return 0


COMMANDS: list[Callable] = [_add_speedrun, _add_pretrain, _add_sft, _add_rl, _add_eval, _add_chat, _add_serve,
                            _add_export]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nanoseek", description="The DeepSeek system, small enough to train on a CPU.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nanoseek.data.corpus import CorpusError
    from nanoseek.train import RunError, TrainingDiverged

    try:
        return args.run(args)
    except (RunError, CorpusError, ValueError, FileNotFoundError) as e:
        one_line = " ".join(str(e).split())  # a library's message (a JSON or safetensors error) may span lines
        print(f"nanoseek {args.command}: error: {one_line}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingDiverged as e:
        print(f"nanoseek {args.command}: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:  # a second Ctrl-C: stop without the checkpoint
        print(f"nanoseek {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
