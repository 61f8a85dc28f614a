"""GRPO: reinforcement learning from rule rewards, the algorithm behind DeepSeek-R1.

    nanoseek rl --model runs/sft --out runs/rl --steps 40

One step:
1. rollout: P prompts, G samples each, from the inference engine (one batched generate call;
   the engine holds a reference to this very model, so it always samples from the newest
   weights);
2. reward every sample with rules (a verified `\\boxed{}` answer, the `<think>` format, the
   reasoning's language) and turn rewards into group-relative advantages `(r - mean) / std`;
3. `inner_updates` optimizer steps on the clipped ratio objective plus beta * KL to a frozen
   reference (k3 estimator `ref/pi - log(ref/pi) - 1`), every token of a sample sharing its
   sample's advantage.

Legend: P = prompts per step, G = group size, N = P * G samples, T = tokens (prompt +
completion, right-padded), V = vocab.

The known fixes are options, so they can be compared on the same run:
- `loss_norm="token"` (DAPO): average over all tokens of the batch instead of per sample
  first, so long samples are not down-weighted per token; `"constant"` (Dr. GRPO): divide
  the token sum by N * max_new_tokens, which removes the length bias entirely;
- `scale_rewards=False` (Dr. GRPO): no division by the group's std (which over-weights groups
  that are almost all right or all wrong);
- `beta=0`: no KL penalty (DAPO, Dr. GRPO); `clip_eps_high` (DAPO's clip-higher).

metrics.jsonl, one line per step: reward (mean over the N samples) and its parts (accuracy,
format, language), reward_std (mean within-group std), zero_std_groups (groups with no
signal), pass_at_group (groups with at least one correct sample), response_length (tokens),
truncated (share cut at max_new_tokens), kl (k3, mean per completion token), entropy (of the
policy's next-token distributions), clip_frac (tokens where the clipped branch was taken),
ratio_dev (mean |log pi - log pi_old| at the last inner update), loss, pg_loss, grad_norm,
lr, trained_samples, difficulty (per family), rollout_s, update_s, elapsed. With beta = 0
the samples of zero advantage are skipped (their gradient is exactly zero), so kl, entropy
and clip_frac are then measured on the trained samples only.

What this simplifies, compared with R1's production setup:
- one process: rollouts and updates take turns on the same weights (no separate inference
  fleet, so no weight sync: the engine reads the parameters the optimizer just changed);
- old log-probs are recomputed by the training forward (exactly the on-policy ratio 1 at the
  first inner update); the engine's sampling log-probs can be used instead (`old_logprobs=
  "engine"`), which then corrects for the decode path's small numeric differences;
- the reference model is a full copy kept in memory, reset to the policy every
  `ref_reset_every` steps (R1 resets it between RL stages);
- no value model, no reward model: every reward is a rule, as in R1's reasoning RL.
"""

from __future__ import annotations

import copy
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

import torch
from torch import nn

from nanoseek.data.rewards import RewardWeights, accuracy_reward, format_reward, language_reward
from nanoseek.data.tasks import FAMILIES, LANGUAGES, Problem, generate, levels
from nanoseek.inference import Engine, SamplingParams
from nanoseek.train import checkpoint as ckpt
from nanoseek.train.optim import build_optimizer
from nanoseek.train.schedule import Schedule

LOSS_NORMS = ("sequence", "token", "constant")
TEMPLATES = ("chat", "r1-zero")
OLD_LOGPROBS = ("model", "engine")

# R1-Zero's plain-text template (DeepSeek-R1 paper, table 1) adapted to our tags: the answer
# goes in \boxed{} after </think> rather than in <answer> tags, so the same rewards apply.
# The prompt ends with "<think>\n" pre-filled, as R1's own chat template does.
R1_ZERO_TEMPLATE = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant "
    "solves it. The Assistant first thinks about the reasoning process in the mind and then "
    "provides the User with the answer. The reasoning process is enclosed within <think> "
    "</think> tags and the final answer follows them inside \\boxed{{}}, i.e., <think> reasoning "
    "process here </think> answer here \\boxed{{answer}}. User: {question} Assistant: <think>\n"
)


# ---- configuration ------------------------------------------------------------------------------


