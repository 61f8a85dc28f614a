"""Byte-level BPE tokenizer with DeepSeek-R1's special tokens and chat template.

Three things live here:
- parsing helpers for completions (`split_reasoning`, `extract_boxed`), used by SFT, GRPO
  rewards and the chat UI;
- the chat format, rendered twice on purpose: a Jinja `CHAT_TEMPLATE` shipped in
  `tokenizer_config.json` (so `transformers` and other runtimes render it) and a Python
  renderer that also knows which tokens are the assistant's (the SFT loss mask). Tests hold
  the two equal token for token;
- `Tokenizer`, a thin wrapper over HF `tokenizers` (`train_tokenizer`, `save`, `load`);
- `ChatTemplate`: another checkpoint's own Jinja template (an R1-Distill's), rendered as
  transformers renders it, so `Tokenizer.load` serves any checkpoint in its own format.

Chat format (DeepSeek-R1):

    <｜begin▁of▁sentence｜>{system}<｜User｜>{q}<｜Assistant｜><think>\\n{reasoning}\\n</think>\\n\\n{answer}<｜end▁of▁sentence｜><｜User｜>...

Choices (R1's template where it has one, ours where training needs more):
- Earlier assistant turns are rendered without their reasoning (as R1): only an assistant
  turn that ends the conversation keeps its `<think>` block, so a conversation never feeds
  old reasoning back in. That final turn always has the block, empty when the message has
  no reasoning (`<think>\\n\\n</think>\\n\\n`), so every reply starts the way the generation
  prompt does. Reasoning comes from `reasoning_content`, or else from a `<think>...</think>`
  left inside `content`; reasoning and answer are stripped of surrounding whitespace.
- `add_generation_prompt` appends `<｜Assistant｜><think>\\n`: R1's newer template pre-fills
  the opener so the model always thinks first. Our completions therefore usually start
  inside the reasoning, which `split_reasoning` handles.
- System messages are joined with a blank line and placed right after bos (as R1).
- Special tokens are atomic ids in the vocabulary, and plain text that merely spells one
  (`"<think>"` typed by a user) encodes to that same id, as DeepSeek's tokenizer does: the
  template is text, so the Jinja and Python renderings must agree on it.
- Digits are split one per token (see `train_tokenizer`).
"""

from __future__ import annotations

import functools
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Iterable

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer as Backend, decoders, models, pre_tokenizers, trainers

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
PAD = "<｜▁pad▁｜>"
USER = "<｜User｜>"
ASSISTANT = "<｜Assistant｜>"
THINK = "<think>"
END_THINK = "</think>"
SPECIAL_TOKENS = (BOS, EOS, PAD, USER, ASSISTANT, THINK, END_THINK)

MODEL_MAX_LENGTH = 2048


# ----------------------------------------------------------------------------------------
# Parsing completions


def split_reasoning(completion: str) -> tuple[str, str]:
    """Split a model completion into `(reasoning, answer)`, both stripped.

    Robust to what small models actually emit:
    - no `<think>` opener (the generation prompt pre-fills it): text before `</think>` is
      the reasoning;
    - no `</think>` at all: the reasoning never ended, so everything is reasoning and the
      answer is "";
    - repeated tags: the LAST `</think>` ends the reasoning; every `<think>`/`</think>` tag
      inside the reasoning is dropped.

    >>> split_reasoning("<think>\\n2+2=4\\n</think>\\n\\nIt is \\\\boxed{4}.")
    ('2+2=4', 'It is \\\\boxed{4}.')
    """
    head, sep, answer = completion.rpartition(END_THINK)
    if not sep:
        head, answer = completion, ""
    reasoning = head.replace(THINK, "").replace(END_THINK, "")
    return reasoning.strip(), answer.strip()


def extract_boxed(text: str) -> str | None:
    """Content of the LAST `\\boxed{...}` in `text`, with nested braces balanced.

    Returns None when there is no `\\boxed{` or the last one never closes.

    >>> extract_boxed("\\\\boxed{1} then \\\\boxed{\\\\frac{1}{2}}")
    '\\\\frac{1}{2}'
    """
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i = start + len("\\boxed{")
    depth = 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def strip_reasoning(content: str) -> str:
    """Drop everything up to and including the last `</think>` (R1's rule for old turns)."""
    return content.split(END_THINK)[-1].strip() if END_THINK in content else content


# ----------------------------------------------------------------------------------------
# Chat template: Jinja for other runtimes, Python for us (with the loss mask)

ROLES = ("system", "user", "assistant")

