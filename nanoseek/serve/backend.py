"""What the server and the terminal chat share: a loaded checkpoint behind the engine.

    ChatModel       tokenizer + AsyncEngine (continuous batching) + sampling defaults + a
                    bounded admission count; turns messages into prompt ids
    ReplyDecoder    generated ids -> text deltas: incremental detokenizer, stop strings, and the
                    <think> splitter routing text to `reasoning` or `content`
    StopStrings     cuts a text stream at the first stop string

The engine knows nothing of text; everything textual happens here, per request, on the
caller's side of the engine thread.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

from nanoseek.inference import AsyncEngine, Engine, SamplingParams, TokenDelta
from nanoseek.inference.quantize import describe
from nanoseek.serve.text import IncrementalDetokenizer, Split, ThinkSplitter, partial_suffix
from nanoseek.tokenizer import Tokenizer

log = logging.getLogger("nanoseek.serve")


class QueueFull(Exception):
    """Every slot and every waiting place is taken: the caller should retry later."""


@dataclass(frozen=True)
class Defaults:
    """Sampling used when a request does not say (the checkpoint's generation_config.json)."""

    temperature: float = 0.6  # DeepSeek-R1's recommendation
    top_p: float = 0.95
    eos_token_id: tuple[int, ...] = ()  # where replies stop; () = the model config's, else the tokenizer's

    @classmethod
    def load(cls, directory: Path) -> "Defaults":
        path = directory / "generation_config.json"
        if not path.exists():
            return cls()
        cfg = json.loads(path.read_text())
        eos = cfg.get("eos_token_id")
        eos = tuple(eos) if isinstance(eos, list) else () if eos is None else (eos,)
        if not all(isinstance(t, int) and t >= 0 for t in eos):
            raise ValueError(f"{path}: eos_token_id must be a token id or a list of them, got {cfg['eos_token_id']!r}")
        if cfg.get("do_sample") is False:
            return cls(temperature=0.0, top_p=1.0, eos_token_id=eos)
        temperature, top_p = float(cfg.get("temperature", cls.temperature)), float(cfg.get("top_p", cls.top_p))
        if not (math.isfinite(temperature) and temperature >= 0 and 0 < top_p <= 1):
            raise ValueError(f"{path}: temperature must be a finite number >= 0 and top_p in (0, 1], got "
                             f"{temperature!r} and {top_p!r}")
        return cls(temperature, top_p, eos)


class ChatModel:
    """A checkpoint ready to serve: many callers share one engine thread.

    max_slots: requests decoded together (the engine's batch); max_waiting: requests allowed
    to wait for a slot. Beyond max_slots + max_waiting, `admit()` raises QueueFull. compile:
    compile the decode steps (here, before serving: minutes cold, ~10 s cached; then 4-5x the
    tokens/s at batch 1 on our presets). quantize="int8": int8 linear layers (quantize.py; the
    model is quantized in place); `weights` says in one line what the weights hold and read per
    token."""

    def __init__(self, model, tokenizer: Tokenizer, *, name: str, max_slots: int = 32, max_waiting: int = 96,
                 max_len: int | None = None, speculative: bool = False, compile: bool = False,
                 quantize: str | None = None, defaults: Defaults = Defaults(), created: int = 0) -> None:
        if model.config.vocab_size < tokenizer.vocab_size:
            raise ValueError(f"model vocab_size={model.config.vocab_size} is smaller than the tokenizer's "
                             f"{tokenizer.vocab_size}")
        self.name, self.tokenizer, self.defaults, self.created = name, tokenizer, defaults, created
        self.max_slots, self.capacity = max_slots, max_slots + max_waiting
        engine = Engine(model, max_slots=max_slots, max_len=max_len, speculative=speculative, compile=compile,
                        quantize=quantize)
        self.weights = describe(model, quantize)
        log.info("%s", self.weights)
        if compile:  # before the first request, which would otherwise wait for it
            try:
                log.info("compiled the decode steps in %.1f s", engine.warm_up())
            except Exception as e:  # no C++ compiler, an unsupported platform: still serve, eagerly
                log.warning("could not compile the decode steps (%s); decoding eagerly", e)
                engine = Engine(model, max_slots=max_slots, max_len=max_len, speculative=speculative)
        self.engine = AsyncEngine(engine)
        self.max_len, self.vocab_size = engine.max_len, model.config.vocab_size
        self.stop_ids = defaults.eos_token_id or engine.default_stops or (tokenizer.eos_id,)
        if not all(t < self.vocab_size for t in self.stop_ids):
            raise ValueError(f"eos_token_id {self.stop_ids} lies outside the vocabulary ({self.vocab_size} tokens)")
        # a prompt with more characters than this cannot fit the context, whatever its tokens
        self.max_prompt_chars = self.max_len * tokenizer.max_token_chars
        self.in_flight = 0  # admitted and not yet released
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: str | os.PathLike, name: str | None = None, **kwargs) -> "ChatModel":
        """Any checkpoint nanoseek.from_pretrained loads (ours, an R1-Distill), with its own
        tokenizer, chat template and generation_config.json."""
        from nanoseek import from_pretrained

        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise FileNotFoundError(f"--model {directory}: not a checkpoint directory (no config.json)")
        model = from_pretrained(directory)
        created = int((directory / "config.json").stat().st_mtime)
        return cls(model, Tokenizer.load(directory), name=name or directory.resolve().name,
                   defaults=Defaults.load(directory), created=created, **kwargs)

    # ---- prompts -------------------------------------------------------------------------------

    def chat_prompt(self, messages: list[dict]) -> list[int]:
        """Prompt ids in the checkpoint's chat format, ending in its generation prompt (R1's:
        `<｜Assistant｜><think>\\n`; earlier reasoning is dropped)."""
        return self.tokenizer.encode_prompt(messages)

    def sampling(self, *, max_tokens: int, temperature: float | None = None, top_p: float | None = None,
                 top_k: int = 0, seed: int | None = None, presence_penalty: float = 0.0,
                 frequency_penalty: float = 0.0, ignore_eos: bool = False) -> SamplingParams:
        return SamplingParams(
            max_new_tokens=max_tokens,
            temperature=self.defaults.temperature if temperature is None else temperature,
            top_p=self.defaults.top_p if top_p is None else top_p,
            top_k=top_k, seed=seed, presence_penalty=presence_penalty, frequency_penalty=frequency_penalty,
            stop_token_ids=() if ignore_eos else self.stop_ids,
        )

    def decoder(self, prompt_ids: list[int], *, think: bool = True, stop: list[str] = ()) -> "ReplyDecoder":
        return ReplyDecoder(self.tokenizer, prompt_ids, think=think, stop=stop)

    # ---- admission and streaming -------------------------------------------------------------

    def admit(self) -> "Admission":
        """Reserve a place (slot or waiting line), or raise QueueFull. Release it when done."""
        with self._lock:
            if self.in_flight >= self.capacity:
                raise QueueFull(f"{self.in_flight} requests in flight (capacity {self.capacity})")
            self.in_flight += 1
        return Admission(self)

    def _release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def stream(self, prompt_ids: list[int], params: SamplingParams) -> AsyncIterator[TokenDelta]:
        """TokenDeltas of one request; closing the iterator early cancels it (frees its slot)."""
        return self.engine.stream(prompt_ids, params)

    @property
    def alive(self) -> bool:
        """The engine takes requests (False once closed, or stopped after repeated failed steps)."""
        return self.engine.alive

    def stats(self) -> dict:
        return {"slots": self.max_slots, "free_slots": self.engine.free_slots,
                "in_flight": self.in_flight, "capacity": self.capacity}

    def close(self) -> None:
        self.engine.close()


