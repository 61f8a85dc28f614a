"""The R1-Distill checkpoints in GGUF: llama.cpp's `qwen2` and `llama` architectures, as its
converter (`convert_hf_to_gguf.py`, Qwen2Model and LlamaModel) writes them. `export_gguf`
(gguf.py) picks this layout by config.json's model_type and writes the tokenizer and the file.
What deepseek2 shares with these plain decoders (tensor names, common keys, the halves-to-pairs
row order) lives here, so gguf.py imports this module and not the other way round.

- Tensors keep transformers' layout under llama.cpp's names: token_embd, output_norm, output
  (left out when the head is tied: llama.cpp then reuses token_embd), and per block attn_norm,
  attn_q/k/v (+ .bias: always in Qwen2, with attention_bias in Llama), attn_output (+ .bias
  with Llama's attention_bias), ffn_norm, ffn_gate/up/down.
- RoPE: the checkpoints rotate halves (x_j with x_{j+E/2}). llama.cpp's qwen2 rotates halves
  too ("neox" RoPE), so its q and k go as they are. Its llama rotates adjacent pairs: the rows
  of each q and k head, biases included, are reordered from halves to pairs, as the
  converter's `permute` does, which leaves every attention score unchanged.
- Llama 3.1's scaling (rope_type llama3) goes as llama.cpp's `rope_freqs` tensor [E/2]: the
  divisor of each base frequency, taken from our own frequencies so the two cannot disagree.
- Hyperparameters: head_dim is written as key_length, value_length and rope.dimension_count.
  llama.cpp's qwen2 sizes attention by hidden_size and has no output bias and no rope_freqs:
  a qwen2 config that needs one of them is refused.
- Tensors are read one at a time while writing: a 1.5B model is never held in memory whole.

Legend: D = hidden_size, E = head_dim, H = query heads, G = key/value heads, V = vocab_size.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import gguf
import torch
from safetensors import safe_open

from nanoseek.interop.hf import _config_json, _model_config, _weight_files
from nanoseek.model.llama import LlamaConfig, rope_frequencies

# (GGUF name, shape as stored (outermost first), a function that reads its float32 values)
Planned = tuple[str, tuple[int, ...], Callable[[], torch.Tensor]]

# HF key (regex; the groups are the decoder layer, then weight or bias) -> GGUF name.
TENSOR_TABLE: list[tuple[str, str]] = [
    (r"model\.embed_tokens\.weight", "token_embd.weight"),
    (r"model\.norm\.weight", "output_norm.weight"),
    (r"lm_head\.weight", "output.weight"),
    (r"model\.layers\.(\d+)\.input_layernorm\.weight", "blk.{}.attn_norm.weight"),
    (r"model\.layers\.(\d+)\.post_attention_layernorm\.weight", "blk.{}.ffn_norm.weight"),
    (r"model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)", "blk.{}.attn_q.{}"),
    (r"model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)", "blk.{}.attn_k.{}"),
    (r"model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)", "blk.{}.attn_v.{}"),
    (r"model\.layers\.(\d+)\.self_attn\.o_proj\.(weight|bias)", "blk.{}.attn_output.{}"),
    (r"model\.layers\.(\d+)\.mlp\.gate_proj\.weight", "blk.{}.ffn_gate.weight"),
    (r"model\.layers\.(\d+)\.mlp\.up_proj\.weight", "blk.{}.ffn_up.weight"),
    (r"model\.layers\.(\d+)\.mlp\.down_proj\.weight", "blk.{}.ffn_down.weight"),
]


def gguf_name(key: str, table: list[tuple[str, str]] = TENSOR_TABLE) -> str:
    for pattern, template in table:
        m = re.fullmatch(pattern, key)
        if m:
            return template.format(*m.groups())
    raise ValueError(f"no GGUF name for checkpoint tensor {key!r}")


def halves_to_pairs(r: int) -> torch.Tensor:
    """Row order [R] that takes R rotary rows from halves (x_i pairs with x_{i+R/2}) to adjacent
    pairs: new row i is old row `halves_to_pairs(r)[i]`."""
    return torch.tensor([i // 2 + (i % 2) * (r // 2) for i in range(r)])


def write_common_hparams(w: gguf.GGUFWriter, cfg: Any) -> None:
    """The keys deepseek2, qwen2 and llama share, from the config fields of the same names."""
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_rope_freq_base(cfg.rope_theta)


# ---- qwen2 and llama ------------------------------------------------------------------------


def load_config(model_dir: Path) -> LlamaConfig:
    """The checkpoint's LlamaConfig; a broken config.json is a ValueError naming it."""
    return _model_config(_config_json(model_dir), model_dir, LlamaConfig)


