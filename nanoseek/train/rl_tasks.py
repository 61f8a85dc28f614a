"""What GRPO trains on: a seeded stream of task prompts that follows the model's competence,
and the R1 rule rewards of a task completion (a verified `\\boxed{}` answer, the `<think>`
format, the reasoning's language; optionally partial credit for close answers).

A prompt's family and level come from one of two rules, both fed online by the rollouts:
- the curriculum (the default): each family sits at one level and moves up when its recent
  accuracy passes `promote_at`;
- the pass-rate window (`window=(low, high)`): every (family, level) cell keeps an online
  pass rate (PassRates), and prompts come from the cells whose rate lies inside the window,
  where a group's samples are likely to disagree, so GRPO has something to learn (RL helps
  most at the edge of competence; neither solved problems nor hopeless ones teach). A share
  `explore` of the prompts comes from any cell, so a cell that left the window is measured
  again; when no cell is inside, the curriculum decides.
"""

from __future__ import annotations

import random
from typing import Sequence

import torch

from nanoseek.data.prompts import completion_text, render_prompt
from nanoseek.data.rewards import (
    RewardWeights, accuracy_reward, format_reward, language_reward, partial_credit,
)
from nanoseek.data.tasks import FAMILIES, LANGUAGES, generate, levels
from nanoseek.train.rollout import RewardFn, RLPrompt


def cell(family: str, level: int) -> str:
    """A (family, level) cell's name, as checkpoints and metrics.jsonl write it: "addition/2"."""
    return f"{family}/{level}"


class PassRates:
    """The online pass rate of every (family, level) cell and how many groups measured it. The
    rate is the plain mean of a cell's first `horizon` group pass rates, then a moving average
    in which each new group weighs 1 / horizon: exact early, recent later."""

    def __init__(self, horizon: int = 8):
        self.horizon = horizon
        self.rate: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def update(self, name: str, value: float) -> None:
        n = self.count.get(name, 0) + 1
        old = self.rate.get(name, 0.0)
        self.rate[name], self.count[name] = old + (value - old) / min(n, self.horizon), n

    def inside(self, name: str, window: tuple[float, float]) -> bool:
        """Whether the cell's rate is within [low, high]; a cell never measured counts as inside."""
        rate = self.rate.get(name)
        return rate is None or window[0] <= rate <= window[1]

    def state_dict(self) -> dict:
        return {"rate": dict(self.rate), "count": dict(self.count)}

    def load_state_dict(self, state: dict) -> None:
        self.rate, self.count = dict(state["rate"]), dict(state["count"])


