"""GRPO: reinforcement learning from rule rewards, the algorithm behind DeepSeek-R1.

    nanoseek rl --model runs/sft --out runs/rl --steps 40 [--resume]
    torchrun --nproc_per_node 2 -m nanoseek.cli rl --model runs/sft --out runs/rl --no-eval

One step:
1. rollout (nanoseek.train.rollout): P prompts, G samples each, from the inference engine (one
   batched generate call; the engine holds a reference to this very model, so it always
   samples from the newest weights); with `dynamic_sampling` (DAPO) the groups whose rewards
   are all equal (no signal) are dropped and further rounds of P prompts refill the batch,
   at most `max_refill_rounds` of them, so a step's time stays bounded;
2. reward every sample with rules (nanoseek.train.rl_tasks: a verified `\\boxed{}` answer, the
   `<think>` format, the reasoning's language) and turn rewards into group-relative
   advantages `(r - mean) / std`;
3. `inner_updates` optimizer steps on the clipped ratio objective plus beta * KL to a frozen
   reference (k3 estimator `ref/pi - log(ref/pi) - 1`), every token of a sample sharing its
   sample's advantage. The math is nanoseek.train.rl_algos (pure functions, chosen by name);
   each optimizer step is the shared trainer's (`Trainer.apply_gradients`: clipping, NaN/inf
   skip and abort, router-bias update), and the loop around the steps is `Trainer.run`
   (checkpoints every `save_every` steps, signals, metrics.jsonl, the progress display).

Legend: P = prompts per step, G = group size, N = P * G samples, T = tokens (prompt +
completion, right-padded), V = vocab.

The known fixes are options, so they can be compared on the same run:
- `loss_norm="token"` (DAPO): average over all tokens of the batch instead of per sample
  first, so long samples are not down-weighted per token; `"constant"` (Dr. GRPO): divide
  the token sum by N * max_new_tokens, which removes the length bias entirely;
- `scale_rewards=False` (Dr. GRPO): no division by the group's std (which over-weights groups
  that are almost all right or all wrong);
- `beta=0`: no KL penalty (DAPO, Dr. GRPO); `clip_eps_high` (DAPO's clip-higher);
- `dynamic_sampling` (DAPO, above); `pass_window=(low, high)`: prompts from the task cells
  (family, level) whose online pass rate is inside the window, the edge of competence
  (nanoseek.train.rl_tasks); `reward.partial`: partial credit for close answers.
Named presets bundle settings to compare (`GRPOConfig.preset(name)`, `--preset`): "nanochat"
(its chat_rl: advantage = r - group mean, no KL, no ratio clipping at one inner update,
token-level mean, T = 1) and "edge" (the window and dynamic sampling).

metrics.jsonl, one line per step: reward (mean over the N samples) and its parts (accuracy,
format, language), reward_std (mean within-group std), zero_std_groups (groups with no
signal), pass_at_group (groups with at least one correct sample), response_length (tokens),
truncated (share cut at max_new_tokens), kl (k3, mean per completion token), entropy (of the
policy's next-token distributions), clip_frac (tokens where the clipped branch was taken),
ratio_dev (mean |log pi - log pi_old| at the last inner update), loss, pg_loss, grad_norm,
lr, trained_samples, skipped (inner updates skipped for a NaN/inf), difficulty (per family),
pass_rate (per measured "family/level" cell), in_window (cells inside the window, with one),
groups_drawn, groups_kept, groups_dropped and sampling_rounds (with dynamic sampling; the
reward numbers above are over every drawn group, the update over the kept ones),
expert_imbalance and router_bias_min/max (per MoE layer), rollout_s, update_s, elapsed. With
beta = 0 the samples of zero advantage are skipped (their gradient is exactly zero), so kl,
entropy and clip_frac are then measured on the trained samples only.

Checkpoints hold the policy (the HF directory), and beside it the reference, the optimizer,
the RNG, the step (which is the prompt stream's position: prompts are drawn from (seed, step,
index)) and the curriculum with the pass rates; a killed run resumed with `--resume` logs the same metrics as an
uninterrupted one. Under torchrun every rank draws the step's P prompts, samples and scores
its own P / world_size of them, and the ranks average their gradients (each rank normalises
its loss by the per-rank mean of samples and tokens): the update equals one process's. Dynamic
sampling decides which groups to keep from every rank's rewards, so the ranks agree (each then
trains its own kept groups).

What this simplifies, compared with R1's production setup:
- rollouts and updates take turns on the same weights (no separate inference fleet, so no
  weight sync: the engine reads the parameters the optimizer just changed);
- old log-probs are recomputed by the training forward (exactly the on-policy ratio 1 at the
  first inner update); the engine's sampling log-probs can be used instead (`old_logprobs=
  "engine"`), which then corrects for the decode path's small numeric differences;
- the reference model is a full copy kept in memory, reset to the policy every
  `ref_reset_every` steps (R1 resets it between RL stages);
- no value model, no reward model: every reward is a rule, as in R1's reasoning RL.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from nanoseek.data.prompts import TEMPLATES
from nanoseek.data.rewards import RewardWeights
from nanoseek.data.tasks import FAMILIES, LANGUAGES
from nanoseek.inference import Engine
from nanoseek.train import checkpoint as ckpt
from nanoseek.train import distributed
from nanoseek.train.metrics import read_metrics
from nanoseek.train.precision import PRECISIONS
from nanoseek.train.rl_algos import (
    ADVANTAGE_ESTIMATORS, KL_ESTIMATORS, POLICY_LOSSES, TOKEN_AGGREGATIONS, token_entropy, token_logprobs,
    token_weights,
)
from nanoseek.train.rollout import PromptSource, RewardFn, Rollout, engine_logprobs, keep_groups, pack, rollout
from nanoseek.train.trainer import Trainer, TrainConfig

LOSS_NORMS = tuple(TOKEN_AGGREGATIONS)
DYNAMIC_COUNTS = ("groups_drawn", "groups_kept", "groups_dropped", "sampling_rounds")
OLD_LOGPROBS = ("model", "engine")
RUN_SETTINGS = ("log_every", "save_every", "keep_last", "max_seconds")  # how a run goes, not what it is
PRESETS: dict[str, dict] = {
    "default": {},
    # nanochat's chat_rl, the setting that worked at small scale: fully on-policy (one inner
    # update, so no ratio clipping is needed), no KL, token-level mean, r - group mean, T = 1
    # (its 16 x 16 batch is left to prompts_per_step and group_size: a budget, not an algorithm)
    "nanochat": dict(advantage="mean", scale_rewards=False, policy_loss="no-clip", inner_updates=1, beta=0.0,
                     loss_norm="token", temperature=1.0),
    # the edge of competence: prompts whose pass rate is inside the window, DAPO's dynamic sampling
    "edge": dict(pass_window=(0.1, 0.9), dynamic_sampling=True),
}


# ---- configuration ------------------------------------------------------------------------------


@dataclass
class GRPOConfig:
    """GRPO hyperparameters. Defaults are for the CPU speedrun model (short answers; level 1-2
    traces are at most ~110 tokens). Measured on a speedrun-preset SFT model on 2 busy cores:
    8 x 8 samples of ~75 tokens take about 2 s to roll out and 3 s to update, so 30 steps fit
    in about 3 minutes; lr 3e-5 kept KL < 0.01 and entropy flat over 16 steps (no clipping at
    one inner update). R1 itself: G = 16, lr 3e-6, beta 0.001, temperature 1."""

    steps: int = 30  # rollouts (each followed by `inner_updates` optimizer steps)
    prompts_per_step: int = 8  # P (split over the ranks under torchrun)
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
    loss_norm: str = "sequence"  # token aggregation: "sequence" (GRPO) | "token" (DAPO) | "constant" (Dr. GRPO)
    scale_rewards: bool = True  # divide by the group std; False = Dr. GRPO
    advantage: str = "grpo"  # advantage estimator (rl_algos.ADVANTAGE_ESTIMATORS)
    policy_loss: str = "clip"  # rl_algos.POLICY_LOSSES
    kl_estimator: str = "k3"  # rl_algos.KL_ESTIMATORS
    ref_reset_every: int = 0  # reset the reference to the policy every N steps; 0 = never
    old_logprobs: str = "model"  # "model" (recomputed) | "engine" (the sampler's)
    router_bias_gamma: float = 0.0  # MoE bias balancing during RL; 0 = frozen biases
    precision: str = "fp32"  # the policy's forward/backward (TrainConfig.precision); RL is measured in fp32 so far
    # task sampling
    families: tuple[str, ...] = FAMILIES
    langs: tuple[str, ...] = LANGUAGES
    difficulty: int = 1  # starting level of every family
    curriculum: bool = True  # raise a family's level when its recent accuracy passes promote_at
    promote_at: float = 0.6
    max_difficulty: int | None = None  # the curriculum's top level (where pretraining stopped); None = the family's
    pass_window: tuple[float, float] | None = None  # prompts from (family, level) cells with pass rate in [low, high]
    pass_explore: float = 0.1  # with the window: share of prompts from any cell (re-measures those outside)
    pass_horizon: int = 8  # groups a cell's pass rate averages over
    dynamic_sampling: bool = False  # DAPO: drop groups whose rewards are all equal, refill from further prompts
    max_refill_rounds: int = 2  # dynamic sampling's rollout rounds beyond the first, at most
    template: str = "chat"  # "chat" (R1 chat template) | "r1-zero" (plain-text R1-Zero template)
    reward: RewardWeights = field(default_factory=RewardWeights)
    seed: int = 0
    max_seconds: float | None = None  # wall-time budget over resumes: stop before the step that would pass it
    save_every: int = 10  # checkpoint period in steps; 0 = only at the end and on signals
    keep_last: int = 2  # checkpoints kept
    log_every: int = 1  # plain log line period (stderr); 0 = silent

    def __post_init__(self) -> None:
        if isinstance(self.reward, dict):
            self.reward = RewardWeights(**self.reward)
        self.families, self.langs = tuple(self.families), tuple(self.langs)
        if self.pass_window is not None:
            self.pass_window = tuple(self.pass_window)
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
            "save_every": self.save_every >= 0, "keep_last": self.keep_last >= 1, "log_every": self.log_every >= 0,
            "pass_window": self.pass_window is None or (len(self.pass_window) == 2
                                                        and 0 <= self.pass_window[0] <= self.pass_window[1] <= 1),
            "pass_explore": 0 <= self.pass_explore <= 1, "pass_horizon": self.pass_horizon >= 1,
            "max_refill_rounds": self.max_refill_rounds >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"GRPOConfig.{name} is out of range: {getattr(self, name)!r}")
        for name, allowed in [("loss_norm", LOSS_NORMS), ("template", TEMPLATES), ("old_logprobs", OLD_LOGPROBS),
                              ("advantage", tuple(ADVANTAGE_ESTIMATORS)), ("policy_loss", tuple(POLICY_LOSSES)),
                              ("kl_estimator", tuple(KL_ESTIMATORS)), ("precision", PRECISIONS)]:
            if getattr(self, name) not in allowed:
                raise ValueError(f"GRPOConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")

    @classmethod
    def preset(cls, name: str, **overrides) -> GRPOConfig:
        """The named setting of PRESETS with `overrides` on top ("default": GRPOConfig())."""
        return cls(**{**_preset(name), **overrides})

    def with_preset(self, name: str) -> GRPOConfig:
        """This config with the named preset's settings in place of its own (the rest kept)."""
        return replace(self, **_preset(name))

    @property
    def eps_high(self) -> float:
        return self.clip_eps if self.clip_eps_high is None else self.clip_eps_high

    def to_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """What the run is (run.json; a resume must match it): every field but RUN_SETTINGS."""
        return {k: v for k, v in self.to_dict().items() if k not in RUN_SETTINGS}

    def train_config(self) -> TrainConfig:
        """The shared trainer's settings: its step is one rollout, its lr constant after warmup."""
        return TrainConfig(steps=self.steps, lr=self.lr, schedule="constant", warmup_steps=self.warmup_steps,
                           weight_decay=self.weight_decay, grad_clip=self.grad_clip,
                           router_bias_gamma=self.router_bias_gamma, parallel="replicate", precision=self.precision,
                           save_every=self.save_every, keep_last=self.keep_last, log_every=self.log_every,
                           max_seconds=self.max_seconds,
                           progress=None if self.log_every else False,
                           peak_flops=1.0)  # GRPO reports no MFU: skip measuring the GEMM peak at start-up


