"""Multi-Token Prediction (DeepSeek-V3 section 2.2).

Module k (k = 1..num_nextn_predict_layers) sees the main model's hidden state for position i
(or module k-1's) together with the embedding of token i+k, and predicts token i+k+1:

    h'_i = eh_proj(cat[enorm(emb(t_{i+k})), hnorm(h_i)])    (embedding first, as stored)
    h_i  = block(h'_i)                                        (a full decoder block)
    logits_i = lm_head(shared_head.norm(h_i))                 (the shared output head)

The embedding and output head are the main model's, passed in, never copied.
Legend: B = batch, T = tokens, D = hidden_size.
"""

from __future__ import annotations

import torch
from torch import nn

from nanoseek.config import ModelConfig
from nanoseek.model.block import DecoderLayer
from nanoseek.model.mla import LatentCache
from nanoseek.model.norm import RMSNorm


class SharedHead(nn.Module):
    """Holds only the norm: the official key is `shared_head.norm`, the head is the main lm_head."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class MTPModule(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int) -> None:
        super().__init__()
        self.enorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.hnorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.eh_proj = nn.Linear(2 * cfg.hidden_size, cfg.hidden_size, bias=False)
        self.block = DecoderLayer(cfg, layer_idx)
        self.shared_head = SharedHead(cfg)

    def forward(
        self,
        h: torch.Tensor,
        next_emb: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: LatentCache | None = None,
        absorb: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """h [B, T, D] previous depth's states, next_emb [B, T, D] embeddings of the tokens k ahead
        -> (this depth's states [B, T, D] before shared_head.norm, balance loss or None)."""
        x = self.eh_proj(torch.cat([self.enorm(next_emb), self.hnorm(h)], dim=-1))
        return self.block(x, cos, sin, cache, absorb)
