"""The web chat in a real browser: Playwright drives Debian's `chromium` (Playwright's own
browser download cannot work here) against the live server. The tiny checkpoint learned three
chats, so the thinking panel and the answer can be checked word for word.

Skipped, with the reason, only when /usr/bin/chromium is not installed
(`apt-get install -y --no-install-recommends chromium fonts-noto-cjk`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from nanoseek.serve import ChatModel
from serve_fixtures import CHATS, EngineGate, LiveServer, chat_checkpoint

CHROMIUM = os.environ.get("NANOSEEK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(os.environ.get("NANOSEEK_SCREENSHOT", "/tmp/webchat.png"))
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"Debian's chromium is not installed at {CHROMIUM} "
                                       "(apt-get install -y --no-install-recommends chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"]
TIMEOUT_MS = 15_000


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
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#model")).to_contain_text(server.model.name)  # /v1/models answered
    yield page
    context.close()


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
