"""Per-request sampling, batched: penalties, temperature, top-k, top-p, seeds, log-probs.

Legend: B = rows (one per request, or per request and speculative position), V = vocab.

Randomness is counter-based: the uniform number that picks a request's k-th generated token
comes from a generator seeded with (seed, k) alone. So a seed gives the same tokens whether the
request runs alone or batched with others, and whether or not speculative decoding skips steps.
A token is drawn by inverting the CDF of its row with that one uniform number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

_MASK64 = (1 << 64) - 1
# Below this temperature a request is greedy (as vLLM's sampling epsilon): the distribution is
# then its argmax, and dividing float32 logits by far smaller ones overflows them to inf/nan.
MIN_TEMPERATURE = 1e-5
# top-k / top-p look for their tokens among this many most likely first (sampling.py's _draw)
NUCLEUS_CANDIDATES = 64


class SamplingError(ValueError):
    """A SamplingParams field out of its range; `field` names it for the API's error."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.field = name


@dataclass
class SamplingParams:
    """How one request picks its tokens and when it stops (OpenAI-style names)."""

    max_new_tokens: int = 256
    temperature: float = 0.0  # 0: greedy (argmax)
    top_p: float = 1.0  # keep the smallest set of tokens whose probability reaches top_p
    top_k: int = 0  # keep the k most likely tokens; 0: all
    seed: int | None = None  # None: a fresh random seed per request
    stop_token_ids: tuple[int, ...] | None = None  # None: the model's eos_token_id; (): never stop
    presence_penalty: float = 0.0  # subtracted from a token's logit once it has been generated
    frequency_penalty: float = 0.0  # subtracted once per time it has been generated
    logprobs: bool = False  # return log p(token) of each sampled token (raw model distribution)
    extra: dict = field(default_factory=dict, repr=False)  # free room for callers (ignored here)

    @property
    def greedy(self) -> bool:
        return self.temperature < MIN_TEMPERATURE or self.top_k == 1

    @property
    def penalised(self) -> bool:
        return self.presence_penalty != 0.0 or self.frequency_penalty != 0.0

    @property
    def truncated(self) -> bool:
        return self.top_k > 1 or self.top_p < 1.0

    def validate(self, vocab_size: int) -> None:
        """Raise SamplingError (a ValueError) naming the field and its allowed values (call at
        the API edge)."""
        _require(isinstance(self.max_new_tokens, int) and self.max_new_tokens >= 1,
                 "max_new_tokens", "an integer >= 1", self.max_new_tokens)
        _require(math.isfinite(self.temperature) and self.temperature >= 0, "temperature", "a finite number >= 0",
                 self.temperature)
        _require(0 < self.top_p <= 1, "top_p", "a number in (0, 1]", self.top_p)
        _require(isinstance(self.top_k, int) and 0 <= self.top_k <= vocab_size, "top_k",
                 f"an integer in [0, {vocab_size}] (the vocabulary)", self.top_k)
        _require(-2 <= self.presence_penalty <= 2, "presence_penalty", "a number in [-2, 2]", self.presence_penalty)
        _require(-2 <= self.frequency_penalty <= 2, "frequency_penalty", "a number in [-2, 2]",
                 self.frequency_penalty)
        stops = self.stop_token_ids or ()
        _require(all(isinstance(t, int) and 0 <= t < vocab_size for t in stops), "stop_token_ids",
                 f"token ids in [0, {vocab_size})", self.stop_token_ids)


def _require(ok: bool, name: str, allowed: str, value) -> None:
    if not ok:
        raise SamplingError(name, f"SamplingParams.{name} must be {allowed}, got {value!r}")


def token_uniform(generator: torch.Generator, seed: int, index: int) -> float:
    """The uniform number in [0, 1) that draws generated token `index` of a request with `seed`."""
    generator.manual_seed(_mix(seed, index))
    return torch.rand((), generator=generator, dtype=torch.float64).item()


