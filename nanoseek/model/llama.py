"""The DeepSeek-R1-Distill architectures: Llama (8B, 70B) and Qwen2 (1.5B, 7B, 14B, 32B).

Both are pre-norm decoder-only transformers: RMSNorm, RoPE, grouped-query attention, SwiGLU
MLP. Qwen2 is Llama with biases on the q/k/v projections; its other difference, a sliding
window, is off in every R1-Distill checkpoint. Module names follow transformers'
LlamaForCausalLM and Qwen2ForCausalLM, so each checkpoint key is ours with a `model.` prefix.

Legend: B = batch, T = new tokens, S = tokens attended to (cache + new), D = hidden_size,
H = query heads, G = key/value heads (each shared by H/G query heads), E = head_dim, V = vocab_size.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from nanoseek.config import LIMITS, hf_fields, require
from nanoseek.model.mlp import MLP
from nanoseek.model.norm import RMSNorm
from nanoseek.model.rope import apply_rope

MODEL_TYPES = ("llama", "qwen2")
ROPE_TYPES = ("default", "llama3")
LLAMA3_KEYS = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")

# config.json settings this model implements at one value only (the one every R1-Distill
# checkpoint has): any other value is refused, not silently ignored.
FIXED = {"hidden_act": "silu", "mlp_bias": False, "use_sliding_window": False}


@dataclass
class LlamaConfig:
    model_type: str = "llama"  # or "qwen2"
    vocab_size: int = 512
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int | None = None  # None: one per query head (plain multi-head attention)
    head_dim: int | None = None  # None: hidden_size // num_attention_heads
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None  # None, or Llama 3.1's {"rope_type": "llama3", LLAMA3_KEYS...}
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = False  # True: the output head is the embedding matrix
    attention_bias: bool = False  # Llama's switch: biases on q, k, v and o
    eos_token_id: int | list[int] | None = None  # where generation stops (Llama 3 lists several)

    def __post_init__(self) -> None:
        for name in ["hidden_size", "num_attention_heads"]:  # the defaults below divide by them
            _require_positive_int(self, name)
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        self._validate()

    @property
    def rope_type(self) -> str:
        if not self.rope_scaling:
            return "default"
        return self.rope_scaling.get("rope_type", self.rope_scaling.get("type", "default"))

    @property
    def qkv_bias(self) -> bool:
        """Qwen2 always has q/k/v biases: its config.json has no switch for them."""
        return self.attention_bias or self.model_type == "qwen2"

    def _validate(self) -> None:
        _require(self.model_type in MODEL_TYPES, "model_type", f"one of {MODEL_TYPES}", self.model_type)
        positive = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "head_dim", "max_position_embeddings"]
        for name in positive:
            _require_positive_int(self, name)
        for name, most in LIMITS.items():  # before anything of that size is allocated
            if hasattr(self, name):
                _require(getattr(self, name) <= most, name, f"at most {most:,}", getattr(self, name))
        _require(self.num_attention_heads % self.num_key_value_heads == 0, "num_key_value_heads",
                 f"a divisor of num_attention_heads={self.num_attention_heads}", self.num_key_value_heads)
        _require(self.head_dim % 2 == 0, "head_dim", "an even integer (RoPE rotates pairs)", self.head_dim)
        for name in ["rms_norm_eps", "rope_theta"]:
            _require(getattr(self, name) > 0, name, "a positive number", getattr(self, name))
        eos = self.eos_token_id if isinstance(self.eos_token_id, list) else [self.eos_token_id]
        _require(self.eos_token_id is None or all(isinstance(t, int) and 0 <= t < self.vocab_size for t in eos),
                 "eos_token_id", f"a token id in [0, {self.vocab_size}) or a list of them", self.eos_token_id)
        _require(self.rope_type in ROPE_TYPES, "rope_scaling.rope_type", f"one of {ROPE_TYPES}", self.rope_type)
        if self.rope_type == "llama3":
            for key in LLAMA3_KEYS:
                value = self.rope_scaling.get(key)
                _require(isinstance(value, (int, float)) and value > 0, f"rope_scaling.{key}",
                         "a positive number", value)
            low, high = self.rope_scaling["low_freq_factor"], self.rope_scaling["high_freq_factor"]
            _require(high > low, "rope_scaling.high_freq_factor", f"> low_freq_factor={low}", high)

    @classmethod
    def from_hf_dict(cls, d: dict[str, Any]) -> "LlamaConfig":
        """Build from a `config.json` dict: the released checkpoints' (rope_theta, rope_scaling) or
        transformers 5's (rope_parameters). Unknown keys are ignored, FIXED settings enforced."""
        for name, value in FIXED.items():
            _require(d.get(name, value) == value, name, repr(value), d.get(name))
        return cls(**hf_fields(cls, d))


def _require_positive_int(cfg: LlamaConfig, name: str) -> None:
    value = getattr(cfg, name)
    _require(isinstance(value, int) and not isinstance(value, bool) and value > 0, name, "a positive integer", value)


_require = functools.partial(require, owner="LlamaConfig")


# ---- RoPE ---------------------------------------------------------------------------------


def rope_frequencies(cfg: LlamaConfig) -> torch.Tensor:
    """Rotation frequency (radians per position) of each pair of head dims [E/2]."""
    exponents = torch.arange(0, cfg.head_dim, 2, dtype=torch.float32) / cfg.head_dim
    inv_freq = 1.0 / cfg.rope_theta**exponents
    if cfg.rope_type == "llama3":
        inv_freq = _llama3_frequencies(inv_freq, cfg.rope_scaling)
    return inv_freq


