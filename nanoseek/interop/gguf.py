"""Export a checkpoint directory to GGUF, the file llama.cpp (and Ollama, LM Studio, ...) runs.

    from nanoseek.interop.gguf import export_gguf
    export_gguf("runs/speedrun/final", "speedrun-f16.gguf", dtype="f16")

The llama.cpp architecture follows config.json's model_type (LAYOUTS): DeepSeek-V3 runs under
`deepseek2` (this module); the R1-Distill checkpoints (`qwen2`, `llama`) under llama.cpp's
architectures of those names (gguf_llama.py, which also holds the tensor names and keys that
deepseek2 shares with them). Tokenizer and file writing are here, for all three.

What deepseek2 expects, as llama.cpp's own converter (`convert_hf_to_gguf.py`, DeepseekV2Model)
writes it, and the choices made here:

- MLA is stored as MQA over the latent: `head_count_kv = 1`, `key_length = kv_lora_rank +
  qk_rope_head_dim` and `value_length = kv_lora_rank` (one latent "head" shared by all heads),
  while `key_length_mla` / `value_length_mla` hold the real per-head sizes (nope + rope, v).
- `kv_b_proj` [H*(N+V), C] is split for absorbed attention: `attn_k_b` [H, C, N] (each head's
  key part, transposed, folded into the query) and `attn_v_b` [H, V, C]. No `attn_kv_b` is
  written: current llama.cpp only reads the split pair.
- RoPE: llama.cpp runs deepseek2 with its "normal" RoPE, which rotates adjacent pairs, the
  layout of `rope_interleave=True` (DeepSeek's official weights): those go as they are. For
  `rope_interleave=False` the rotary rows of the query and of `k_rope` are permuted from
  halves to pairs, which leaves every attention score unchanged.
- Routing: `expert_gating_func = sigmoid` (without it llama.cpp falls back to softmax),
  `e_score_correction_bias` -> `exp_probs_b.bias`, `expert_weights_scale` =
  routed_scaling_factor, `expert_weights_norm` = norm_topk_prob, group counts from n_group /
  topk_group; routed experts stacked per layer into `ffn_{gate,up,down}_exps` [E, out, in].
- MTP modules are not exported: llama.cpp's deepseek2 has no MTP (its converter drops the
  layers at index >= num_hidden_layers too), so the file holds the main model only.
- YaRN: type, factor, original context, beta_fast/slow, and `yarn_log_multiplier =
  0.1 * mscale_all_dim` (llama.cpp's softmax temperature). llama.cpp has no `mscale` of its own
  (cos/sin are left unscaled, as V3's mscale == mscale_all_dim gives): a config where they
  differ is refused rather than exported to run differently.
- Tokenizer (every architecture): byte-level BPE as `tokenizer.ggml.model = "gpt2"` with the
  checkpoint's vocabulary and merges. The pre-tokenizer name is the llama.cpp split that equals
  tokenizer.json's pre_tokenizer (PRE_TOKENIZERS), any other is refused: "smollm" is one token
  per digit, then GPT-2's regex, exactly ours (`Digits(individual_digits=True)` + `ByteLevel`);
  "deepseek-r1-qwen" and "llama-bpe" are the Split regexes of R1-Distill-Qwen's and
  R1-Distill-Llama's tokenizers (Qwen2's and Llama 3's). Special tokens (bos, eos, pad, roles)
  are CONTROL; added tokens that are not special, such as our `<think>`/`</think>`, are
  USER_DEFINED (atomic, and they stay visible in the output, as in DeepSeek-R1); ids the
  tokenizer lacks up to `vocab_size` are UNUSED `[PAD{i}]`. The chat template, add_bos and
  add_eos come from tokenizer_config.json (our template writes bos itself: add_bos = False).
- Types: `f32` everything; `f16` the matrices, with norms, biases and the router
  (`ffn_gate_inp`) kept in f32 as llama.cpp's converter keeps them.

Tensors are written one at a time as they are read; deepseek2's are all read first (experts are
stacked across files), so its whole model is held in memory once: fine at nanoseek sizes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import gguf
import numpy as np
import torch
from safetensors import safe_open

from nanoseek.config import ModelConfig
from nanoseek.interop import gguf_llama
from nanoseek.interop.gguf_llama import Planned
from nanoseek.interop.hf import _config_json, _weight_files, load_config
from nanoseek.model.llama import MODEL_TYPES

DTYPES = ("f32", "f16")

# tokenizer.json's pre_tokenizer, step by step (see _pre_tokenizer_steps) -> the llama.cpp
# pre-tokenizer that splits text the same way (llama-vocab.cpp holds the same regexes).
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPLIT = QWEN2_SPLIT.replace(r"|\p{N}|", r"|\p{N}{1,3}|")  # digits in runs of up to 3
PRE_TOKENIZERS: dict[tuple, str] = {
    (("Digits", True), ("ByteLevel", False, True)): "smollm",  # ours
    (("Split", QWEN2_SPLIT, "Isolated", False), ("ByteLevel", False, False)): "deepseek-r1-qwen",
    (("Split", LLAMA3_SPLIT, "Isolated", False), ("ByteLevel", False, False)): "llama-bpe",
}


@dataclass(frozen=True)
class Layout:
    """How one llama.cpp architecture holds a checkpoint; `cfg` is the checkpoint's config."""

    arch: str
    load_config: Callable[[Path], Any]  # (model_dir) -> cfg
    check: Callable[[Any], None]  # (cfg): ValueError for what the architecture cannot express
    write_hparams: Callable[[gguf.GGUFWriter, Any], None]  # (writer, cfg)
    tensors: Callable[[Path, Any], Iterator[Planned]]  # (model_dir, cfg), in file order
    shapes: Callable[[Any], dict[str, tuple[int, ...]]]  # (cfg): every tensor llama.cpp loads


