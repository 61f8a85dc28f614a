"""The engine's caches: one preallocated buffer per layer, indexed by slot and position.

Legend: L = cached layers, N = slots (concurrent requests), M = max_len + 1 (positions per
slot, one spare), B = requests in a step, T = new tokens per request, S = span attended to
(bucketed, <= M). What one token leaves in one layer depends on the attention:
  MLA (our Transformer): W = kv_lora_rank + qk_rope_head_dim, one latent (LatentCachePool);
  GQA (LlamaTransformer): a key and a value [G, E], G = key/value heads, E = head_dim (KVCachePool).

A request owns one slot for its whole life. A step writes the new tokens' entries at their
absolute positions and attends to positions 0..S-1 of its slots, masked to each query's own
position, so slots never need to be compacted and stale entries past a request's length (a
rejected speculative draft, a previous owner of the slot) are never read: the next write at
that position overwrites them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nanoseek.config import ModelConfig
from nanoseek.model.llama import LlamaConfig


def latent_width(cfg: ModelConfig) -> int:
    """Numbers cached per token per layer: c_kv plus the shared RoPE key."""
    return cfg.kv_lora_rank + cfg.qk_rope_head_dim


def mha_width(cfg: ModelConfig) -> int:
    """What an MHA cache of the same heads would hold per token per layer: K and V for every head.

    The head dim is the query/key head dim (nope + rope), the one that defines the heads."""
    return 2 * cfg.num_attention_heads * cfg.qk_head_dim


def span_bucket(needed: int, max_len: int, few_shapes: bool = True, smallest: int = 64) -> int:
    """Round the attended span up: to a power of two (>= `smallest`) so compiled steps see few
    shapes, or (`few_shapes=False`, eager steps) to a multiple of `smallest`, which attends to
    fewer positions past the longest request."""
    if not few_shapes:
        return min(-(-needed // smallest) * smallest, max_len)
    span = smallest
    while span < needed:
        span *= 2
    return min(span, max_len)


@dataclass
class StepView:
    """Where one step's tokens go: slots [B], positions [B, T], span S; the mask [B, 1, T, S].
    `rows`, when given, says the slots are the buffer rows rows.start, rows.start + 1, ... in
    order, so the step reads them in place instead of gathering a copy."""

    slots: torch.Tensor
    positions: torch.Tensor
    mask: torch.Tensor
    rows: slice | None = None

    @classmethod
    def build(cls, slots: torch.Tensor, positions: torch.Tensor, keys: torch.Tensor,
              rows: slice | None = None) -> "StepView":
        """keys [S]: the cache positions attended to, 0..S-1. Key s is visible to the query at
        position p iff s <= p: causal within the step and blind to anything a slot holds past
        the request's current length."""
        return cls(slots, positions, (keys <= positions.unsqueeze(-1)).unsqueeze(1), rows)

    def store(self, buffer: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """Write new [B, T, ...] into buffer [N, M, ...] at the step's slots and positions ->
        the step's slots over the span attended to [B, S, ...], in new's dtype."""
        slots = self.slots.unsqueeze(1).expand_as(self.positions)  # [B, T]
        buffer.index_put_((slots, self.positions), new.to(buffer.dtype))
        span = buffer[:, : self.mask.shape[-1]]
        held = span[self.rows] if self.rows is not None else span.index_select(0, self.slots)
        return held.to(new.dtype)


class LatentLayerCache:
    """One layer's window on a LatentCachePool for one step: implements the model's LatentCache protocol."""

    def __init__(self, buffer: torch.Tensor, view: StepView) -> None:
        self.buffer, self.view = buffer, view  # buffer [N, M, W]

    def update(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """latents [B, T, W] -> latents [B, S, W], mask [B, 1, T, S]."""
        return self.view.store(self.buffer, latents), self.view.mask


class KVLayerCache:
    """One layer's window on a KVCachePool for one step: implements LlamaTransformer's KVCache protocol."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, view: StepView) -> None:
        self.keys, self.values, self.view = keys, values, view  # [N, M, G, E] each

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """k, v [B, T, G, E] -> k, v [B, S, G, E], mask [B, 1, T, S]."""
        return self.view.store(self.keys, k), self.view.store(self.values, v), self.view.mask


class SlotPool:
    """Slots of preallocated per-layer buffers, `width` numbers per token per layer, for `slots`
    concurrent requests of up to `max_len` tokens. Subclasses allocate the buffers."""

    cached = ""  # what a token leaves in each layer (names cache reports)

    def __init__(self, slots: int, max_len: int, num_main: int, width: int, mha_width: int,
                 dtype: torch.dtype) -> None:
        self.slots, self.max_len, self.num_main, self.dtype = slots, max_len, num_main, dtype
        self.width, self.mha_width = width, mha_width  # this cache's, and an MHA cache's of the same heads
        self._free = list(range(slots - 1, -1, -1))  # pop() hands out the lowest slot first

    def _buffers(self, layers: int, per_token: tuple[int, ...], device: torch.device | str) -> list[torch.Tensor]:
        """`layers` zeroed buffers [N, M, *per_token]. One tensor per layer (not views of one big
        tensor): a compiled step then mutates each in place instead of copying the whole pool.
        One position more than a request can use, so an attended span never covers a whole
        buffer: slicing all of it would make Dynamo specialise the compiled step on that and
        compile it again."""
        shape = (self.slots, self.max_len + 1, *per_token)
        return [torch.zeros(shape, dtype=self.dtype, device=device) for _ in range(layers)]

    # ---- slots ------------------------------------------------------------------------------

    @property
    def free_slots(self) -> int:
        return len(self._free)

    def allocate(self) -> int:
        return self._free.pop()

    def release(self, slot: int) -> None:
        # Nothing to clear: the mask never lets the next owner see positions it has not written.
        self._free.append(slot)
        self._free.sort(reverse=True)

    def reset(self) -> None:
        """Every slot free again (after the engine aborted all requests)."""
        self._free = list(range(self.slots - 1, -1, -1))

    # ---- accounting --------------------------------------------------------------------------

    def bytes_per_token(self, layers: int | None = None) -> int:
        """Cache bytes one token costs across `layers` (default: the decoder layers)."""
        layers = self.num_main if layers is None else layers
        return layers * self.width * self.dtype.itemsize


class LatentCachePool(SlotPool):
    """Preallocated latents [L, N, M, W] for our Transformer's MLA.

    Layers 0..num_hidden_layers-1 are the decoder's; the next ones (if `with_mtp`) belong to the
    MTP modules, which attend over their own latents when drafting."""

    cached = "latent"

    def __init__(self, cfg: ModelConfig, slots: int, max_len: int, with_mtp: bool = False,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        super().__init__(slots, max_len, cfg.num_hidden_layers, latent_width(cfg), mha_width(cfg), dtype)
        self.cfg = cfg
        layers = self.num_main + (cfg.num_nextn_predict_layers if with_mtp else 0)
        self.buffers = self._buffers(layers, (self.width,), device)

    def main_caches(self, view: StepView) -> list[LatentLayerCache]:
        return [LatentLayerCache(self.buffers[i], view) for i in range(self.num_main)]

    def mtp_cache(self, depth: int, view: StepView) -> LatentLayerCache:
        return LatentLayerCache(self.buffers[self.num_main + depth], view)


class KVCachePool(SlotPool):
    """Preallocated keys and values [L, N, M, G, E] each, for LlamaTransformer's grouped-query
    attention: 2 * G * E numbers per token per layer (an MHA cache: 2 * H * E)."""

    cached = "kv"

    def __init__(self, cfg: LlamaConfig, slots: int, max_len: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        heads = (cfg.num_key_value_heads, cfg.head_dim)
        super().__init__(slots, max_len, cfg.num_hidden_layers, 2 * cfg.num_key_value_heads * cfg.head_dim,
                         2 * cfg.num_attention_heads * cfg.head_dim, dtype)
        self.keys = self._buffers(self.num_main, heads, device)
        self.values = self._buffers(self.num_main, heads, device)

    def main_caches(self, view: StepView) -> list[KVLayerCache]:
        return [KVLayerCache(k, v, view) for k, v in zip(self.keys, self.values)]
