"""Verifiable reasoning tasks: seeded generators with difficulty levels, exact verifiers,
prompts in English, Spanish and Chinese, and worked traces (the <think> content).

    >>> p = generate("addition", 1, seed=0)[0]
    >>> verify(p, p.answer)
    True

Train and eval are disjoint by construction: a hash of each problem's language-independent
`canonical` key decides its split, and `generate` keeps drawing until it has n problems of
the split asked for. Phrasings are disjoint too: `generate` words each question with one of
many templates (phrasings.py), "train" ones for training and "heldout" ones for evaluation.
"""

import dataclasses
import itertools

from nanoseek.data.tasks import arithmetic, code_output, countdown, linear_equation, logic, weekdays
from nanoseek.data.tasks.common import LANGUAGES, Family, Problem, split_of
from nanoseek.data.tasks.phrasings import STYLES, phrase

_REGISTRY: dict[str, Family] = {
    f.name: f for module in (arithmetic, countdown, linear_equation, logic, weekdays, code_output)
    for f in module.FAMILIES
}
FAMILIES: tuple[str, ...] = tuple(_REGISTRY)
SPLITS = ("train", "eval")
MAX_DRAWS_PER_PROBLEM = 1000  # far above what the 1-in-10 eval split needs; stops a bad config


def levels(family: str) -> int:
    """Number of difficulty levels of a family (levels are 1..levels)."""
    return _REGISTRY[family].levels


def generate(family: str, n: int, *, seed: int, split: str = "train", lang: str = "en",
             difficulty: int = 1, phrasing: str = "train") -> list[Problem]:
    """n problems of one family, deterministic in (family, seed, split, lang, difficulty,
    phrasing). The same seed in another language gives the same problems, translated.
    Each question is worded by a template of the `phrasing` style ("train", or "heldout"
    for evaluation only), about half of them ending with the \\boxed{} instruction; the
    phrasing changes only the question, never the problem, its answer or its split."""
    if family not in _REGISTRY:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if split not in SPLITS or lang not in LANGUAGES:
        raise ValueError(f"split must be in {SPLITS} and lang in {LANGUAGES}, got {split!r}, {lang!r}")
    if not 1 <= difficulty <= levels(family):
        raise ValueError(f"difficulty must be in 1..{levels(family)}, got {difficulty}")
    if phrasing not in STYLES:
        raise ValueError(f"phrasing must be one of {STYLES}, got {phrasing!r}")
    make, out = _REGISTRY[family].make, []
    for index in itertools.count():
        if len(out) == n:
            return out
        if index >= MAX_DRAWS_PER_PROBLEM * (n + 10):
            raise RuntimeError(f"{family}: only {len(out)} of {n} {split} problems after {index} draws")
        problem = make(seed, index, difficulty, lang)
        if problem is not None and split_of(problem.canonical) == split:
            question = phrase(problem, phrasing, f"{seed}/{difficulty}/{index}")
            out.append(dataclasses.replace(problem, question=question))


def verify(problem: Problem, answer: str) -> bool:
    """Exact check of an extracted final answer (the content of \\boxed{})."""
    return _REGISTRY[problem.family].check(problem, answer)


__all__ = ["FAMILIES", "LANGUAGES", "Problem", "generate", "verify", "levels"]
