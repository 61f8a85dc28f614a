"""Decode speed of the inference engine vs transformers (and llama.cpp when installed).

    python benchmarks/decode.py                       # reference + speedrun presets, random weights
    python benchmarks/decode.py --model runs/speedrun # a trained checkpoint (MTP acceptance is
                                                      # only meaningful on trained weights)

Runs each contender in interleaved rounds (ours, transformers, ours, ...) on the same weights,
greedy, same prompt, and keeps the best round of each (the machine is shared: the best round is
the least disturbed one). Prints a table and writes benchmarks/results/decode.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nanoseek import Transformer
from nanoseek.config import preset
from nanoseek.inference import Engine, SamplingParams
from nanoseek.inference.cache import latent_width, mha_width

RESULTS = Path(__file__).parent / "results" / "decode.json"


def build(name: str, model_dir: str | None) -> Transformer:
    if model_dir:
        return Transformer.from_pretrained(model_dir).eval()
    torch.manual_seed(0)
    return Transformer(preset(name)).eval()


def prompts(model: Transformer, n: int, length: int, seed: int = 0, model_dir: str | None = None) -> list[list[int]]:
    """Random ids for random weights; for a trained checkpoint, chat prompts of held-out task
    questions (all families, en/es/zh), so what it generates (and MTP's acceptance) is real."""
    if model_dir is None:
        g = torch.Generator().manual_seed(seed)
        return torch.randint(2, model.config.vocab_size, (n, length), generator=g).tolist()
    from nanoseek.data.tasks import FAMILIES, generate
    from nanoseek.data.tasks.common import LANGUAGES
    from nanoseek.tokenizer import Tokenizer
    from nanoseek.data.prompts import render_prompt

    tokenizer = Tokenizer.load(model_dir)
    kinds = [(f, lang) for f in FAMILIES for lang in LANGUAGES]
    out = []
    for i in range(n):
        family, lang = kinds[(seed * 7 + i) % len(kinds)]
        problem = generate(family, 1 + i // len(kinds), seed=seed, split="eval", lang=lang)[-1]
        out.append(render_prompt(tokenizer, problem.question))
    return out


def ours(engine: Engine, batch: list[list[int]], new_tokens: int) -> float:
    """Aggregate generated tokens/s, prefill included (as for transformers' generate)."""
    params = SamplingParams(max_new_tokens=new_tokens, stop_token_ids=())
    start = time.perf_counter()
    out = engine.generate(batch, params)
    elapsed = time.perf_counter() - start
    return sum(len(c.token_ids) for c in out) / elapsed


def transformers_generate(hf, prompt: list[int], new_tokens: int) -> float:
    ids = torch.tensor([prompt])
    start = time.perf_counter()
    with torch.inference_mode():
        out = hf.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                          attention_mask=torch.ones_like(ids), pad_token_id=0)
    return (out.shape[1] - ids.shape[1]) / (time.perf_counter() - start)


def load_transformers(model: Transformer):
    try:
        from transformers import AutoModelForCausalLM
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        return AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32).eval()