@dataclass
class GRPOConfig:
    """GRPO hyperparameters. Defaults are for the CPU speedrun model (short answers; level 1-2
    traces are at most ~110 tokens). Measured on a speedrun-preset SFT model on 2 busy cores:
    8 x 8 samples of ~75 tokens take about 2 s to roll out and 3 s to update, so 30 steps fit
    in about 3 minutes; lr 3e-5 kept KL < 0.01 and entropy flat over 16 steps (no clipping at
    one inner update). R1 itself: G = 16, lr 3e-6, beta 0.001, temperature 1."""

    steps: int = 30  # rollouts (each followed by `inner_updates` optimizer steps)
    prompts_per_step: int = 8  # P
    group_size: int = 8  # G (R1: 16)
    max_new_tokens: int = 160
    temperature: float = 1.0  # R1 sampled at 1.0
    top_p: float = 1.0
    lr: float = 3e-5  # R1: 3e-6 for 671B; small models take larger steps
    warmup_steps: int = 0
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    inner_updates: int = 1  # optimizer steps per rollout (GRPO's mu)
    micro_batch: int = 16  # sequences per forward/backward (memory only; same update)
    clip_eps: float = 0.2
    clip_eps_high: float | None = None  # DAPO clip-higher; None = clip_eps
    beta: float = 0.001  # KL coefficient (R1: 0.001); 0 = no KL term (still measured)
    loss_norm: str = "sequence"  # "sequence" (GRPO) | "token" (DAPO) | "constant" (Dr. GRPO)
    scale_rewards: bool = True  # divide by the group std; False = Dr. GRPO
    ref_reset_every: int = 0  # reset the reference to the policy every N steps; 0 = never
    old_logprobs: str = "model"  # "model" (recomputed) | "engine" (the sampler's)
    router_bias_gamma: float = 0.0  # MoE bias balancing during RL; 0 = frozen biases
    # task sampling
    families: tuple[str, ...] = FAMILIES
    langs: tuple[str, ...] = LANGUAGES
    difficulty: int = 1  # starting level of every family
    curriculum: bool = True  # raise a family's level when its recent accuracy passes promote_at
    promote_at: float = 0.6
    max_difficulty: int | None = None  # the curriculum's top level (where pretraining stopped); None = the family's
    template: str = "chat"  # "chat" (R1 chat template) | "r1-zero" (plain-text R1-Zero template)
    reward: RewardWeights = field(default_factory=RewardWeights)
    seed: int = 0
    max_seconds: float | None = None  # stop after the step that passes this wall time (budgets)
    log_every: int = 1  # plain log line period (stderr); 0 = silent

    def __post_init__(self) -> None:
        if isinstance(self.reward, dict):
            self.reward = RewardWeights(**self.reward)
        self.families, self.langs = tuple(self.families), tuple(self.langs)
        checks = {
            "steps": self.steps >= 1, "prompts_per_step": self.prompts_per_step >= 1,
            "group_size": self.group_size >= 2, "max_new_tokens": self.max_new_tokens >= 1,
            "temperature": self.temperature > 0, "top_p": 0 < self.top_p <= 1, "lr": self.lr > 0,
            "inner_updates": self.inner_updates >= 1, "micro_batch": self.micro_batch >= 1,
            "clip_eps": 0 < self.clip_eps < 1, "beta": self.beta >= 0, "grad_clip": self.grad_clip >= 0,
            "ref_reset_every": self.ref_reset_every >= 0, "difficulty": self.difficulty >= 1,
            "max_difficulty": self.max_difficulty is None or self.max_difficulty >= self.difficulty,
            "families": bool(self.families) and all(f in FAMILIES for f in self.families),
            "langs": bool(self.langs) and all(lang in LANGUAGES for lang in self.langs),
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"GRPOConfig.{name} is out of range: {getattr(self, name)!r}")
        for name, value, allowed in [("loss_norm", self.loss_norm, LOSS_NORMS),
                                     ("template", self.template, TEMPLATES),
                                     ("old_logprobs", self.old_logprobs, OLD_LOGPROBS)]:
            if value not in allowed:
                raise ValueError(f"GRPOConfig.{name} must be one of {allowed}, got {value!r}")

    @property
    def eps_high(self) -> float:
        return self.clip_eps if self.clip_eps_high is None else self.clip_eps_high

    def to_dict(self) -> dict:
        return asdict(self)


