"""Machinery shared by every task family: the Problem record, the train/eval split, prompt
and trace framing in three languages, reasoning-gym access, answer normalisation, and a
safe arithmetic evaluator (ast, never eval)."""

import ast
import functools
import hashlib
import operator
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import reasoning_gym

LANGUAGES = ("en", "es", "zh")
EVAL_SHARE = 10  # one canonical problem in EVAL_SHARE goes to the eval split


@dataclass(frozen=True)
class Problem:
    family: str
    lang: str
    difficulty: int
    question: str  # the user turn, in `lang`; `generate` asks for \boxed{} in about half of them
    answer: str  # canonical final answer (what a good solver boxes)
    trace: str  # the <think> content a good solver writes, in `lang`; ends with the answer
    canonical: str  # language-independent key: decides the split
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Family:
    """A task family: `make(seed, index, difficulty, lang)` builds the index-th problem of a
    seeded stream (None when that draw is unusable); `check(problem, answer)` verifies."""

    name: str
    make: Callable[[int, int, int, str], Problem | None]
    check: Callable[[Problem, str], bool]
    levels: int = 5


def split_of(canonical: str) -> str:
    """The split is a pure function of the canonical problem, so train and eval can never
    share a problem, whatever the seed, language or generation order."""
    h = int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")
    return "eval" if h % EVAL_SHARE == 0 else "train"


def stream_seed(family: str, seed: int, difficulty: int) -> int:
    """A wide, hashed seed per (family, seed, difficulty): reasoning-gym seeds item i with
    seed + i, so nearby raw seeds would otherwise replay shifted copies of one stream."""
    return int.from_bytes(hashlib.sha256(f"{family}/{seed}/{difficulty}".encode()).digest()[:5], "big")


@functools.lru_cache(maxsize=256)
def _rg_dataset(name: str, seed: int, config: tuple) -> Any:
    return reasoning_gym.create_dataset(name, seed=seed, size=10**9, **dict(config))


def rg_item(name: str, seed: int, index: int, **config: Any) -> dict:
    """The index-th item of a reasoning-gym dataset (items are generated lazily)."""
    return _rg_dataset(name, seed, tuple(sorted(config.items())))[index]


# ---------------------------------------------------------------------------------------
# framing in three languages

BOXED = {
    "en": "Put your final answer in \\boxed{}.",
    "es": "Escribe tu respuesta final dentro de \\boxed{}.",
    "zh": "请把最终答案写在 \\boxed{} 中。",
}
SEP = {"en": ", ", "es": ", ", "zh": "，"}  # between items of a list
COLON = {"en": ": ", "es": ": ", "zh": "："}
ANSWER_LINE = {"en": "Answer: {}", "es": "Respuesta: {}", "zh": "答案：{}"}


def with_boxed(question: str, lang: str) -> str:
    """The question followed by the \\boxed{} instruction: right after full-width punctuation,
    after a space when the question ends a sentence, else (a code block, a question typed
    without a final stop) on its own line."""
    full_width, stops = "。？！：）”", ".?!)\"»"
    last = question[-1:]
    sep = "\n" if "\n" in question or last not in full_width + stops else "" if last in full_width else " "
    return question + sep + BOXED[lang]


def build(family: str, lang: str, difficulty: int, question: str, answer: str,
          steps: list[str], canonical: str, **metadata: Any) -> Problem:
    """Frame a family's question and steps: the question (the family's default phrasing)
    asks for \\boxed{} and every trace ends with the same answer line, so one format holds
    across families. `metadata` holds what `check` and the phrasing templates need."""
    trace = "\n".join([*steps, ANSWER_LINE[lang].format(answer)])
    return Problem(family, lang, difficulty, with_boxed(question, lang), answer, trace,
                   f"{family}:{canonical}", metadata)


# ---------------------------------------------------------------------------------------
# answers

_GROUPED = re.compile(r"-?\d{1,3}([,. \u00a0\u202f]\d{3})+")


def parse_number(text: str) -> Fraction | None:
    """A number from a final answer, tolerant of spaces, a leading '+', unicode minus,
    thousands separators (1,234 / 1.234 / 1 234), a trailing '.', and an 'x =' prefix."""
    s = text.strip().replace("\u2212", "-").rstrip(".")
    s = re.sub(r"^[A-Za-z]\s*=\s*", "", s).lstrip("+").strip()
    if _GROUPED.fullmatch(s):
        s = re.sub(r"[,. \u00a0\u202f]", "", s)
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def check_number(problem: Problem, answer: str) -> bool:
    value = parse_number(answer)
    return value is not None and value == Fraction(problem.answer)


# ---------------------------------------------------------------------------------------
# safe arithmetic: the only way expressions from questions or model answers are evaluated

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: lambda a, b: Fraction(a) / b, ast.FloorDiv: operator.floordiv,
           ast.Mod: operator.mod}


def evaluate(node: ast.AST | str, names: dict[str, Any] | None = None) -> Any:
    """Evaluate + - * / // % on int literals and given names. Anything else (calls,
    attributes, powers, floats) raises ValueError; so does dividing by zero."""
    if isinstance(node, str):
        node = ast.parse(node.strip(), mode="eval").body
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name) and names is not None and node.id in names:
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = evaluate(node.operand, names)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = evaluate(node.left, names), evaluate(node.right, names)
        if right == 0 and not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            raise ValueError("division by zero")
        return _BINOPS[type(node.op)](left, right)
    raise ValueError(f"unsupported expression: {ast.dump(node)[:60]}")