def _llama3_frequencies(inv_freq: torch.Tensor, s: dict[str, Any]) -> torch.Tensor:
    """Llama 3.1's context extension: a frequency that turns fewer than low_freq_factor times
    within the original context is slowed down by `factor`, one that turns more than
    high_freq_factor times is kept, and those between are blended linearly in the turn count."""
    turns = s["original_max_position_embeddings"] * inv_freq / (2 * math.pi)
    keep = ((turns - s["low_freq_factor"]) / (s["high_freq_factor"] - s["low_freq_factor"])).clamp(0, 1)
    return inv_freq * (keep + (1 - keep) / s["factor"])


class Rotary(nn.Module):
    """cos/sin of each position's rotation angles, computed per step from the frequencies. The
    angles are fp32 whatever the model's dtype: bf16 keeps 8 bits, too few for position * frequency."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.register_buffer("inv_freq", rope_frequencies(cfg), persistent=False)

    def forward(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """positions [..., T] -> cos, sin [..., T, E/2] in `dtype`."""
        angles = positions.unsqueeze(-1).float() * self.inv_freq
        return angles.cos().to(dtype), angles.sin().to(dtype)


# ---- attention ----------------------------------------------------------------------------


class KVCache(Protocol):
    """What attention needs from a cache: store the new keys and values, return all to attend to."""

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """k, v [B, T, G, E] -> all k, v [B, S, G, E], mask [B, 1, T, S] (bool, True = may attend)."""
        ...


class GroupedQueryAttention(nn.Module):
    """Attention whose G key/value heads each serve H/G query heads: a cache holds 2 * G * E
    numbers per token per layer instead of 2 * H * E."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        d, h, g, e = cfg.hidden_size, self.n_heads, self.n_kv_heads, self.head_dim
        self.q_proj = nn.Linear(d, h * e, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(d, g * e, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(d, g * e, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(h * e, d, bias=cfg.attention_bias)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None = None
    ) -> torch.Tensor:
        """x [B, T, D], cos/sin [B or 1, T, E/2] -> [B, T, D]. Without a cache, causal over x."""
        q = self.q_proj(x).unflatten(-1, (self.n_heads, self.head_dim))  # [B, T, H, E]
        k = self.k_proj(x).unflatten(-1, (self.n_kv_heads, self.head_dim))  # [B, T, G, E]
        v = self.v_proj(x).unflatten(-1, (self.n_kv_heads, self.head_dim))  # [B, T, G, E]
        # Llama and Qwen2 rotate the halves (x_i, x_{i+E/2}), not neighbouring pairs.
        cos, sin = cos.unsqueeze(-2), sin.unsqueeze(-2)  # broadcast over heads
        q, k = apply_rope(q, cos, sin, interleave=False), apply_rope(k, cos, sin, interleave=False)
        mask = None
        if cache is not None:
            k, v, mask = cache.update(k, v)  # [B, S, G, E] each, [B, 1, T, S]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, E], [B, G, S, E] x2
        if q.shape[2] == 1:
            out = self._attend_one_token(q, k, v, mask)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None, enable_gqa=True)
        return self.o_proj(out.transpose(1, 2).flatten(2))  # out [B, H, T, E]

    def _attend_one_token(self, q, k, v, mask) -> torch.Tensor:
        """A decode step's attention, q [B, H, 1, E] -> [B, H, 1, E]: a group's H/G query heads
        are H/G query rows of its key/value head, as in MLA's absorbed decode: the fused CPU
        kernel runs several times faster so than with one query row in each of H heads
        (benchmarks/decode_kernels.py). Prompt chunks keep the grouped heads, faster for many rows."""
        b, h, _, e = q.shape
        rows = q.view(b, self.n_kv_heads, h // self.n_kv_heads, e)  # [B, G, H/G, E]
        return F.scaled_dot_product_attention(rows, k, v, attn_mask=mask).view(b, h, 1, e)


# ---- the model ----------------------------------------------------------------------------


class LlamaBlock(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = GroupedQueryAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg.hidden_size, cfg.intermediate_size)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None = None
    ) -> torch.Tensor:
        """x [B, T, D] -> [B, T, D]."""
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaTransformer(nn.Module):
    """Llama / Qwen2 causal language model, driven like our DeepSeek-V3 Transformer."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(LlamaBlock(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        # Tied: no head of its own, so a tied checkpoint (which stores no lm_head.weight) loads as is.
        self.lm_head = None if cfg.tie_word_embeddings else nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.rotary = Rotary(cfg)

    def forward(
        self,
        input_ids: torch.Tensor,
        *,
        positions: torch.Tensor | None = None,
        caches: list[KVCache] | None = None,
    ) -> torch.Tensor:
        """input_ids [B, T] -> fp32 logits [B, T, V]. `positions` [B or 1, T] default to 0..T-1;
        `caches` (one per layer) switch attention to incremental decoding."""
        return self.logits(self.hidden_states(input_ids, positions, caches))

    def hidden_states(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        caches: list[KVCache] | None = None,
    ) -> torch.Tensor:
        """input_ids [B, T] -> last hidden states [B, T, D] before the final norm."""
        if positions is None:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)  # [1, T]
        h = self.embed_tokens(input_ids)
        cos, sin = self.rotary(positions, h.dtype)  # [B or 1, T, E/2]
        for i, layer in enumerate(self.layers):
            h = layer(h, cos, sin, caches[i] if caches else None)
        return h

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Hidden states [B, T, D] before the final norm -> fp32 logits [B, T, V]."""
        h = self.norm(h)
        if self.lm_head is None:  # tied: the embedding matrix is the head
            return F.linear(h, self.embed_tokens.weight).float()
        return self.lm_head(h).float()

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu") -> "LlamaTransformer":
        from nanoseek.interop.hf import load_llama_pretrained

        return load_llama_pretrained(cls, Path(path), device)