# ---- the math (pure functions; tests check them against hand computations) ----------------------


def group_advantages(rewards: torch.Tensor, scale: bool = True, eps: float = 1e-4) -> torch.Tensor:
    """rewards [P, G] -> advantages [P, G]: r - mean over the group, divided by the group's
    (unbiased) std + eps when `scale`. A group whose samples all score the same gets 0."""
    centered = rewards - rewards.mean(-1, keepdim=True)
    if not scale:
        return centered
    return centered / (rewards.std(-1, keepdim=True) + eps)


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token KL(pi || ref) estimate from sampled tokens: ref/pi - log(ref/pi) - 1 (k3:
    unbiased, and never negative, unlike log(pi/ref))."""
    log_ratio = ref_logp - logp
    return torch.exp(log_ratio) - log_ratio - 1


def clipped_surrogate(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                      eps_low: float, eps_high: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token loss -min(r A, clip(r, 1-eps_low, 1+eps_high) A) with r = pi/pi_old, and a
    bool mask of the tokens where the clipped branch is the one taken (no gradient there)."""
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - eps_low, 1 + eps_high) * advantages
    return -torch.minimum(unclipped, clipped), clipped < unclipped


def token_weights(mask: torch.Tensor, norm: str, max_new_tokens: int) -> torch.Tensor:
    """mask [N, T] of completion tokens -> weights [N, T] summing the per-token loss into the
    batch loss. "sequence" (GRPO): mean over each sample's tokens, then over samples;
    "token" (DAPO): mean over every token of the batch; "constant" (Dr. GRPO): token sum
    divided by N * max_new_tokens (the same divisor whatever the lengths)."""
    mask = mask.float()
    n = mask.shape[0]
    if norm == "sequence":
        return mask / (mask.sum(-1, keepdim=True).clamp_min(1) * n)
    if norm == "token":
        return mask / mask.sum().clamp_min(1)
    if norm == "constant":
        return mask / (n * max_new_tokens)
    raise ValueError(f"loss_norm must be one of {LOSS_NORMS}, got {norm!r}")


