"""The training mixture as a seeded stream: task problems are generated as training runs.

    stream = MixtureStream(tokenizer, MixtureConfig(), batch_size=16, seq_len=256, steps=600)
    input_ids, labels = next(stream)                  # [B, T] each, labels already shifted

A fixed list of a few hundred problems per skill is memorised long before it is learned; a
stream never repeats itself. Every batch is a pure function of (seed, step, rank), so the
loader's position is its whole state (resuming replays nothing and skips nothing), and the
tokens each source actually contributed are counted as the batches are drawn.

Sources, drawn per document by `MixtureConfig.shares`:
- "tasks": a verifiable problem as a chat (question in one of its train phrasings, worked
  trace as reasoning, boxed answer), family by `families`, language by `langs`, difficulty
  by the curriculum (`difficulty_weights`): early batches hold the easy levels, and each
  harder level opens up as training goes on;
- "drills": lines of one-digit facts in the traces' own formats (`7+5+1=13`, `4-8=-4+10=6`,
  `7×8=56`, `56/7=8`; `arithmetic.fact_drill`) for the families in `families` that use them,
  trained on what follows each line's first `=`: the digit tables are what a small model
  learns last from whole problems, and a drilled fact costs a few tokens instead of a problem;
- "chat": identity and small-talk chats (`nanoseek.data.identity`) and chatterbot-corpus
  dialogues, in the drawn language;
- "text": the bundled English prose and code (`corpus.gutenberg_docs`, `corpus.codeio_docs`).
Chats are trained on the assistant's tokens only (the question's operands are noise to
predict); text on every token. A document that does not fit the rest of a row is cut there.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

import torch

from nanoseek.data.corpus import (
    ANSWER_TEXT, IGNORE_INDEX, LANGS, framed, chatterbot_dialogues, codeio_docs, dialogue_to_chat, gutenberg_docs,
)
from nanoseek.data.identity import identity_conversations
from nanoseek.data.tasks.arithmetic import close_difference, fact_drill
from nanoseek.tokenizer import Tokenizer

SOURCES = ("tasks", "drills", "chat", "text")
DRILL_OPS = {"addition": "+", "subtraction": "-", "multiplication": "×", "linear_equation": "÷±"}  # family -> facts
DRILL_LINES = 24  # facts per drill document
CLOSE_TRIES = 40  # draws to find a close subtraction (about one in four is) before taking the last


def _default_families() -> dict[str, float]:
    # Arithmetic and linear equations are the speedrun's targets; the rest keep a foothold. Logic
    # and countdown at 0.5 never answered, logic at 0.75 once (runs 10, 11, 18); linear equations
    # at 1.5 reached 23-46, at 3.0 43-57 (docs/experiments.md, runs 18-21).
    return {"addition": 4.0, "subtraction": 4.0, "multiplication": 2.0, "linear_equation": 3.0,
            "countdown": 0.75, "logic": 1.0, "calendar": 0.5, "code_output": 0.5}


@dataclass
class MixtureConfig:
    # Shares of documents, not tokens: mixture.json counts the tokens each source got.
    shares: dict[str, float] = field(
        default_factory=lambda: {"tasks": 0.65, "drills": 0.15, "chat": 0.18, "text": 0.01})
    families: dict[str, float] = field(default_factory=_default_families)
    langs: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LANGS, 1.0))
    curriculum: float = 0.5  # share of training after which every difficulty level is open
    # Share of subtraction problems (above level 1) redrawn until the difference is shorter than
    # its operands (arithmetic.close_difference): the case the speedrun's model got wrong most.
    close_subtractions: float = 0.3
    max_difficulty: int = 5  # no task level above this
    seed: int = 0

    def __post_init__(self) -> None:
        from nanoseek.data.tasks import FAMILIES

        for name, weights, allowed in [("shares", self.shares, SOURCES), ("families", self.families, FAMILIES),
                                       ("langs", self.langs, LANGS)]:
            bad = [k for k in weights if k not in allowed]
            if bad or not any(w > 0 for w in weights.values()) or any(w < 0 for w in weights.values()):
                raise ValueError(f"MixtureConfig.{name} needs keys among {allowed} and non-negative weights, "
                                 f"not all zero; got {weights!r}")
        if self.shares.get("drills", 0) > 0 and not self.drill_ops:
            raise ValueError(f"MixtureConfig.shares has drills but families has no family with drilled facts "
                             f"({', '.join(DRILL_OPS)}); got {self.families!r}")
        if not 0 <= self.close_subtractions <= 1:
            raise ValueError(f"MixtureConfig.close_subtractions must be in [0, 1], got {self.close_subtractions!r}")
        if not 0 <= self.curriculum <= 1 or self.max_difficulty < 1:
            raise ValueError(f"MixtureConfig.curriculum must be in [0, 1] and max_difficulty >= 1, got "
                             f"{self.curriculum!r}, {self.max_difficulty!r}")

    @property
    def drill_ops(self) -> str:
        """The operators whose one-digit facts the drills cover: those of the weighted families."""
        return "".join(op for family, op in DRILL_OPS.items() if self.families.get(family, 0) > 0)


def difficulty_weights(levels: int, progress: float, curriculum: float) -> list[float]:
    """Sampling weights of levels 1..levels at training progress in [0, 1]: level k opens
    when progress reaches (k-1)/(levels-1) of `curriculum`, and the newest open level weighs
    double, so the model always spends most of its time at the edge of what it can do."""
    if levels == 1:
        return [1.0]
    opened = levels if curriculum == 0 else 1 + int(min(1.0, progress / curriculum) * (levels - 1))
    return [0.0 if k > opened else 2.0 if k == opened else 1.0 for k in range(1, levels + 1)]


def task_chat(problem) -> list[dict]:
    """A problem as the chat we train on: worked trace as reasoning, the boxed answer after."""
    return [{"role": "user", "content": problem.question},
            {"role": "assistant", "content": ANSWER_TEXT[problem.lang].format(problem.answer),
             "reasoning_content": problem.trace}]


def draw_problem(rng: random.Random, config: MixtureConfig, progress: float):
    """One train-split problem: family by weight, language by weight, level by the curriculum."""
    from nanoseek.data.tasks import generate, levels

    family = _weighted(rng, config.families)
    lang = _weighted(rng, config.langs)
    top = min(levels(family), config.max_difficulty)
    difficulty = _weighted(rng, dict(enumerate(difficulty_weights(top, progress, config.curriculum), start=1)))
    problem = generate(family, 1, seed=rng.getrandbits(40), split="train", lang=lang, difficulty=difficulty)[0]
    if family == "subtraction" and difficulty > 1 and config.close_subtractions and rng.random() < config.close_subtractions:
        for _ in range(CLOSE_TRIES):
            if close_difference(problem):
                break
            problem = generate(family, 1, seed=rng.getrandbits(40), split="train", lang=lang, difficulty=difficulty)[0]
    return problem


def task_chats(n: int, config: MixtureConfig, seed: int, progress: float = 1.0) -> list[list[dict]]:
    """n task chats drawn as the stream draws them (at curriculum `progress`), for SFT."""
    rng = random.Random(f"task-chats/{config.seed}/{seed}")
    return [task_chat(draw_problem(rng, config, progress)) for _ in range(n)]


def _weighted(rng: random.Random, weights: dict):
    keys = [k for k, w in weights.items() if w > 0]
    return rng.choices(keys, [weights[k] for k in keys])[0]


@functools.lru_cache(maxsize=8)
def _chat_pool(lang: str) -> tuple[list[dict], ...]:
    """Identity chats and chatterbot dialogues of one language (shared: copy before changing)."""
    chats = identity_conversations(lang) + [c for c in map(dialogue_to_chat, chatterbot_dialogues(lang)) if c]
    return tuple(chats)


class MixtureStream:
    """Endless `(input_ids, labels)` batches of shape [B, T] drawn from a MixtureConfig.

    `steps` is the run's length (`set_run_length` revises it: a time budget's plan): the
    curriculum reads progress as step / steps. Each rank
    draws its rows from its own stream (the rank is part of the seed), so ranks never share
    a document. `tokens` counts this rank's trained tokens per source ("text", "chat/<lang>",
    "<family>/<lang>") so far."""

    def __init__(self, tokenizer: Tokenizer, config: MixtureConfig, batch_size: int, seq_len: int, steps: int,
                 rank: int = 0):
        self.tokenizer, self.config = tokenizer, config
        self.batch_size, self.seq_len = batch_size, seq_len
        self.set_run_length(steps)
        self.rank = rank
        self.step = 0
        self.tokens: dict[str, int] = {}
        self._text: list[list[int]] | None = None

    def set_run_length(self, steps: int) -> None:
        self.steps = max(1, steps)

    def state_dict(self) -> dict:
        return {"seed": self.config.seed, "step": self.step, "tokens": dict(self.tokens)}

    def load_state_dict(self, state: dict) -> None:
        if state["seed"] != self.config.seed:
            raise ValueError(f"stream state is for seed {state['seed']}, this stream has {self.config.seed}")
        self.step, self.tokens = state["step"], dict(state["tokens"])

    def __iter__(self) -> "MixtureStream":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        rng = random.Random(f"mixture/{self.config.seed}/{self.step}/{self.rank}")
        progress = self.step / self.steps
        rows = [self._row(rng, progress) for _ in range(self.batch_size)]
        self.step += 1
        ids = torch.tensor([r[0] for r in rows])
        labels = torch.tensor([r[1] for r in rows])
        return ids[:, :-1], labels[:, 1:]  # [B, T] each: labels[t] is the target after ids[t]

    def _row(self, rng: random.Random, progress: float) -> tuple[list[int], list[int]]:
        """T+1 tokens of whole documents (the last one cut) and their per-token targets."""
        ids: list[int] = []
        labels: list[int] = []
        while len(ids) <= self.seq_len:
            doc, trained, source = self._document(rng, progress)
            room = self.seq_len + 1 - len(ids)
            doc, trained = doc[:room], trained[:room]
            ids += doc
            labels += [t if m else IGNORE_INDEX for t, m in zip(doc, trained)]
            self.tokens[source] = self.tokens.get(source, 0) + sum(trained)
        return ids, labels

    def _document(self, rng: random.Random, progress: float) -> tuple[list[int], list[int], str]:
        """(token ids, which of them are trained on, the source's name) of one document."""
        source = _weighted(rng, self.config.shares)
        if source == "text":
            ids = rng.choice(self._text_docs())
            return ids, [1] * len(ids), "text"
        if source == "drills":
            ids, trained = [self.tokenizer.bos_id], [0]
            for left, right in fact_drill(rng, self.config.drill_ops, DRILL_LINES):
                question, answer = self.tokenizer.encode(left), self.tokenizer.encode(right + "\n")
                ids += question + answer
                trained += [0] * len(question) + [1] * len(answer)
            return ids + [self.tokenizer.eos_id], trained + [1], "drills"
        if source == "chat":
            lang = _weighted(rng, self.config.langs)
            ids, mask = self.tokenizer.encode_chat(rng.choice(_chat_pool(lang)))
            return ids, mask, f"chat/{lang}"
        problem = draw_problem(rng, self.config, progress)
        ids, mask = self.tokenizer.encode_chat(task_chat(problem))
        return ids, mask, f"{problem.family}/{problem.lang}"

    def _text_docs(self) -> list[list[int]]:
        if self._text is None:
            texts = [d.text for d in gutenberg_docs() + codeio_docs(500)]
            self._text = [framed(self.tokenizer, ids) for ids in self.tokenizer.encode_batch(texts)]
        return self._text


def sft_chats(n_tasks: int, config: MixtureConfig, seed: int) -> list[list[dict]]:
    """The SFT set: n_tasks task chats at full difficulty plus identity and chatterbot chats
    in the mixture's proportion of chat to tasks (languages by weight), shuffled by `seed`."""
    rng = random.Random(f"sft-chats/{config.seed}/{seed}")
    n_chat = round(n_tasks * config.shares.get("chat", 0) / max(config.shares.get("tasks", 0), 1e-9))
    chats = task_chats(n_tasks, config, seed)
    chats += [rng.choice(_chat_pool(_weighted(rng, config.langs))) for _ in range(n_chat)]
    rng.shuffle(chats)
    return chats


def token_table(tokens: dict[str, int]) -> tuple[list[str], list[list]]:
    """(header, rows) of trained tokens per source and language, from a stream's `tokens`:
    one row per task family, chat and text, with the row's total and its share of all."""
    total = sum(tokens.values()) or 1
    by_source: dict[str, dict[str, int]] = {}
    for key, n in tokens.items():
        source, _, lang = key.partition("/")
        by_source.setdefault(source, {})[lang or "-"] = n
    rows = [[source, *(by_lang.get(lang, 0) for lang in LANGS), sum(by_lang.values()),
             f"{sum(by_lang.values()) / total:.1%}"] for source, by_lang in sorted(by_source.items())]
    return ["source", *LANGS, "all", "share"], rows