# The decoder's names (gguf_llama.TENSOR_TABLE) and MLA's and DeepSeekMoE's. Shapes are written
# as stored ([out, in]); GGUF lists dimensions innermost first, so llama.cpp reads them as {in, out}.
TENSOR_TABLE: list[tuple[str, str]] = gguf_llama.TENSOR_TABLE + [
    (r"model\.layers\.(\d+)\.self_attn\.q_a_proj\.weight", "blk.{}.attn_q_a.weight"),
    (r"model\.layers\.(\d+)\.self_attn\.q_a_layernorm\.weight", "blk.{}.attn_q_a_norm.weight"),
    (r"model\.layers\.(\d+)\.self_attn\.q_b_proj\.weight", "blk.{}.attn_q_b.weight"),
    (r"model\.layers\.(\d+)\.self_attn\.kv_a_proj_with_mqa\.weight", "blk.{}.attn_kv_a_mqa.weight"),
    (r"model\.layers\.(\d+)\.self_attn\.kv_a_layernorm\.weight", "blk.{}.attn_kv_a_norm.weight"),
    (r"model\.layers\.(\d+)\.mlp\.gate\.weight", "blk.{}.ffn_gate_inp.weight"),
    (r"model\.layers\.(\d+)\.mlp\.gate\.e_score_correction_bias", "blk.{}.exp_probs_b.bias"),
    (r"model\.layers\.(\d+)\.mlp\.shared_experts\.gate_proj\.weight", "blk.{}.ffn_gate_shexp.weight"),
    (r"model\.layers\.(\d+)\.mlp\.shared_experts\.up_proj\.weight", "blk.{}.ffn_up_shexp.weight"),
    (r"model\.layers\.(\d+)\.mlp\.shared_experts\.down_proj\.weight", "blk.{}.ffn_down_shexp.weight"),
]
# Written by hand below: kv_b_proj (split) and the per-expert matrices (stacked).
KV_B = re.compile(r"model\.layers\.(\d+)\.self_attn\.kv_b_proj\.weight")
EXPERT = re.compile(r"model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight")
LAYER = re.compile(r"model\.layers\.(\d+)\.")
F32_ALWAYS = re.compile(r".*(_norm\.weight|\.bias|ffn_gate_inp\.weight)")  # small, precision-critical


