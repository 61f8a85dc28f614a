"""Two kernels of a decode step at R1-Distill-Qwen-1.5B's shapes, each against the one it replaced.

    python benchmarks/decode_kernels.py [--rows 1 2 4 8 16 64] [--contexts 48 512 2048] [--reps 5]

int8 GEMMs by rows: `torch._int_mm` on the plain weight against oneDNN's int8 GEMM on the weight
packed once (`nanoseek::int8_packed_mm`), the two kernels QuantizedLinear chooses between
(nanoseek/inference/quantize.py). The weights are the model's linear layers (28 layers of q, k,
v, o, gate, up and down, then the output head: 1.5 GB of int8, far more than any cache), random,
run one after another as a decode step runs them, so every weight streams from memory.

Attention of one new token (bf16, 12 query heads on 2 key/value heads, head dim 128) by streams
and context: the fused kernel on the grouped heads (`enable_gqa`) against the same kernel with
each group's query heads as rows of its key/value head (model/llama.py), for all 28 layers.

Best of --reps for each, measured alternately in the same run; each ratio is the old kernel's
time over the new one's. Writes benchmarks/results/decode_kernels.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from nanoseek.inference.quantize import int8_packed_mm

RESULTS = Path(__file__).parent / "results" / "decode_kernels.json"
HIDDEN, INTERMEDIATE, KV, LAYERS, VOCAB = 1536, 8960, 256, 28, 151936  # R1-Distill-Qwen-1.5B
HEADS, KV_HEADS, HEAD_DIM = 12, 2, 128
LAYER = [(HIDDEN, HIDDEN), (KV, HIDDEN), (KV, HIDDEN), (HIDDEN, HIDDEN),
         (INTERMEDIATE, HIDDEN), (INTERMEDIATE, HIDDEN), (HIDDEN, INTERMEDIATE)]  # [N, K] each


def weights() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(int8 weight [N, K], fp32 scale [N]) for every linear of a decode step, in its order."""
    shapes = LAYER * LAYERS + [(VOCAB, HIDDEN)]
    return [(torch.randint(-127, 128, shape, dtype=torch.int8), torch.rand(shape[0])) for shape in shapes]


def step_s(layers, rows: int, kernel: str) -> float:
    activations = {k: torch.randint(-127, 128, (rows, k), dtype=torch.int8) for k in (HIDDEN, INTERMEDIATE)}
    start = time.perf_counter()
    for qweight, scale in layers:
        q = activations[qweight.shape[1]]
        if kernel == "_int_mm":
            torch._int_mm(q, qweight.t()).float() * scale
        else:
            int8_packed_mm(q, qweight, scale)
    return time.perf_counter() - start


def attention_s(streams: int, context: int, kernel: str) -> float:
    """Seconds for one token's attention in every layer, `streams` sequences of `context` tokens."""
    q = torch.randn(streams, HEADS, 1, HEAD_DIM, dtype=torch.bfloat16)
    k, v = (torch.randn(streams, context, KV_HEADS, HEAD_DIM, dtype=torch.bfloat16).transpose(1, 2) for _ in "kv")
    mask = torch.ones(streams, 1, 1, context, dtype=torch.bool)
    start = time.perf_counter()
    for _ in range(LAYERS):
        if kernel == "grouped":
            F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
        else:
            rows = q.view(streams, KV_HEADS, HEADS // KV_HEADS, HEAD_DIM)
            F.scaled_dot_product_attention(rows, k, v, attn_mask=mask)
    return time.perf_counter() - start


def best_ms(measure, kernels: tuple[str, str], reps: int) -> dict[str, float]:
    """The best of `reps` calls of measure(kernel) for each kernel, alternating, in ms."""
    times: dict[str, list[float]] = {kernel: [] for kernel in kernels}
    for _ in range(reps):
        for kernel in kernels:
            times[kernel].append(measure(kernel))
    return {kernel: min(t) * 1e3 for kernel, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 2, 4, 8, 16, 64])
    parser.add_argument("--contexts", type=int, nargs="+", default=[48, 512, 2048])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    layers = weights()
    gigabytes = sum(w.numel() for w, _ in layers) / 1e9
    step_s(layers, 1, "onednn")  # packs every weight once, as the engine's first batched step does
    gemms = []
    for rows in args.rows:
        best = best_ms(lambda kernel: step_s(layers, rows, kernel), ("_int_mm", "onednn"), args.reps)
        gemms.append({"rows": rows, "int_mm_ms": round(best["_int_mm"], 1), "onednn_ms": round(best["onednn"], 1),
                      "ratio": round(best["_int_mm"] / best["onednn"], 2),
                      "onednn_weight_gb_s": round(gigabytes / best["onednn"] * 1e3, 1)})
        print(gemms[-1], flush=True)
    del layers
    attention = []
    for streams in (1, 8):
        for context in args.contexts:
            best = best_ms(lambda kernel: attention_s(streams, context, kernel), ("grouped", "rows"), args.reps)
            attention.append({"streams": streams, "context": context, "grouped_ms": round(best["grouped"], 2),
                              "rows_ms": round(best["rows"], 2), "ratio": round(best["grouped"] / best["rows"], 2)})
            print(attention[-1], flush=True)
    print("\n| rows | `_int_mm` ms | oneDNN packed ms | ratio | oneDNN GB/s of weights |\n|---|---|---|---|---|")
    for r in gemms:
        print(f"| {r['rows']} | {r['int_mm_ms']} | {r['onednn_ms']} | {r['ratio']}x | {r['onednn_weight_gb_s']} |")
    print("\n| streams | context | grouped heads ms | heads as rows ms | ratio |\n|---|---|---|---|---|")
    for r in attention:
        print(f"| {r['streams']} | {r['context']} | {r['grouped_ms']} | {r['rows_ms']} | {r['ratio']}x |")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"threads": torch.get_num_threads(), "int8_gemms": gemms, "attention": attention},
                                  indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