class Admission:
    """A reserved place in the engine's queue; `release()` is idempotent."""

    def __init__(self, owner: ChatModel) -> None:
        self._owner: ChatModel | None = owner

    def release(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            owner._release()

    def __enter__(self) -> "Admission":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class StopStrings:
    """Pass text through until the first stop string; hold back what may be a stop's beginning."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.hit = False

    def push(self, text: str) -> str:
        if self.hit or not self.stops:
            return "" if self.hit else text
        buf = self.pending + text
        cuts = [i for i in (buf.find(s) for s in self.stops) if i >= 0]
        if cuts:
            self.hit, self.pending = True, ""
            return buf[: min(cuts)]
        keep = max((partial_suffix(buf, s) for s in self.stops), default=0)
        self.pending = buf[len(buf) - keep :]
        return buf[: len(buf) - keep]

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return "" if self.hit else out


class ReplyDecoder:
    """Generated ids -> Split deltas (reasoning / content), for one request.

    think=True (chat replies): text inside `<think>...</think>` is reasoning. A prompt that ends
    inside an open `<think>` (R1's generation prompt pre-fills it) starts the reply as reasoning
    until `</think>`; otherwise a reply may open the block itself. think=False (raw completions):
    everything is content, tags included. Counts generated tokens and those spent reasoning (the
    tags included). Stop strings apply to the whole generated text, reasoning included."""

    def __init__(self, tokenizer: Tokenizer, prompt_ids: list[int], *, think: bool = True,
                 stop: list[str] = ()) -> None:
        self.tokenizer = tokenizer
        # Specials (eos, role tokens) vanish; the think tags are not special and stay for the splitter.
        self.detok = IncrementalDetokenizer(lambda ids: tokenizer.decode(ids, skip_special_tokens=True), prompt_ids)
        in_think = think and _opens_think(tokenizer, prompt_ids)
        self.splitter = ThinkSplitter(in_think=in_think) if think else None
        self.stops = StopStrings(list(stop))
        self.tokens = 0
        self.reasoning_tokens = 0
        # "before": the reply may still open a <think> block; "thinking"; "answer"
        self._phase = "thinking" if in_think else "before" if think else "answer"

    @property
    def stopped(self) -> bool:
        """A stop string was met: the caller should cancel the generation."""
        return self.stops.hit

    def push(self, ids: list[int]) -> Split:
        return self._route(self.stops.push(self.detok.push(self._count(ids))))

    def flush(self) -> Split:
        out = self._route(self.stops.push(self.detok.flush()) + self.stops.flush())
        if self.splitter is not None:
            out += self.splitter.flush()
        return out

    def _count(self, ids: list[int]) -> list[int]:
        """Count the tokens; returns them minus stray `</think>`s after the first (small models
        sometimes repeat the tag; in an answer it means nothing and would show as text)."""
        kept = []
        for t in ids:
            self.tokens += 1
            if self._phase == "before":
                self._phase = "thinking" if t == self.tokenizer.think_id else "answer"
            if self._phase == "thinking":
                self.reasoning_tokens += 1
                if t == self.tokenizer.end_think_id:
                    self._phase = "answer"
            elif self.splitter is not None and t == self.tokenizer.end_think_id:
                continue
            kept.append(t)
        return kept

    def _route(self, text: str) -> Split:
        if self.splitter is None:
            return Split(content=text)
        return self.splitter.push(text)


def _opens_think(tokenizer: Tokenizer, prompt_ids: list[int]) -> bool:
    """The prompt ends inside a `<think>` block: its last think tag is an opener."""
    for t in reversed(prompt_ids):
        if t in (tokenizer.think_id, tokenizer.end_think_id):
            return t == tokenizer.think_id
    return False