def export_gguf(model_dir: str | Path, out: str | Path, dtype: Literal["f32", "f16"] = "f16") -> Path:
    """Write `model_dir` (config.json, safetensors, tokenizer.json, tokenizer_config.json) as a
    llama.cpp GGUF at `out`, in the architecture of its model_type (LAYOUTS). Raises
    ValueError / FileNotFoundError on bad input before anything is written."""
    model_dir, out = Path(model_dir), Path(out)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    layout = LAYOUTS[_model_type(model_dir)]
    cfg = layout.load_config(model_dir)
    layout.check(cfg)
    vocab = _vocab(model_dir, cfg)
    planned = _check_shapes(list(layout.tensors(model_dir, cfg)), layout.shapes(cfg), cfg.tie_word_embeddings)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")  # renamed once complete: never a torn file at `out`
    writer = gguf.GGUFWriter(part, layout.arch)
    writer.add_name(model_dir.resolve().name)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if dtype == "f32" else gguf.LlamaFileType.MOSTLY_F16)
    layout.write_hparams(writer, cfg)
    _write_vocab(writer, vocab)
    try:
        _write_tensors(writer, planned, dtype)
    except BaseException:
        writer.close()
        part.unlink(missing_ok=True)
        raise
    writer.close()
    return part.replace(out)


def architecture(model_dir: str | Path) -> str:
    """The llama.cpp architecture `model_dir` exports to, by its config.json's model_type."""
    return LAYOUTS[_model_type(Path(model_dir))].arch


def _model_type(model_dir: Path) -> str:
    model_type = _config_json(model_dir).get("model_type")
    if model_type not in LAYOUTS:
        raise ValueError(f"{model_dir / 'config.json'}: model_type must be one of {sorted(LAYOUTS)} "
                         f"for GGUF export, got {model_type!r}")
    return model_type


def _write_tensors(w: gguf.GGUFWriter, planned: list[Planned], dtype: str) -> None:
    """Header and tensor infos, then each tensor's data as it is read: one tensor in memory at a time."""
    types = [np.dtype(np.float16 if dtype == "f16" and len(shape) > 1 and not F32_ALWAYS.fullmatch(name)
                      else np.float32) for name, shape, _ in planned]
    for (name, shape, _), ty in zip(planned, types):
        w.add_tensor_info(name, shape, ty, math.prod(shape) * ty.itemsize)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for (_, _, read), ty in zip(planned, types):
        w.write_tensor_data(read().numpy().astype(ty))


# ---- hyperparameters -----------------------------------------------------------------------


def _check_supported(cfg: ModelConfig) -> None:
    s = cfg.rope_scaling or {}
    if cfg.rope_type == "yarn" and s.get("mscale") and s.get("mscale_all_dim") \
            and s["mscale"] != s["mscale_all_dim"]:
        raise ValueError("rope_scaling.mscale must equal rope_scaling.mscale_all_dim for llama.cpp "
                         f"(it has no separate cos/sin scale), got {s['mscale']} and {s['mscale_all_dim']}")