def _preset(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"GRPOConfig preset must be one of {tuple(PRESETS)}, got {name!r}")
    return PRESETS[name]


# ---- one step's numbers -------------------------------------------------------------------------


@dataclass
class RLStepMetrics:
    """One GRPO step (the fields are the module docstring's); `row()` is its metrics.jsonl line."""

    step: int
    reward: float
    reward_std: float
    zero_std_groups: float
    parts: dict[str, float]  # the reward's named parts (accuracy, format, language), means over the samples
    pass_at_group: float | None  # None without an accuracy part
    response_length: float
    truncated: float
    tokens: int
    loss: float
    pg_loss: float
    kl: float
    clip_frac: float
    entropy: float
    ratio_dev: float
    grad_norm: float
    lr: float
    trained_samples: int
    skipped: int
    difficulty: dict[str, int] | None  # per family, with a curriculum
    pass_rate: dict[str, float] | None  # per measured cell, with task prompts
    in_window: int | None  # cells inside the pass-rate window, with one
    groups_drawn: int | None  # dynamic sampling's counts (None without it)
    groups_kept: int | None
    groups_dropped: int | None
    sampling_rounds: int | None
    moe: dict[str, list[float]]  # expert_imbalance, router_bias_min/max at the last inner update
    rollout_s: float
    update_s: float
    elapsed: float = 0.0

    def row(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if k not in ("parts", "moe") and v is not None}
        row.update(self.parts)
        row.update(self.moe)
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}

    def describe(self) -> str:
        parts = [f"reward {self.reward:.3f}"] + [f"{name[:3]} {v:.2f}" for name, v in self.parts.items()]
        parts += [f"len {self.response_length:.0f}", f"kl {self.kl:.4f}", f"ent {self.entropy:.2f}",
                  f"clip {self.clip_frac:.3f}", f"{self.rollout_s:.0f}+{self.update_s:.0f}s"]
        if self.groups_kept is not None:
            parts.append(f"kept {self.groups_kept}/{self.groups_drawn} groups")
        return "  ".join(parts)