# Kept in step with `_chat_segments` below; tests check the two token for token.
CHAT_TEMPLATE = (
    "{%- set ns = namespace(system='') -%}"
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'system' and m['content'] -%}"
    "{%- set ns.system = ns.system + ('\\n\\n' if ns.system else '') + m['content'] -%}"
    "{%- elif m['role'] not in ('system', 'user', 'assistant') -%}"
    "{{- raise_exception('nanoseek chat roles are system, user, assistant; got ' + m['role']) -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{{- '" + BOS + "' + ns.system -}}"
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'user' -%}"
    "{{- '" + USER + "' + m['content'] -}}"
    "{%- elif m['role'] == 'assistant' -%}"
    "{%- set content = m['content'] or '' -%}"
    "{%- set reasoning = m['reasoning_content'] or '' -%}"
    "{%- if '" + END_THINK + "' in content -%}"
    "{%- set parts = content.split('" + END_THINK + "') -%}"
    "{%- if not reasoning -%}"
    "{%- set reasoning = parts[:-1] | join('') | replace('" + THINK + "', '') -%}"
    "{%- endif -%}"
    "{%- set content = parts[-1] -%}"
    "{%- endif -%}"
    "{{- '" + ASSISTANT + "' -}}"
    "{%- if loop.last -%}"
    "{{- '" + THINK + "\\n' + reasoning | trim + '\\n" + END_THINK + "\\n\\n' -}}"
    "{%- endif -%}"
    "{{- content | trim + '" + EOS + "' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '" + ASSISTANT + THINK + "\\n' -}}"
    "{%- endif -%}"
)


def _assistant_parts(message: dict) -> tuple[str, str]:
    """(reasoning, answer) of an assistant message: `reasoning_content` wins over a
    `<think>` block left inside `content`."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or ""
    if END_THINK in content:
        inline, content = split_reasoning(content)
        reasoning = reasoning or inline
    return reasoning.strip(), content.strip()


def _chat_segments(messages: list[dict], add_generation_prompt: bool) -> list[tuple[str, str, bool]]:
    """The rendered conversation as (template, content, trained) pieces: the template's
    special tokens, then text a person or the model wrote, which is encoded as text.

    Every piece boundary sits next to a special token, and the tokenizer never merges
    across special tokens, so encoding the pieces one by one equals encoding the whole.
    """
    for m in messages:
        if m.get("role") not in ROLES:
            raise ValueError(f"message role must be one of {ROLES}, got {m.get('role')!r}")
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"])
    segments = [(BOS, system, False)]
    for i, m in enumerate(messages):
        if m["role"] == "user":
            segments.append((USER, m["content"], False))
        elif m["role"] == "assistant":
            reasoning, answer = _assistant_parts(m)
            segments.append((ASSISTANT, "", False))
            # Only the final turn keeps its reasoning (R1 never feeds old thoughts back).
            if i == len(messages) - 1:
                segments += [(THINK, f"\n{reasoning}\n", True), (END_THINK, f"\n\n{answer}", True)]
            else:
                segments.append(("", answer, True))
            segments.append((EOS, "", True))
    if add_generation_prompt:
        segments.append((ASSISTANT + THINK, "\n", False))
    return segments


def render_chat(messages: list[dict], add_generation_prompt: bool = False) -> str:
    """The conversation as text, exactly as `CHAT_TEMPLATE` renders it."""
    return "".join(template + content for template, content, _ in _chat_segments(messages, add_generation_prompt))


# ----------------------------------------------------------------------------------------
# A checkpoint's own chat template (an R1-Distill's), rendered as transformers renders it

# Private-use characters put around a special-token spelling found in what people wrote, so that
# once the template has rendered it, it is encoded as text (transformers' sanitize_control_tokens).
MARK_START, MARK_END = "\U000f0000", "\U000f0001"
SPECIAL_NAMES = ("bos_token", "eos_token", "pad_token", "unk_token")


class ChatTemplateError(ValueError):
    """The checkpoint's chat template refused the messages (its raise_exception(), or a message
    it cannot handle): the request's fault, so the server answers 400."""