def token_logprobs(model: nn.Module, input_ids: torch.Tensor,
                   with_entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """input_ids [B, T] -> log p(input_ids[:, t+1] | input_ids[:, :t+1]) [B, T-1], and the
    entropy of each of those next-token distributions [B, T-1] when asked (no gradient)."""
    logits = model(input_ids[:, :-1])  # [B, T-1, V] fp32
    logp_all = logits.log_softmax(-1)
    logp = logp_all.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy


# ---- prompts and rewards ----------------------------------------------------------------------


@dataclass
class RLPrompt:
    """One prompt of a rollout: its token ids and (for task prompts) the problem it poses."""

    ids: list[int]
    problem: Problem | None = None


RewardFn = Callable[[RLPrompt, list[int]], dict[str, float]]  # -> {"reward": r, other parts...}


class PromptSource(Protocol):
    def sample(self, step: int, n: int) -> list[RLPrompt]: ...

    def observe(self, prompts: list[RLPrompt], parts: dict[str, torch.Tensor]) -> None: ...


def render_prompt(tokenizer, question: str, template: str = "chat") -> list[int]:
    """Token ids of a question under a template; both end inside the reasoning (`<think>\\n`)."""
    if template == "chat":
        return tokenizer.encode_chat([{"role": "user", "content": question}], add_generation_prompt=True)[0]
    if template == "r1-zero":
        return [tokenizer.bos_id] + tokenizer.encode(R1_ZERO_TEMPLATE.format(question=question))
    raise ValueError(f"template must be one of {TEMPLATES}, got {template!r}")


class TaskPrompts:
    """Train-split task problems, a seeded stream: prompt i of step s is drawn from (seed, s, i)
    alone. With `curriculum`, each family starts at `difficulty` and moves up a level when the
    moving average of its accuracy passes `promote_at` (then the average restarts), up to
    `max_difficulty`."""

    def __init__(self, tokenizer, families: Sequence[str] = FAMILIES, langs: Sequence[str] = LANGUAGES, *,
                 template: str = "chat", difficulty: int = 1, curriculum: bool = True,
                 promote_at: float = 0.6, seed: int = 0, ema: float = 0.7, max_difficulty: int | None = None):
        self.tokenizer, self.families, self.langs = tokenizer, tuple(families), tuple(langs)
        self.template, self.curriculum, self.promote_at, self.seed, self.ema = template, curriculum, promote_at, seed, ema
        self.top = {f: min(levels(f), max_difficulty or levels(f)) for f in self.families}
        self.level = {f: min(difficulty, self.top[f]) for f in self.families}
        self.accuracy: dict[str, float | None] = dict.fromkeys(self.families)

    def sample(self, step: int, n: int) -> list[RLPrompt]:
        out = []
        for i in range(n):
            rng = random.Random(f"{self.seed}/{step}/{i}")
            family, lang = rng.choice(self.families), rng.choice(self.langs)
            problem = generate(family, 1, seed=rng.getrandbits(31), split="train", lang=lang,
                               difficulty=self.level[family])[0]
            out.append(RLPrompt(render_prompt(self.tokenizer, problem.question, self.template), problem))
        return out

    def observe(self, prompts: list[RLPrompt], parts: dict[str, torch.Tensor]) -> None:
        if not self.curriculum or "accuracy" not in parts:
            return
        for prompt, acc in zip(prompts, parts["accuracy"].mean(-1).tolist()):
            family = prompt.problem.family
            old = self.accuracy[family]
            self.accuracy[family] = acc if old is None else self.ema * old + (1 - self.ema) * acc
            if self.accuracy[family] >= self.promote_at and self.level[family] < self.top[family]:
                self.level[family] += 1
                self.accuracy[family] = None

    def state_dict(self) -> dict:
        return {"level": dict(self.level), "accuracy": dict(self.accuracy)}


def task_reward_fn(tokenizer, weights: RewardWeights = RewardWeights(), think_prefilled: bool = True) -> RewardFn:
    """The R1 rule rewards of a task completion: {"reward", "accuracy", "format", "language"}."""

    def reward(prompt: RLPrompt, completion: list[int]) -> dict[str, float]:
        text = completion_text(tokenizer, completion)
        p = prompt.problem
        parts = {"accuracy": accuracy_reward(text, p),
                 "format": format_reward(text, think_prefilled=think_prefilled),
                 "language": language_reward(text, p.lang, ignore=p.question)}
        parts["reward"] = (weights.accuracy * parts["accuracy"] + weights.format * parts["format"]
                           + weights.language * parts["language"])
        return parts

    return reward


def completion_text(tokenizer, completion: list[int]) -> str:
    """A completion's text without the end-of-sentence token that stopped it."""
    if completion and completion[-1] == tokenizer.eos_id:
        completion = completion[:-1]
    return tokenizer.decode(completion)


# ---- rollouts ---------------------------------------------------------------------------------


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
            logprobs: bool = False, stop_token_ids: tuple[int, ...] | None = None) -> Rollout:
    """Sample `group_size` completions per prompt in one batched engine call and score them.
    Deterministic in (weights, prompts, seed, step): each sample has its own counter-based seed."""
    engine.model.eval()  # the engine runs the model's forward for prefill: no training-only work
    ids, params = [], []
    for i, prompt in enumerate(prompts):
        for j in range(group_size):
            ids.append(prompt.ids)
            params.append(SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                         seed=sample_seed(seed, step, i, j), logprobs=logprobs,
                                         stop_token_ids=stop_token_ids))
    done = engine.generate(ids, params)
    scored = [reward_fn(prompts[n // group_size], c.token_ids) for n, c in enumerate(done)]
    shape = (len(prompts), group_size)
    parts = {k: torch.tensor([s[k] for s in scored], dtype=torch.float32).view(shape) for k in scored[0]}
    return Rollout(prompts, [c.token_ids for c in done], [c.finish_reason for c in done],
                   [c.logprobs for c in done] if logprobs else None, parts.pop("reward"), parts)


def _pack(rollout: Rollout, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """-> input_ids [N, T] (prompt + completion, right-padded) and the completion mask [N, T-1]
    aligned with token_logprobs' output (position t scores token t+1)."""
    g = rollout.group_size
    rows = [(rollout.prompts[n // g].ids, c) for n, c in enumerate(rollout.completions)]
    t = max(len(p) + len(c) for p, c in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros(len(rows), t - 1, dtype=torch.bool)
    for n, (p, c) in enumerate(rows):
        ids[n, : len(p) + len(c)] = torch.tensor(p + c)
        mask[n, len(p) - 1 : len(p) + len(c) - 1] = True
    return ids, mask


# ---- training ---------------------------------------------------------------------------------


@dataclass
class GRPOResult:
    steps: int
    seconds: float
    history: list[dict]  # one metrics dict per step (as in metrics.jsonl)
    out_dir: Path | None = None

    def summary(self) -> str:
        if not self.history:
            return "no steps"
        first, last = self.history[0], self.history[-1]
        return (f"GRPO: {self.steps} steps in {self.seconds:.0f}s; reward {first['reward']:.3f} -> "
                f"{last['reward']:.3f}; mean length {last['response_length']:.0f} tokens")


class GRPOTrainer:
    """The loop's state: policy, frozen reference, optimizer, engine, prompt source, step.
    `step()` runs one rollout and its inner updates and returns the step's metrics."""

    def __init__(self, model: nn.Module, config: GRPOConfig, prompts: PromptSource, reward_fn: RewardFn, *,
                 pad_id: int = 0, stop_token_ids: tuple[int, ...] | None = None, engine: Engine | None = None):
        self.model, self.config, self.prompts, self.reward_fn = model, config, prompts, reward_fn
        self.pad_id, self.stop_token_ids = pad_id, stop_token_ids
        self.reference = copy.deepcopy(model).eval().requires_grad_(False)
        self.optimizer = build_optimizer(model, config.lr, config.weight_decay)
        self.schedule = Schedule("constant", config.steps, config.warmup_steps)
        self.engine = engine or Engine(model, max_slots=min(64, config.prompts_per_step * config.group_size))
        self.step_count = 0
        self.start = time.perf_counter()

    def step(self) -> dict:
        cfg = self.config
        t0 = time.perf_counter()
        if cfg.ref_reset_every and self.step_count and self.step_count % cfg.ref_reset_every == 0:
            self.reference.load_state_dict(self.model.state_dict())
        prompts = self.prompts.sample(self.step_count, cfg.prompts_per_step)
        ro = rollout(self.engine, prompts, self.reward_fn, cfg.group_size, max_new_tokens=cfg.max_new_tokens,
                     temperature=cfg.temperature, top_p=cfg.top_p, seed=cfg.seed, step=self.step_count,
                     logprobs=cfg.old_logprobs == "engine", stop_token_ids=self.stop_token_ids)
        t_rollout = time.perf_counter() - t0
        self.prompts.observe(prompts, {**ro.parts, "reward": ro.rewards})
        update = self._update(ro)
        self.step_count += 1
        m = self._metrics(ro, update)
        m.update(rollout_s=round(t_rollout, 3), update_s=round(time.perf_counter() - t0 - t_rollout, 3),
                 elapsed=round(time.perf_counter() - self.start, 3))
        if hasattr(self.prompts, "level"):
            m["difficulty"] = dict(self.prompts.level)
        return m

    def _update(self, ro: Rollout) -> dict:
        cfg, model = self.config, self.model
        ids, mask = _pack(ro, self.pad_id)  # [N, T], [N, T-1]
        adv = group_advantages(ro.rewards, cfg.scale_rewards).flatten()  # [N]
        weights = token_weights(mask, cfg.loss_norm, cfg.max_new_tokens)  # [N, T-1]
        lr = cfg.lr * self.schedule(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        engine_lp = ro.engine_logprobs
        if cfg.beta == 0:
            # Without the KL term a sample with zero advantage adds exactly nothing to the
            # gradient (weights were normalised over the whole batch above): skip its forward.
            keep = adv != 0
            if not keep.any():
                return {"loss": 0.0, "pg_loss": 0.0, "kl": float("nan"), "clip_frac": 0.0, "entropy": float("nan"),
                        "ratio_dev": 0.0, "grad_norm": 0.0, "lr": lr, "trained_samples": 0}
            ids, mask, weights, adv = ids[keep], mask[keep], weights[keep], adv[keep]
            if engine_lp is not None:
                engine_lp = [lp for lp, k in zip(engine_lp, keep.tolist()) if k]
        chunks = [slice(i, i + cfg.micro_batch) for i in range(0, ids.shape[0], cfg.micro_batch)]
        old = [None] * len(chunks)
        if cfg.old_logprobs == "engine":
            old = [_engine_logprobs(engine_lp[c], mask[c]) for c in chunks]
        ref = []
        with torch.no_grad():
            for c in chunks:
                width = _width(mask[c])
                ref.append(token_logprobs(self.reference, ids[c, : width + 1])[0])
        model.train()
        sums = dict.fromkeys(["loss", "pg_loss", "kl", "clip_frac", "entropy", "ratio_dev"], 0.0)
        grad_norms = []
        ntok = mask.sum().clamp_min(1).item()
        for u in range(cfg.inner_updates):
            self.optimizer.zero_grad(set_to_none=True)
            for k, c in enumerate(chunks):
                width = _width(mask[c])
                m, w = mask[c, :width], weights[c, :width]
                logp, entropy = token_logprobs(model, ids[c, : width + 1], with_entropy=u == 0)
                if old[k] is None:  # first update: on-policy, the ratio is exactly 1
                    old[k] = logp.detach()
                old_k = old[k][:, :width]
                pg, clipped = clipped_surrogate(logp, old_k, adv[c].unsqueeze(1), cfg.clip_eps, cfg.eps_high)
                kl = kl_k3(logp, ref[k][:, :width])
                loss = (w * (pg + cfg.beta * kl)).sum()
                loss.backward()
                if u == cfg.inner_updates - 1:  # report the last inner update's numbers
                    sums["loss"] += loss.item()
                    sums["pg_loss"] += (w * pg).sum().item()
                    sums["kl"] += kl.detach()[m].sum().item() / ntok
                    sums["clip_frac"] += clipped[m].sum().item() / ntok
                    sums["ratio_dev"] += (logp.detach() - old_k).abs()[m].sum().item() / ntok
                if entropy is not None:
                    sums["entropy"] += entropy[m].sum().item() / ntok
            max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
            grad_norms.append(norm)
            if math.isfinite(norm):
                self.optimizer.step()
                if cfg.router_bias_gamma > 0 and hasattr(model, "update_router_bias"):
                    model.update_router_bias(cfg.router_bias_gamma)
            for moe in getattr(model, "moe_layers", lambda: [])():
                moe.expert_load.zero_()
        self.optimizer.zero_grad(set_to_none=True)
        return {**sums, "grad_norm": grad_norms[-1], "lr": lr, "trained_samples": ids.shape[0]}

    def _metrics(self, ro: Rollout, update: dict) -> dict:
        lengths = torch.tensor([len(c) for c in ro.completions], dtype=torch.float32)
        solved = ro.parts.get("accuracy")
        m = {
            "step": self.step_count,
            "reward": ro.rewards.mean().item(),
            "reward_std": ro.rewards.std(-1).mean().item(),  # mean within-group spread
            "zero_std_groups": (ro.rewards.std(-1) == 0).float().mean().item(),  # no learning signal
            **{name: v.mean().item() for name, v in ro.parts.items()},
            "response_length": lengths.mean().item(),
            "truncated": sum(r == "length" for r in ro.finish_reasons) / len(ro.finish_reasons),
            "tokens": int(lengths.sum().item()),
        }
        if solved is not None:
            m["pass_at_group"] = (solved.max(-1).values > 0).float().mean().item()
        m.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in update.items()})
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in m.items()}


def _width(mask: torch.Tensor) -> int:
    """Positions needed by a micro-batch: up to its last completion token."""
    cols = mask.any(0).nonzero()
    return int(cols[-1]) + 1 if len(cols) else 1


def _engine_logprobs(logprobs: list[list[float]], mask: torch.Tensor) -> torch.Tensor:
    """The sampler's per-token log-probs laid out like token_logprobs' output: mask [n, T-1]
    is True exactly on each row's completion tokens, in order."""
    out = torch.zeros(mask.shape)
    out[mask] = torch.tensor([x for row in logprobs for x in row], dtype=torch.float32)
    return out


def train_grpo(model: nn.Module, config: GRPOConfig, prompts: PromptSource, reward_fn: RewardFn, *,
               pad_id: int = 0, stop_token_ids: tuple[int, ...] | None = None,
               metrics_path: str | Path | None = None,
               on_step: Callable[[dict], None] | None = None) -> GRPOResult:
    """Run `config.steps` GRPO steps on `model` in place. Writes one JSON line per step to
    `metrics_path` when given; `on_step(metrics)` is called after each step (progress bars)."""
    trainer = GRPOTrainer(model, config, prompts, reward_fn, pad_id=pad_id, stop_token_ids=stop_token_ids)
    history = []
    log = open(metrics_path, "w", encoding="utf-8") if metrics_path else None
    try:
        for _ in range(config.steps):
            m = trainer.step()
            history.append(m)
            if log:
                log.write(json.dumps(m) + "\n")
                log.flush()
            if on_step:
                on_step(m)
            if config.log_every and m["step"] % config.log_every == 0:
                print(_log_line(m, config.steps), file=sys.stderr, flush=True)
            if config.max_seconds is not None and m["elapsed"] >= config.max_seconds:
                break
    finally:
        if log:
            log.close()
    model.eval()
    return GRPOResult(steps=len(history), seconds=time.perf_counter() - trainer.start, history=history)


def _log_line(m: dict, total: int) -> str:
    parts = [f"rl step {m['step']}/{total}", f"reward {m['reward']:.3f}"]
    for name in ("accuracy", "format", "language"):
        if name in m:
            parts.append(f"{name[:3]} {m[name]:.2f}")
    parts += [f"len {m['response_length']:.0f}", f"kl {m['kl']:.4f}", f"ent {m['entropy']:.2f}",
              f"clip {m['clip_frac']:.3f}", f"{m['rollout_s']:.0f}+{m['update_s']:.0f}s"]
    return "  ".join(parts)


# ---- from a checkpoint directory ----------------------------------------------------------------


def grpo(model_dir: str | Path, out_dir: str | Path, config: GRPOConfig | None = None, *,
         on_step: Callable[[dict], None] | None = None) -> GRPOResult:
    """GRPO on the task families from the checkpoint in `model_dir`; writes `out_dir`: run.json,
    metrics.jsonl, the final model (HF directory with tokenizer) and PNG plots of the run."""
    from nanoseek import Transformer
    from nanoseek.eval.report import plot_grpo
    from nanoseek.tokenizer import Tokenizer

    config = config or GRPOConfig()
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").is_file():
        raise ckpt.RunError(f"--model {model_dir} is not a checkpoint directory (no config.json)")
    tokenizer = Tokenizer.load(model_dir)
    model = Transformer.from_pretrained(model_dir)
    run = {"kind": "grpo", "init": str(model_dir.resolve()), **config.to_dict()}
    ckpt.check_out_dir(out_dir, run, resume=False)
    ckpt.write_run(out_dir, run)
    torch.manual_seed(config.seed)
    prompts = TaskPrompts(tokenizer, config.families, config.langs, template=config.template,
                          difficulty=config.difficulty, curriculum=config.curriculum,
                          promote_at=config.promote_at, seed=config.seed, max_difficulty=config.max_difficulty)
    reward_fn = task_reward_fn(tokenizer, config.reward, think_prefilled=True)
    result = train_grpo(model, config, prompts, reward_fn, pad_id=tokenizer.pad_id,
                        stop_token_ids=(tokenizer.eos_id,), metrics_path=out_dir / ckpt.METRICS_FILE,
                        on_step=on_step)
    ckpt.publish_model(out_dir, model, tokenizer)
    plot_grpo(out_dir / ckpt.METRICS_FILE, out_dir)
    result.out_dir = out_dir
    return result