def _write_hparams(w: gguf.GGUFWriter, cfg: ModelConfig) -> None:
    gguf_llama.write_common_hparams(w, cfg)  # block_count: MTP layers are not exported
    w.add_head_count_kv(1)  # MLA runs as MQA over the shared latent
    w.add_rope_dimension_count(cfg.qk_rope_head_dim)
    w.add_q_lora_rank(cfg.q_lora_rank or 0)  # required by llama.cpp; 0 = plain attn_q
    w.add_kv_lora_rank(cfg.kv_lora_rank)
    w.add_key_length(cfg.kv_lora_rank + cfg.qk_rope_head_dim)
    w.add_value_length(cfg.kv_lora_rank)
    w.add_key_length_mla(cfg.qk_head_dim)
    w.add_value_length_mla(cfg.v_head_dim)
    w.add_leading_dense_block_count(min(cfg.first_k_dense_replace, cfg.num_hidden_layers))
    w.add_expert_feed_forward_length(cfg.moe_intermediate_size)
    w.add_expert_count(cfg.n_routed_experts)
    w.add_expert_used_count(cfg.num_experts_per_tok)
    w.add_expert_shared_count(cfg.n_shared_experts)
    if cfg.topk_group < cfg.n_group:
        # Keeping every group limits nothing, and llama.cpp refuses to load used == count.
        w.add_expert_group_count(cfg.n_group)
        w.add_expert_group_used_count(cfg.topk_group)
    w.add_expert_weights_scale(cfg.routed_scaling_factor)
    w.add_expert_weights_norm(cfg.norm_topk_prob)
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    if cfg.rope_type == "yarn":
        s = cfg.rope_scaling
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(s["factor"])
        w.add_rope_scaling_orig_ctx_len(s.get("original_max_position_embeddings", cfg.max_position_embeddings))
        if s.get("beta_fast") is not None:
            w.add_rope_scaling_yarn_beta_fast(s["beta_fast"])
        if s.get("beta_slow") is not None:
            w.add_rope_scaling_yarn_beta_slow(s["beta_slow"])
        if s.get("attention_factor") is not None:
            w.add_rope_scaling_yarn_attn_factor(s["attention_factor"])
        if s.get("mscale_all_dim"):
            w.add_rope_scaling_yarn_log_mul(0.1 * s["mscale_all_dim"])


# ---- tokenizer -----------------------------------------------------------------------------


