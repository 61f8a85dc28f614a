"""One pre-norm decoder block: MLA then a dense MLP (first layers) or DeepSeekMoE."""

from __future__ import annotations

import torch
from torch import nn

from nanoseek.config import ModelConfig
from nanoseek.model.mla import LatentCache, MultiHeadLatentAttention
from nanoseek.model.mlp import MLP
from nanoseek.model.moe import MoE
from nanoseek.model.norm import RMSNorm


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = MultiHeadLatentAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.is_moe = cfg.is_moe_layer(layer_idx)
        self.mlp = MoE(cfg) if self.is_moe else MLP(cfg.hidden_size, cfg.intermediate_size)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: LatentCache | None = None,
        absorb: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x [B, T, D] -> (x [B, T, D], the MoE balance loss when training a MoE layer, else None)."""
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, absorb)
        h = self.post_attention_layernorm(x)
        if self.is_moe:
            h, balance = self.mlp(h)
            return x + h, balance
        return x + self.mlp(h), None
