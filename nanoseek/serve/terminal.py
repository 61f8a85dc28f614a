"""`nanoseek chat`: talk to a checkpoint in the terminal, watching it think.

    ChatSession     the conversation (answers only: old reasoning is never fed back) and one
                    streamed reply at a time, through the same engine and policy as the server
    run_chat        the read-eval-print loop over any `read` function and rich Console, so a
                    test can script a whole session
    answer_markdown the answer as rich Markdown (code highlighted, TeX shown as code)

The answer streams as Markdown, redrawn in place (rich's Live) on a terminal; a reply with a
`\\boxed{}` ends with its final answer on a line of its own.

Keys: Enter sends; Ctrl-C while a reply streams stops it (the chat goes on); Ctrl-D or /exit
leaves; /reset starts over.
"""

from __future__ import annotations

import queue
import re
import time
from typing import Callable, Iterator

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from nanoseek.inference import EngineError
from nanoseek.serve.backend import ChatModel
from nanoseek.serve.policy import Policy
from nanoseek.serve.text import Split
from nanoseek.tokenizer import extract_boxed

HELP = "/reset  start a new conversation    /exit  leave (or Ctrl-D)    Ctrl-C  stop the current reply"


class ChatSession:
    """One conversation with a ChatModel (thread-safe engine underneath; one reply at a time)."""

    def __init__(self, model: ChatModel, policy: Policy | None = None, *, temperature: float | None = None,
                 max_tokens: int | None = None) -> None:
        self.model, self.policy = model, policy or Policy()
        self.temperature, self.max_tokens = temperature, max_tokens
        self.messages: list[dict] = []  # {"role", "content"}: what the next prompt is built from
        self.dropped = 0  # old turns dropped to fit the context
        self.last: dict = {}  # numbers about the last reply (tokens, seconds, finish_reason)

    def reset(self) -> None:
        self.messages, self.dropped, self.last = [], 0, {}

    def prompt(self, text: str) -> list[int]:
        """Prompt ids for the conversation plus `text`, dropping the oldest turns if too long."""
        turns = [*self.messages, {"role": "user", "content": text}]
        while True:
            ids = self.model.chat_prompt(self.policy.apply(turns))
            if len(ids) < self.model.max_len or len(turns) == 1:
                break
            turns, self.dropped = turns[2:], self.dropped + 1
        self.messages = turns[:-1]
        if len(ids) >= self.model.max_len:
            raise ValueError(f"the message is too long: {len(ids)} tokens, the context holds {self.model.max_len}")
        return ids

    def reply(self, text: str) -> Iterator[Split]:
        """Stream the reply to `text` (ValueError at once if it cannot fit the context). Closing
        the iterator early (Ctrl-C) cancels the generation; a reply with an answer, even a
        partial one, joins the history (its reasoning does not)."""
        prompt = self.prompt(text)
        decision = self.policy.decide([*self.messages, {"role": "user", "content": text}])
        if decision is not None:
            return self._canned(text, decision)
        return self._generate(text, prompt)

    def _canned(self, text: str, decision) -> Iterator[Split]:
        self.last = {"tokens": 0, "seconds": 0.0, "finish_reason": "stop", "policy": decision.rule}
        yield Split(content=decision.text)
        self._remember(text, decision.text)

    def _generate(self, text: str, prompt: list[int]) -> Iterator[Split]:
        room = self.model.max_len - len(prompt)
        params = self.model.sampling(max_tokens=min(self.max_tokens or room, room), temperature=self.temperature)
        decoder = self.model.decoder(prompt, think=True)
        deltas: queue.SimpleQueue = queue.SimpleQueue()
        started = time.perf_counter()
        rid = self.model.engine.submit(prompt, params, deltas.put)
        content, finish = [], None
        try:
            while finish is None:
                d = _get(deltas, self.model)
                if d.finish_reason == "error":
                    finish = "error"
                    raise EngineError("the inference engine failed on this reply (see the log); try again")
                split = decoder.push(d.token_ids)
                finish = d.finish_reason
                if finish:
                    split += decoder.flush()
                content.append(split.content)
                yield split
        finally:
            if finish is None:  # stopped by the caller (Ctrl-C) or an error
                self.model.engine.cancel(rid)
            self.last = {"tokens": decoder.tokens, "seconds": time.perf_counter() - started,
                         "finish_reason": finish or "stopped"}
            self._remember(text, "".join(content).strip())

    def _remember(self, text: str, answer: str) -> None:
        if answer:
            self.messages += [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]


def _get(deltas: queue.SimpleQueue, model: ChatModel):
    """Next delta; short waits keep Ctrl-C responsive and notice a stopped engine."""
    while True:
        try:
            return deltas.get(timeout=0.1)
        except queue.Empty:
            if not model.alive:
                raise EngineError("the inference engine stopped") from None


