"""Training-step throughput: our Transformer vs transformers' DeepseekV3ForCausalLM.

Same config, same weights, same batch; forward + backward + AdamW (ours: the trainer's fused
AdamW; theirs: torch.optim.AdamW's default); the two interleaved
repetition by repetition so machine noise hits both alike; medians. MFU is against a
fp32 GEMM peak measured in the same run.

    python benchmarks/train_step.py [--presets reference speedrun] [--reps 7] [--compile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import transformers

from nanoseek import Transformer
from nanoseek.config import preset
from nanoseek.train.optim import build_optimizer

transformers.logging.set_verbosity_error()


def gemm_peak_gflops(n: int = 2048, reps: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def make_pair(name: str) -> tuple[Transformer, torch.nn.Module]:
    # MTP off: transformers has no MTP training path, so both models do the same work.
    cfg = preset(name).replace(num_nextn_predict_layers=0, initializer_range=0.02)
    torch.manual_seed(0)
    ours = Transformer(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        ours.save_pretrained(tmp)
        theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32)
    theirs.config._attn_implementation = "sdpa"
    return ours.train(), theirs.train()


def step_fn(model: torch.nn.Module, ours: bool, compile_model: bool):
    # Ours: the trainer's optimizer (fused AdamW, decay on matrices). Theirs: plain torch AdamW.
    if ours:
        optimizer = build_optimizer(model, lr=1e-4)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    forward = torch.compile(model) if compile_model else model

    def step(batch: torch.Tensor) -> float:
        if ours:
            loss = forward(batch[:, :-1], labels=batch[:, 1:]).loss
        else:
            loss = forward(input_ids=batch[:, :-1], labels=batch[:, :-1]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if ours:
            model.update_router_bias(0.001)
        return loss.item()

    return step


def bench_preset(name: str, reps: int, batch: int, seq: int, compile_model: bool) -> dict:
    ours, theirs = make_pair(name)
    steps = {"nanoseek": step_fn(ours, True, compile_model), "transformers": step_fn(theirs, False, False)}
    data = torch.randint(0, ours.config.vocab_size, (reps + 2, batch, seq + 1))
    times = {k: [] for k in steps}
    for i in range(reps + 2):
        for label, step in steps.items():
            start = time.perf_counter()
            step(data[i])
            if i >= 2:  # two warm-up steps (allocator, compile)
                times[label].append(time.perf_counter() - start)
    tokens = batch * seq
    result = {label: tokens / statistics.median(t) for label, t in times.items()}
    flops = ours.flops_per_token(seq)
    return {
        "preset": name,
        "tokens_per_step": tokens,
        "tokens_per_s": result,
        "ratio": result["nanoseek"] / result["transformers"],
        "gflops": {label: tps * flops / 1e9 for label, tps in result.items()},
        "active_params": ours.num_params(active=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["reference", "speedrun"])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="torch.compile our model")
    parser.add_argument("--out", default="benchmarks/results/train_step.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    peak = gemm_peak_gflops()
    rows = [bench_preset(p, args.reps, args.batch, args.seq, args.compile) for p in args.presets]
    peak = max(peak, gemm_peak_gflops())  # measured before and after: keep the better
    print(f"GEMM peak (fp32 2048^2, {args.threads} threads): {peak:.1f} GFLOP/s")
    print(f"{'preset':<10} {'ours tok/s':>11} {'HF tok/s':>10} {'ratio':>6} {'ours GFLOP/s':>13} {'MFU':>6}")
    for r in rows:
        ours_gflops = r["gflops"]["nanoseek"]
        r["mfu"] = ours_gflops / peak
        print(f"{r['preset']:<10} {r['tokens_per_s']['nanoseek']:>11.0f} {r['tokens_per_s']['transformers']:>10.0f} "
              f"{r['ratio']:>6.2f} {ours_gflops:>13.1f} {r['mfu']:>6.1%}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"gemm_peak_gflops": peak, "compile": args.compile, "threads": args.threads,
                               "batch": args.batch, "seq": args.seq, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