def check_supported(cfg: LlamaConfig) -> None:
    if cfg.model_type != "qwen2":
        return
    d, h, e = cfg.hidden_size, cfg.num_attention_heads, cfg.head_dim
    if h * e != d:
        raise ValueError(f"llama.cpp's qwen2 needs num_attention_heads * head_dim == hidden_size, got {h} * {e} != {d}")
    if cfg.attention_bias:
        raise ValueError("llama.cpp's qwen2 has no attn_output bias: attention_bias must be False, got True")
    if cfg.rope_type != "default":
        raise ValueError(f"llama.cpp's qwen2 has no rope_freqs: rope_scaling must be None, got {cfg.rope_scaling}")


def write_hparams(w: gguf.GGUFWriter, cfg: LlamaConfig) -> None:
    write_common_hparams(w, cfg)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_rope_dimension_count(cfg.head_dim)


def tensors(model_dir: Path, cfg: LlamaConfig) -> Iterator[Planned]:
    """(GGUF name, shape, reader) of every tensor: rope_freqs (llama3 scaling), then the checkpoint's
    in file order, their shapes from the file headers (nothing is read until written)."""
    if cfg.rope_type == "llama3":
        factors = rope_factors(cfg)
        yield "rope_freqs.weight", tuple(factors.shape), lambda: factors
    files = _weight_files(model_dir)
    handles = {p: safe_open(p, framework="pt") for p in set(files.values())}
    for key, path in files.items():
        name = gguf_name(key)
        shape = tuple(handles[path].get_slice(key).get_shape())
        yield name, shape, functools.partial(_read, handles[path], key, _rope_heads(name, cfg))


def _read(handle, key: str, rope_heads: int | None) -> torch.Tensor:
    t = handle.get_tensor(key).float()
    if rope_heads is None:
        return t
    e = t.shape[0] // rope_heads
    return t.view(rope_heads, e, *t.shape[1:])[:, halves_to_pairs(e)].reshape(t.shape)  # [heads * E, ...]


def _rope_heads(name: str, cfg: LlamaConfig) -> int | None:
    """How many heads' rows llama.cpp's llama rotates as pairs in tensor `name`; None: no reordering."""
    if cfg.model_type != "llama":
        return None
    if ".attn_q." in name:
        return cfg.num_attention_heads
    if ".attn_k." in name:
        return cfg.num_key_value_heads
    return None


def rope_factors(cfg: LlamaConfig) -> torch.Tensor:
    """rope_freqs [E/2]: llama.cpp divides each base frequency by its factor."""
    base = rope_frequencies(dataclasses.replace(cfg, rope_scaling=None))
    return base / rope_frequencies(cfg)


def tensor_shapes(cfg: LlamaConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor llama.cpp's qwen2 / llama loads for `cfg`, with its shape as stored (outermost first)."""
    d, f, v = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size
    q, kv = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim  # H * E, G * E
    shapes = {"token_embd.weight": (v, d), "output_norm.weight": (d,), "output.weight": (v, d)}
    if cfg.rope_type == "llama3":
        shapes["rope_freqs.weight"] = (cfg.head_dim // 2,)
    blk = {"attn_norm.weight": (d,), "attn_q.weight": (q, d), "attn_k.weight": (kv, d), "attn_v.weight": (kv, d),
           "attn_output.weight": (d, q), "ffn_norm.weight": (d,), "ffn_gate.weight": (f, d),
           "ffn_up.weight": (f, d), "ffn_down.weight": (d, f)}
    if cfg.qkv_bias:
        blk |= {"attn_q.bias": (q,), "attn_k.bias": (kv,), "attn_v.bias": (kv,)}
    if cfg.attention_bias:
        blk["attn_output.bias"] = (d,)
    for i in range(cfg.num_hidden_layers):
        shapes |= {f"blk.{i}.{name}": shape for name, shape in blk.items()}
    return shapes