class TaskPrompts:
    """Train-split task problems, a seeded stream: prompt i of step s is drawn from (seed, s, i)
    alone (and the state the rollouts built), so the stream's position is the step. With
    `curriculum`, each family starts at `difficulty` and moves up a level when the moving
    average of its accuracy passes `promote_at` (then the average restarts), up to
    `max_difficulty`. With `window`, prompts come from the cells (every level up to
    `max_difficulty`) whose pass rate is inside it, as the module docstring says."""

    def __init__(self, tokenizer, families: Sequence[str] = FAMILIES, langs: Sequence[str] = LANGUAGES, *,
                 template: str = "chat", difficulty: int = 1, curriculum: bool = True,
                 promote_at: float = 0.6, seed: int = 0, ema: float = 0.7, max_difficulty: int | None = None,
                 window: tuple[float, float] | None = None, explore: float = 0.1, horizon: int = 8):
        self.tokenizer, self.families, self.langs = tokenizer, tuple(families), tuple(langs)
        self.template, self.curriculum, self.promote_at, self.seed, self.ema = template, curriculum, promote_at, seed, ema
        self.top = {f: min(levels(f), max_difficulty or levels(f)) for f in self.families}
        self.level = {f: min(difficulty, self.top[f]) for f in self.families}
        self.accuracy: dict[str, float | None] = dict.fromkeys(self.families)
        self.window, self.explore = window, explore
        self.pass_rates = PassRates(horizon)
        self.cells = [(f, level) for f in self.families for level in range(1, self.top[f] + 1)]

    def sample(self, step: int, n: int, start: int = 0) -> list[RLPrompt]:
        """Prompts start .. start + n - 1 of step `step`."""
        out = []
        for i in range(start, start + n):
            rng = random.Random(f"{self.seed}/{step}/{i}")
            family, lang = rng.choice(self.families), rng.choice(self.langs)
            family, level = self._cell(rng, family)
            problem = generate(family, 1, seed=rng.getrandbits(31), split="train", lang=lang, difficulty=level)[0]
            out.append(RLPrompt(render_prompt(self.tokenizer, problem.question, self.template), problem))
        return out

    def _cell(self, rng: random.Random, family: str) -> tuple[str, int]:
        """A prompt's (family, level): the curriculum's level of the drawn family; with a window,
        a cell inside it (a family first, so the families stay balanced, then one of its levels),
        any cell for a share `explore`, and the curriculum's choice when none is inside."""
        if self.window is None:
            return family, self.level[family]
        explore = rng.random() < self.explore
        cells = [(f, lv) for f, lv in self.cells if explore or self.pass_rates.inside(cell(f, lv), self.window)]
        if not cells:
            return family, self.level[family]
        family = rng.choice(list(dict.fromkeys(f for f, _ in cells)))
        return family, rng.choice([lv for f, lv in cells if f == family])

    def inside(self) -> list[str]:
        """The cells inside the window now (every cell without one)."""
        names = [cell(f, lv) for f, lv in self.cells]
        return [c for c in names if self.window is None or self.pass_rates.inside(c, self.window)]

    def observe(self, prompts: list[RLPrompt], parts: dict[str, torch.Tensor]) -> None:
        if "accuracy" not in parts:
            return
        for prompt, acc in zip(prompts, parts["accuracy"].mean(-1).tolist()):
            family, level = prompt.problem.family, prompt.problem.difficulty
            self.pass_rates.update(cell(family, level), acc)
            # Only prompts of the curriculum's level say something about it: those drawn below a
            # promotion made earlier in the same step (or by the window) do not count for the new one.
            if self.curriculum and level == self.level[family]:
                self._promote(family, acc)

    def _promote(self, family: str, acc: float) -> None:
        old = self.accuracy[family]
        self.accuracy[family] = acc if old is None else self.ema * old + (1 - self.ema) * acc
        if self.accuracy[family] >= self.promote_at and self.level[family] < self.top[family]:
            self.level[family] += 1
            self.accuracy[family] = None

    def state_dict(self) -> dict:
        """The curriculum and the pass rates (a checkpoint holds them; the stream's position is
        the trainer's step)."""
        return {"level": dict(self.level), "accuracy": dict(self.accuracy), "pass_rates": self.pass_rates.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.level, self.accuracy = dict(state["level"]), dict(state["accuracy"])
        self.pass_rates.load_state_dict(state["pass_rates"])


def task_reward_fn(tokenizer, weights: RewardWeights = RewardWeights(), think_prefilled: bool = True) -> RewardFn:
    """The R1 rule rewards of a task completion: {"reward", "accuracy", "format", "language"},
    and "partial" (partial_credit) when its weight is not 0."""

    def reward(prompt: RLPrompt, completion: list[int]) -> dict[str, float]:
        text = completion_text(tokenizer, completion)
        p = prompt.problem
        parts = {"accuracy": accuracy_reward(text, p),
                 "format": format_reward(text, think_prefilled=think_prefilled),
                 "language": language_reward(text, p.lang, ignore=p.question)}
        if weights.partial:
            parts["partial"] = partial_credit(text, p)
        parts["reward"] = (weights.accuracy * parts["accuracy"] + weights.format * parts["format"]
                           + weights.language * parts["language"] + weights.partial * parts.get("partial", 0.0))
        return parts

    return reward
