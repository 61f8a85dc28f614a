"""The web chat in a real browser: Playwright drives Debian's `chromium` (Playwright's own
browser download cannot work here) against the live server. The tiny checkpoint learned three
chats, so the thinking panel and the answer can be checked word for word. For the rendering
and injection tests the served model's token stream is scripted (`Scripted`): a tiny model
cannot be made to write a table or an attack, and everything after the tokens is the real path.

Skipped, with the reason, only when /usr/bin/chromium is not installed
(`apt-get install -y --no-install-recommends chromium fonts-noto-cjk`); the rendering tests
also need the vendored libraries (`make web`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import anyio
import httpx
import pytest

from nanoseek.inference.engine import TokenDelta
from nanoseek.serve import ChatModel
from nanoseek.serve.api import CSP, WEB
from serve_fixtures import CHATS, EngineGate, LiveServer, chat_checkpoint

CHROMIUM = os.environ.get("NANOSEEK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(os.environ.get("NANOSEEK_SCREENSHOT", "/tmp/webchat.png"))
RENDERED_SHOT = SCREENSHOT.with_name(SCREENSHOT.stem + "-rendered.png")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"Debian's chromium is not installed at {CHROMIUM} "
                                       "(apt-get install -y --no-install-recommends chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"]
TIMEOUT_MS = 15_000
needs_vendor = pytest.mark.skipif(not (WEB / "vendor" / ".installed").exists(),
                                  reason="the web chat's libraries are not vendored (make web)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    checkpoint = chat_checkpoint(tmp_path_factory.getbasetemp())
    with LiveServer(ChatModel.load(checkpoint, max_slots=1, max_waiting=8)) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 760})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    load(page, server)
    yield page
    context.close()


def load(page, server):
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#model")).to_contain_text(server.model.name)  # /v1/models answered


def ask(page, text):
    page.fill("#input", text)
    page.press("#input", "Enter")


def last_reply(page):
    reply = page.locator(".msg.assistant").last
    return reply.locator(".reasoning"), reply.locator(".content")


def wait_done(page):
    sync_api.expect(page.locator("#send")).to_be_visible()  # the send button returns when the stream ends


def test_question_shows_thinking_then_answer(page):
    q, reasoning, answer = CHATS["en"]
    ask(page, q)
    thinking, content = last_reply(page)
    sync_api.expect(content).to_have_text(answer)
    sync_api.expect(thinking).to_have_text(reasoning)
    sync_api.expect(page.locator(".msg.user .bubble").last).to_have_text(q)
    panel = page.locator(".msg.assistant details.thinking").last
    sync_api.expect(panel.locator("summary")).to_contain_text("Thought for")
    panel.locator("summary").click()  # the panel collapses ...
    sync_api.expect(thinking).to_be_hidden()
    panel.locator("summary").click()  # ... and opens again
    sync_api.expect(thinking).to_be_visible()


def test_multi_turn_in_three_languages_sends_answers_only(page):
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/chat/completions") else None)
    for lang in ("es", "en", "zh"):
        q, reasoning, answer = CHATS[lang]
        ask(page, q)
        wait_done(page)
        thinking, content = last_reply(page)
        sync_api.expect(content).to_have_text(answer)
        sync_api.expect(thinking).to_have_text(reasoning)
    assert len(page.locator(".msg.assistant").all()) == 3
    last = sent[-1]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant", "user"]
    assert last[1] == {"role": "assistant", "content": CHATS["es"][2]}  # no reasoning fed back
    assert all(set(m) == {"role", "content"} for m in last)
    page.select_option("#lang", "zh")  # the interface speaks the three languages too
    sync_api.expect(page.locator("#new-chat")).to_have_text("新对话")
    assert page.get_attribute("#input", "placeholder") == "给 nanoseek 发送消息"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))


def test_new_chat_clears_the_conversation(page):
    ask(page, CHATS["en"][0])
    wait_done(page)
    page.click("#new-chat")
    assert page.locator(".msg").count() == 0
    sync_api.expect(page.locator("#empty")).to_be_visible()
    with page.expect_request(lambda r: r.url.endswith("/chat/completions")) as request:
        ask(page, CHATS["zh"][0])
    assert request.value.post_data_json["messages"] == [{"role": "user", "content": CHATS["zh"][0]}]
    sync_api.expect(last_reply(page)[1]).to_have_text(CHATS["zh"][2])


def test_stop_button_aborts_and_frees_the_server(page, server, monkeypatch):
    # Hold the engine between steps so the page's request is provably still running when Stop
    # is clicked (a tiny model would otherwise finish before any click).
    engine, generated = server.model.engine.engine, server.model.engine.engine.stats["generated"]
    gate = EngineGate(engine, monkeypatch)
    gate.close()
    try:
        ask(page, CHATS["en"][0])
        sync_api.expect(page.locator("#stop")).to_be_visible()
        wait_for(lambda: engine.waiting)  # the request reached the engine, which is held
        assert server.model.stats()["in_flight"] == 1
        page.click("#stop")
        sync_api.expect(page.locator(".msg.assistant .meta").last).to_have_text("(stopped)")
        sync_api.expect(page.locator("#send")).to_be_visible()
        wait_for(lambda: server.model.stats()["in_flight"] == 0)  # the server saw the client leave
    finally:
        gate.open()
    server.wait_idle(timeout=5)  # ... and the engine cancelled the request, freeing its slot
    assert not engine.has_unfinished() and engine.stats["generated"] - generated <= 2
    # The unanswered question was dropped; the next one is a fresh single-turn chat.
    with page.expect_request(lambda r: r.url.endswith("/chat/completions")) as request:
        ask(page, CHATS["es"][0])
    assert request.value.post_data_json["messages"] == [{"role": "user", "content": CHATS["es"][0]}]
    sync_api.expect(last_reply(page)[1]).to_have_text(CHATS["es"][2])


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---- rendering: Markdown, code, math and \boxed{}, from scripted model text ---------------------


class Scripted:
    """The served model writes the given text: its token stream is the text's tokens (reasoning,
    `</think>`, answer), then eos. With hold=True the stream pauses after the first piece until
    release(), so a test can look at a reply that is still streaming."""

    def __init__(self, model, monkeypatch) -> None:
        self.model, self.pieces, self.gate = model, [], threading.Event()
        monkeypatch.setattr(model, "stream", self.stream)

    def say(self, reasoning: str, *answer: str, hold: bool = False) -> None:
        self.pieces = [f"{reasoning}\n</think>\n\n{answer[0]}", *answer[1:]]
        self.gate.clear() if hold else self.gate.set()

    def release(self) -> None:
        self.gate.set()

    async def stream(self, prompt_ids, params):
        tok = self.model.tokenizer
        for i, piece in enumerate(self.pieces):
            if i:
                await anyio.to_thread.run_sync(self.gate.wait, 30)
            for t in tok.encode(piece):
                yield TokenDelta(0, [t])
        yield TokenDelta(0, [tok.eos_id], finish_reason="stop")


@pytest.fixture
def scripted(server, monkeypatch):
    return Scripted(server.model, monkeypatch)


TABLE_CODE_MATH = """## Sum of two numbers