def load_llama_cpp(model: Transformer, model_dir: str | None, n_ctx: int, threads: int, workdir: Path):
    """llama.cpp (through llama-cpp-python, an optional extra) on our f32 GGUF export of the same
    weights; None when it is not installed. Random-weight presets get a throwaway tokenizer: the
    benchmark feeds token ids, so only the vocabulary's size matters."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    from nanoseek.interop.gguf import export_gguf
    from nanoseek.tokenizer import train_tokenizer

    if model_dir is None:
        model_dir = workdir / "checkpoint"
        model.save_pretrained(model_dir)
        train_tokenizer(["a throwaway tokenizer for the benchmark"], model.config.vocab_size).save(model_dir)
    path = export_gguf(model_dir, workdir / "model-f32.gguf", dtype="f32")
    return Llama(str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)


def llama_cpp_generate(llm, prompt: list[int], new_tokens: int) -> float:
    """Greedy tokens/s, prefill included; the cache is cleared first so no prefix is reused."""
    llm.reset()
    start = time.perf_counter()
    n = 0
    for _ in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
        n += 1
        if n == new_tokens:
            break
    return n / (time.perf_counter() - start)


def bench_preset(name: str, args) -> dict:
    model = build(name, args.model)
    cfg = model.config
    row: dict = {"preset": args.model or name, "params": model.num_params()}

    def batch(n: int, seed: int = 0) -> list[list[int]]:
        return prompts(model, n, args.prompt_len, seed, args.model)

    prompt = batch(1)[0]
    max_len = max(len(p) for p in batch(256) + batch(8, 2)) + args.new_tokens + 8
    engine = Engine(model, max_slots=256, max_len=max_len, compile=not args.eager)
    spec = None
    if cfg.num_nextn_predict_layers:
        spec = Engine(model, max_slots=32, max_len=max_len, compile=not args.eager, speculative=True)
    hf = None if args.skip_transformers else load_transformers(model)
    workdir = tempfile.TemporaryDirectory()
    llm = None if args.skip_llama_cpp else load_llama_cpp(model, args.model, max_len, args.threads, Path(workdir.name))
    row["warmup_s"] = round(sum(eng.warm_up() for eng in filter(None, [engine, spec])), 1)  # compiles
    runs: dict[str, list[float]] = {}
    for _ in range(args.rounds):  # interleaved: noise hits every contender alike
        runs.setdefault("ours_b1", []).append(ours(engine, [prompt], args.new_tokens))
        if hf is not None:
            runs.setdefault("transformers_b1", []).append(transformers_generate(hf, prompt, args.new_tokens))
        if llm is not None:
            runs.setdefault("llama_cpp_b1", []).append(llama_cpp_generate(llm, prompt, args.new_tokens))
        if spec is not None:
            runs.setdefault("ours_mtp_b1", []).append(ours(spec, [prompt], args.new_tokens))
        for n in (8, 32, 256):  # 256: the speedrun evaluation's slots
            runs.setdefault(f"ours_b{n}", []).append(ours(engine, batch(n), args.new_tokens))
    for key, values in runs.items():
        row[key] = round(max(values), 1)
        row[key + "_median"] = round(statistics.median(values), 1)
    if spec is not None:
        # Acceptance over 8 other prompts, each stopping at its own end of sentence.
        spec.stats.update(drafted=0, accepted=0)
        spec.generate(batch(8, seed=2), SamplingParams(max_new_tokens=args.new_tokens))
        row["mtp_acceptance"] = round(spec.stats["accepted"] / max(spec.stats["drafted"], 1), 3)
        row["mtp_speedup_b1"] = round(row["ours_mtp_b1"] / row["ours_b1"], 2)
    row["cache_latent_per_layer"] = latent_width(cfg)
    row["cache_mha_per_layer"] = mha_width(cfg)
    row["cache_ratio"] = round(latent_width(cfg) / mha_width(cfg), 4)
    row["cache_bytes_per_token"] = engine.pool.bytes_per_token()
    if llm is not None:
        llm.close()
    workdir.cleanup()
    return row


def table(rows: list[dict]) -> str:
    cols = [("preset", "model"), ("ours_b1", "ours b1 tok/s"), ("transformers_b1", "HF generate b1"),
            ("llama_cpp_b1", "llama.cpp b1 (f32 GGUF)"),
            ("ours_b8", "ours 8 streams"), ("ours_b32", "ours 32 streams"), ("ours_b256", "ours 256 streams"),
            ("ours_mtp_b1", "ours+MTP b1"),
            ("mtp_acceptance", "MTP accept"), ("mtp_speedup_b1", "MTP speedup"),
            ("cache_ratio", "cache vs MHA")]
    lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k, "-")) for k, _ in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="reference,speedrun")
    parser.add_argument("--model", help="checkpoint directory (replaces --presets)")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-len", type=int, default=16, help="length of the random prompts (presets)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eager", action="store_true", help="do not compile the decode step")
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument("--skip-llama-cpp", action="store_true", help="even if llama-cpp-python is installed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = [args.model] if args.model else args.presets.split(",")
    rows = [bench_preset(name, args) for name in names]
    print(table(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"threads": args.threads, "new_tokens": args.new_tokens, "prompt_len": args.prompt_len,
            "compiled": not args.eager, "torch": torch.__version__,
            "note": "presets have random weights and random prompts: MTP acceptance means something only "
                    "for a trained checkpoint (--model), which gets chat prompts of held-out task questions"}
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
