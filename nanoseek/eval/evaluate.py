"""Held-out evaluation on the task families' eval split: pass@1, maj@k and pass@k per family
and language, plus how well-formed and single-language the answers are and how long.

    results = evaluate(model, tokenizer, n_per=20, k=1)
    results.get("pass@1", family="addition")           # 0.45
    results.table("pass@1")                            # {family: {lang: value, "all": ...}}

Definitions (as in the DeepSeek-R1 paper):
- k = 1: greedy decoding; pass@1 = share of problems answered correctly.
- k > 1: k samples per problem at `temperature` (0.6 by default, R1's setting) and top-p 0.95;
  pass@1 = mean correctness over the k samples (an unbiased estimate of the one-sample
  accuracy), maj@k = the most frequent boxed answer is correct (ties: the first seen),
  pass@k = at least one sample is correct.
A completion is correct when the last `\\boxed{}` after `</think>` verifies (`accuracy_reward`).
The same seed gives the same problems in every language (translations), so languages compare.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from nanoseek.data.rewards import accuracy_reward, format_reward, language_reward
from nanoseek.data.tasks import FAMILIES, LANGUAGES, Problem, generate, levels, verify
from nanoseek.tokenizer import extract_boxed, split_reasoning

METRICS = ("pass@1", "maj@k", "pass@k", "format", "language", "length")
DEFAULT_SAMPLED_TEMPERATURE = 0.6


@dataclass
class EvalResults:
    """Scores per (family, lang) row and per problem. `rows[i]` has family, lang, n and METRICS."""

    k: int
    temperature: float
    rows: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)  # family, lang, question, answer, completions, correct
    seconds: float = 0.0
    tokens: int = 0  # generated

    def get(self, metric: str = "pass@1", family: str | None = None, lang: str | None = None) -> float:
        """Mean of `metric` over the problems of the matching rows (all rows when None)."""
        rows = [r for r in self.rows if family in (None, r["family"]) and lang in (None, r["lang"])]
        n = sum(r["n"] for r in rows)
        return sum(r[metric] * r["n"] for r in rows) / n if n else float("nan")

    @property
    def families(self) -> list[str]:
        return list(dict.fromkeys(r["family"] for r in self.rows))

    @property
    def langs(self) -> list[str]:
        return list(dict.fromkeys(r["lang"] for r in self.rows))

    def table(self, metric: str = "pass@1") -> dict[str, dict[str, float]]:
        """{family: {lang: value, ..., "all": value}, "all": {...}}."""
        out = {}
        for family in [*self.families, None]:
            row = {lang: self.get(metric, family, lang) for lang in self.langs}
            row["all"] = self.get(metric, family)
            out[family or "all"] = row
        return out

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EvalResults":
        return cls(**d)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "EvalResults":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# ---- scoring (no model: tests feed it hand-made completions) ------------------------------------


def final_answer(completion: str) -> str | None:
    """The last \\boxed{} after </think>, stripped; None when there is none."""
    boxed = extract_boxed(split_reasoning(completion)[1])
    return None if boxed is None else boxed.strip()


def score_problem(problem: Problem, completions: list[str], lengths: list[int] | None = None,
                  think_prefilled: bool = True) -> dict:
    """One problem's k completions -> {pass@1, maj@k, pass@k, format, language, length, correct}."""
    correct = [accuracy_reward(c, problem) for c in completions]
    votes = Counter(a for a in map(final_answer, completions) if a)
    majority = votes.most_common(1)[0][0] if votes else None  # ties: first seen (Counter keeps order)
    k = len(completions)
    return {
        "pass@1": sum(correct) / k,
        "maj@k": float(majority is not None and verify(problem, majority)),
        "pass@k": float(any(correct)),
        "format": sum(format_reward(c, think_prefilled=think_prefilled) for c in completions) / k,
        "language": sum(language_reward(c, problem.lang, ignore=problem.question) for c in completions) / k,
        "length": sum(lengths) / k if lengths else sum(len(c) for c in completions) / k,
        "correct": correct,
    }