@dataclass
class Scores:
    """A step's rollout numbers from every rank: rewards and parts [P, G], lengths and
    truncation flags [N]."""

    rewards: torch.Tensor
    parts: dict[str, torch.Tensor]
    lengths: torch.Tensor
    truncated: torch.Tensor

    @staticmethod
    def cat(scores: list[Scores]) -> Scores:
        """Several rounds' scores as one (groups in round order)."""
        return Scores(torch.cat([s.rewards for s in scores]),
                      {k: torch.cat([s.parts[k] for s in scores]) for k in scores[0].parts},
                      torch.cat([s.lengths for s in scores]), torch.cat([s.truncated for s in scores]))


# ---- training ---------------------------------------------------------------------------------


@dataclass
class GRPOResult:
    steps: int  # steps done, counting any before a resume
    seconds: float  # this session's
    history: list[dict]  # one metrics dict per step (as in metrics.jsonl)
    out_dir: Path | None = None
    interrupted: int | None = None  # the signal that stopped the run early, if any

    def summary(self) -> str:
        if not self.history:
            return "no steps"
        first, last = self.history[0], self.history[-1]
        state = f" (interrupted by signal {self.interrupted})" if self.interrupted else ""
        return (f"GRPO: {self.steps} steps{state}, {self.seconds:.0f}s this session; reward {first['reward']:.3f} -> "
                f"{last['reward']:.3f}; mean length {last['response_length']:.0f} tokens")


