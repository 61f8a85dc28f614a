"""`nanoseek chat`: the terminal loop driven by a scripted session (input lines in, a rich
Console writing to a buffer out), on the tiny checkpoint that learned three chats."""

from __future__ import annotations

import io
import os
import re
import signal

import pytest
from rich.console import Console

from nanoseek.serve import ChatModel, Policy
from nanoseek.serve.terminal import ChatSession, run_chat
from serve_fixtures import CHATS, chat_checkpoint

QUESTION, REASONING, ANSWER = CHATS["en"]
DIM_ITALIC = "\x1b[2;3m"  # how rich writes style="dim italic" on a terminal


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    model = ChatModel.load(chat_checkpoint(tmp_path_factory.getbasetemp()), max_slots=1, max_waiting=0)
    yield model
    model.close()


def script(*lines):
    """A `read` function that plays `lines`; a line may be an exception to raise; then EOF."""
    queue = list(lines)

    def read(prompt: str) -> str:
        if not queue:
            raise EOFError
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return read


def plain(out) -> str:
    """What the user reads: the output without ANSI styles."""
    text = out.getvalue() if isinstance(out, io.StringIO) else out.file.getvalue()
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def console(file=None) -> Console:
    # not a terminal: rich draws the streamed answer once, when done (a terminal redraws it in place)
    return Console(file=file or io.StringIO(), force_terminal=False, color_system="standard", width=200)


def test_reply_streams_thinking_dimmed_then_the_answer(model):
    out = console()
    session = ChatSession(model)
    run_chat(session, script(QUESTION), out)
    text = out.file.getvalue().replace("\x1b[0m" + DIM_ITALIC, "")  # join the streamed dim pieces
    assert "Thinking…" in text
    assert DIM_ITALIC + REASONING + "\x1b[0m" in text  # the reasoning is dimmed...
    assert text.index(REASONING) < text.index("─") < text.index(ANSWER)  # ...and ruled off from the answer
    assert re.search(f"\n{re.escape(ANSWER)} *\n", text)  # the answer in plain style (a Markdown paragraph)


def test_multi_turn_keeps_answers_only(model):
    session = ChatSession(model)
    run_chat(session, script(CHATS["es"][0], QUESTION), console())
    assert session.messages == [
        {"role": "user", "content": CHATS["es"][0]}, {"role": "assistant", "content": CHATS["es"][2]},
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": ANSWER},
    ]
    prompt = model.tokenizer.decode(session.prompt("next"))
    assert CHATS["es"][1] not in prompt and REASONING not in prompt  # old reasoning is never fed back
    assert CHATS["es"][2] in prompt and ANSWER in prompt


def test_reset_starts_over(model):
    session = ChatSession(model)
    out = console()
    run_chat(session, script(QUESTION, "/reset"), out)
    assert session.messages == [] and "New conversation" in plain(out)


def test_commands_and_ctrl_c_at_the_prompt(model):
    session = ChatSession(model)
    out = console()
    run_chat(session, script(KeyboardInterrupt(), "/help", "/nope", "/exit", QUESTION), out)
    text = plain(out)
    assert "Ctrl-D or /exit" in text and "Unknown command /nope" in text
    assert session.messages == []  # /exit left before the question


