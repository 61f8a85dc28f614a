"""The model steps the engine runs: eager prefill chunks and a compilable decode step.

Legend: B = requests in the step, T = tokens per request (1, or 2 when verifying a draft),
D = hidden_size, V = vocab.

Both run the model's own forward on the engine's latent cache; decode uses the absorbed
attention. The model's shapes depend only on the number of tokens (its MoE gathers the
chosen experts for a few tokens and sorts them for many, with fixed-size counts), so
`torch.compile` captures a whole decode step in one graph.
"""

from __future__ import annotations

import torch

from nanoseek.inference.cache import LatentCachePool, StepView, span_bucket
from nanoseek.inference.compile import compile_step
from nanoseek.model.transformer import Transformer


class ModelRunner:
    """Owns the model's calls for the engine: where each step's latents go, and the compiled steps."""

    def __init__(self, model: Transformer, pool: LatentCachePool, compile: bool | str = False,
                 absorb_prefill: bool = False) -> None:
        self.model, self.pool, self.absorb_prefill = model, pool, absorb_prefill
        self._decode, self._mtp = self._decode_eager, self._mtp_eager
        if compile:
            mode = None if compile is True or compile == "default" else compile
            self._decode = compile_step(self._decode_eager, mode)
            self._mtp = compile_step(self._mtp_eager, mode)

    # ---- prefill (eager, the model's own forward) ----------------------------------------------

    def prefill(self, ids: torch.Tensor, start: int, slot: int) -> torch.Tensor:
        """One request's chunk ids [1, T] at positions start.. -> hidden states [1, T, D]."""
        positions = torch.arange(start, start + ids.shape[1]).unsqueeze(0)
        view = StepView.build(torch.tensor([slot]), positions, start + ids.shape[1])
        h, _ = self.model.hidden_states(ids, positions, self.pool.main_caches(view), self.absorb_prefill)
        return h

    def prefill_mtp(self, h: torch.Tensor, next_ids: torch.Tensor, start: int, slot: int) -> torch.Tensor:
        """MTP depth 0 over a prefill chunk (fills its cache) -> logits [1, T, V]."""
        positions = torch.arange(start, start + h.shape[1]).unsqueeze(0)
        view = StepView.build(torch.tensor([slot]), positions, start + h.shape[1])
        _, logits = self.model.mtp_forward(0, h, next_ids, positions, self.pool.mtp_cache(0, view),
                                           self.absorb_prefill)
        return logits

    # ---- decode ---------------------------------------------------------------------------------

    def decode(self, ids: torch.Tensor, positions: torch.Tensor, slots: torch.Tensor,
               max_position: int) -> tuple[torch.Tensor, torch.Tensor]:
        """ids, positions [B, T], slots [B] -> (hidden states [B, T, D], logits [B, T, V])."""
        span = span_bucket(max_position + 1, self.pool.max_len)
        return self._decode(*_static_tokens(ids, positions), slots, torch.arange(span))

    def mtp(self, h: torch.Tensor, next_ids: torch.Tensor, positions: torch.Tensor, slots: torch.Tensor,
            max_position: int) -> torch.Tensor:
        """MTP depth 0 drafts: h, next_ids, positions [B, T] -> logits [B, T, V]."""
        span = span_bucket(max_position + 1, self.pool.max_len)
        return self._mtp(*_static_tokens(h, next_ids, positions), slots, torch.arange(span))

    def _decode_eager(self, ids, positions, slots, keys):
        view = StepView(slots, positions, (keys <= positions.unsqueeze(-1)).unsqueeze(1))
        h, _ = self.model.hidden_states(ids, positions, self.pool.main_caches(view), absorb=True)
        return h, self.model.logits(h)

    def _mtp_eager(self, h, next_ids, positions, slots, keys):
        view = StepView(slots, positions, (keys <= positions.unsqueeze(-1)).unsqueeze(1))
        return self.model.mtp_forward(0, h, next_ids, positions, self.pool.mtp_cache(0, view), absorb=True)[1]


def _static_tokens(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Mark dim 1 (T: 1, or 2 when verifying a draft) static for the compiled steps: a dynamic T
    would hide from the matvec pass that a batch-1 step has only one or two rows."""
    for t in tensors:
        torch._dynamo.mark_static(t, 1)
    return tensors