def _mix(seed: int, index: int) -> int:
    """splitmix64 of (seed, index): nearby seeds and indices give unrelated generator states."""
    z = (seed * 0x9E3779B97F4A7C15 + (index + 1) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1  # manual_seed takes a non-negative int64


def sample(
    logits: torch.Tensor,
    params: list[SamplingParams],
    uniforms: list[float],
    counts: torch.Tensor | None = None,
    want_logprobs: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """logits [B, V] (fp32), one SamplingParams and one uniform per row, generated-token counts
    [B, V] (for penalties) -> tokens [B] (int64), log-probs [B] of those tokens under the raw
    model distribution (before penalties, temperature and truncation) when asked."""
    logprobs = None
    if want_logprobs:
        logprobs = logits.log_softmax(-1)
    if counts is not None and any(p.penalised for p in params):
        presence = logits.new_tensor([p.presence_penalty for p in params]).unsqueeze(1)
        frequency = logits.new_tensor([p.frequency_penalty for p in params]).unsqueeze(1)
        logits = logits - frequency * counts - presence * (counts > 0).to(logits.dtype)
    tokens = logits.argmax(-1)
    rows = [i for i, p in enumerate(params) if not p.greedy]
    if rows:
        index = torch.tensor(rows)
        sub = [params[i] for i in rows]
        u = torch.tensor([uniforms[i] for i in rows], dtype=torch.float64)
        tokens[index] = _draw(logits[index], sub, u)
    chosen = None
    if logprobs is not None:
        chosen = logprobs.gather(1, tokens.unsqueeze(1)).squeeze(1)
    return tokens, chosen


def _draw(logits: torch.Tensor, params: list[SamplingParams], u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling of rows [b, V] after temperature, top-k and top-p."""
    temperature = logits.new_tensor([p.temperature for p in params]).unsqueeze(1)
    logits = logits / temperature
    if not any(p.truncated for p in params):
        probs = logits.softmax(-1)
        return _invert_cdf(probs, u)
    vocab = logits.shape[-1]
    top_k = torch.tensor([p.top_k if p.top_k > 0 else vocab for p in params]).unsqueeze(1)  # [b, 1]
    top_p = logits.new_tensor([p.top_p for p in params]).unsqueeze(1)
    # Most rows' nucleus lies among their few most likely tokens: look there first (a top-k of
    # NUCLEUS_CANDIDATES instead of sorting the vocabulary) and sort only the rows where it does not.
    candidates = min(vocab, NUCLEUS_CANDIDATES)
    top, order = logits.topk(candidates, dim=-1)  # [b, c], most likely first
    within = top_k <= candidates  # top-k alone keeps only candidates
    kept = top.masked_fill(torch.arange(candidates) >= top_k, float("-inf"))
    total = torch.where(within, kept.logsumexp(-1, keepdim=True), logits.logsumexp(-1, keepdim=True))
    probs = (kept - total).exp()  # [b, c]: probabilities after top-k, over the whole vocabulary
    # Top-p's nucleus lies here when top-k keeps only candidates, or when nothing was cut by
    # top-k (a top-k above the candidates renormalises over tokens not in hand: sort those rows).
    inside = (within | ((top_k >= vocab) & (probs.sum(-1, keepdim=True) >= top_p))).squeeze(1)
    tokens = torch.empty(len(params), dtype=torch.long)
    if inside.any():
        chosen = _invert_cdf(_nucleus(probs[inside], top_p[inside]), u[inside])
        tokens[inside] = order[inside].gather(1, chosen.unsqueeze(1)).squeeze(1)
    if not inside.all():
        rest = ~inside
        logits, order = logits[rest].sort(dim=-1, descending=True)
        probs = logits.masked_fill(torch.arange(vocab) >= top_k[rest], float("-inf")).softmax(-1)
        chosen = _invert_cdf(_nucleus(probs, top_p[rest]), u[rest])
        tokens[rest] = order.gather(1, chosen.unsqueeze(1)).squeeze(1)
    return tokens


def _nucleus(probs: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """probs [b, n] sorted most likely first -> the same with every token past the smallest set
    whose mass reaches top_p [b, 1] set to 0 (the most likely always stays)."""
    before = probs.cumsum(-1) - probs  # mass of the strictly more likely tokens
    return probs.masked_fill((before >= top_p) & (torch.arange(probs.shape[-1]) > 0), 0.0)


def _invert_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """probs [b, V] (unnormalised is fine), u [b] in [0, 1) -> index [b] with P(i) ∝ probs[i]."""
    cdf = probs.double().cumsum(-1)
    target = (u * cdf[:, -1]).unsqueeze(1)
    index = torch.searchsorted(cdf, target, right=True).squeeze(1)
    # Never land on a zero-probability token at the end (u * total rounding up to the total).
    last_nonzero = (probs > 0).cumsum(-1).argmax(-1)
    return torch.minimum(index, last_nonzero)
