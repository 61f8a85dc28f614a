"""The model steps the engine runs: eager prefill chunks and a compilable decode step.

Legend: B = requests in the step, T = tokens per request (1, or 2 when verifying a draft),
D = hidden_size, V = vocab, E = routed experts, K = experts per token, I = expert width,
N = B * T tokens.

Prefill runs the model's own forward (its sort-based MoE dispatch suits many tokens). Decode
runs the same modules with static-shape expert routing so `torch.compile` can capture the whole
step in one graph (the model's `torch._grouped_mm` dispatch has data-dependent shapes):
- few tokens: gather each token's K experts and multiply (reads only the chosen weights, which
  is what matters at batch 1, where decode is bound by reading weights);
- many tokens: sort the (token, expert) pairs by expert and run the model's grouped matmul
  (the same dispatch as the model, with expert counts from a fixed-size scatter instead of
  bincount, whose output size depends on the data).
Tests hold this step equal to the model's forward.
"""

from __future__ import annotations

import itertools
import types

import torch
import torch.nn.functional as F

from nanoseek.inference.cache import LatentCachePool, StepView, span_bucket
from nanoseek.model.moe import MoE, grouped_matmul
from nanoseek.model.transformer import Transformer

GATHER_MAX_TOKENS = 4  # up to this many tokens per step, gather the chosen experts' weights


def static_moe(moe: MoE, x: torch.Tensor) -> torch.Tensor:
    """DeepSeekMoE on x [N, D] with shapes that depend only on N (no sorting, no bincount)."""
    _, weights, idx = moe.gate(x)  # [N, K] each
    experts = moe.experts
    weights = weights.to(x.dtype)
    if x.shape[0] <= GATHER_MAX_TOKENS:
        gate_up = experts.gate_up_proj[idx]  # [N, K, 2I, D]
        gate, up = torch.einsum("nkfd,nd->nkf", gate_up, x).chunk(2, dim=-1)
        act = F.silu(gate) * up * weights.unsqueeze(-1)  # [N, K, I]
        out = torch.einsum("nkdi,nki->nd", experts.down_proj[idx], act)
    else:
        n, k = idx.shape
        flat = idx.flatten()  # [N*K]
        order = flat.argsort(stable=True)
        token = order // k
        counts = torch.zeros(experts.gate_up_proj.shape[0], dtype=torch.int32, device=x.device)
        counts = counts.scatter_add(0, flat, torch.ones_like(flat, dtype=torch.int32))  # [E]
        offsets = counts.cumsum(0, dtype=torch.int32)
        gate, up = grouped_matmul(x[token], experts.gate_up_proj, offsets).chunk(2, dim=-1)  # [N*K, I]
        y = grouped_matmul(F.silu(gate) * up, experts.down_proj, offsets)  # [N*K, D]
        y = y * weights.flatten()[order].unsqueeze(1)
        out = torch.zeros_like(x).index_add(0, token, y)
    if moe.shared_experts is not None:
        out = out + moe.shared_experts(x)
    return out


def decode_hidden(model: Transformer, ids: torch.Tensor, positions: torch.Tensor, caches: list) -> torch.Tensor:
    """ids, positions [B, T] -> pre-norm hidden states [B, T, D]: `Transformer.hidden_states`
    (absorbed attention, eval mode) with the static-shape MoE."""
    cos, sin = model.rotary(positions)
    h = model.embed_tokens(ids)
    for layer, cache in zip(model.layers, caches):
        h = h + layer.self_attn(layer.input_layernorm(h), cos, sin, cache, True)
        x = layer.post_attention_layernorm(h)
        if layer.is_moe:
            h = h + static_moe(layer.mlp, x.flatten(0, 1)).view_as(x)
        else:
            h = h + layer.mlp(x)
    return h


def decode_mtp(model: Transformer, depth: int, h: torch.Tensor, next_ids: torch.Tensor,
               positions: torch.Tensor, cache) -> tuple[torch.Tensor, torch.Tensor]:
    """`Transformer.mtp_forward` (absorbed, eval) with the static-shape MoE: -> (h [B, T, D], logits)."""
    module = model.mtp[depth]
    cos, sin = model.rotary(positions)
    emb = model.embed_tokens(next_ids)
    x = module.eh_proj(torch.cat([module.enorm(emb), module.hnorm(h)], dim=-1))
    block = module.block
    x = x + block.self_attn(block.input_layernorm(x), cos, sin, cache, True)
    y = block.post_attention_layernorm(x)
    if block.is_moe:
        x = x + static_moe(block.mlp, y.flatten(0, 1)).view_as(y)
    else:
        x = x + block.mlp(y)
    return x, model.lm_head(module.shared_head.norm(x)).float()


def _compile_private(method, **kwargs):
    """torch.compile a bound method under its own code object.

    Dynamo caches graphs per code object and we skip its guards on modules (the weights never
    change under an engine; checking them costs about 0.5 ms per decode step at these sizes),
    so each runner gets a private copy of the code: two engines over different models can
    never share a graph."""
    fn = method.__func__
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{next(_runner_ids)}")
    private = types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)
    options = {"guard_filter_fn": torch.compiler.skip_guard_on_all_nn_modules_unsafe}
    return torch.compile(types.MethodType(private, method.__self__), options=options, **kwargs)


_runner_ids = itertools.count()


class ModelRunner:
    """Owns the model's calls for the engine: where each step's latents go, and the compiled steps."""

    def __init__(self, model: Transformer, pool: LatentCachePool, compile: bool | str = False,
                 absorb_prefill: bool = False) -> None:
        self.model, self.pool, self.absorb_prefill = model, pool, absorb_prefill
        self._decode, self._mtp = self._decode_eager, self._mtp_eager
        if compile:
            mode = None if compile is True or compile == "default" else compile
            # dynamic: batch size and span change from step to step; one graph serves them all.
            self._decode = _compile_private(self._decode_eager, mode=mode, dynamic=True, fullgraph=True)
            self._mtp = _compile_private(self._mtp_eager, mode=mode, dynamic=True, fullgraph=True)

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
        return self._decode(ids, positions, slots, torch.arange(span))

    def mtp(self, h: torch.Tensor, next_ids: torch.Tensor, positions: torch.Tensor, slots: torch.Tensor,
            max_position: int) -> torch.Tensor:
        """MTP depth 0 drafts: h, next_ids, positions [B, T] -> logits [B, T, V]."""
        span = span_bucket(max_position + 1, self.pool.max_len)
        return self._mtp(h, next_ids, positions, slots, torch.arange(span))

    def _decode_eager(self, ids, positions, slots, keys):
        view = StepView(slots, positions, (keys <= positions.unsqueeze(-1)).unsqueeze(1))
        h = decode_hidden(self.model, ids, positions, self.pool.main_caches(view))
        return h, self.model.logits(h)

    def _mtp_eager(self, h, next_ids, positions, slots, keys):
        view = StepView(slots, positions, (keys <= positions.unsqueeze(-1)).unsqueeze(1))
        return decode_mtp(self.model, 0, h, next_ids, positions, self.pool.mtp_cache(0, view))[1]
