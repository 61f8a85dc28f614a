"""DeepSeek-R1-Distill-Qwen-1.5B on the CPU: opening the checkpoint, time to first token and
decode speed, ours (bf16 and int8 weights) against transformers in the same run.

The checkpoint is generated here at R1-Distill-Qwen-1.5B's exact config.json with random
weights (bf16, two safetensors shards and an index, as the released folder is), so nothing is
downloaded; speed depends on the shapes, not on the values.

    python benchmarks/distill.py [--dir /tmp/r1-distill-qwen-1.5b] [--new-tokens 32] [--rounds 2]

Each contender in turn (one 1.5B model in memory at a time): batch-1 decode tok/s (a 16-token
prompt, prefill included), 8 streams (aggregate tok/s), time to first token of a 512-token
prompt, best of --rounds (the least disturbed); opening times the loader alone (checkpoint to
model, no import). llama.cpp is not measured: our GGUF export writes DeepSeek-V3's `deepseek2`
layout only. Writes benchmarks/results/distill.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

import nanoseek
from nanoseek.inference import Engine, SamplingParams
from nanoseek.inference.quantize import weight_report

RESULTS = Path(__file__).parent / "results" / "distill.json"

# DeepSeek-R1-Distill-Qwen-1.5B's config.json (the fields a loader reads).
CONFIG = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
          "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
          "max_position_embeddings": 131072, "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "vocab_size": 151936,
          "tie_word_embeddings": False, "torch_dtype": "bfloat16", "sliding_window": 4096,
          "use_sliding_window": False, "max_window_layers": 21, "bos_token_id": 151646, "eos_token_id": 151643,
          "hidden_act": "silu", "attention_dropout": 0.0, "initializer_range": 0.02, "use_cache": True}


def layer_tensors(i: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Layer i's weights as transformers names them, random bf16 (norms at 1)."""
    h, inter = CONFIG["hidden_size"], CONFIG["intermediate_size"]
    kv = CONFIG["num_key_value_heads"] * h // CONFIG["num_attention_heads"]
    shapes = {"self_attn.q_proj.weight": (h, h), "self_attn.q_proj.bias": (h,), "self_attn.k_proj.weight": (kv, h),
              "self_attn.k_proj.bias": (kv,), "self_attn.v_proj.weight": (kv, h), "self_attn.v_proj.bias": (kv,),
              "self_attn.o_proj.weight": (h, h), "mlp.gate_proj.weight": (inter, h), "mlp.up_proj.weight": (inter, h),
              "mlp.down_proj.weight": (h, inter)}
    out = {f"model.layers.{i}.{k}": random_bf16(s, g) for k, s in shapes.items()}
    for norm in ("input_layernorm", "post_attention_layernorm"):
        out[f"model.layers.{i}.{norm}.weight"] = torch.ones(h, dtype=torch.bfloat16)
    return out


def random_bf16(shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    return (torch.randn(shape, generator=g) * CONFIG["initializer_range"]).to(torch.bfloat16)


def write_checkpoint(directory: Path) -> None:
    """The checkpoint in two shards (layers split in half, embedding first, head last) + index."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(CONFIG, indent=2))
    g = torch.Generator().manual_seed(0)
    vocab, h, layers = CONFIG["vocab_size"], CONFIG["hidden_size"], CONFIG["num_hidden_layers"]
    halves = [range(layers // 2), range(layers // 2, layers)]
    weight_map = {}
    for n, half in enumerate(halves):
        shard = {"model.embed_tokens.weight": random_bf16((vocab, h), g)} if n == 0 else {}
        for i in half:
            shard |= layer_tensors(i, g)
        if n == len(halves) - 1:
            shard |= {"model.norm.weight": torch.ones(h, dtype=torch.bfloat16), "lm_head.weight": random_bf16((vocab, h), g)}
        name = f"model-{n + 1:05d}-of-{len(halves):05d}.safetensors"
        save_file(shard, directory / name, metadata={"format": "pt"})
        weight_map |= dict.fromkeys(shard, name)
        del shard
    (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def random_prompts(n: int, length: int, seed: int) -> list[list[int]]:
    """Ids of ordinary tokens (the special ones start at eos)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, CONFIG["eos_token_id"], (n, length), generator=g).tolist()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Ours:
    def __init__(self, directory: Path, quantize: str | None, new_tokens: int) -> None:
        start = time.perf_counter()
        self.model = nanoseek.from_pretrained(directory)
        self.open_s = time.perf_counter() - start
        self.engine = Engine(self.model, max_slots=8, max_len=512 + new_tokens + 8, quantize=quantize)
        self.weights = weight_report(self.model)

    def decode(self, prompts: list[list[int]], new_tokens: int) -> float:
        params = SamplingParams(max_new_tokens=new_tokens, stop_token_ids=())
        start = time.perf_counter()
        out = self.engine.generate(prompts, params)
        return sum(len(c.token_ids) for c in out) / (time.perf_counter() - start)

    def first_token(self, prompt: list[int]) -> float:
        return timed(lambda: self.engine.generate([prompt], SamplingParams(max_new_tokens=1, stop_token_ids=())))