class ChatTemplate:
    """A Jinja `chat_template` from tokenizer_config.json and the special tokens it may name
    (`bos_token`, `eos_token`, ...), rendered in transformers' sandbox with its settings and
    helpers (trim_blocks, lstrip_blocks, loop controls, raise_exception, tojson, strftime_now)."""

    def __init__(self, source: str, special: dict[str, str]) -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
        env.filters["tojson"] = _tojson
        env.globals.update(raise_exception=_raise_exception, strftime_now=lambda fmt: datetime.now().strftime(fmt))
        try:
            self.template = env.from_string(source)
        except jinja2.TemplateSyntaxError as e:
            raise ValueError(f"chat_template is not a valid Jinja template ({e})") from None
        self.special = special

    def render(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        try:
            return self.template.render(messages=messages, tools=None, documents=None,
                                        add_generation_prompt=add_generation_prompt, **self.special)
        except jinja2.TemplateError as e:  # raise_exception(), or a message the template cannot handle
            raise ChatTemplateError(f"the checkpoint's chat template refused the messages: {e}") from None


def _raise_exception(message: str):
    raise jinja2.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
    # Jinja's own tojson escapes HTML characters; chat templates expect plain JSON.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _mark(value, spellings: re.Pattern):
    """`value` (a message: strings, dicts, lists) with every special-token spelling wrapped in
    markers; markers already there are dropped first, so none can be forged."""
    if isinstance(value, str):
        value = value.replace(MARK_START, "").replace(MARK_END, "")
        return spellings.sub(f"{MARK_START}\\g<0>{MARK_END}", value)
    if isinstance(value, dict):
        return {k: _mark(v, spellings) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark(v, spellings) for v in value]
    return value


def _read_template(directory: Path) -> ChatTemplate | None:
    """The checkpoint's own template, or None when it is ours (or it has none)."""
    path = directory / "tokenizer_config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    source = config.get("chat_template") if isinstance(config, dict) else None
    if isinstance(source, list):  # named templates: the default one serves chats
        source = next((t.get("template") for t in source if t.get("name") == "default"), None)
    if source is None or source == CHAT_TEMPLATE:
        return None
    if not isinstance(source, str):
        raise ValueError(f"{path}: chat_template must be a string, got {type(source).__name__}")
    special = {}
    for name in SPECIAL_NAMES:
        token = config.get(name)
        token = token.get("content") if isinstance(token, dict) else token  # a serialised AddedToken
        if isinstance(token, str):
            special[name] = token
    for name in ("bos_token", "eos_token"):
        if name not in special:
            raise ValueError(f"{path}: a chat_template needs {name} (a token's text)")
    return ChatTemplate(source, special)


# ----------------------------------------------------------------------------------------
# The tokenizer


class Tokenizer:
    """Thin wrapper over a HF `tokenizers.Tokenizer` that knows our special tokens.

    With a `template` (another checkpoint's own, such as an R1-Distill's) chats are rendered
    by it and its bos/eos are the tokens it names; role and think ids are those of R1's
    tokens where the vocabulary has them, else None. Without, the format is ours."""

    def __init__(self, backend: Backend, template: ChatTemplate | None = None):
        self.backend, self.template = backend, template
        # the same tokenizer reading special-token spellings as plain text, for what people write
        self.text_backend = Backend.from_str(backend.to_str())
        self.text_backend.encode_special_tokens = True
        special = {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD} | (template.special if template else {})
        required = SPECIAL_TOKENS if template is None else (special["bos_token"], special["eos_token"])
        missing = [t for t in required if backend.token_to_id(t) is None]
        if missing:
            raise ValueError(f"tokenizer lacks special tokens {missing}")
        self.bos_id, self.eos_id = backend.token_to_id(special["bos_token"]), backend.token_to_id(special["eos_token"])
        pad_id = backend.token_to_id(special["pad_token"])
        self.pad_id = self.eos_id if pad_id is None else pad_id
        self.user_id, self.assistant_id = backend.token_to_id(USER), backend.token_to_id(ASSISTANT)
        self.think_id, self.end_think_id = backend.token_to_id(THINK), backend.token_to_id(END_THINK)
        spellings = sorted(backend.get_added_tokens_decoder().values(), key=lambda t: -len(t.content))
        self._spellings = re.compile("|".join(re.escape(t.content) for t in spellings) or "(?!)")

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    @functools.cached_property
    def max_token_chars(self) -> int:
        """The most characters one token stands for (a byte-level token: at most its bytes), so
        a text of n characters needs at least n / max_token_chars tokens."""
        return max(map(len, self.backend.get_vocab(with_added_tokens=True)))

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; no bos/eos added. Special-token spellings become their id."""
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_text(self, text: str) -> list[int]:
        """Token ids of text a user, a system prompt, a tool or the model wrote: a special-token
        spelling in it stays text, so no one can forge a turn."""
        return self.text_backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """`encode` over many texts at once (parallel in Rust)."""
        return [e.ids for e in self.backend.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Text of `ids`. `skip_special_tokens` drops bos/eos/pad/role tokens but keeps the
        think tags (they are not special, as in DeepSeek-R1's tokenizer)."""
        return self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def render_chat(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        if self.template is not None:
            return self.template.render(messages, add_generation_prompt)
        return render_chat(messages, add_generation_prompt)

    def encode_prompt(self, messages: list[dict]) -> list[int]:
        """Token ids of the conversation and the generation prompt, in the checkpoint's format.
        A special-token spelling in a message stays text, whichever template renders it."""
        if self.template is None:
            return self.encode_chat(messages, add_generation_prompt=True)[0]
        text = self.template.render(_mark(messages, self._spellings), add_generation_prompt=True)
        # [template text, marked spelling, template text, ...]; None for a marker a string method
        # in the template separated from its spelling (dropped, but it still splits the text)
        pieces = re.split(f"{MARK_START}({self._spellings.pattern}){MARK_END}|[{MARK_START}{MARK_END}]", text)
        ids = []
        for i, piece in enumerate(pieces):
            if piece:
                ids += self._encode_plain(piece) if i % 2 else self.encode(piece)
        return ids

    def _encode_plain(self, text: str) -> list[int]:
        """Ids of `text` with no added token read as one, special or not (think tags are not
        special, so `encode_text` would still read them): the tokenizer's pipeline without them."""
        b = self.backend
        text = b.normalizer.normalize_str(text) if b.normalizer is not None else text
        words = [w for w, _ in b.pre_tokenizer.pre_tokenize_str(text)] if b.pre_tokenizer is not None else [text]
        return [t.id for w in words for t in b.model.tokenize(w)]

    def encode_chat(
        self, messages: list[dict], add_generation_prompt: bool = False
    ) -> tuple[list[int], list[int]]:
        """Token ids of the rendered conversation and the SFT loss mask.

        mask[i] = 1 on the tokens the assistant writes: everything after each
        `<｜Assistant｜>` up to and including its `<｜end▁of▁sentence｜>` (the `<think>`
        block of the final turn included); 0 on bos, system, user turns, role tokens and
        the generation prompt. Our format only: the mask needs to know the template.
        """
        if self.template is not None:
            raise ValueError("encode_chat (the SFT loss mask) needs nanoseek's chat template; this "
                             "checkpoint has its own (use encode_prompt)")
        ids: list[int] = []
        mask: list[int] = []
        for template, content, trained in _chat_segments(messages, add_generation_prompt):
            piece = self.encode(template) + self.encode_text(content)
            ids += piece
            mask += [int(trained)] * len(piece)
        return ids, mask

    def save(self, directory: str | os.PathLike) -> None:
        """Write `tokenizer.json` and `tokenizer_config.json` (loadable by transformers)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.backend.save(str(directory / "tokenizer.json"))
        config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": BOS,
            "eos_token": EOS,
            "pad_token": PAD,
            "add_bos_token": False,
            "add_eos_token": False,
            # Byte-level BPE decodes exactly; transformers' space clean-up would break that.
            "clean_up_tokenization_spaces": False,
            "model_max_length": MODEL_MAX_LENGTH,
            "chat_template": CHAT_TEMPLATE,
        }
        text = json.dumps(config, ensure_ascii=False, indent=2)
        (directory / "tokenizer_config.json").write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Tokenizer":
        path = Path(directory) / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"{directory}: no tokenizer.json (the checkpoint's tokenizer)")
        try:
            backend = Backend.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception for a file it cannot parse
            raise ValueError(f"{path}: not a readable tokenizer ({str(e).splitlines()[0]})") from None
        return cls(backend, _read_template(Path(directory)))


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE with DeepSeek-R1's special tokens on `texts`.

    Ids 0, 1, 2 are bos, eos, pad (as in DeepSeek-V3), then the role and think tokens,
    the 256 byte symbols, then merges up to `vocab_size` (fewer if the corpus runs out of
    pairs). Digits are split one per token: a tiny model learns column arithmetic far more
    easily when "1234" is four tokens rather than an arbitrary merge.
    """
    min_size = len(SPECIAL_TOKENS) + 256
    if vocab_size <= min_size:
        raise ValueError(f"vocab_size must exceed {min_size} (specials + 256 bytes), got {vocab_size}")
    backend = Backend(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    return Tokenizer(_unmark_think_tokens(backend))


def _unmark_think_tokens(backend: Backend) -> Backend:
    """Keep `<think>`/`</think>` atomic but not "special", as DeepSeek-R1 does, so that
    decoding with skip_special_tokens still shows the reasoning's boundaries."""
    spec = json.loads(backend.to_str())
    for token in spec["added_tokens"]:
        if token["content"] in (THINK, END_THINK):
            token["special"] = False
    return Backend.from_str(json.dumps(spec))
