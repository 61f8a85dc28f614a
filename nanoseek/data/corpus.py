"""Corpus: what nanoseek reads, how it is packed into token shards, and how it is batched.

Sources (all on disk after `make setup`; nothing downloads at run time):

| source                               | languages  | licence                        |
| ------------------------------------ | ---------- | ------------------------------ |
| chatterbot-corpus dialogues (YAML)   | en, es, zh | BSD-3-Clause (chatterbot-corpus) |
| "In the year 2889", Jules & Michel Verne, Project Gutenberg #19362, bundled in reasoning-gym | en | public domain (US); package Apache-2.0 |
| CodeI/O task descriptions + Python, bundled in reasoning-gym (`codeio.jsonl.gz`) | en, code | Apache-2.0 (reasoning-gym) |
| identity / small-talk chats (`nanoseek.data.identity`) | en, es, zh | ours (project licence) |
| verifiable task problems with worked traces (`nanoseek.data.tasks`) | en, es, zh | ours |
| the user's own `.txt` / `.jsonl` files | any        | the user's                     |

Conversational sources enter pretraining already rendered with the chat template, so the
base model has seen the DeepSeek-R1 format (and `<think>`) before SFT starts.

Layout on disk of packed shards: `shard_00000.bin`, ... (flat uint16, or uint32 when the
vocabulary does not fit) and `index.json`. Every document is framed `bos ... eos`.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
import yaml

from nanoseek.data.identity import identity_conversations
from nanoseek.tokenizer import ROLES, Tokenizer, render_chat

LANGS = ("en", "es", "zh")
CHATTERBOT_DIRS = {"en": "english", "es": "spanish", "zh": "chinese"}
ANSWER_TEXT = {"en": "The answer is \\boxed{{{}}}.", "es": "La respuesta es \\boxed{{{}}}.",
               "zh": "答案是 \\boxed{{{}}}。"}
IGNORE_INDEX = -100  # label value that cross_entropy skips


class CorpusError(ValueError):
    """A user corpus file is unreadable or malformed; the message names file and line."""


class CorpusWarning(UserWarning):
    """A bad user corpus file or record was skipped (on_error="skip")."""


@dataclass(frozen=True)
class Doc:
    text: str
    lang: str  # "en" | "es" | "zh" | "code" | "user"
    source: str


# ----------------------------------------------------------------------------------------
# Bundled sources


def _package_dir(name: str) -> Path:
    """An installed package's folder, found without importing it (reasoning-gym's import
    takes a second)."""
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


def chatterbot_dialogues(lang: str) -> list[list[str]]:
    """chatterbot-corpus dialogues in `lang`: lists of alternating utterances."""
    folder = _package_dir("chatterbot_corpus") / "data" / CHATTERBOT_DIRS[lang]
    dialogues = []
    for path in sorted(folder.glob("*.yml")):
        for convo in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            # YAML turns bare yes/no/numbers into bool/int: the dialogue meant the text.
            lines = [str(line).strip() for line in convo if line is not None]
            if len(lines) >= 2:
                dialogues.append(lines)
    return dialogues


def dialogue_to_chat(lines: list[str]) -> list[dict]:
    """Alternate user/assistant, starting with the user; a trailing user line is dropped so
    every chat ends with an assistant turn."""
    lines = lines[: len(lines) // 2 * 2]
    return [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(lines)]


def gutenberg_docs(chunk_chars: int = 2000) -> list[Doc]:
    """"In the year 2889" without the Project Gutenberg header and footer, in chunks of
    whole paragraphs (shorter documents shuffle better across shards)."""
    text = (_package_dir("reasoning_gym") / "data" / "in_the_year_2889.txt").read_text(encoding="utf-8")
    body = re.split(r"\*\*\* (?:START|END) OF THE PROJECT GUTENBERG EBOOK[^\n]*\n", text)[1]
    docs, chunk = [], ""
    for para in re.split(r"\n\s*\n", body.strip()):
        if para.startswith(("Produced by", "End of Project Gutenberg")):  # transcriber notes
            continue
        chunk = f"{chunk}\n\n{para}" if chunk else para
        if len(chunk) >= chunk_chars:
            docs.append(Doc(chunk, "en", "gutenberg"))
            chunk = ""
    if chunk:
        docs.append(Doc(chunk, "en", "gutenberg"))
    return docs


def codeio_docs(limit: int | None = None) -> list[Doc]:
    """English task descriptions with their Python solutions (CodeI/O via reasoning-gym)."""
    path = _package_dir("reasoning_gym") / "data" / "codeio.jsonl.gz"
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if limit is not None and len(docs) >= limit:
                break
            item = json.loads(line)
            text = f"{item['task_description']}\n\n{item['input_output_spec']}\n\n{item['code_sample']}"
            docs.append(Doc(text, "code", "codeio"))
    return docs


def task_conversations(lang: str, per_family: int, seed: int, split: str = "train") -> list[list[dict]]:
    """About `per_family` problems of every task family, spread evenly over its difficulty
    levels, as chats: the worked trace is the reasoning and the reply boxes the answer in
    the question's language. Each language draws its own problems (the task generators
    translate the same seed into the same problem)."""
    from nanoseek.data.tasks import FAMILIES, generate, levels  # lazy: imports reasoning-gym

    lang_seed = seed * len(LANGS) + LANGS.index(lang)
    chats = []
    for family in FAMILIES:
        n = -(-per_family // levels(family))  # ceil
        for difficulty in range(1, levels(family) + 1):
            for p in generate(family, n, seed=lang_seed, split=split, lang=lang, difficulty=difficulty):
                chats.append([
                    {"role": "user", "content": p.question},
                    {"role": "assistant", "content": ANSWER_TEXT[lang].format(p.answer),
                     "reasoning_content": p.trace},
                ])
    return chats


# ----------------------------------------------------------------------------------------
# User files


def _report(message: str, on_error: str) -> None:
    if on_error == "raise":
        raise CorpusError(message)
    warnings.warn(f"skipped: {message}", CorpusWarning, stacklevel=3)


def _valid_messages(messages: object) -> bool:
    return (isinstance(messages, list) and len(messages) > 0 and all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)
        for m in messages))


def _jsonl_records(path: Path, text: str, on_error: str) -> Iterator[str | list[dict]]:
    """Each line's "text" string or "messages" list; bad lines reported as path:line."""
    for n, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON may hold raw U+2028
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            _report(f"{path}:{n}: invalid JSON ({e.msg})", on_error)
            continue
        if isinstance(record, dict) and isinstance(record.get("text"), str) and record["text"]:
            yield record["text"]
        elif isinstance(record, dict) and _valid_messages(record.get("messages")):
            yield record["messages"]
        else:
            _report(f'{path}:{n}: expected {{"text": str}} or {{"messages": [{{"role", "content"}}]}}',
                    on_error)