class InterruptOnWrite(io.StringIO):
    """Terminal output that presses Ctrl-C (a real SIGINT to this process) the first time the
    reply's reasoning is printed, i.e. while the reply is streaming."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.fired = marker, False

    def write(self, s: str) -> int:
        n = super().write(s)
        if not self.fired and self.marker in plain(self):
            self.fired = True
            os.kill(os.getpid(), signal.SIGINT)
        return n


def test_ctrl_c_stops_the_reply_and_the_chat_goes_on(model):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # KeyboardInterrupt, as in a terminal
    try:
        out = InterruptOnWrite(marker=REASONING[:8])  # "The user": mid-reasoning
        session = ChatSession(model)
        run_chat(session, script(QUESTION, CHATS["zh"][0]), console(out))
    finally:
        signal.signal(signal.SIGINT, previous)
    text = plain(out)
    assert out.fired and "[stopped]" in text
    assert text.count("Thinking…") == 2 and CHATS["zh"][2] in text  # the next question got its answer
    assert ANSWER not in text
    # The stopped reply had no answer yet, so only the second exchange is remembered ...
    assert session.messages == [{"role": "user", "content": CHATS["zh"][0]},
                                {"role": "assistant", "content": CHATS["zh"][2]}]
    # ... and its generation was cancelled: the engine is idle, its slot free.
    assert not model.engine.engine.has_unfinished() and model.engine.engine.free_slots == 1
    assert session.last["finish_reason"] == "stop"


def test_an_engine_failure_is_reported_and_the_chat_goes_on(model, monkeypatch):
    runner = model.engine.engine.runner
    real, calls = runner.decode, []

    def fail_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("injected decode failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "decode", fail_once)
    out = console()
    run_chat(ChatSession(model), script(QUESTION, QUESTION), out)
    text = plain(out)
    assert "the inference engine failed on this reply" in text
    assert text.rstrip().count(ANSWER) == 1 and model.alive  # the second try is answered


def test_policy_applies_in_the_terminal_too(model):
    policy = Policy.from_dict({"refuse": [{"topic": "weapons", "keywords": ["explosive"], "message": "No."}]})
    session = ChatSession(model, policy)
    out = console()
    run_chat(session, script("an explosive please"), out)
    assert "No." in plain(out) and "operator policy: weapons" in plain(out)


MARKDOWN_ANSWER = r"""## Sum

| a | b | a + b |
|---|---|---|
| 234 | 158 | 392 |

```python
def add(a, b):
    return a + b
```

Math stays TeX: \(a^2\) and \[\frac{n(n+1)}{2}\], but $5 and $6 are money. So \boxed{392}."""


def test_the_answer_is_markdown_with_code_and_tex_and_the_boxed_answer_last(model):
    # The policy's canned answer travels the same path to the screen as a model's answer.
    policy = Policy.from_dict({"refuse": [{"topic": "sums", "keywords": ["sum"], "message": MARKDOWN_ANSWER}]})
    out = console()
    run_chat(ChatSession(model, policy), script("the sum please"), out)
    text = plain(out)
    lines = [line.strip() for line in text.splitlines()]
    assert "Sum" in lines and "## Sum" not in text and "```" not in text  # a heading, a code block
    assert re.search(r"\n *a +b +a \+ b *\n *─+ *\n *234 +158 +392 *\n", text)  # the table
    assert "def add(a, b):" in text and "    return a + b" in text
    assert "Math stays TeX: a^2 and \\frac{n(n+1)}{2}, but $5 and $6 are money. So 392." in lines
    assert "\x1b[1m392\x1b[0m." in out.file.getvalue()  # the bare \boxed{} in bold ...
    assert lines[-3:] == ["Answer: 392", "(answered by the operator policy: sums)", ""]  # ... and as the answer
    assert "\x1b[1mAnswer: \x1b[0m\x1b[1;32m392\x1b[0m" in out.file.getvalue()


def test_too_long_message_is_reported_not_raised(model):
    out = console()
    run_chat(ChatSession(model), script("word " * 400), out)
    assert "too long" in plain(out)


def test_old_turns_are_dropped_to_fit_the_context(model):
    session = ChatSession(model)
    session.messages = [{"role": "user", "content": "word " * 60}, {"role": "assistant", "content": "ok"}] * 3
    ids = session.prompt(QUESTION)
    assert len(ids) < model.max_len and session.dropped >= 1 and len(session.messages) < 6


def test_nanoseek_chat_command(monkeypatch, capsys, tmp_path_factory):
    from nanoseek.cli import main

    checkpoint = chat_checkpoint(tmp_path_factory.getbasetemp())
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{QUESTION}\n/reset\n{CHATS['zh'][0]}\n"))
    assert main(["chat", "--model", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert REASONING in out and ANSWER in out and CHATS["zh"][2] in out
    assert "New conversation" in out
