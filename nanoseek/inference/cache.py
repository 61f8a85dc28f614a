"""The MLA latent cache: one preallocated buffer for every layer, slot and position.

Legend: L = cached layers (decoder layers, then MTP layers), N = slots (concurrent requests),
M = max_len + 1 (positions per slot, one spare), W = kv_lora_rank + qk_rope_head_dim (one latent per token),
B = requests in a step, T = new tokens per request, S = span attended to (bucketed, <= M).

A request owns one slot for its whole life. A step writes the new tokens' latents at their
absolute positions and attends to positions 0..S-1 of its slots, masked to each query's own
position, so slots never need to be compacted and stale entries past a request's length (a
rejected speculative draft, a previous owner of the slot) are never read: the next write at
that position overwrites them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nanoseek.config import ModelConfig


def latent_width(cfg: ModelConfig) -> int:
    """Numbers cached per token per layer: c_kv plus the shared RoPE key."""
    return cfg.kv_lora_rank + cfg.qk_rope_head_dim


def mha_width(cfg: ModelConfig) -> int:
    """What an MHA cache of the same heads would hold per token per layer: K and V for every head.

    The head dim is the query/key head dim (nope + rope), the one that defines the heads."""
    return 2 * cfg.num_attention_heads * cfg.qk_head_dim


def span_bucket(needed: int, max_len: int, smallest: int = 64) -> int:
    """Round the attended span up to a power of two (>= `smallest`) so compiled steps see few shapes."""
    span = smallest
    while span < needed:
        span *= 2
    return min(span, max_len)


@dataclass
class StepView:
    """Where one step's tokens go: slots [B], positions [B, T], span S; the mask [B, 1, T, S]."""

    slots: torch.Tensor
    positions: torch.Tensor
    mask: torch.Tensor

    @classmethod
    def build(cls, slots: torch.Tensor, positions: torch.Tensor, keys: torch.Tensor) -> "StepView":
        """keys [S]: the cache positions attended to, 0..S-1. Key s is visible to the query at
        position p iff s <= p: causal within the step and blind to anything a slot holds past
        the request's current length."""
        return cls(slots, positions, (keys <= positions.unsqueeze(-1)).unsqueeze(1))


class LayerCache:
    """One layer's window on the pool for one step: implements the model's LatentCache protocol."""

    def __init__(self, buffer: torch.Tensor, view: StepView, kv_lora_rank: int) -> None:
        self.buffer, self.view, self.rank = buffer, view, kv_lora_rank  # buffer [N, M, W]

    def update(self, c_kv: torch.Tensor, k_rope: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """c_kv [B, T, C], k_rope [B, T, R] -> c_kv [B, S, C], k_rope [B, S, R], mask [B, 1, T, S]."""
        v = self.view
        new = torch.cat([c_kv, k_rope], dim=-1).to(self.buffer.dtype)  # [B, T, W]
        self.buffer.index_put_((v.slots.unsqueeze(1).expand_as(v.positions), v.positions), new)
        span = v.mask.shape[-1]
        latents = self.buffer[:, :span].index_select(0, v.slots).to(c_kv.dtype)  # [B, S, W]
        return latents[..., : self.rank], latents[..., self.rank :], v.mask


class LatentCachePool:
    """Preallocated latents [L, N, M, W] for `slots` concurrent requests of up to `max_len` tokens.

    Layers 0..num_hidden_layers-1 are the decoder's; the next ones (if `with_mtp`) belong to the
    MTP modules, which attend over their own latents when drafting."""

    def __init__(self, cfg: ModelConfig, slots: int, max_len: int, with_mtp: bool = False,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        self.cfg, self.slots, self.max_len = cfg, slots, max_len
        self.num_main = cfg.num_hidden_layers
        layers = self.num_main + (cfg.num_nextn_predict_layers if with_mtp else 0)
        # One tensor per layer (not views of one big tensor): a compiled step then mutates each
        # in place instead of copying the whole pool. One position more than a request can use,
        # so an attended span never covers a whole buffer: slicing all of it would make Dynamo
        # specialise the compiled step on that and compile it again.
        self.buffers = [torch.zeros(slots, max_len + 1, latent_width(cfg), dtype=dtype, device=device)
                        for _ in range(layers)]
        self._free = list(range(slots - 1, -1, -1))  # pop() hands out the lowest slot first

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

    # ---- per-step views ----------------------------------------------------------------------

    def main_caches(self, view: StepView) -> list[LayerCache]:
        return [LayerCache(self.buffers[i], view, self.cfg.kv_lora_rank) for i in range(self.num_main)]

    def mtp_cache(self, depth: int, view: StepView) -> LayerCache:
        return LayerCache(self.buffers[self.num_main + depth], view, self.cfg.kv_lora_rank)

    # ---- accounting --------------------------------------------------------------------------

    def bytes_per_token(self, layers: int | None = None) -> int:
        """Cache bytes one token costs across `layers` (default: the decoder layers)."""
        layers = self.num_main if layers is None else layers
        return layers * self.buffers[0].shape[-1] * self.buffers[0].element_size()