def score(problems: list[Problem], completions: list[list[str]], lengths: list[list[int]] | None = None, *,
          temperature: float = 0.0, think_prefilled: bool = True) -> EvalResults:
    """Score k completions per problem (lengths in tokens; characters when not given)."""
    k = len(completions[0]) if completions else 1
    results = EvalResults(k=k, temperature=temperature)
    groups: dict[tuple[str, str], list[dict]] = {}
    for i, (p, texts) in enumerate(zip(problems, completions, strict=True)):
        s = score_problem(p, texts, lengths[i] if lengths else None, think_prefilled)
        groups.setdefault((p.family, p.lang), []).append(s)
        results.samples.append({"family": p.family, "lang": p.lang, "difficulty": p.difficulty,
                                "question": p.question, "answer": p.answer, "completions": texts,
                                "correct": s["correct"]})
    for (family, lang), scores in groups.items():
        row = {"family": family, "lang": lang, "n": len(scores)}
        row.update({m: sum(s[m] for s in scores) / len(scores) for m in METRICS})
        results.rows.append(row)
    return results


# ---- problems and generation ---------------------------------------------------------------------


def eval_problems(families: Sequence[str] = FAMILIES, langs: Sequence[str] = LANGUAGES, n_per: int = 20,
                  seed: int = 0, difficulty: int | Sequence[int] | None = None) -> list[Problem]:
    """n_per eval-split problems per (family, lang), spread evenly over the difficulty levels
    asked for (None: all of the family's levels; lower levels take the remainder)."""
    problems = []
    for family in families:
        if difficulty is None:
            wanted = list(range(1, levels(family) + 1))
        elif isinstance(difficulty, int):
            wanted = [difficulty]
        else:
            wanted = list(difficulty)
        wanted = [d for d in wanted if 1 <= d <= levels(family)] or [levels(family)]
        counts = [n_per // len(wanted) + (i < n_per % len(wanted)) for i in range(len(wanted))]
        for lang in langs:
            for d, n in zip(wanted, counts):
                if n:
                    problems += generate(family, n, seed=seed, split="eval", lang=lang, difficulty=d)
    return problems


def evaluate(
    model,
    tokenizer,
    families: Sequence[str] = FAMILIES,
    langs: Sequence[str] = LANGUAGES,
    n_per: int = 20,
    k: int = 1,
    seed: int = 0,
    max_new_tokens: int = 256,
    *,
    temperature: float | None = None,
    top_p: float = 0.95,
    difficulty: int | Sequence[int] | None = None,
    template: str = "chat",
    max_slots: int = 64,
    engine=None,
) -> EvalResults:
    """Generate k completions per held-out problem with the inference engine and score them.
    `temperature` None: greedy when k == 1, else 0.6. The model's train/eval mode is restored."""
    from nanoseek.inference import Engine, SamplingParams
    from nanoseek.train.grpo import completion_text, render_prompt

    if k < 1 or n_per < 1:
        raise ValueError(f"k and n_per must be >= 1, got k={k}, n_per={n_per}")
    if temperature is None:
        temperature = 0.0 if k == 1 else DEFAULT_SAMPLED_TEMPERATURE
    problems = eval_problems(families, langs, n_per, seed, difficulty)
    prompts = [render_prompt(tokenizer, p.question, template) for p in problems]
    was_training = model.training
    t0 = time.perf_counter()
    if engine is None:
        max_len = min(model.config.max_position_embeddings, max(map(len, prompts)) + max_new_tokens + 1)
        engine = Engine(model, max_slots=min(max_slots, len(prompts) * k), max_len=max_len)
    model.eval()
    ids, params = [], []
    for i, prompt in enumerate(prompts):
        for j in range(k):
            ids.append(prompt)
            sample_seed = random.Random(f"eval/{seed}/{i}/{j}").getrandbits(63)
            params.append(SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                         seed=sample_seed, stop_token_ids=(tokenizer.eos_id,)))
    with torch.no_grad():
        done = engine.generate(ids, params)
    model.train(was_training)
    texts = [[completion_text(tokenizer, done[i * k + j].token_ids) for j in range(k)] for i in range(len(problems))]
    lengths = [[len(done[i * k + j].token_ids) for j in range(k)] for i in range(len(problems))]
    results = score(problems, texts, lengths, temperature=temperature)
    results.seconds = round(time.perf_counter() - t0, 3)
    results.tokens = sum(len(c.token_ids) for c in done)
    return results