class Theirs:
    def __init__(self, directory: Path) -> None:
        from transformers import AutoModelForCausalLM

        start = time.perf_counter()
        self.model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16).eval()
        self.open_s = time.perf_counter() - start
        self.weights = {"weight_bytes": sum(p.numel() * p.element_size() for p in self.model.parameters())}

    def decode(self, prompts: list[list[int]], new_tokens: int) -> float:
        ids = torch.tensor(prompts)
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                      attention_mask=torch.ones_like(ids), pad_token_id=0)
        return (out.shape[1] - ids.shape[1]) * len(prompts) / (time.perf_counter() - start)

    def first_token(self, prompt: list[int]) -> float:
        return timed(lambda: self.decode([prompt], 1))


def measure(contender, rounds: int, new_tokens: int) -> dict[str, float]:
    one, eight, long = random_prompts(1, 16, 0), random_prompts(8, 16, 1), random_prompts(1, 512, 2)[0]
    contender.decode(one, 2)  # warm-up
    runs: dict[str, list[float]] = {"b1_tok_s": [], "b8_tok_s": [], "ttft_512_s": []}
    for _ in range(rounds):
        runs["b1_tok_s"].append(contender.decode(one, new_tokens))
        runs["b8_tok_s"].append(contender.decode(eight, new_tokens))
        runs["ttft_512_s"].append(contender.first_token(long))
    return {"b1_tok_s": round(max(runs["b1_tok_s"]), 2), "b8_tok_s": round(max(runs["b8_tok_s"]), 2),
            "ttft_512_s": round(min(runs["ttft_512_s"]), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/r1-distill-qwen-1.5b"), help="where the checkpoint is made")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.dir / "model.safetensors.index.json").exists():
        print(f"writing a random-weight R1-Distill-Qwen-1.5B checkpoint to {args.dir} ...", flush=True)
        write_checkpoint(args.dir)
    rows = {}
    for name, make in [("ours bf16", lambda: Ours(args.dir, None, args.new_tokens)),
                       ("ours int8", lambda: Ours(args.dir, "int8", args.new_tokens)),
                       ("transformers bf16", lambda: Theirs(args.dir))]:
        contender = make()
        row = {"open_s": round(contender.open_s, 2), "weight_mib": round(contender.weights["weight_bytes"] / 2**20)}
        if isinstance(contender, Ours):
            row["read_per_token_mib"] = round(contender.weights["bytes_per_token"] / 2**20)
        row |= measure(contender, args.rounds, args.new_tokens)
        rows[name] = row
        print(f"{name}: {row}", flush=True)
        del contender
        gc.collect()
    base = rows["transformers bf16"]["b1_tok_s"]
    print("| contender | open s | b1 tok/s | vs transformers | 8 streams tok/s | 8 streams / b1 | TTFT 512 s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['open_s']} | {r['b1_tok_s']} | {r['b1_tok_s'] / base:.2f}x | {r['b8_tok_s']} | "
              f"{r['b8_tok_s'] / r['b1_tok_s']:.2f}x | {r['ttft_512_s']} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"config": "DeepSeek-R1-Distill-Qwen-1.5B (random weights)", "threads": args.threads,
            "new_tokens": args.new_tokens, "rounds": args.rounds, "torch": torch.__version__,
            "note": "open_s of the first contender reads the files from the page cache if they were just written"}
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