class GRPOTrainer(Trainer):
    """GRPO on the shared trainer: `train_step()` is one rollout and its inner updates, each
    through `apply_gradients`; `run()` is the trainer's loop. `self.step` counts rollouts. The
    prompt source stands where a loader would: its state (the curriculum) is checkpointed."""

    def __init__(self, model: nn.Module, config: GRPOConfig, prompts: PromptSource, reward_fn: RewardFn, *,
                 pad_id: int = 0, stop_token_ids: tuple[int, ...] | None = None, engine: Engine | None = None,
                 out_dir: str | Path | None = None, tokenizer=None):
        # The policy loss never reaches the MTP modules (no labels, no drafts): frozen, they are
        # left out of the optimizer, whose checkpointed state then covers every parameter it has.
        for module in getattr(model, "mtp", []):
            module.requires_grad_(False)
        super().__init__(config.train_config(), model, prompts, out_dir=out_dir, tokenizer=tokenizer)
        if config.prompts_per_step % self.info.world_size:
            raise ckpt.RunError(f"prompts_per_step ({config.prompts_per_step}) must be a multiple of the number "
                                f"of processes ({self.info.world_size})")
        self.rl, self.prompts, self.reward_fn = config, prompts, reward_fn
        self.pad_id, self.stop_token_ids = pad_id, stop_token_ids
        self.share = config.prompts_per_step // self.info.world_size  # prompts per rank
        self.reference = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.engine = engine or Engine(self.model, max_slots=min(64, self.share * config.group_size))
        self.history: list[RLStepMetrics] = []  # this session's steps

    def train_step(self) -> RLStepMetrics:
        cfg = self.rl
        t0 = time.perf_counter()
        if cfg.ref_reset_every and self.step and self.step % cfg.ref_reset_every == 0:
            self.reference.load_state_dict(self.model.state_dict())
        lr = self.start_step()
        ro, scores, counts = self._rollouts()
        t_rollout = time.perf_counter() - t0
        update = self._update(ro)
        self.step += 1
        m = self._metrics(scores, update | counts, lr, round(t_rollout, 3),
                          round(time.perf_counter() - t0 - t_rollout, 3))
        self.history.append(m)
        return m

    def _rollouts(self) -> tuple[Rollout, Scores, dict]:
        """The step's rollout rounds of P prompts each: one, and with dynamic sampling more while
        fewer than P groups have unequal rewards, up to max_refill_rounds more. (Every round is
        P prompts, whatever the number of ranks, so a run's numbers do not depend on it.) ->
        this rank's kept groups (the first P kept over all ranks, in prompt order), the scores
        of every group drawn (every rank's), and dynamic sampling's counts (None without it)."""
        cfg, n = self.rl, self.rl.prompts_per_step
        mine, flags, scores = [], [], []
        drawn = kept = rounds = 0
        while rounds == 0 or (cfg.dynamic_sampling and kept < n and rounds <= cfg.max_refill_rounds):
            ro, s = self._round(drawn)
            informative = s.rewards.amax(-1) > s.rewards.amin(-1)  # [n]: the group's rewards differ
            if not cfg.dynamic_sampling:
                informative = torch.ones_like(informative)
            take = informative & (informative.cumsum(0) <= n - kept)  # up to P in all
            mine.append(ro)
            flags.append(take[self.info.rank * self.share : (self.info.rank + 1) * self.share].tolist())
            scores.append(s)
            drawn, kept, rounds = drawn + n, kept + int(take.sum()), rounds + 1
        counts = (drawn, kept, drawn - kept, rounds) if cfg.dynamic_sampling else (None,) * len(DYNAMIC_COUNTS)
        return keep_groups(mine, flags), Scores.cat(scores), dict(zip(DYNAMIC_COUNTS, counts))

    def _round(self, start: int) -> tuple[Rollout, Scores]:
        """Prompts start .. start + P - 1 of the step: every rank draws them all, rolls out its
        share, and sees every rank's scores, which the prompt source observes."""
        cfg, first = self.rl, self.info.rank * self.share
        prompts = self.prompts.sample(self.step, cfg.prompts_per_step, start=start)
        ro = rollout(self.engine, prompts[first : first + self.share], self.reward_fn, cfg.group_size,
                     max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p, seed=cfg.seed,
                     step=self.step, prompt_offset=start + first, logprobs=cfg.old_logprobs == "engine",
                     stop_token_ids=self.stop_token_ids)
        scores = self._gather(ro)
        self.prompts.observe(prompts, {**scores.parts, "reward": scores.rewards})
        return ro, scores

    def _gather(self, ro: Rollout) -> Scores:
        def gather(t: torch.Tensor) -> torch.Tensor:
            return distributed.all_gather(t.to(self.info.device)).cpu()

        return Scores(gather(ro.rewards), {k: gather(v) for k, v in ro.parts.items()},
                      gather(torch.tensor([len(c) for c in ro.completions], dtype=torch.float32)),
                      gather(torch.tensor([r == "length" for r in ro.finish_reasons], dtype=torch.float32)))

    def _over_ranks(self, value: float, op: str) -> float:
        return distributed.all_reduce(torch.tensor([value], dtype=torch.float64, device=self.info.device), op).item()

    def _logprobs(self, model: nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids [n, w+1] -> log-probs of ids[:, 1:] [n, w] and the logits [n, w, V] they came from."""
        with self._autocast():
            logits = model(ids[:, :-1])
        return token_logprobs(logits, ids[:, 1:]), logits

    def _update(self, ro: Rollout) -> dict:
        """This rank's share of the policy update: `inner_updates` optimizer steps on the rollout."""
        cfg, dev = self.rl, self.info.device
        ids, mask = (t.to(dev) for t in pack(ro, self.pad_id))  # [n, T], [n, T-1]
        adv = ADVANTAGE_ESTIMATORS[cfg.advantage](ro.rewards, cfg.scale_rewards).flatten().to(dev)  # [n]
        # per-rank means of samples and tokens (dynamic sampling keeps unequal shares per rank)
        weights = token_weights(mask, cfg.loss_norm, cfg.max_new_tokens,
                                samples=self._over_ranks(float(ids.shape[0]), "avg"),
                                tokens=self._over_ranks(float(mask.sum()), "avg"))  # [n, T-1]
        engine_lp = ro.engine_logprobs
        # Without the KL term a sample with zero advantage adds exactly nothing to the gradient
        # (weights were normalised over the whole batch above): skip its forward.
        keep = adv != 0 if cfg.beta == 0 else torch.ones_like(adv, dtype=torch.bool)
        if not self._over_ranks(float(keep.sum()), "sum"):
            return {"loss": 0.0, "pg_loss": 0.0, "kl": float("nan"), "clip_frac": 0.0, "entropy": float("nan"),
                    "ratio_dev": 0.0, "grad_norm": 0.0, "trained_samples": 0, "skipped": 0, "moe": {}}
        if cfg.beta == 0:
            ids, mask, weights, adv = ids[keep], mask[keep], weights[keep], adv[keep]
            if engine_lp is not None:
                engine_lp = [lp for lp, k in zip(engine_lp, keep.tolist()) if k]
        chunks = [slice(i, i + cfg.micro_batch) for i in range(0, ids.shape[0], cfg.micro_batch)]
        widths = [_width(mask[c]) for c in chunks]
        old = [None] * len(chunks)
        if cfg.old_logprobs == "engine":
            old = [engine_logprobs(engine_lp[c], mask[c].cpu()).to(dev) for c in chunks]
        with torch.no_grad():
            ref = [self._logprobs(self.reference, ids[c, : w + 1])[0] for c, w in zip(chunks, widths)]
        policy_loss, kl_fn = POLICY_LOSSES[cfg.policy_loss], KL_ESTIMATORS[cfg.kl_estimator]
        self.model.train()
        # token sums of the last inner update (entropy: the first), and its loss parts
        sums = dict.fromkeys(["loss", "pg_loss", "kl", "clip_frac", "ratio_dev", "entropy"], 0.0)
        grad_norm, skipped, moe = 0.0, 0, {}
        for u in range(cfg.inner_updates):
            last = u == cfg.inner_updates - 1
            total = torch.zeros((), dtype=torch.float64, device=dev)
            for k, (c, w) in enumerate(zip(chunks, widths)):
                m, tw = mask[c, :w], weights[c, :w]
                logp, logits = self._logprobs(self.wrapped, ids[c, : w + 1])
                if u == 0:
                    sums["entropy"] += token_entropy(logits)[m].sum().item()
                if old[k] is None:  # first update: on-policy, the ratio is exactly 1
                    old[k] = logp.detach()
                old_k = old[k][:, :w]
                pg, clipped = policy_loss(logp, old_k, adv[c].unsqueeze(1), cfg.clip_eps, cfg.eps_high)
                kl = kl_fn(logp, ref[k][:, :w])
                loss = (tw * (pg + cfg.beta * kl)).sum()
                loss.backward()
                total += loss.detach()
                if last:
                    sums["pg_loss"] += (tw * pg).sum().item()
                    sums["kl"] += kl.detach()[m].sum().item()
                    sums["clip_frac"] += clipped[m].sum().item()
                    sums["ratio_dev"] += (logp.detach() - old_k).abs()[m].sum().item()
            total = distributed.all_reduce(total, "avg")  # each rank's loss is its share of the batch mean
            grad_norm, applied, moe = self.apply_gradients(total)
            skipped += not applied
            sums["loss"] = total.item()
        return self._update_numbers(sums, float(mask.sum()), float(ids.shape[0])) | {
            "grad_norm": grad_norm, "skipped": skipped, "moe": moe}

    def _update_numbers(self, sums: dict, tokens: float, samples: float) -> dict:
        """This rank's sums -> the whole batch's numbers: kl, clip_frac, ratio_dev and entropy
        per trained token of every rank; pg_loss, like loss, the ranks' mean."""
        t = torch.tensor([sums["pg_loss"], sums["kl"], sums["clip_frac"], sums["ratio_dev"], sums["entropy"],
                          tokens, samples], dtype=torch.float64, device=self.info.device)
        pg_loss, kl, clipped, ratio_dev, entropy, tokens, samples = distributed.all_reduce(t, "sum").tolist()
        per_token = max(1.0, tokens)
        return {"loss": sums["loss"], "pg_loss": pg_loss / self.info.world_size, "kl": kl / per_token,
                "clip_frac": clipped / per_token, "ratio_dev": ratio_dev / per_token, "entropy": entropy / per_token,
                "trained_samples": int(samples)}

    def _metrics(self, s: Scores, update: dict, lr: float, rollout_s: float, update_s: float) -> RLStepMetrics:
        solved = s.parts.get("accuracy")
        return RLStepMetrics(
            step=self.step, reward=s.rewards.mean().item(),
            reward_std=s.rewards.std(-1).mean().item(),  # mean within-group spread
            zero_std_groups=(s.rewards.std(-1) == 0).float().mean().item(),  # no learning signal
            parts={name: v.mean().item() for name, v in s.parts.items()},
            pass_at_group=None if solved is None else (solved.max(-1).values > 0).float().mean().item(),
            response_length=s.lengths.mean().item(), truncated=s.truncated.sum().item() / s.truncated.numel(),
            tokens=int(s.lengths.sum().item()), lr=lr, **update, **self._prompt_state(), rollout_s=rollout_s,
            update_s=update_s)

    def _prompt_state(self) -> dict:
        """The task prompts' state after the step: curriculum levels, pass rates, window size."""
        p = self.prompts
        return {"difficulty": dict(p.level) if hasattr(p, "level") else None,
                "pass_rate": ({k: round(v, 4) for k, v in p.pass_rates.rate.items()}
                              if hasattr(p, "pass_rates") else None),
                "in_window": len(p.inside()) if getattr(p, "window", None) is not None else None}

    # ---- checkpoints --------------------------------------------------------------------

    def _state(self, optim: dict) -> dict:
        return super()._state(optim) | {"reference": self.reference.state_dict()}

    def _load(self, state: dict, weights: dict) -> None:
        super()._load(state, weights)
        self.reference.load_state_dict(state["reference"])


def _width(mask: torch.Tensor) -> int:
    """Positions needed by a micro-batch: up to its last completion token."""
    cols = mask.any(0).nonzero()
    return int(cols[-1]) + 1 if len(cols) else 1


def train_grpo(model: nn.Module, config: GRPOConfig, prompts: PromptSource, reward_fn: RewardFn, *,
               pad_id: int = 0, stop_token_ids: tuple[int, ...] | None = None, out_dir: str | Path | None = None,
               tokenizer=None, resume: bool = False) -> GRPOResult:
    """Run `config.steps` GRPO steps on `model` in place. With `out_dir`: metrics.jsonl,
    checkpoints and the final model there (None: no files), and `resume` continues from the
    newest checkpoint. Call `distributed.init_distributed()` first under torchrun."""
    trainer = GRPOTrainer(model, config, prompts, reward_fn, pad_id=pad_id, stop_token_ids=stop_token_ids,
                          out_dir=out_dir, tokenizer=tokenizer)
    result = trainer.run(resume)
    model.eval()
    history = [m.row() for m in trainer.history]
    if out_dir is not None and trainer.info.is_main:  # with any steps before a resume
        history = read_metrics(Path(out_dir) / ckpt.METRICS_FILE)
    return GRPOResult(steps=trainer.step, seconds=result.seconds, history=history,
                      out_dir=Path(out_dir) if out_dir is not None else None, interrupted=result.interrupted)


# ---- from a checkpoint directory ----------------------------------------------------------------


def grpo(model_dir: str | Path, out_dir: str | Path, config: GRPOConfig | None = None, *,
         resume: bool = False) -> GRPOResult:
    """GRPO on the task families from the checkpoint in `model_dir`; writes `out_dir`: run.json,
    metrics.jsonl, checkpoints, the final model (HF directory with tokenizer) and PNG plots of
    the run. `resume` continues the run in `out_dir` from its newest checkpoint."""
    from nanoseek import Transformer
    from nanoseek.eval.report import plot_grpo
    from nanoseek.tokenizer import Tokenizer
    from nanoseek.train.rl_tasks import TaskPrompts, task_reward_fn

    config = config or GRPOConfig()
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").is_file():
        raise ckpt.RunError(f"--model {model_dir} is not a checkpoint directory (no config.json)")
    info = distributed.init_distributed()
    run = {"kind": "grpo", "init": str(model_dir.resolve()), **config.identity()}
    ckpt.check_out_dir(out_dir, run, resume)  # every rank: one that raised alone would hang the rest
    distributed.barrier()
    if info.is_main:
        ckpt.write_run(out_dir, run)
    tokenizer = Tokenizer.load(model_dir)
    model = Transformer.from_pretrained(model_dir)
    torch.manual_seed(config.seed)
    prompts = TaskPrompts(tokenizer, config.families, config.langs, template=config.template,
                          difficulty=config.difficulty, curriculum=config.curriculum,
                          promote_at=config.promote_at, seed=config.seed, max_difficulty=config.max_difficulty,
                          window=config.pass_window, explore=config.pass_explore, horizon=config.pass_horizon)
    reward_fn = task_reward_fn(tokenizer, config.reward, think_prefilled=True)
    result = train_grpo(model, config, prompts, reward_fn, pad_id=tokenizer.pad_id, stop_token_ids=(tokenizer.eos_id,),
                        out_dir=out_dir, tokenizer=tokenizer, resume=resume)
    if info.is_main and not result.interrupted:
        plot_grpo(out_dir / ckpt.METRICS_FILE, out_dir, window=config.pass_window)
    return result
