"""The DeepSeek-V3 causal language model: embeddings, decoder blocks, final norm, output head,
and the MTP modules. Training and inference both enter here; parallelism and caches live elsewhere.

Legend: B = batch, T = tokens, D = hidden_size, V = vocab_size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from nanoseek.config import ModelConfig
from nanoseek.model.block import DecoderLayer
from nanoseek.model.loss import linear_cross_entropy
from nanoseek.model.mla import LatentCache
from nanoseek.model.moe import MoE, RoutedExperts, Router
from nanoseek.model.mtp import MTPModule
from nanoseek.model.norm import RMSNorm
from nanoseek.model.rope import RotaryEmbedding



@dataclass
class LossOutput:
    """The training objective and its parts (each a scalar tensor)."""

    loss: torch.Tensor  # ce + mtp_loss_weight * mtp + balance_loss_alpha * balance
    ce: torch.Tensor  # next-token cross-entropy
    mtp: torch.Tensor  # mean cross-entropy of the MTP depths (0 without MTP)
    balance: torch.Tensor  # sequence-wise balance loss, mean over MoE layers (0 when not training)


class Transformer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.mtp = nn.ModuleList(
            MTPModule(cfg, cfg.num_hidden_layers + k) for k in range(cfg.num_nextn_predict_layers)
        )
        self.rotary = RotaryEmbedding(cfg)
        # Whether the training loss runs the MTP modules. The trainer turns it off until
        # TrainConfig.mtp_start: early steps buy more as cheaper next-token-only steps
        # (measured in docs/experiments.md).
        self.mtp_in_loss = True
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        if not any(p.is_meta for p in self.parameters()):
            self.init_weights()

    # ---- forward ------------------------------------------------------------------------

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        positions: torch.Tensor | None = None,
        caches: list[LatentCache] | None = None,
        absorb: bool = False,
    ) -> torch.Tensor | LossOutput:
        """input_ids [B, T] -> logits [B, T, V], or with `labels` the training loss and its parts.

        `labels[b, i]` is the token that should follow `input_ids[b, :i+1]` (already shifted, as
        our loaders yield them; IGNORE_INDEX = no loss). MTP depth k at position i predicts
        `labels[b, i+k]` (while `mtp_in_loss`; else the loss has no MTP part). `caches` (one per
        decoder layer) switch attention to incremental decoding."""
        h, balance = self.hidden_states(input_ids, positions, caches, absorb)
        if labels is None:
            return self.logits(h)
        return self._loss(h, balance, input_ids, labels, positions)

    def hidden_states(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        caches: list[LatentCache] | None = None,
        absorb: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """input_ids [B, T] -> last hidden states [B, T, D] before the final norm, MoE balance losses."""
        positions = self._positions(input_ids, positions)
        cos, sin = self.rotary(positions)  # [B or 1, T, R/2]
        h = self.embed_tokens(input_ids)
        balance = []
        for i, layer in enumerate(self.layers):
            h, layer_balance = layer(h, cos, sin, caches[i] if caches else None, absorb)
            if layer_balance is not None:
                balance.append(layer_balance)
        return h, balance

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Hidden states [B, T, D] before the final norm -> fp32 logits [B, T, V]."""
        return self.lm_head(self.norm(h)).float()

    def mtp_forward(
        self,
        depth: int,
        h: torch.Tensor,
        next_ids: torch.Tensor,
        positions: torch.Tensor,
        cache: LatentCache | None = None,
        absorb: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """MTP module `depth` (0-based) on h [B, T, D] and the tokens one ahead of it, next_ids [B, T]
        -> (its hidden states [B, T, D], logits [B, T, V] for the token after next_ids)."""
        module = self.mtp[depth]
        cos, sin = self.rotary(positions)
        h, _ = module(h, self.embed_tokens(next_ids), cos, sin, cache, absorb)
        return h, self.mtp_logits(depth, h)

    def mtp_logits(self, depth: int, h: torch.Tensor) -> torch.Tensor:
        """MTP module `depth`'s hidden states [..., D] -> logits [..., V] (fp32), through the shared head."""
        return self.lm_head(self.mtp[depth].shared_head.norm(h)).float()

    def _loss(self, h, balance, input_ids, labels, positions) -> LossOutput:
        ce = linear_cross_entropy(self.norm(h), self.lm_head.weight, labels)
        # Under torch.compile the MTP part gets its own graph: when MTP joins the loss
        # (TrainConfig.mtp_start) only that graph compiles, not the whole model again.
        torch._dynamo.graph_break()
        positions = self._positions(input_ids, positions)
        mtp_losses = []
        for k, module in enumerate(self.mtp if self.mtp_in_loss else [], start=1):
            # Depth k runs on positions 0..T-1-k: one fewer than depth k-1 (its inputs run out).
            h = h[:, :-1]
            cos, sin = self.rotary(positions[:, :-k])
            h, layer_balance = module(h, self.embed_tokens(input_ids[:, k:]), cos, sin)
            if layer_balance is not None:
                balance.append(layer_balance)
            mtp_losses.append(linear_cross_entropy(module.shared_head.norm(h), self.lm_head.weight, labels[:, k:]))
        zero = ce.new_zeros(())
        mtp = torch.stack(mtp_losses).mean() if mtp_losses else zero
        bal = torch.stack(balance).mean() if balance else zero
        cfg = self.config
        loss = ce + cfg.mtp_loss_weight * mtp + cfg.balance_loss_alpha * bal
        return LossOutput(loss=loss, ce=ce.detach(), mtp=mtp.detach(), balance=bal.detach())

    @staticmethod
    def _positions(input_ids: torch.Tensor, positions: torch.Tensor | None) -> torch.Tensor:
        if positions is not None:
            return positions
        return torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)  # [1, T]

    # ---- MoE balancing ------------------------------------------------------------------

    def moe_layers(self) -> list[MoE]:
        return [m for m in self.modules() if isinstance(m, MoE)]

    def update_router_bias(self, gamma: float) -> None:
        """Aux-loss-free balancing step for every MoE layer, from the loads seen since the last call."""
        for moe in self.moe_layers():
            moe.update_bias(gamma)

    # ---- initialisation -----------------------------------------------------------------

    @torch.no_grad()
    def init_weights(self) -> None:
        """Normal(0, initializer_range) for every matrix, ones for norms, zero router biases."""
        std = self.config.initializer_range
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=std)
            elif isinstance(module, RoutedExperts):
                nn.init.normal_(module.gate_up_proj, std=std)
                nn.init.normal_(module.down_proj, std=std)
            elif isinstance(module, Router):
                nn.init.normal_(module.weight, std=std)
                module.e_score_correction_bias.zero_()
            elif isinstance(module, RMSNorm):
                module.weight.fill_(1.0)

    # ---- accounting ---------------------------------------------------------------------

    def num_params(self, active: bool = False) -> int:
        """All parameters, or those one token uses (embedding rows aside; K of E routed experts)."""
        if not active:
            return sum(p.numel() for p in self.parameters())
        return self._active_weights(self) - self.embed_tokens.weight.numel()

    def flops_per_token(self, seq_len: int, mtp: bool = True) -> float:
        """Training FLOPs (forward + backward) per token: 6 per weight it passes through plus
        causal attention; with `mtp`, the MTP modules and their passes through the shared head
        too (`mtp=False`: the steps before MTP joins the loss)."""
        cfg = self.config
        depths = cfg.num_nextn_predict_layers if mtp else 0
        weights = self.num_params(active=True) + depths * self.lm_head.weight.numel()
        if not mtp:
            weights -= self._active_weights(self.mtp)
        per_head = cfg.qk_head_dim + cfg.v_head_dim
        attention = 2 * cfg.num_attention_heads * per_head * (seq_len + 1) / 2 * (cfg.num_hidden_layers + depths)
        return 6 * weights + 3 * attention

    def _active_weights(self, module: nn.Module) -> int:
        """Parameters of `module` one token uses: all but the E - K routed experts it skips."""
        cfg = self.config
        unused = (cfg.n_routed_experts - cfg.num_experts_per_tok) / cfg.n_routed_experts
        experts = sum(m.experts.gate_up_proj.numel() + m.experts.down_proj.numel()
                      for m in module.modules() if isinstance(m, MoE))
        return int(sum(p.numel() for p in module.parameters()) - unused * experts)

    # ---- checkpoints (HF layout) ---------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu") -> "Transformer":
        from nanoseek.interop.hf import load_pretrained

        return load_pretrained(cls, Path(path), device)

    def save_pretrained(self, path: str | Path) -> None:
        from nanoseek.interop.hf import save_pretrained

        save_pretrained(self, Path(path))