def _vocab(model_dir: Path, cfg: Any) -> dict:
    """Token strings, types, merges and special ids from tokenizer.json / tokenizer_config.json."""
    files = {name: model_dir / name for name in ("tokenizer.json", "tokenizer_config.json")}
    for name, path in files.items():
        if not path.is_file():
            raise FileNotFoundError(f"{model_dir} has no {name}: the GGUF needs the tokenizer")
    spec = json.loads(files["tokenizer.json"].read_text(encoding="utf-8"))
    tok_cfg = json.loads(files["tokenizer_config.json"].read_text(encoding="utf-8"))
    if spec["model"]["type"] != "BPE":
        raise ValueError(f"tokenizer.json model must be BPE, got {spec['model']['type']!r}")
    ids = dict(spec["model"]["vocab"])
    added = {t["content"]: t for t in spec.get("added_tokens", [])}
    ids.update({content: t["id"] for content, t in added.items()})
    if max(ids.values()) >= cfg.vocab_size:
        raise ValueError(f"the tokenizer has id {max(ids.values())}, beyond config vocab_size={cfg.vocab_size}")
    by_id = {i: token for token, i in ids.items()}
    tokens, types = [], []
    for i in range(cfg.vocab_size):
        token = by_id.get(i)
        if token is None:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif token in added:
            tokens.append(token)
            types.append(gguf.TokenType.CONTROL if added[token]["special"] else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(token)
            types.append(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"].get("merges", [])]

    def special(key: str) -> int | None:
        value = tok_cfg.get(key)
        content = value.get("content") if isinstance(value, dict) else value
        return ids.get(content) if content else None

    return {"tokens": tokens, "types": types, "merges": merges, "pre": _pre_tokenizer(spec),
            "bos": special("bos_token"), "eos": special("eos_token"), "pad": special("pad_token"),
            "add_bos": bool(tok_cfg.get("add_bos_token", False)), "add_eos": bool(tok_cfg.get("add_eos_token", False)),
            "chat_template": tok_cfg.get("chat_template")}


def _pre_tokenizer(spec: dict) -> str:
    """llama.cpp's name for tokenizer.json's pre_tokenizer; a ValueError for one it has no match for."""
    steps = _pre_tokenizer_steps(spec.get("pre_tokenizer") or {})
    if steps not in PRE_TOKENIZERS:
        raise ValueError(f"tokenizer.json: llama.cpp has no pre-tokenizer known to split text as this one does "
                         f"{steps}; supported: {sorted(PRE_TOKENIZERS.values())}")
    return PRE_TOKENIZERS[steps]


def _pre_tokenizer_steps(pre: dict) -> tuple:
    """Each step of a pre_tokenizer as a tuple of the settings that change how text is split."""
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    out = []
    for step in steps:
        kind = step.get("type")
        if kind == "Digits":
            out.append((kind, step.get("individual_digits", False)))
        elif kind == "ByteLevel":
            out.append((kind, step.get("add_prefix_space", True), step.get("use_regex", True)))
        elif kind == "Split":
            out.append((kind, step.get("pattern", {}).get("Regex"), step.get("behavior"), step.get("invert", False)))
        else:
            out.append((kind,))
    return tuple(out)


def _write_vocab(w: gguf.GGUFWriter, vocab: dict) -> None:
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(vocab["pre"])
    w.add_token_list(vocab["tokens"])
    w.add_token_types(vocab["types"])
    w.add_token_merges(vocab["merges"])
    for key, add in [("bos", w.add_bos_token_id), ("eos", w.add_eos_token_id), ("pad", w.add_pad_token_id)]:
        if vocab[key] is not None:
            add(vocab[key])
    w.add_add_bos_token(vocab["add_bos"])
    w.add_add_eos_token(vocab["add_eos"])
    if vocab["chat_template"]:
        w.add_chat_template(vocab["chat_template"])


# ---- tensors -------------------------------------------------------------------------------


def _tensors(model_dir: Path, cfg: ModelConfig) -> Iterator[tuple[str, torch.Tensor]]:
    """(GGUF name, float32 tensor) for every exported tensor, in checkpoint order."""
    files = _weight_files(model_dir)
    handles = {p: safe_open(p, framework="pt") for p in set(files.values())}
    experts: dict[tuple[int, str], dict[int, torch.Tensor]] = {}
    rope_fix = _rope_permuter(cfg)
    for key, path in files.items():
        layer = LAYER.match(key)
        if layer and int(layer.group(1)) >= cfg.num_hidden_layers:
            continue  # an MTP module: llama.cpp's deepseek2 has none
        t = handles[path].get_tensor(key).float()
        if m := EXPERT.fullmatch(key):
            group = experts.setdefault((int(m.group(1)), m.group(3)), {})
            group[int(m.group(2))] = t
            if len(group) == cfg.n_routed_experts:  # all of this layer's experts: stack them
                yield f"blk.{m.group(1)}.ffn_{m.group(3)}_exps.weight", torch.stack([group[j] for j in sorted(group)])
                del experts[(int(m.group(1)), m.group(3))]
        elif m := KV_B.fullmatch(key):
            yield from _split_kv_b(int(m.group(1)), t, cfg)
        else:
            name = gguf_llama.gguf_name(key, TENSOR_TABLE)
            yield name, rope_fix(name, t)
    if experts:
        layer, kind = next(iter(experts))
        raise ValueError(f"layer {layer} has {len(experts[(layer, kind)])} {kind}_proj experts, "
                         f"config says n_routed_experts={cfg.n_routed_experts}")


def _planned(model_dir: Path, cfg: ModelConfig) -> Iterator[Planned]:
    """deepseek2's tensors, read up front: a layer's experts are stacked, so may span files."""
    for name, t in _tensors(model_dir, cfg):
        yield name, tuple(t.shape), lambda t=t: t


def tensor_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor llama.cpp's deepseek2 loads for `cfg`, with its shape as stored (outermost first)."""
    d, h, c, r = cfg.hidden_size, cfg.num_attention_heads, cfg.kv_lora_rank, cfg.qk_rope_head_dim
    e, f, shared = cfg.n_routed_experts, cfg.moe_intermediate_size, cfg.moe_intermediate_size * cfg.n_shared_experts
    shapes = {"token_embd.weight": (cfg.vocab_size, d), "output_norm.weight": (d,),
              "output.weight": (cfg.vocab_size, d)}
    for i in range(cfg.num_hidden_layers):
        blk = {"attn_norm.weight": (d,), "ffn_norm.weight": (d,), "attn_kv_a_mqa.weight": (c + r, d),
               "attn_kv_a_norm.weight": (c,), "attn_k_b.weight": (h, c, cfg.qk_nope_head_dim),
               "attn_v_b.weight": (h, cfg.v_head_dim, c), "attn_output.weight": (d, h * cfg.v_head_dim)}
        if cfg.q_lora_rank is None:
            blk["attn_q.weight"] = (h * cfg.qk_head_dim, d)
        else:
            blk.update({"attn_q_a.weight": (cfg.q_lora_rank, d), "attn_q_a_norm.weight": (cfg.q_lora_rank,),
                        "attn_q_b.weight": (h * cfg.qk_head_dim, cfg.q_lora_rank)})
        if not cfg.is_moe_layer(i):
            i_ff = cfg.intermediate_size
            blk.update({"ffn_gate.weight": (i_ff, d), "ffn_up.weight": (i_ff, d), "ffn_down.weight": (d, i_ff)})
        else:
            blk.update({"ffn_gate_inp.weight": (e, d), "exp_probs_b.bias": (e,), "ffn_gate_exps.weight": (e, f, d),
                        "ffn_up_exps.weight": (e, f, d), "ffn_down_exps.weight": (e, d, f)})
            if shared:
                blk.update({"ffn_gate_shexp.weight": (shared, d), "ffn_up_shexp.weight": (shared, d),
                            "ffn_down_shexp.weight": (d, shared)})
        shapes.update({f"blk.{i}.{k}": v for k, v in blk.items()})
    return shapes


def _check_shapes(planned: list[Planned], expected: dict[str, tuple[int, ...]], tied: bool) -> list[Planned]:
    got = {name: shape for name, shape, _ in planned}
    if tied and "output.weight" not in got:
        del expected["output.weight"]  # llama.cpp then reuses token_embd
    missing, extra = sorted(expected.keys() - got.keys()), sorted(got.keys() - expected.keys())
    if missing or extra:
        raise ValueError(f"checkpoint does not match its config: missing {missing[:5]}, unexpected {extra[:5]}")
    for name, shape in got.items():
        if shape != expected[name]:
            raise ValueError(f"tensor {name} has shape {shape}, config implies {expected[name]}")
    return planned


def _split_kv_b(layer: int, w: torch.Tensor, cfg: ModelConfig) -> Iterator[tuple[str, torch.Tensor]]:
    """kv_b_proj [H*(N+V), C] -> attn_k_b [H, C, N] (transposed: absorbed into q) and attn_v_b [H, V, C]."""
    h, n, v = cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.v_head_dim
    w_uk, w_uv = w.view(h, n + v, cfg.kv_lora_rank).split([n, v], dim=1)
    yield f"blk.{layer}.attn_k_b.weight", w_uk.transpose(1, 2).contiguous()
    yield f"blk.{layer}.attn_v_b.weight", w_uv.contiguous()


def _rope_permuter(cfg: ModelConfig) -> Callable[[str, torch.Tensor], torch.Tensor]:
    """For rope_interleave=False: reorder the rotary rows of the query and of k_rope from halves
    (x_i pairs with x_{i+R/2}) to adjacent pairs, the layout llama.cpp rotates."""
    r, nope, kv = cfg.qk_rope_head_dim, cfg.qk_nope_head_dim, cfg.kv_lora_rank
    pairs = gguf_llama.halves_to_pairs(r)

    def permute(name: str, t: torch.Tensor) -> torch.Tensor:
        if cfg.rope_interleave:
            return t
        if name.endswith((".attn_q.weight", ".attn_q_b.weight")):  # [H*(N+R), in]
            q = t.view(cfg.num_attention_heads, nope + r, -1).clone()
            q[:, nope:] = q[:, nope + pairs]
            return q.view_as(t)
        if name.endswith(".attn_kv_a_mqa.weight"):  # [C+R, D]
            t = t.clone()
            t[kv:] = t[kv + pairs]
        return t

    return permute


# config.json's model_type -> how llama.cpp holds it
LAYOUTS: dict[str, Layout] = {
    "deepseek_v3": Layout("deepseek2", load_config, _check_supported, _write_hparams, _planned, tensor_shapes),
    **{t: Layout(t, gguf_llama.load_config, gguf_llama.check_supported, gguf_llama.write_hparams,
                 gguf_llama.tensors, gguf_llama.tensor_shapes) for t in MODEL_TYPES},
}