| a | b | a + b |
|---|---|---|
| 234 | 158 | 392 |

```python
def add(a, b):
    return a + b
```

Inline math \\(a^2 + b^2\\) and $e^{i\\pi} + 1 = 0$ cost **nothing**, but $5 and $6 are money.

\\[ \\sum_{k=1}^{n} k = \\frac{n(n+1)}{2} \\]

$$\\int_0^1 x\\,dx$$

- see [the docs](https://example.com/docs)

La respuesta es \\boxed{392}."""


def tex_sources(locator) -> list[str]:
    """The TeX behind each formula KaTeX drew (it keeps the source in its MathML)."""
    return locator.locator("annotation").all_text_contents()


@needs_vendor
def test_reply_renders_markdown_table_code_and_math(page, scripted):
    scripted.say("Add **234** and $158$.", TABLE_CODE_MATH)
    ask(page, "¿Cuánto es 234 + 158?")
    wait_done(page)
    thinking, content = last_reply(page)
    sync_api.expect(content.locator("h2")).to_have_text("Sum of two numbers")
    assert content.locator("tr").all_inner_texts() == ["a\tb\ta + b", "234\t158\t392"]
    assert content.locator("pre code").text_content() == "def add(a, b):\n    return a + b\n"
    assert content.locator(".code .copy-code").all_text_contents() == ["Copy"]
    assert tex_sources(content) == ["a^2 + b^2", "e^{i\\pi} + 1 = 0", " \\sum_{k=1}^{n} k = \\frac{n(n+1)}{2} ",
                                    "\\int_0^1 x\\,dx", "\\boxed{392}"]
    assert content.locator(".katex-display").count() == 2
    assert "but $5 and $6 are money" in content.text_content()
    assert content.locator(".answer").text_content().startswith("392")  # the highlighted final answer
    link = content.locator("a")
    assert (link.get_attribute("href"), link.get_attribute("target"), link.get_attribute("rel")) == \
        ("https://example.com/docs", "_blank", "noopener noreferrer nofollow")
    assert thinking.locator("strong").text_content() == "234" and tex_sources(thinking) == ["158"]
    RENDERED_SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.locator(".msg.assistant").last.screenshot(path=str(RENDERED_SHOT))


@needs_vendor
def test_a_reply_renders_whole_while_it_streams(page, scripted):
    scripted.say("Thinking.", "| n | square |\n|---|---|\n| 3 | 9 |\n\n```js\nlet x = 1;\n",
                 "x += 1;\n```\n\nSo $x^2 = 4$.", hold=True)
    ask(page, "square?")
    _, content = last_reply(page)
    # Mid-stream: the table and the open code block are real HTML; no fence shows as text.
    sync_api.expect(content.locator("pre code")).to_have_text("let x = 1;\n")
    assert content.locator("tr").all_inner_texts() == ["n\tsquare", "3\t9"]
    assert "```" not in content.text_content() and page.locator("#stop").is_visible()
    scripted.release()
    wait_done(page)
    sync_api.expect(content.locator("pre code")).to_have_text("let x = 1;\nx += 1;\n")
    assert tex_sources(content) == ["x^2 = 4"]


@needs_vendor
def test_math_still_open_shows_as_text_until_it_closes(page, scripted):
    scripted.say("Thinking.", "The area is $\\pi r", "^2$.", hold=True)
    ask(page, "area?")
    _, content = last_reply(page)
    sync_api.expect(content).to_have_text("The area is $\\pi r")
    assert content.locator(".katex").count() == 0
    scripted.release()
    wait_done(page)
    assert tex_sources(content) == ["\\pi r^2"]


@needs_vendor
def test_copy_buttons_copy_the_code_and_the_answer(page, scripted):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    scripted.say("Thinking.", "Run:\n\n```sh\necho $HOME\n```\n\nDone.")
    ask(page, "how?")
    wait_done(page)
    reply = page.locator(".msg.assistant").last
    reply.locator(".copy-code").click()
    sync_api.expect(reply.locator(".copy-code")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "echo $HOME\n"
    reply.locator(".copy-answer").click()
    sync_api.expect(reply.locator(".copy-answer")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "Run:\n\n```sh\necho $HOME\n```\n\nDone."


@needs_vendor
def test_regenerate_replaces_the_last_reply(page, scripted):
    scripted.say("First thought.", "First answer.")
    ask(page, "again?")
    wait_done(page)
    scripted.say("Second thought.", "Second answer.")
    with page.expect_request(lambda r: r.url.endswith("/chat/completions")) as request:
        page.locator(".msg.assistant .regenerate").click()
    assert request.value.post_data_json["messages"] == [{"role": "user", "content": "again?"}]
    wait_done(page)
    assert page.locator(".msg.assistant .content").all_inner_texts() == ["Second answer."]
    assert page.locator(".msg.user").count() == 1
    ask(page, "and now?")  # only the last reply offers Regenerate
    wait_done(page)
    assert [b.is_visible() for b in page.locator(".regenerate").all()] == [False, True]


def test_without_the_libraries_replies_are_plain_text(page, server, scripted):
    page.route("**/vendor/**", lambda route: route.fulfill(status=404, body="not vendored"))
    load(page, server)
    scripted.say("Think *here*.", "**Bold** and $x$ and \\boxed{7}.")
    ask(page, "plain?")
    wait_done(page)
    thinking, content = last_reply(page)
    sync_api.expect(content).to_have_text("**Bold** and $x$ and \\boxed{7}.")
    sync_api.expect(thinking).to_have_text("Think *here*.")
    assert page.locator(".msg.assistant strong, .msg.assistant .katex").count() == 0
    assert page.locator(".copy-answer").count() == 1


# ---- safety: what the model writes cannot run script or make the page fetch anything ----------

PAYLOADS = {
    "script": '<script>window.pwned = "script"</script>',
    "img onerror": '<img src=x onerror="window.pwned = \'img\'">',
    "javascript links": "[click](javascript:window.pwned='md') <a href=\"javascript:window.pwned='a'\">a</a> "
                        "<javascript:window.pwned='auto'> [ref][r]\n\n[r]: javascript:window.pwned='ref'",
    "svg": "<svg onload=\"window.pwned='svg'\"><script>window.pwned='svg-script'</script>"
           "<animate onbegin=\"window.pwned='animate'\" attributeName=x dur=1s /></svg>"
           "<math><mtext><table><mglyph><style><img src=x onerror=\"window.pwned='mxss'\">",
    "katex href": "$\\href{javascript:window.pwned='href'}{click}$ \\(\\url{javascript:window.pwned='url'}\\)",
    "katex html": "$\\htmlClass{x\" onmouseover=\"window.pwned='class'}{y}$ $\\htmlData{onclick=window.pwned}{z}$ "
                  "$\\htmlStyle{background:url(http://127.0.0.1:9/leak)}{w}$ $\\htmlId{x}{v}$",
    "images": "![leak](http://127.0.0.1:9/leak.png) $\\includegraphics{http://127.0.0.1:9/leak.png}$ "
              "\\boxed{<img src=x onerror=\"window.pwned='boxed'\">}",
}

# Every element the reply made that could run script or fetch something, were any to get through.
DANGER = """(reply) => [...reply.querySelectorAll("*")].filter((n) =>
    ["SCRIPT", "IMG", "IFRAME", "OBJECT", "EMBED", "STYLE", "FORM", "image", "use"].includes(n.tagName) ||
    [...n.attributes].some((a) => a.name.startsWith("on") || /^\\s*(javascript|data|vbscript):/i.test(a.value)
                                  || (a.name === "style" && /url\\(/i.test(a.value)))
  ).map((n) => n.outerHTML)"""


@needs_vendor
@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_model_written_attacks_do_nothing(page, scripted, server, payload):
    requests, dialogs = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.evaluate("""() => { window.violations = [];
        document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.blockedURI)); }""")
    scripted.say(payload, payload)
    ask(page, "attack")
    wait_done(page)
    reply = page.locator(".msg.assistant").last
    sync_api.expect(reply.locator(".content")).not_to_be_empty()
    assert reply.evaluate(DANGER) == []
    reply.evaluate("""(reply) => { for (const n of reply.querySelectorAll("*")) {  // hover and click it all
        for (const kind of ["mouseover", "focus", "click"]) n.dispatchEvent(new MouseEvent(kind, { bubbles: true }));
        if (n.tagName === "A" && !/^https?:/.test(n.href)) n.click(); } }""")
    page.wait_for_timeout(300)  # let any timer, animation or load event a payload set up fire
    assert page.evaluate("window.pwned") is None and dialogs == []
    # the sanitiser stopped everything itself: the Content-Security-Policy had nothing to block
    assert page.evaluate("window.violations") == []
    assert [u for u in requests if not u.startswith(server.url + "/")] == []


def test_the_page_sends_a_content_security_policy_that_blocks_inline_script(page, server):
    response = httpx.get(server.url + "/")
    assert response.headers["content-security-policy"] == CSP
    page.evaluate("""() => { const s = document.createElement("script");
        s.textContent = "window.pwned = 'inline'"; document.body.append(s); }""")
    assert page.evaluate("window.pwned") is None
