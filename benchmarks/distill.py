"""DeepSeek-R1-Distill-Qwen-1.5B on the CPU: opening the checkpoint, time to first token and
decode speed, ours (bf16 and int8 weights) against transformers, and optionally llama.cpp, in
the same run.

The checkpoint is generated here at R1-Distill-Qwen-1.5B's exact config.json with random
weights (bf16, two safetensors shards and an index, as the released folder is), so nothing is
downloaded; speed depends on the shapes, not on the values. Its tokenizer is a small
byte-level BPE with the released one's pre-tokenizer and bos/eos ids: enough for a GGUF.

    python benchmarks/distill.py [--dir /tmp/r1-distill-qwen-1.5b] [--new-tokens 32] [--rounds 2]
                                 [--compiled] [--llama-cpp LLAMA_CPP_BUILD_DIR]

Each contender in turn, each in a fresh process: batch-1 decode tok/s (a 16-token
prompt, prefill included), 8 streams (aggregate tok/s), time to first token of a 512-token
prompt, best of --rounds (the least disturbed); opening times the loader alone (checkpoint to
model, no import); `weight_mib` is what the weights hold after the run (ours int8 with the copy
packed for 8 streams). With --compiled, also ours int8 with compiled decode steps (`nanoseek serve
--compile`): a warm-up compiles the shapes first (minutes, cold), `compile_s` times it.

With --llama-cpp (a llama.cpp build folder holding bin/llama-bench and bin/llama-quantize):
the checkpoint exported by our `export_gguf` to F16, and that quantized to Q8_0 by
llama-quantize, each run by llama-bench on --threads threads, best of --rounds: the batch-1
figure from its prompt+generation test (16 prompt tokens, then new-tokens - 1 decode steps:
the same tokens and steps as ours), TTFT from its 512-token prompt test, and its decode-only
speed besides (`decode_tok_s`). llama-bench runs no parallel streams and does not time
loading: those cells stay empty. Writes benchmarks/results/distill.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

import nanoseek
from nanoseek.inference import Engine, SamplingParams
from nanoseek.inference.quantize import weight_report
from nanoseek.interop.gguf import QWEN2_SPLIT, export_gguf

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


def write_tokenizer(directory: Path) -> None:
    """tokenizer.json and tokenizer_config.json: a byte-level BPE trained on this file's text,
    with Qwen2's split (as R1-Distill-Qwen's) and bos/eos at the config's ids."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([Path(__file__).read_text()] * 4,
                            trainers.BpeTrainer(vocab_size=1000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    spec = json.loads(tok.to_str())
    specials = {"<｜begin▁of▁sentence｜>": CONFIG["bos_token_id"], "<｜end▁of▁sentence｜>": CONFIG["eos_token_id"]}
    spec["added_tokens"] = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                             "normalized": False, "special": True} for t, i in specials.items()]
    (directory / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
    bos, eos = specials
    tok_cfg = {"bos_token": bos, "eos_token": eos, "add_bos_token": True, "add_eos_token": False}
    (directory / "tokenizer_config.json").write_text(json.dumps(tok_cfg, ensure_ascii=False))


def random_prompts(n: int, length: int, seed: int) -> list[list[int]]:
    """Ids of ordinary tokens (the special ones start at eos)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, CONFIG["eos_token_id"], (n, length), generator=g).tolist()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Ours:
    def __init__(self, directory: Path, quantize: str | None, new_tokens: int, compile: bool = False) -> None:
        start = time.perf_counter()
        self.model = nanoseek.from_pretrained(directory)
        self.open_s = time.perf_counter() - start
        self.engine = Engine(self.model, max_slots=8, max_len=512 + new_tokens + 8, quantize=quantize, compile=compile)
        self.compile_s = self.warm_up(new_tokens) if compile else None

    def warm_up(self, new_tokens: int) -> float:
        """Seconds to run (and so compile) every shape `measure` times."""
        return timed(lambda: (self.decode(random_prompts(1, 16, 0), new_tokens),
                              self.decode(random_prompts(8, 16, 1), new_tokens),
                              self.first_token(random_prompts(1, 512, 2)[0])))

    @property
    def weights(self) -> dict[str, int]:
        return weight_report(self.model)  # after 8 streams, int8 counts the copy packed for them

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


class LlamaCpp:
    """llama.cpp's llama-bench on a GGUF of the checkpoint; `quantize`: llama-quantize's type name."""

    def __init__(self, build: Path, directory: Path, quantize: str | None) -> None:
        self.bin = build / "bin" if (build / "bin" / "llama-bench").exists() else build
        self.gguf = directory / "model-f16.gguf"
        if quantize is None:
            export_gguf(directory, self.gguf, dtype="f16")  # written anew: never a stale export
        else:
            quantized = directory / f"model-{quantize.lower()}.gguf"
            subprocess.run([str(self.bin / "llama-quantize"), str(self.gguf), str(quantized), quantize],
                           check=True, capture_output=True)
            self.gguf = quantized
        self.weights = {"weight_bytes": self.gguf.stat().st_size}

    def measure(self, rounds: int, new_tokens: int, threads: int) -> dict[str, float]:
        tests = self.bench(["-r", str(rounds), "-t", str(threads), "-p", "512", "-n", str(new_tokens),
                            "-pg", f"16,{new_tokens - 1}"])
        # 16 prompt tokens and new_tokens - 1 decode steps give new_tokens tokens, as ours count them
        b1 = max(new_tokens * 1e9 / ns for ns in tests[(16, new_tokens - 1)]["samples_ns"])
        return {"b1_tok_s": round(b1, 2), "b8_tok_s": None,
                "ttft_512_s": round(min(tests[(512, 0)]["samples_ns"]) / 1e9, 2),
                "decode_tok_s": round(max(tests[(0, new_tokens)]["samples_ts"]), 2),
                "repack": tests[(512, 0)]["repack"]}

    def bench(self, args: list[str]) -> dict[tuple[int, int], dict]:
        """llama-bench's JSON results by (n_prompt, n_gen). Where its repacked weights crash, again
        without repacking: on x86 that repacking is AMX's (Q8_0 only), which a CPU may report but
        not run (a virtual machine's, for one)."""
        cmd = [str(self.bin / "llama-bench"), "-m", str(self.gguf), "-o", "json", *args]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"llama-bench exited {run.returncode}; again with --repack 0", flush=True)
            run = subprocess.run([*cmd, "--repack", "0"], capture_output=True, text=True, check=True)
        return {(t["n_prompt"], t["n_gen"]): t for t in json.loads(run.stdout)}


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


CONTENDERS = {"ours bf16": lambda a: Ours(a.dir, None, a.new_tokens),
              "ours int8": lambda a: Ours(a.dir, "int8", a.new_tokens),
              "ours int8 compiled": lambda a: Ours(a.dir, "int8", a.new_tokens, compile=True),
              "transformers bf16": lambda a: Theirs(a.dir)}


def measure_row(name: str, args: argparse.Namespace) -> dict:
    """One contender's row: opening, `measure`, and the weights held after it."""
    contender = CONTENDERS[name](args)
    speeds = measure(contender, args.rounds, args.new_tokens)
    row = {"open_s": round(contender.open_s, 2), "weight_mib": round(contender.weights["weight_bytes"] / 2**20)}
    if isinstance(contender, Ours):
        row["read_per_token_mib"] = round(contender.weights["bytes_per_token"] / 2**20)
        if contender.compile_s is not None:
            row["compile_s"] = round(contender.compile_s, 1)
    return row | speeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/r1-distill-qwen-1.5b"), help="where the checkpoint is made")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compiled", action="store_true", help="also ours int8 with compiled decode steps")
    parser.add_argument("--llama-cpp", type=Path, metavar="BUILD_DIR",
                        help="also measure llama.cpp (F16 and Q8_0) with the binaries of this build")
    parser.add_argument("--measure", choices=tuple(CONTENDERS), help=argparse.SUPPRESS)  # one row, as JSON
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.measure:
        print(json.dumps(measure_row(args.measure, args)))
        return
    if not (args.dir / "model.safetensors.index.json").exists():
        print(f"writing a random-weight R1-Distill-Qwen-1.5B checkpoint to {args.dir} ...", flush=True)
        write_checkpoint(args.dir)
    if not (args.dir / "tokenizer.json").exists():
        write_tokenizer(args.dir)
    rows = {}
    names = ["ours bf16", "ours int8", *(["ours int8 compiled"] if args.compiled else []), "transformers bf16"]
    for name in names:
        # each in a process of its own, as llama-bench runs: an engine built after another in one
        # process decoded slower (docs/experiments.md, 2026-12-04)
        cmd = [sys.executable, __file__, "--measure", name, "--dir", str(args.dir), "--new-tokens",
               str(args.new_tokens), "--rounds", str(args.rounds), "--threads", str(args.threads)]
        rows[name] = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()[-1])
        print(f"{name}: {rows[name]}", flush=True)
    if args.llama_cpp:
        for name, quantize in [("llama.cpp f16", None), ("llama.cpp q8_0", "Q8_0")]:  # f16 first: q8_0 is made from it
            contender = LlamaCpp(args.llama_cpp, args.dir, quantize)
            rows[name] = {"open_s": None, "weight_mib": round(contender.weights["weight_bytes"] / 2**20)}
            rows[name] |= contender.measure(args.rounds, args.new_tokens, args.threads)
            print(f"{name}: {rows[name]}", flush=True)
    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"config": "DeepSeek-R1-Distill-Qwen-1.5B (random weights)", "threads": args.threads,
            "new_tokens": args.new_tokens, "rounds": args.rounds, "torch": torch.__version__,
            "note": "open_s of the first contender reads the files from the page cache if they were just written"}
    if args.llama_cpp:
        meta["llama_cpp"] = str(args.llama_cpp.resolve())
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


def print_table(rows: dict[str, dict]) -> None:
    """Markdown; a cell a contender has no figure for (None) is "-"."""
    base = rows["transformers bf16"]["b1_tok_s"]

    def cell(value, fmt: str = "{}") -> str:
        return "-" if value is None else fmt.format(value)

    print("| contender | open s | b1 tok/s | vs transformers | 8 streams tok/s | 8 streams / b1 | TTFT 512 s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        streams = None if r["b8_tok_s"] is None else r["b8_tok_s"] / r["b1_tok_s"]
        print(f"| {name} | {cell(r['open_s'])} | {r['b1_tok_s']} | {r['b1_tok_s'] / base:.2f}x | "
              f"{cell(r['b8_tok_s'])} | {cell(streams, '{:.2f}x')} | {r['ttft_512_s']} |")


if __name__ == "__main__":
    main()
