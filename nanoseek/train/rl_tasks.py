"""What GRPO trains on: a seeded stream of task prompts with a curriculum, and the R1 rule
rewards of a task completion (a verified `\\boxed{}` answer, the `<think>` format, the
reasoning's language)."""

from __future__ import annotations

import random
from typing import Sequence

import torch

from nanoseek.data.prompts import completion_text, render_prompt
from nanoseek.data.rewards import RewardWeights, accuracy_reward, format_reward, language_reward
from nanoseek.data.tasks import FAMILIES, LANGUAGES, generate, levels
from nanoseek.train.rollout import RewardFn, RLPrompt


class TaskPrompts:
    """Train-split task problems, a seeded stream: prompt i of step s is drawn from (seed, s, i)
    alone, so the stream's position is the step. With `curriculum`, each family starts at
    `difficulty` and moves up a level when the moving average of its accuracy passes
    `promote_at` (then the average restarts), up to `max_difficulty`."""

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
        """The curriculum (a checkpoint holds it; the stream's position is the trainer's step)."""
        return {"level": dict(self.level), "accuracy": dict(self.accuracy)}

    def load_state_dict(self, state: dict) -> None:
        self.level, self.accuracy = dict(state["level"]), dict(state["accuracy"])


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
