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
    g.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                   help="torch.compile the training step (--no-compile: eager)")
    g.add_argument("--parallel", default="ddp", help="under torchrun: ddp or fsdp")
    g.add_argument("--bf16", action="store_true", help="autocast to bfloat16 (GPUs; slower on CPUs without bf16 units)")
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
        max_bad_steps=args.max_bad_steps, log_every=args.log_every,
        progress=False if args.no_progress else None, bf16=args.bf16,
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
    p.set_defaults(run=_run_chat)


def _run_chat(args: argparse.Namespace) -> int:
    from nanoseek.serve.terminal import main as chat

    return chat(args.model, policy_file=args.policy, temperature=args.temperature, max_tokens=args.max_tokens)


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
    p.add_argument("--speculative", action="store_true", help="MTP self-speculative decoding")
    p.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    from nanoseek.serve.api import serve

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535], got {args.port}")
    if args.max_slots < 1 or args.max_waiting < 0:
        raise ValueError("--max-slots must be >= 1 and --max-waiting >= 0")
    serve(args.model, host=args.host, port=args.port, api_key=args.api_key, policy_file=args.policy,
          name=args.name, max_slots=args.max_slots, max_waiting=args.max_waiting, speculative=args.speculative)
    return 0


COMMANDS: list[Callable] = [_add_pretrain, _add_sft, _add_chat, _add_serve]


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
        print(f"nanoseek {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingDiverged as e:
        print(f"nanoseek {args.command}: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:  # a second Ctrl-C: stop without the checkpoint
        print(f"nanoseek {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
