"""Rollouts: G samples per prompt from the inference engine, scored by a reward function, and
laid out as the training batch the policy update reads.

The engine holds a reference to the very model being trained, so it always samples from the
newest weights (no weight sync). Each sample has its own counter-based seed, drawn from (seed,
step, prompt index in the step, sample index): a rollout does not depend on how the engine
batches its requests, nor on which rank of a data-parallel run samples it.

Legend: P = prompts, G = group size, N = P * G samples, T = tokens (prompt + completion,
right-padded).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import torch

from nanoseek.data.tasks import Problem
from nanoseek.inference import Engine, SamplingParams


@dataclass
class RLPrompt:
    """One prompt of a rollout: its token ids and (for task prompts) the problem it poses."""

    ids: list[int]
    problem: Problem | None = None


RewardFn = Callable[[RLPrompt, list[int]], dict[str, float]]  # -> {"reward": r, other parts...}


class PromptSource(Protocol):
    """A step's prompts, the same on every rank (ranks then take their share); `observe` sees
    every prompt's scores, so a curriculum moves alike everywhere. `start` is the first
    prompt's index in the step (dynamic sampling's further rounds draw further prompts)."""

    def sample(self, step: int, n: int, start: int = 0) -> list[RLPrompt]: ...

    def observe(self, prompts: list[RLPrompt], parts: dict[str, torch.Tensor]) -> None: ...


@dataclass
class Rollout:
    """G samples for each of P prompts, prompt-major (sample j of prompt i is at i * G + j)."""

    prompts: list[RLPrompt]  # P
    completions: list[list[int]]  # N
    finish_reasons: list[str]  # N
    engine_logprobs: list[list[float]] | None  # N, when asked
    rewards: torch.Tensor  # [P, G]
    parts: dict[str, torch.Tensor]  # name -> [P, G]

    @property
    def group_size(self) -> int:
        return self.rewards.shape[1]


def sample_seed(seed: int, step: int, prompt: int, sample: int) -> int:
    return random.Random(f"rollout/{seed}/{step}/{prompt}/{sample}").getrandbits(63)


def rollout(engine: Engine, prompts: list[RLPrompt], reward_fn: RewardFn, group_size: int, *,
            max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0, seed: int = 0, step: int = 0,
            prompt_offset: int = 0, logprobs: bool = False,
            stop_token_ids: tuple[int, ...] | None = None) -> Rollout:
    """Sample `group_size` completions per prompt in one batched engine call and score them.
    Deterministic in (weights, prompts, seed, step); `prompt_offset` is the index of
    `prompts[0]` among the step's prompts (a rank's share starts there)."""
    engine.model.eval()  # the engine runs the model's forward for prefill: no training-only work
    ids, params = [], []
    for i, prompt in enumerate(prompts):
        for j in range(group_size):
            ids.append(prompt.ids)
            params.append(SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                         seed=sample_seed(seed, step, prompt_offset + i, j), logprobs=logprobs,
                                         stop_token_ids=stop_token_ids))
    done = engine.generate(ids, params)
    scored = [reward_fn(prompts[n // group_size], c.token_ids) for n, c in enumerate(done)]
    shape = (len(prompts), group_size)
    parts = {k: torch.tensor([s[k] for s in scored], dtype=torch.float32).view(shape) for k in scored[0]}
    return Rollout(prompts, [c.token_ids for c in done], [c.finish_reason for c in done],
                   [c.logprobs for c in done] if logprobs else None, parts.pop("reward"), parts)


def keep_groups(rollouts: Sequence[Rollout], keep: Sequence[list[bool]]) -> Rollout:
    """One rollout of the groups whose `keep` flag is True (one list of P_i flags per rollout),
    in order; the rollouts share a group size."""
    g = rollouts[0].group_size
    picked = [(ro, i) for ro, flags in zip(rollouts, keep, strict=True) for i, kept in enumerate(flags) if kept]
    samples = [(ro, n) for ro, i in picked for n in range(i * g, (i + 1) * g)]
    masks = [torch.tensor(flags, dtype=torch.bool) for flags in keep]

    def cat(tensors: list[torch.Tensor]) -> torch.Tensor:  # [P_i, G] each -> [kept, G]
        return torch.cat([t[m] for t, m in zip(tensors, masks)])

    logprobs = None if rollouts[0].engine_logprobs is None else [ro.engine_logprobs[n] for ro, n in samples]
    return Rollout([ro.prompts[i] for ro, i in picked], [ro.completions[n] for ro, n in samples],
                   [ro.finish_reasons[n] for ro, n in samples], logprobs, cat([ro.rewards for ro in rollouts]),
                   {k: cat([ro.parts[k] for ro in rollouts]) for k in rollouts[0].parts})


def pack(rollout: Rollout, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """-> input_ids [N, T] (prompt + completion, right-padded) and the completion mask [N, T-1]
    aligned with the log-probs of input_ids[:, 1:] (position t scores token t+1)."""
    g = rollout.group_size
    rows = [(rollout.prompts[n // g].ids, c) for n, c in enumerate(rollout.completions)]
    t = max((len(p) + len(c) for p, c in rows), default=2)  # (a rank may keep no group at all)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros(len(rows), t - 1, dtype=torch.bool)
    for n, (p, c) in enumerate(rows):
        ids[n, : len(p) + len(c)] = torch.tensor(p + c)
        mask[n, len(p) - 1 : len(p) + len(c) - 1] = True
    return ids, mask


def engine_logprobs(logprobs: list[list[float]], mask: torch.Tensor) -> torch.Tensor:
    """The sampler's per-token log-probs laid out like `pack`'s mask: mask [n, T-1] is True
    exactly on each row's completion tokens, in order."""
    out = torch.zeros(mask.shape)
    out[mask] = torch.tensor([x for row in logprobs for x in row], dtype=torch.float32)
    return out
