"""The model steps the engine runs: prompt chunks (prefill) and decode steps, eager or compiled.

Legend: B = requests in the step, T = tokens per request (a prompt chunk; in decode 1, or 2
when verifying a draft), D = hidden_size, V = vocab.

All run the model's own forward on the engine's cache: ModelRunner our Transformer on the MLA
latents (decode uses the absorbed attention), GQARunner a LlamaTransformer on keys and values.
The models' shapes depend only on the number of tokens (our MoE gathers the chosen experts for
a few tokens and sorts them for many, with fixed-size counts), so `torch.compile` captures each
step in one graph (see compile.py for how).
"""

from __future__ import annotations

import torch

from nanoseek.inference.cache import KVCachePool, LatentCachePool, StepView, span_bucket
from nanoseek.inference.compile import compile_step
from nanoseek.model.llama import LlamaTransformer
from nanoseek.model.transformer import Transformer


class ModelRunner:
    """Owns our Transformer's calls for the engine: where each step's latents go, and the compiled steps.

    Four steps, each compiled when asked: a prompt chunk through the model (prefill) and through
    MTP depth 0 (prefill_mtp), and a decode step (decode) and its MTP draft (mtp). All attend to
    a span of the cache rounded up (compiled: to a power of two, so their graphs see few shapes)."""

    def __init__(self, model: Transformer, pool: LatentCachePool, compile: bool | str = False,
                 absorb_prefill: bool = False) -> None:
        self.model, self.pool, self.absorb_prefill = model, pool, absorb_prefill
        self.compiled = bool(compile)
        self._prefill, self._prefill_mtp = self._prefill_eager, self._prefill_mtp_eager
        self._decode, self._mtp = self._decode_eager, self._mtp_eager
        if compile:
            mode = None if compile is True or compile == "default" else compile
            self._prefill, self._prefill_mtp = compile_step(self._prefill, mode), compile_step(self._prefill_mtp, mode)
            self._decode, self._mtp = compile_step(self._decode, mode), compile_step(self._mtp, mode)

    # ---- prefill: prompt chunks, one per request ---------------------------------------------------

    def prefill(self, ids: torch.Tensor, starts: list[int], slots: list[int]) -> torch.Tensor:
        """Prompt chunks ids [B, T], row i at positions starts[i].. of slot slots[i] -> hidden
        states [B, T, D]."""
        positions = torch.tensor(starts).unsqueeze(1) + torch.arange(ids.shape[1])  # [B, T]
        slots = torch.tensor(slots)
        return self._prefill(ids, positions, slots, self._keys(positions), *self._rows(slots))

    def prefill_mtp(self, h: torch.Tensor, next_ids: torch.Tensor, start: int, slot: int) -> torch.Tensor:
        """MTP depth 0 over a prefill chunk (fills its cache) -> logits of its last position [1, V]."""
        positions = torch.arange(start, start + h.shape[1]).unsqueeze(0)
        slots = torch.tensor([slot])
        return self._prefill_mtp(h, next_ids, positions, slots, self._keys(positions), *self._rows(slots))

    # ---- decode: every decoding request, one token (or a token and its draft) each ----------------

    def decode(self, ids: torch.Tensor, positions: torch.Tensor, slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids, positions [B, T], slots [B] -> (hidden states [B, T, D], logits [B, T, V])."""
        return self._decode(*_static_tokens(ids, positions), slots, self._keys(positions), *self._rows(slots))

    def mtp(self, h: torch.Tensor, next_ids: torch.Tensor, positions: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
        """MTP depth 0 drafts: h, next_ids, positions [B, T] -> logits [B, T, V]."""
        return self._mtp(*_static_tokens(h, next_ids, positions), slots, self._keys(positions), *self._rows(slots))

    # ---- the steps themselves (what gets compiled) -------------------------------------------------

    def _keys(self, positions: torch.Tensor) -> torch.Tensor:
        """Cache positions a step attends to: 0..S-1, S the bucketed span covering every query."""
        return torch.arange(span_bucket(int(positions.max()) + 1, self.pool.max_len, few_shapes=self.compiled))

    def _rows(self, slots: torch.Tensor) -> tuple[slice, ...]:
        """(rows,) when the step's slots are consecutive and in order, so an eager step reads the
        cache in place; () otherwise, and always for compiled steps, whose graphs must not
        depend on which slots a step has."""
        first, n = int(slots[0]), len(slots)
        if self.compiled or not torch.equal(slots, torch.arange(first, first + n)):
            return ()
        return (slice(first, first + n),)

    def _prefill_eager(self, ids, positions, slots, keys, rows=None):
        view = StepView.build(slots, positions, keys, rows)
        return self._hidden_states(ids, positions, view, self.absorb_prefill)

    def _prefill_mtp_eager(self, h, next_ids, positions, slots, keys, rows=None):
        cache = self.pool.mtp_cache(0, StepView.build(slots, positions, keys, rows))
        h_mtp = self.model.mtp_forward(0, h, next_ids, positions, cache, self.absorb_prefill)[0]
        return self.model.mtp_logits(0, h_mtp[:, -1])

    def _decode_eager(self, ids, positions, slots, keys, rows=None):
        h = self._hidden_states(ids, positions, StepView.build(slots, positions, keys, rows), absorb=True)
        return h, self.model.logits(h)

    def _mtp_eager(self, h, next_ids, positions, slots, keys, rows=None):
        cache = self.pool.mtp_cache(0, StepView.build(slots, positions, keys, rows))
        return self.model.mtp_forward(0, h, next_ids, positions, cache, absorb=True)[1]

    def _hidden_states(self, ids: torch.Tensor, positions: torch.Tensor, view: StepView, absorb: bool) -> torch.Tensor:
        """The decoder over the step's tokens ids [B, T] -> last hidden states [B, T, D]."""
        return self.model.hidden_states(ids, positions, self.pool.main_caches(view), absorb)[0]


class GQARunner(ModelRunner):
    """The same prefill and decode steps for a LlamaTransformer on a KVCachePool. Its attention
    has no absorbed form (`absorb` is ignored) and it has no MTP module: the engine refuses
    speculative decoding for it, so the MTP steps are never called."""

    def __init__(self, model: LlamaTransformer, pool: KVCachePool, compile: bool | str = False) -> None:
        super().__init__(model, pool, compile)

    def _hidden_states(self, ids: torch.Tensor, positions: torch.Tensor, view: StepView, absorb: bool) -> torch.Tensor:
        return self.model.hidden_states(ids, positions, self.pool.main_caches(view))


def _static_tokens(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Mark dim 1 (T: 1, or 2 when verifying a draft) static for the compiled steps: a dynamic T
    would hide from the matvec pass that a batch-1 step has only one or two rows."""
    for t in tensors:
        torch._dynamo.mark_static(t, 1)
    return tensors
