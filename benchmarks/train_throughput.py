"""Training throughput: our full trainer step vs transformers' DeepseekV3ForCausalLM + AdamW.

Both sides run a whole optimizer step on the same config, weights and batch: forward, loss,
backward, grad-norm clipping, AdamW (betas 0.9/0.95, weight decay 0.1). Ours is
`nanoseek.train.Trainer.train_step()` (also the MoE bias update and the per-step metrics);
theirs is the loop a transformers user writes. Variants run interleaved, one step each per
round, and we report medians, so drift in a shared machine's load hits all alike.

transformers' model has no MTP, so "ours (no MTP)" is the like-for-like row; "ours" trains
the MTP module too (more FLOPs per token: MFU counts them). MFU is against the fp32 GEMM peak
(2048^2 matmul) measured in the same run, before and after.

    python benchmarks/train_throughput.py [--presets speedrun,reference] [--reps 5] [--no-compile]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nanoseek import Transformer  # noqa: E402
from nanoseek.config import preset  # noqa: E402
from nanoseek.train import TrainConfig, Trainer  # noqa: E402
from nanoseek.train.metrics import measure_peak_flops  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "train_throughput.json"


class FixedBatch:
    """The same (inputs, labels) every step: throughput, not learning, is measured."""

    def __init__(self, x, y):
        self.batch = (x, y)

    def __iter__(self):
        return self

    def __next__(self):
        return self.batch


def ours(cfg, x, y, compile_: bool):
    torch.manual_seed(0)
    model = Transformer(cfg)
    config = TrainConfig(steps=10**9, lr=1e-4, warmup_steps=0, schedule="constant", compile=compile_,
                         progress=False, peak_flops=1.0)
    trainer = Trainer(config, model, FixedBatch(x, y))
    return trainer.train_step, model


def theirs(cfg, x, y, compile_: bool):
    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:  # same weights as ours: through an HF checkpoint
        Transformer(cfg).save_pretrained(tmp)
        model = transformers.AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32)
    model.train()
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95))
    forward = torch.compile(model) if compile_ else model

    def step():
        logits = forward(input_ids=x).logits
        loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    return step, model


def bench_preset(name: str, batch: int, seq: int, reps: int, compile_modes: list[bool]) -> dict:
    cfg = preset(name)
    g = torch.Generator().manual_seed(0)
    seqs = torch.randint(0, cfg.vocab_size, (batch, seq + 1), generator=g)
    x, y = seqs[:, :-1].contiguous(), seqs[:, 1:].contiguous()
    no_mtp = cfg.replace(num_nextn_predict_layers=0)
    variants = {}
    for c in compile_modes:
        tag = "compile" if c else "eager"
        variants[f"ours/{tag}"] = (ours, cfg)
        variants[f"ours_no_mtp/{tag}"] = (ours, no_mtp)
        variants[f"transformers/{tag}"] = (theirs, no_mtp)
    steps, flops, first = {}, {}, {}
    for key, (build, c) in variants.items():
        compile_ = key.endswith("compile")
        try:
            step, model = build(c, x, y, compile_)
            t = time.perf_counter()
            step()  # warm-up (and compilation)
            step()
            first[key] = time.perf_counter() - t
            steps[key] = step
            # our formula on the config each variant computes (transformers' model: ours minus MTP)
            flops[key] = (model if isinstance(model, Transformer) else Transformer(c)).flops_per_token(seq)
            print(f"  {name} {key}: ready ({first[key]:.1f}s for 2 warm-up steps)", flush=True)
        except Exception as e:  # noqa: BLE001  (a variant that cannot run is reported, not fatal)
            print(f"  {name} {key}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True)
            first[key] = f"failed: {type(e).__name__}"
    times = {k: [] for k in steps}
    for r in range(reps):
        for key, step in steps.items():
            t = time.perf_counter()
            step()
            times[key].append(time.perf_counter() - t)
        print(f"  {name} round {r + 1}/{reps}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)
    out = {"config": name, "batch_size": batch, "seq_len": seq, "tokens_per_step": batch * seq, "variants": {}}
    for key in variants:
        if key not in times:
            out["variants"][key] = {"error": first[key]}
            continue
        med = statistics.median(times[key])
        out["variants"][key] = {"median_step_s": round(med, 4), "tokens_per_s": round(batch * seq / med, 1),
                                "flops_per_token": flops[key], "warmup_2_steps_s": round(first[key], 2),
                                "step_s": [round(t, 4) for t in times[key]]}
    return out


def _write(args, results: list[dict], peak_before: float, peak_after: float) -> None:
    """MFU against the higher of the two peaks (load on a shared machine only lowers them)."""
    peak = max(peak_before, peak_after)
    for r in results:
        base = r["variants"].get("transformers/eager", {}).get("tokens_per_s")
        for v in r["variants"].values():
            if "tokens_per_s" in v:
                v["mfu"] = round(v["tokens_per_s"] * v["flops_per_token"] / peak, 4)
                if base:
                    v["vs_transformers_eager"] = round(v["tokens_per_s"] / base, 3)
    report = {
        "benchmark": "train_throughput", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "gemm_peak_flops": {"before": round(peak_before), "after": round(peak_after), "used": round(peak)},
        "reps": args.reps, "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="speedrun,reference")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the compiled variants (--no-compile: eager only)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    peak_before = measure_peak_flops(cpu, reps=5)
    print(f"GEMM peak (2048^2 fp32): {peak_before / 1e9:.1f} GFLOP/s, {torch.get_num_threads()} threads", flush=True)
    modes = [False, True] if args.compile else [False]
    results = []
    for name in args.presets.split(","):  # the file is rewritten after each preset: a long run
        results.append(bench_preset(name, args.batch_size, args.seq_len, args.reps, modes))  # keeps its parts
        peak_after = measure_peak_flops(cpu, reps=5)
        _write(args, results, peak_before, peak_after)
    for r in results:
        print(f"\n{r['config']} (B={r['batch_size']}, T={r['seq_len']}):")
        for key, v in r["variants"].items():
            if "error" in v:
                print(f"  {key:24s} {v['error']}")
            else:
                print(f"  {key:24s} {v['tokens_per_s']:8.0f} tok/s  MFU {v['mfu']:.1%}  "
                      f"x{v.get('vs_transformers_eager', float('nan')):.2f} vs transformers eager")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
