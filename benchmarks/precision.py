"""Training precision: fp32 / bf16 / int8 (V3's block-scaled GEMMs), measured side by side.

Three parts, each against a baseline measured in the same run:
1. GEMMs: one linear's forward and both backward GEMMs on the expert and MLP shapes of the
   speedrun preset; fp32, bf16 autocast and block-scaled int8 (compiled); ratio to fp32.
2. Trainer steps: the speedrun preset's full optimizer step (`Trainer.train_step`, compiled,
   MTP off as in most of the speedrun) per precision, and transformers' DeepseekV3ForCausalLM
   with AdamW in fp32 and bf16 autocast (compiled); interleaved round by round, medians.
3. Loss at equal steps: the same model, seed and data stream (the speedrun's generated
   mixture) trained `--steps` steps per precision; the final losses against fp32, and a plot.

    python benchmarks/precision.py [--steps 300] [--reps 5] [--skip-loss | --only-loss]

The loss part compares losses, not times, so `--only-loss` may share a busy machine.

Prints tables and writes benchmarks/results/precision.json (precision_loss.json with --only-loss)
and precision_loss.png.
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
from benchmarks.train_throughput import FixedBatch  # noqa: E402
from nanoseek.train import TrainConfig, Trainer, int8  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PRECISIONS = ("fp32", "bf16", "int8")


def _median_ms(fn, reps: int = 20) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def gemm_table() -> list[dict]:
    """Forward + dgrad + wgrad of y = x @ w.T on the speedrun's shapes (M tokens, K in, N out)."""
    cfg, tokens = preset("speedrun"), 2048
    per_expert = tokens * cfg.num_experts_per_tok // cfg.n_routed_experts
    shapes = {"expert gate_up": (per_expert, cfg.hidden_size, 2 * cfg.moe_intermediate_size),
              "expert down": (per_expert, cfg.moe_intermediate_size, cfg.hidden_size),
              "dense MLP up": (tokens, cfg.hidden_size, cfg.intermediate_size),
              "dense MLP down": (tokens, cfg.intermediate_size, cfg.hidden_size)}
    compiled_int8 = torch.compile(int8.int8_linear)
    rows = []
    for name, (m, k, n) in shapes.items():
        x = torch.randn(m, k, requires_grad=True)
        w = torch.randn(n, k, requires_grad=True)
        g = torch.randn(m, n)

        def fp32():
            F.linear(x, w).backward(g)

        def bf16():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                y = F.linear(x, w)
            y.backward(g)

        def int8_():
            compiled_int8(x, w).backward(g)

        ms = {"fp32": _median_ms(fp32), "bf16": _median_ms(bf16), "int8": _median_ms(int8_)}
        rows.append({"shape": name, "m_k_n": [m, k, n], "ms": {p: round(v, 3) for p, v in ms.items()},
                     "vs_fp32": {p: round(ms["fp32"] / v, 2) for p, v in ms.items()}})
        print(f"  {name:16s} {m}x{k}x{n}: " + "  ".join(f"{p} {v:.2f} ms ({ms['fp32'] / v:.2f}x)"
                                                       for p, v in ms.items()), flush=True)
    return rows


def _ours(cfg, x, y, precision: str):
    torch.manual_seed(0)
    config = TrainConfig(steps=10**9, lr=1e-4, warmup_steps=0, schedule="constant", compile=True, progress=False,
                         peak_flops=1.0, precision=precision)
    return Trainer(config, Transformer(cfg), FixedBatch(x, y)).train_step