def run_chat(session: ChatSession, read: Callable[[str], str] = input, console: Console | None = None) -> None:
    """The chat loop: read a line, stream the reply, until EOF or /exit."""
    console = console or Console(highlight=False)
    console.print(f"[bold]nanoseek[/] chat with [cyan]{session.model.name}[/] "
                  f"({session.model.max_len}-token context). [dim]{HELP}[/]", highlight=False)
    while True:
        try:
            line = read(">>> ")
        except EOFError:
            console.print()
            return
        except KeyboardInterrupt:
            console.print("\n[dim](Ctrl-D or /exit to leave)[/]")
            continue
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            if not _command(session, text, console):
                return
            continue
        _stream_reply(session, text, console)


def _command(session: ChatSession, text: str, console: Console) -> bool:
    """Run a slash command; False means leave."""
    name = text.split()[0].lower()
    if name in ("/exit", "/quit", "/bye"):
        return False
    if name == "/reset":
        session.reset()
        console.print("[dim]New conversation.[/]")
    elif name == "/help":
        console.print(f"[dim]{HELP}[/]")
    else:
        console.print(f"[yellow]Unknown command {name}.[/] [dim]{HELP}[/]")
    return True


# Code (fenced, or a span) is left as it is; outside it, TeX math in any of R1's delimiters, or
# a bare \\boxed{} (one level of nested braces, as in \\frac{1}{2}), whichever starts first.
CODE = re.compile(r"(```.*?(?:```|\Z)|`[^`\n]*`)", re.S)
TEX = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$(?=\S)([^$\n]*?\S)\$(?!\d)"
                 r"|\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}", re.S)


def answer_markdown(text: str) -> Markdown:
    """The answer as rich Markdown. A terminal cannot draw math, so TeX shows verbatim as code
    (Markdown would otherwise eat its backslashes) and a bare `\\boxed{x}` as a bold x."""
    parts = CODE.split(text)
    for i in range(0, len(parts), 2):  # the even parts are outside code
        parts[i] = TEX.sub(_tex_markdown, parts[i])
    return Markdown("".join(parts))


def _tex_markdown(m: re.Match) -> str:
    *math, boxed = m.groups()
    return f"**{boxed}**" if boxed is not None else f"`{next(g for g in math if g is not None).strip()}`"


def _stream_reply(session: ChatSession, text: str, console: Console) -> None:
    """Print the reply as it streams: thinking dimmed under its own header, then a rule, then
    the answer as Markdown. Ctrl-C stops the reply and returns to the prompt."""
    try:
        stream = session.reply(text)
    except ValueError as e:
        console.print(f"[red]{e}[/]")
        return
    answer = []
    # Redrawn a few times a second from the text so far (a file gets the final drawing only);
    # while taller than the terminal it shows its top, and all of it once done.
    live = Live(console=console, get_renderable=lambda: answer_markdown("".join(answer)), refresh_per_second=8)
    try:
        _stream_splits(stream, console, live, answer)
    except KeyboardInterrupt:
        stream.close()  # cancels the generation, keeps any partial answer
        _end_line(live, console)
        console.print("[stopped]", style="yellow", markup=False)
        return
    except EngineError as e:
        _end_line(live, console)
        console.print(str(e), style="red", markup=False)
        if not session.model.alive:
            raise
        return
    _end_line(live, console)
    boxed = extract_boxed("".join(answer))
    if boxed is not None:
        console.print(Text.assemble(("Answer: ", "bold"), (boxed, "bold green")))
    last = session.last
    if last.get("policy"):
        console.print(f"[dim](answered by the operator policy: {last['policy']})[/]", highlight=False)
    elif last.get("tokens"):
        rate = last["tokens"] / max(last["seconds"], 1e-9)
        note = ", cut at the token limit" if last["finish_reason"] == "length" else ""
        console.print(f"[dim]{last['tokens']} tokens, {rate:.0f} tokens/s{note}[/]", highlight=False)


def _stream_splits(stream: Iterator[Split], console: Console, live: Live, answer: list[str]) -> None:
    """The reasoning printed as it comes; the answer collected into `answer`, which `live` draws."""
    thinking = False
    for split in stream:
        if split.reasoning:
            if not thinking:
                console.print("Thinking…", style="dim bold")
                thinking = True
            console.out(split.reasoning, style="dim italic", end="", highlight=False)
        if split.content:
            if not answer:
                if thinking:
                    console.out("")
                    console.rule(style="dim")
                live.start()
            answer.append(split.content)
        console.file.flush()


def _end_line(live: Live, console: Console) -> None:
    """Finish the reply's output on a new line: the answer's last drawing, or the reasoning's line."""
    if not live.is_started:
        console.out("")
        return
    live.stop()
    if not console.is_terminal:  # rich ends the drawing with a new line on a terminal only
        console.out("")


def main(model_dir: str, *, policy_file: str | None = None, temperature: float | None = None,
         max_tokens: int | None = None, compile: bool = False, quantize: str | None = None) -> int:
    """What `nanoseek chat` runs."""
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    policy = Policy.load(policy_file) if policy_file else Policy()
    if compile:
        print("compiling the decode steps (minutes the first time, ~10 s once cached) ...", flush=True)
    model = ChatModel.load(model_dir, max_slots=1, max_waiting=0, compile=compile, quantize=quantize)
    print(model.weights, flush=True)
    try:
        run_chat(ChatSession(model, policy, temperature=temperature, max_tokens=max_tokens))
    finally:
        model.close()
    return 0
