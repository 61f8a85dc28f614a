"""Multi-head Latent Attention (DeepSeek-V2/V3).

Legend: B = batch, T = new tokens, S = tokens attended to (cache + new), D = hidden_size,
H = heads, C = kv_lora_rank, R = qk_rope_head_dim, N = qk_nope_head_dim, V = v_head_dim.

Keys and values are compressed into one latent per token: c_kv [C] (RMS-normed) plus a
RoPE key k_rope [R] shared by all heads. Two ways to attend, same result:
- expanded (training, long prefill): kv_b_proj turns each latent into per-head k_nope [H, N]
  and v [H, V]; ordinary attention over heads.
- absorbed (decode): kv_b_proj's key half is folded into the query and its value half into
  the output, so attention runs directly on the latents: a cache needs only C + R numbers per
  token per layer instead of 2 * H * (N + R) or so for MHA.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from nanoseek.config import ModelConfig
from nanoseek.model.norm import RMSNorm
from nanoseek.model.rope import apply_rope, softmax_scale


class LatentCache(Protocol):
    """What attention needs from a cache: store the new latents, return everything to attend to."""

    def update(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """latents [B, T, C + R] (c_kv then k_rope) -> all latents [B, S, C + R],
        mask [B, 1, T, S] (bool, True = may attend)."""
        ...


class MultiHeadLatentAttention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads = cfg.num_attention_heads
        self.nope_dim, self.rope_dim, self.v_dim = cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim
        self.kv_lora_rank = cfg.kv_lora_rank
        self.interleave = cfg.rope_interleave
        self.scale = softmax_scale(cfg)
        d, h, qk = cfg.hidden_size, cfg.num_attention_heads, cfg.qk_head_dim
        self.q_lora = cfg.q_lora_rank is not None
        if not self.q_lora:
            self.q_proj = nn.Linear(d, h * qk, bias=False)
        else:
            self.q_a_proj = nn.Linear(d, cfg.q_lora_rank, bias=False)
            self.q_a_layernorm = RMSNorm(cfg.q_lora_rank, cfg.rms_norm_eps)
            self.q_b_proj = nn.Linear(cfg.q_lora_rank, h * qk, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, cfg.kv_lora_rank + cfg.qk_rope_head_dim, bias=False)
        self.kv_a_layernorm = RMSNorm(cfg.kv_lora_rank, cfg.rms_norm_eps)
        self.kv_b_proj = nn.Linear(cfg.kv_lora_rank, h * (cfg.qk_nope_head_dim + cfg.v_head_dim), bias=False)
        self.o_proj = nn.Linear(h * cfg.v_head_dim, d, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: LatentCache | None = None,
        absorb: bool = False,
    ) -> torch.Tensor:
        """x [B, T, D], cos/sin [B or 1, T, R/2] -> [B, T, D].

        Without a cache, attention is causal over x. `absorb` picks the absorbed path."""
        q_nope, q_rope = self.queries(x, cos, sin)  # [B, T, H, N], [B, T, H, R]
        latents = self.latents(x, cos, sin)  # [B, T, C + R]
        mask = None
        if cache is not None:
            latents, mask = cache.update(latents)  # [B, S, C + R], [B, 1, T, S]
        attend = self._attend_absorbed if absorb else self._attend_expanded
        out = attend(q_nope, q_rope, latents, mask)  # [B, T, H, V]
        return self.o_proj(out.flatten(2))

    def queries(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, T, D] -> q_nope [B, T, H, N], q_rope [B, T, H, R] (rotated)."""
        if self.q_lora:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        else:
            q = self.q_proj(x)
        q = q.unflatten(-1, (self.n_heads, self.nope_dim + self.rope_dim))
        q_nope, q_rope = q.split([self.nope_dim, self.rope_dim], dim=-1)
        return q_nope, apply_rope(q_rope, cos.unsqueeze(-2), sin.unsqueeze(-2), self.interleave)

    def latents(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> [B, T, C + R]: c_kv (normed) then k_rope (rotated), what a cache stores."""
        c_kv, k_rope = self.kv_a_proj_with_mqa(x).split([self.kv_lora_rank, self.rope_dim], dim=-1)
        return torch.cat([self.kv_a_layernorm(c_kv), apply_rope(k_rope, cos, sin, self.interleave)], dim=-1)

    def _attend_expanded(self, q_nope, q_rope, latents, mask) -> torch.Tensor:
        h = self.n_heads
        c_kv, k_rope = latents.split([self.kv_lora_rank, self.rope_dim], dim=-1)  # [B, S, C], [B, S, R]
        kv = self.kv_b_proj(c_kv).unflatten(-1, (h, self.nope_dim + self.v_dim))  # [B, S, H, N + V]
        k_nope, v = kv.split([self.nope_dim, self.v_dim], dim=-1)
        q = torch.cat([q_nope, q_rope], dim=-1).transpose(1, 2)  # [B, H, T, N + R]
        k_rope = k_rope.unsqueeze(2).expand(-1, -1, h, -1)
        k = torch.cat([k_nope, k_rope], dim=-1).transpose(1, 2)  # [B, H, S, N + R]
        # PyTorch's fused CPU attention needs V as wide as Q and K, else it falls back to a
        # much slower (8x at the reference config) unfused path: pad V, drop the padding after.
        pad = q.shape[-1] - self.v_dim
        v = F.pad(v, (0, pad)).transpose(1, 2)  # [B, H, S, N + R]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None, scale=self.scale)
        return out[..., : self.v_dim].transpose(1, 2)  # [B, T, H, V]

    def _attend_absorbed(self, q_nope, q_rope, latents, mask) -> torch.Tensor:
        b, t, h = q_nope.shape[:3]
        w = self.kv_b_proj.weight.unflatten(0, (h, self.nope_dim + self.v_dim))  # [H, N + V, C]
        w_uk, w_uv = w.split([self.nope_dim, self.v_dim], dim=1)  # [H, N, C], [H, V, C]
        q_latent = torch.einsum("bthn,hnc->bhtc", q_nope, w_uk)  # query in latent space
        # Every head attends to the same keys (the latents), so the heads are just more query
        # rows of one attention: [B, 1, H * T, C + R], rows in (head, token) order. One head
        # reads the keys once instead of once per head.
        q = torch.cat([q_latent, q_rope.transpose(1, 2)], dim=-1).reshape(b, 1, h * t, -1)
        k = latents.unsqueeze(1)  # [B, 1, S, C + R]
        if mask is None:  # causal over the new tokens themselves
            mask = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
        if t > 1:
            mask = mask.repeat(*([1] * (mask.dim() - 2)), h, 1)  # [..., H * T, S], as q's rows
        # The values are the latents c_kv, the first C columns of k: attend with v = k (same width
        # as q, which the fused kernel wants) and keep the first C columns of the output.
        out = F.scaled_dot_product_attention(q, k, k, attn_mask=mask, scale=self.scale)[..., : self.kv_lora_rank]
        out = out.view(b, h, t, self.kv_lora_rank)  # [B, H, T, C]
        return torch.einsum("bhtc,hvc->bthv", out, w_uv)  # [B, T, H, V]
