"""Text above the engine, for the server and the chat: incremental detokenization and the
reasoning/content splitter (`ReplyDecoder` in backend.py puts them together per request).

The engine streams token ids. A byte-level BPE token can end in the middle of a UTF-8
character (a Chinese character or an emoji spans 3-4 bytes, often 2-4 tokens), and a
`<think>` tag can arrive split across deltas. These helpers turn the id stream into text
that is always whole characters, routed to `reasoning` (inside <think>...</think>) or
`content` (the answer), so a UI or an API can show the model thinking as it happens.

Everything here works from a `decode(ids) -> str` callable, whatever the tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

REPLACEMENT = "\ufffd"  # what a lossy UTF-8 decode makes of an incomplete character


class IncrementalDetokenizer:
    """Feed token ids, get the new text; never emits a partial UTF-8 character.

    Decodes a short window of recent tokens twice (without and with the new ones) and emits the
    difference, so the cost per token stays constant and tokenizers whose decoding depends on
    the neighbouring token (leading spaces) still come out right. Text ending in U+FFFD is held
    back until the character completes (or `flush()` at the end of the stream)."""

    def __init__(self, decode: Callable[[list[int]], str], prompt_ids: Iterable[int] = (), context: int = 4) -> None:
        self.decode = decode
        self.ids = list(prompt_ids)[-context:]  # a little prompt context for the first tokens
        self.prefix = 0  # window start
        self.read = len(self.ids)  # ids before this are already emitted
        self.text = ""  # everything emitted so far

    def push(self, ids: Iterable[int]) -> str:
        """Add generated ids; return the text they complete (possibly "")."""
        self.ids.extend(ids)
        before = self.decode(self.ids[self.prefix : self.read])
        after = self.decode(self.ids[self.prefix :])
        if len(after) <= len(before) or after.endswith(REPLACEMENT):
            return ""  # nothing new, or a character still incomplete
        new = after[len(before) :]
        self.prefix, self.read = self.read, len(self.ids)
        self.text += new
        return new

    def flush(self) -> str:
        """End of stream: whatever is held back (an incomplete tail becomes U+FFFD)."""
        before = self.decode(self.ids[self.prefix : self.read])
        after = self.decode(self.ids[self.prefix :])
        self.prefix = self.read = len(self.ids)
        new = after[len(before) :] if len(after) > len(before) else ""
        self.text += new
        return new


@dataclass
class Split:
    """Text routed by ThinkSplitter."""

    reasoning: str = ""
    content: str = ""

    def __iadd__(self, other: "Split") -> "Split":
        self.reasoning += other.reasoning
        self.content += other.content
        return self


class ThinkSplitter:
    """Route streamed text inside <think>...</think> to `reasoning`, the rest to `content`.

    Robust to tags split across chunks (a possible tag prefix at the end of a chunk is held
    back). `in_think=True` starts inside the reasoning, for R1 prompts that pre-fill
    `<think>\\n`. With `strip=True` (default), whitespace right after a tag and right before
    `</think>` is dropped, as DeepSeek's API returns `reasoning_content` and `content`."""

    def __init__(self, in_think: bool = False, open_tag: str = "<think>", close_tag: str = "</think>",
                 strip: bool = True) -> None:
        self.in_think, self.open_tag, self.close_tag, self.strip = in_think, open_tag, close_tag, strip
        self.pending = ""  # text not routed yet (a possible tag prefix, or held-back whitespace)
        self.at_section_start = True  # whitespace here is dropped (when strip)

    def push(self, text: str) -> Split:
        out = Split()
        buf = self.pending + text
        self.pending = ""
        while buf:
            tag = self.close_tag if self.in_think else self.open_tag
            i = buf.find(tag)
            if i >= 0:
                self._route(out, buf[:i], final=True)
                buf = buf[i + len(tag) :]
                self.in_think = not self.in_think
                self.at_section_start = True
                continue
            keep = partial_suffix(buf, tag)  # a tag may be starting at the end
            body, self.pending = buf[: len(buf) - keep], buf[len(buf) - keep :]
            self.pending = self._route(out, body, final=False) + self.pending
            break
        return out

    def flush(self) -> Split:
        """End of stream: route whatever is held back."""
        out = Split()
        pending, self.pending = self.pending, ""
        self._route(out, pending, final=True)
        return out

    def _route(self, out: Split, text: str, final: bool) -> str:
        """Append text to the current channel; returns trailing whitespace held back (reasoning
        only, when it might precede </think>)."""
        held = ""
        if self.strip:
            if self.at_section_start:
                text = text.lstrip()
                if text:
                    self.at_section_start = False
            if self.in_think:
                stripped = text.rstrip()
                text, held = stripped, text[len(stripped) :]
                if final:
                    held = ""  # whitespace before the tag (or the end) is dropped
        if self.in_think:
            out.reasoning += text
        else:
            out.content += text
        return held


def partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of tag: text a stream must
    hold back, since the next chunk may complete the tag."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0
