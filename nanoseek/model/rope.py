"""Rotary position embeddings, with YaRN context extension as DeepSeek-V3 configures it.

Shapes: T = positions, R = qk_rope_head_dim (rotated dims), R/2 = rotation frequencies.

`rope_interleave=True` rotates the pairs (x0, x1), (x2, x3), ... (the layout of DeepSeek's
official weights); False rotates (x_i, x_{i+R/2}). Either way we return the rotated vector in
the "halves" layout [x1', x2']: queries and keys are permuted the same way, so their dot
products (all attention ever uses) are unchanged, and the math matches transformers exactly.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nanoseek.config import ModelConfig


def yarn_mscale(factor: float, mscale: float = 1.0) -> float:
    """YaRN's attention temperature: 0.1 * mscale * ln(factor) + 1 (1 when not extending)."""
    return 1.0 if factor <= 1 else 0.1 * mscale * math.log(factor) + 1.0


def _yarn_inv_freq(cfg: ModelConfig, base_inv_freq: torch.Tensor) -> torch.Tensor:
    """Blend interpolated (slow) and extrapolated (fast) frequencies with YaRN's linear ramp."""
    s = cfg.rope_scaling
    dim, base, factor = cfg.qk_rope_head_dim, cfg.rope_theta, s["factor"]
    original_max = s.get("original_max_position_embeddings", cfg.max_position_embeddings)
    beta_fast, beta_slow = s.get("beta_fast") or 32, s.get("beta_slow") or 1

    def correction_dim(rotations: float) -> float:
        return dim * math.log(original_max / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if s.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # avoid a zero-width ramp
    ramp = ((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    extrapolate = 1 - ramp  # 1: keep the original frequency, 0: divide it by `factor`
    return base_inv_freq / factor * (1 - extrapolate) + base_inv_freq * extrapolate


def _cos_sin_scale(cfg: ModelConfig) -> float:
    """Scale of cos/sin (transformers' `attention_factor`); 1.0 for V3's mscale == mscale_all_dim."""
    s = cfg.rope_scaling
    if s.get("attention_factor") is not None:
        return float(s["attention_factor"])
    if s.get("mscale") and s.get("mscale_all_dim"):
        return yarn_mscale(s["factor"], s["mscale"]) / yarn_mscale(s["factor"], s["mscale_all_dim"])
    return yarn_mscale(s["factor"])


def softmax_scale(cfg: ModelConfig) -> float:
    """1/sqrt(qk_head_dim), times mscale^2 under YaRN (DeepSeek-V3's long-context temperature)."""
    scale = cfg.qk_head_dim**-0.5
    if cfg.rope_type == "yarn" and cfg.rope_scaling.get("mscale_all_dim"):
        scale *= yarn_mscale(cfg.rope_scaling["factor"], cfg.rope_scaling["mscale_all_dim"]) ** 2
    return scale


class RotaryEmbedding(nn.Module):
    """Precomputed cos/sin tables [max_position_embeddings, R/2], gathered by position."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        dim = cfg.qk_rope_head_dim
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        scale = 1.0
        if cfg.rope_type == "yarn":
            inv_freq, scale = _yarn_inv_freq(cfg, inv_freq), _cos_sin_scale(cfg)
        angles = torch.outer(torch.arange(cfg.max_position_embeddings, dtype=torch.float32), inv_freq)
        self.register_buffer("cos", angles.cos() * scale, persistent=False)
        self.register_buffer("sin", angles.sin() * scale, persistent=False)
        self.interleave = cfg.rope_interleave

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """positions [..., T] -> cos, sin [..., T, R/2]."""
        return self.cos[positions], self.sin[positions]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleave: bool) -> torch.Tensor:
    """Rotate x [..., R] by angles whose cos/sin [..., R/2] broadcast against x's leading dims."""
    if interleave:
        x1, x2 = x[..., 0::2], x[..., 1::2]
    else:
        x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