def _theirs(cfg, x, y, precision: str):
    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:  # the same weights, through an HF checkpoint
        Transformer(cfg).save_pretrained(tmp)
        model = transformers.AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    forward = torch.compile(model)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = forward(input_ids=x).logits
        F.cross_entropy(logits.flatten(0, 1).float(), y.flatten()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def step_table(reps: int) -> dict:
    cfg = preset("speedrun").replace(num_nextn_predict_layers=0)  # transformers trains no MTP
    g = torch.Generator().manual_seed(0)
    seqs = torch.randint(0, cfg.vocab_size, (8, 257), generator=g)
    x, y = seqs[:, :-1].contiguous(), seqs[:, 1:].contiguous()
    variants = {f"ours/{p}": (_ours, p) for p in PRECISIONS}
    variants |= {f"transformers/{p}": (_theirs, p) for p in ("fp32", "bf16")}
    steps = {}
    for key, (build, p) in variants.items():
        steps[key] = build(cfg, x, y, p)
        steps[key]()  # compile
        steps[key]()
        print(f"  {key}: ready", flush=True)
    times = {k: [] for k in steps}
    for _ in range(reps):  # interleaved: a shared machine's drift hits every variant alike
        for key, step in steps.items():
            t = time.perf_counter()
            step()
            times[key].append(time.perf_counter() - t)
    tokens = x.numel()
    out = {k: {"tokens_per_s": round(tokens / statistics.median(v), 1)} for k, v in times.items()}
    fp32 = out["ours/fp32"]["tokens_per_s"]
    for key, v in out.items():
        v["vs_ours_fp32"] = round(v["tokens_per_s"] / fp32, 2)
        same = f"transformers/{key.split('/')[1]}"
        if key.startswith("ours") and same in out:
            v["vs_transformers_same_precision"] = round(v["tokens_per_s"] / out[same]["tokens_per_s"], 2)
    return out


def loss_curves(steps: int) -> dict[str, list[float]]:
    """`steps` steps of the speedrun preset per precision on the same generated stream."""
    from nanoseek.data.mixture import MixtureConfig, MixtureStream, task_chats
    from nanoseek.tokenizer import render_chat, train_tokenizer
    from nanoseek.train.pretrain import model_config_for

    mixture = MixtureConfig(max_difficulty=3)
    tokenizer = train_tokenizer([render_chat(c) for c in task_chats(2000, mixture, seed=2)], 4096)
    cfg = model_config_for("speedrun", tokenizer).replace(num_nextn_predict_layers=0)
    curves = {}
    for p in PRECISIONS:
        torch.manual_seed(0)
        config = TrainConfig(steps=steps, lr=1e-3, warmup_steps=20, router_bias_gamma=0.01, compile=True,
                             progress=False, peak_flops=1.0, save_every=0, precision=p)
        trainer = Trainer(config, Transformer(cfg), MixtureStream(tokenizer, mixture, 8, 256, steps))
        t = time.perf_counter()
        curves[p] = [trainer.train_step().loss for _ in range(steps)]
        print(f"  {p}: final loss {_tail_mean(curves[p]):.4f} in {time.perf_counter() - t:.0f}s", flush=True)
    return curves


def _tail_mean(losses: list[float], n: int = 20) -> float:
    return sum(losses[-n:]) / len(losses[-n:])


def _plot(curves: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for p, losses in curves.items():
        ax.plot(range(1, len(losses) + 1), losses, label=p, linewidth=1)
    ax.set(xlabel="step", ylabel="training loss", title="speedrun preset: loss by precision", yscale="log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _throughput(report: dict, reps: int) -> None:
    print("GEMMs (forward + both backward), ms and speed-up over fp32:")
    report["gemms"] = gemm_table()
    print("trainer steps (speedrun preset, compiled, batch 8 x 256):")
    report["steps"] = step_table(reps)
    for key, v in report["steps"].items():
        extra = f", {v['vs_transformers_same_precision']:.2f}x transformers" if "vs_transformers_same_precision" in v else ""
        print(f"  {key:20s} {v['tokens_per_s']:8.0f} tok/s  {v['vs_ours_fp32']:.2f}x ours fp32{extra}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="steps per precision for the loss comparison")
    p.add_argument("--reps", type=int, default=5, help="interleaved rounds of trainer steps")
    only = p.add_mutually_exclusive_group()
    only.add_argument("--skip-loss", action="store_true", help="only the throughput parts")
    only.add_argument("--only-loss", action="store_true", help="only the loss comparison")
    args = p.parse_args()
    report = {"benchmark": "precision", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine(),
              "cpu_bf16_units": torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported(),
              "cpu_vnni": torch.cpu._is_vnni_supported()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.only_loss:
        _throughput(report, args.reps)
    if not args.skip_loss:
        print(f"loss at equal steps ({args.steps}):")
        curves = loss_curves(args.steps)
        base = _tail_mean(curves["fp32"])
        report["loss"] = {p: {"final_loss_mean_last_20": round(_tail_mean(c), 4),
                              "vs_fp32": round(_tail_mean(c) / base - 1, 4), "losses": [round(x, 4) for x in c]}
                          for p, c in curves.items()}
        for name, v in report["loss"].items():
            print(f"  {name}: {v['final_loss_mean_last_20']:.4f} ({v['vs_fp32']:+.2%} vs fp32)")
        _plot(curves, RESULTS / "precision_loss.png")
    out = RESULTS / ("precision_loss.json" if args.only_loss else "precision.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