def user_records(directory: str | Path, on_error: str = "skip") -> list[tuple[Path, str | list[dict]]]:
    """(file, record) for every document in the `.txt` and `.jsonl` files under
    `directory` (recursively). A `.txt` file is one document; a `.jsonl` line is
    `{"text": ...}` or `{"messages": [...]}`.

    A file that is not UTF-8, cannot be read, or holds no document, and a bad `.jsonl`
    line, is reported by name (and line): with on_error="skip" it is skipped with a
    `CorpusWarning`, with on_error="raise" a `CorpusError` stops everything.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f'on_error must be "skip" or "raise", got {on_error!r}')
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError(f"user corpus directory {directory} does not exist")
    paths = sorted(p for p in directory.rglob("*") if p.suffix in (".txt", ".jsonl") and p.is_file())
    if not paths:
        raise CorpusError(f"no .txt or .jsonl files under {directory}")
    records = []
    for path in paths:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            _report(f"{path}: not valid UTF-8 (byte {e.start})", on_error)
            continue
        except OSError as e:
            _report(f"{path}: unreadable ({e.strerror})", on_error)
            continue
        if not text.strip():
            _report(f"{path}: no documents (empty file)", on_error)
        elif path.suffix == ".jsonl":
            records += [(path, r) for r in _jsonl_records(path, text, on_error)]
        else:
            records.append((path, text))
    return records


# ----------------------------------------------------------------------------------------
# Mixtures


def pretraining_mixture(
    user_dir: str | Path | None = None,
    *,
    tasks_per_family: int = 200,
    codeio_limit: int | None = 500,
    seed: int = 0,
    on_error: str = "skip",
    langs: tuple[str, ...] = LANGS,
) -> list[Doc]:
    """The default pretraining documents (see the module docstring), plus the user's files
    under `user_dir`, shuffled by `seed`. Chats are rendered with the chat template.

    Raises CorpusError if nothing is left (e.g. every user file was skipped and no
    language was asked for): an empty mixture would silently train on nothing.
    """
    docs: list[Doc] = []
    for lang in langs:
        chats = [dialogue_to_chat(d) for d in chatterbot_dialogues(lang)]
        docs += [Doc(render_chat(c), lang, "chatterbot") for c in chats]
        docs += [Doc(render_chat(c), lang, "identity") for c in identity_conversations(lang, seed)]
        if tasks_per_family:
            tasks = task_conversations(lang, tasks_per_family, seed)
            docs += [Doc(render_chat(c), lang, "tasks") for c in tasks]
    if "en" in langs:
        docs += gutenberg_docs()
        if codeio_limit != 0:
            docs += codeio_docs(codeio_limit)
    if user_dir is not None:
        for path, r in user_records(user_dir, on_error):
            docs.append(Doc(r if isinstance(r, str) else render_chat(r), "user", str(path)))
    if not docs:
        raise CorpusError("the pretraining mixture is empty: no language and no user documents")
    random.Random(seed).shuffle(docs)
    return docs


def sft_conversations(
    user_dir: str | Path | None = None,
    *,
    tasks_per_family: int = 200,
    seed: int = 0,
    on_error: str = "skip",
    langs: tuple[str, ...] = LANGS,
) -> list[list[dict]]:
    """The SFT chats: identity conversations, task problems with worked traces as
    reasoning and a boxed answer, chatterbot dialogues, and the user's `messages` records;
    shuffled by `seed`. Raises CorpusError if empty."""
    chats: list[list[dict]] = []
    for lang in langs:
        chats += identity_conversations(lang, seed)
        if tasks_per_family:
            chats += task_conversations(lang, tasks_per_family, seed)
        chats += [c for c in map(dialogue_to_chat, chatterbot_dialogues(lang)) if c]
    if user_dir is not None:
        chats += [r for _, r in user_records(user_dir, on_error) if isinstance(r, list)]
    if not chats:
        raise CorpusError("the SFT mixture is empty: no language and no user conversations")
    random.Random(seed).shuffle(chats)
    return chats


# ----------------------------------------------------------------------------------------
# Packing pretraining text into token shards


def framed(tokenizer: Tokenizer, ids: list[int]) -> list[int]:
    """bos + ids + eos, without doubling the ones a rendered chat already carries."""
    head = [] if ids[:1] == [tokenizer.bos_id] else [tokenizer.bos_id]
    tail = [] if ids[-1:] == [tokenizer.eos_id] else [tokenizer.eos_id]
    return head + ids + tail


def pack_shards(
    docs: Iterable[str],
    tokenizer: Tokenizer,
    out_dir: str | Path,
    *,
    shard_tokens: int = 1 << 24,
    batch_docs: int = 512,
) -> dict:
    """Tokenize `docs`, frame each as `bos ... eos`, and write the stream to flat shards of
    at most `shard_tokens` tokens plus `index.json`. Returns the index.

    uint16 halves disk and memory traffic when the vocabulary fits (it does for any CPU
    run); uint32 otherwise.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dtype = np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.uint32
    index = {"dtype": np.dtype(dtype).name, "vocab_size": tokenizer.vocab_size,
             "bos_id": tokenizer.bos_id, "eos_id": tokenizer.eos_id, "docs": 0, "shards": []}
    buffer: list[int] = []

    def flush(tokens: list[int]) -> None:
        name = f"shard_{len(index['shards']):05d}.bin"
        array = np.memmap(out_dir / name, dtype=dtype, mode="w+", shape=(len(tokens),))
        array[:] = tokens
        array.flush()
        index["shards"].append({"file": name, "tokens": len(tokens)})

    docs = iter(docs)
    while batch := list(itertools.islice(docs, batch_docs)):
        for ids in tokenizer.encode_batch(batch):
            buffer += framed(tokenizer, ids)
        index["docs"] += len(batch)
        while len(buffer) >= shard_tokens:
            flush(buffer[:shard_tokens])
            buffer = buffer[shard_tokens:]
    if buffer:
        flush(buffer)
    if index["docs"] == 0:
        raise CorpusError("no documents to pack")
    index["tokens"] = sum(s["tokens"] for s in index["shards"])
    (out_dir / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


# ----------------------------------------------------------------------------------------
# Pretraining batches


class TokenLoader:
    """Fixed-length `(inputs, targets)` batches from packed shards, int64, shape [B, T].

    The stream of each shard is cut into windows of T+1 tokens (consecutive windows share
    one token, so no target is lost). Each epoch visits every window once in an order drawn
    from `seed + epoch`; global batch b takes windows [b*B*W, (b+1)*B*W) of that order and
    rank r keeps its own B of them, so ranks never see the same window in a step, and the
    sequence of batches depends only on (seed, position): `state_dict()` is that position.
    """

    def __init__(self, directory: str | Path, batch_size: int, seq_len: int, seed: int,
                 rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        directory = Path(directory)
        index = json.loads((directory / "index.json").read_text())
        self.shards = [np.memmap(directory / s["file"], dtype=index["dtype"], mode="r")
                       for s in index["shards"]]
        counts = [max(0, (len(s) - 1) // seq_len) for s in self.shards]
        self.window_end = np.cumsum(counts)  # shard i holds windows [end[i-1], end[i])
        self.batch_size, self.seq_len, self.seed = batch_size, seq_len, seed
        self.rank, self.world_size = rank, world_size
        self.steps_per_epoch = int(self.window_end[-1]) // (batch_size * world_size)
        if self.steps_per_epoch == 0:
            need = batch_size * world_size * seq_len + 1
            raise CorpusError(f"{directory} holds {index['tokens']} tokens in {len(counts)} "
                              f"shards: too few for one step of {need}")
        self.epoch, self.step = 0, 0
        self._order: tuple[int, np.ndarray] | None = None

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        if state["seed"] != self.seed:
            raise ValueError(f"loader state is for seed {state['seed']}, this loader has {self.seed}")
        self.epoch, self.step = state["epoch"], state["step"]

    def _permutation(self) -> np.ndarray:
        if self._order is None or self._order[0] != self.epoch:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order = (self.epoch, rng.permutation(int(self.window_end[-1])))
        return self._order[1]

    def _window(self, w: int) -> np.ndarray:
        shard = int(np.searchsorted(self.window_end, w, side="right"))
        start = (w - (int(self.window_end[shard - 1]) if shard else 0)) * self.seq_len
        return self.shards[shard][start : start + self.seq_len + 1]

    def __iter__(self) -> "TokenLoader":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        B = self.batch_size
        first = (self.step * self.world_size + self.rank) * B
        windows = self._permutation()[first : first + B]
        batch = torch.from_numpy(np.stack([self._window(int(w)) for w in windows]).astype(np.int64))
        self.step += 1
        if self.step == self.steps_per_epoch:
            self.epoch, self.step = self.epoch + 1, 0
        return batch[:, :-1], batch[:, 1:]  # [B, T] each


# ----------------------------------------------------------------------------------------
# SFT batches


def sft_example(tokenizer: Tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    """Token ids of a chat and their shifted labels: labels[t] is the target for ids[t],
    that is ids[t+1] when the assistant wrote it, else IGNORE_INDEX. Both have len(ids)-1."""
    ids, mask = tokenizer.encode_chat(messages)
    labels = [y if m else IGNORE_INDEX for y, m in zip(ids[1:], mask[1:])]
    return ids[:-1], labels


class SFTDataset:
    """Chats as fixed-length rows `(input_ids, labels)` of seq_len tokens, with
    labels = -100 outside the assistant's tokens (already shifted, like TokenLoader's
    targets, so the same cross_entropy serves both).

    Chats are packed greedily in the given order (each starts with bos, so the model sees
    the boundary) and the rest of a row is padding; a chat longer than a row is truncated
    and counted in `truncated`. `pack=False` gives one chat per row.
    """

    def __init__(self, chats: list[list[dict]], tokenizer: Tokenizer, seq_len: int, pack: bool = True):
        self.seq_len, self.pad_id = seq_len, tokenizer.pad_id
        self.rows: list[tuple[list[int], list[int]]] = []
        self.truncated = 0
        ids: list[int] = []
        labels: list[int] = []
        for chat in chats:
            x, y = sft_example(tokenizer, chat)
            if len(x) > seq_len:
                x, y = x[:seq_len], y[:seq_len]
                self.truncated += 1
            if ids and (not pack or len(ids) + len(x) > seq_len):
                self.rows.append((ids, labels))
                ids, labels = [], []
            ids, labels = ids + x, labels + y
        if ids:
            self.rows.append((ids, labels))
        if not self.rows:
            raise CorpusError("no chats to build SFT rows from")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids, labels = self.rows[i]
        pad = self.seq_len - len(ids)
        return (torch.tensor(ids + [self.pad_id] * pad), torch.tensor(labels + [IGNORE_INDEX] * pad))

    def batches(self, batch_size: int, seed: int, epoch: int = 0,
                start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches [B, T] of one epoch in an order drawn from (seed, epoch), from batch
        `start` on (to resume); the last partial batch is dropped."""
        order = np.random.default_rng([seed, epoch]).permutation(len(self.rows))
        for b in range(start, len(order) // batch_size):
            rows = [self[int(i)] for i in order[b * batch_size : (b + 1) * batch_size]]
            yield torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])

    def steps_per_epoch(self, batch_size: int) -> int:
        return len(self.rows) // batch_size
