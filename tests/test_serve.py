"""The OpenAI/DeepSeek-compatible server, live: uvicorn on a free localhost port, driven by the
official `openai` client and by raw HTTP (httpx). The served checkpoint is a tiny model that
learned three chats (tests/serve_fixtures.py), so exact replies can be checked."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter

import httpx
import openai
import pytest

from nanoseek.serve import ChatModel
from serve_fixtures import CHATS, EngineGate, LiveServer, chat_checkpoint

QUESTION, REASONING, ANSWER = CHATS["en"]
HELLO = [{"role": "user", "content": QUESTION}]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return chat_checkpoint(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def server(checkpoint):
    with LiveServer(ChatModel.load(checkpoint, max_slots=16, max_waiting=64)) as live:
        yield live


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=30)


@pytest.fixture
def name(server):
    return server.model.name


def post(server, path, body, **kwargs):
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(server.url + path, content=content, headers={"Content-Type": "application/json"},
                      timeout=30, **kwargs)


# ---- happy paths --------------------------------------------------------------------------------


def test_health(server):
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok"
    assert health["slots"] == 16 and health["capacity"] == 80


def test_models_lists_the_served_model_with_its_policy(client, name):
    models = client.models.list().data
    assert [m.id for m in models] == [name]
    card = models[0].model_dump()
    assert card["context_length"] == 256
    assert card["policy"]["refusal_rules"] == [] and card["policy"]["system_prompt"] == ""
    assert client.models.retrieve(name).id == name


def test_chat_non_streaming_separates_reasoning_and_answer(client, name):
    r = client.chat.completions.create(model=name, messages=HELLO)
    choice = r.choices[0]
    assert choice.message.reasoning_content == REASONING  # DeepSeek's field, next to content
    assert choice.message.content == ANSWER
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    u = r.usage
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert 0 < u.completion_tokens_details.reasoning_tokens < u.completion_tokens


def test_chat_streaming_sends_reasoning_then_content_then_usage(client, name):
    chunks = list(client.chat.completions.create(model=name, messages=HELLO, stream=True))
    deltas = [c.choices[0].delta for c in chunks]
    assert deltas[0].role == "assistant"
    kinds = ["r" if d.reasoning_content else "c" if d.content else "-" for d in deltas]
    text = "".join(kinds).replace("-", "")
    assert text == "r" * text.count("r") + "c" * text.count("c") and "r" in text and "c" in text
    assert "".join(d.reasoning_content or "" for d in deltas) == REASONING
    assert "".join(d.content or "" for d in deltas) == ANSWER
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage.completion_tokens > 0  # DeepSeek: usage rides on the final chunk
    assert len({c.id for c in chunks}) == 1


def test_stream_options_include_usage_adds_an_openai_usage_chunk(client, name):
    chunks = list(client.chat.completions.create(model=name, messages=HELLO, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].usage is None


def test_sse_wire_format_ends_with_done(server, name):
    r = post(server, "/v1/chat/completions", {"model": name, "messages": HELLO, "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [e for e in r.text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"


def test_other_languages_round_trip_utf8(client, name):
    for lang in ("es", "zh"):
        q, reasoning, answer = CHATS[lang]
        r = client.chat.completions.create(model=name, messages=[{"role": "user", "content": q}])
        assert (r.choices[0].message.reasoning_content, r.choices[0].message.content) == (reasoning, answer)


def test_multi_turn_ignores_earlier_reasoning(client, name):
    es_q, es_r, es_a = CHATS["es"]
    turns = [{"role": "user", "content": es_q}, {"role": "assistant", "content": es_a},
             {"role": "user", "content": QUESTION}]
    plain = client.chat.completions.create(model=name, messages=turns).choices[0].message
    turns[1]["reasoning_content"] = "anything at all"  # dropped by the chat template
    again = client.chat.completions.create(model=name, messages=turns).choices[0].message
    assert plain.content == again.content == ANSWER


def test_stop_string_cuts_the_answer(client, name):
    r = client.chat.completions.create(model=name, messages=HELLO, stop=["nanoseek"])
    assert r.choices[0].message.content == ANSWER.split("nanoseek")[0]  # "Hello! I am "
    assert r.choices[0].finish_reason == "stop"


def test_max_tokens_limits_the_reply(client, name):
    r = client.chat.completions.create(model=name, messages=HELLO, max_tokens=3)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3


def test_sampling_parameters_are_accepted(client, name):
    r = client.chat.completions.create(model=name, messages=HELLO, temperature=1.0, top_p=0.9, seed=3,
                                       presence_penalty=0.5, frequency_penalty=0.5, max_tokens=8,
                                       extra_body={"top_k": 20})
    assert r.choices[0].finish_reason in ("stop", "length")


def test_completions_plain_prompt(client, name):
    r = client.completions.create(model=name, prompt="Hello", max_tokens=6, extra_body={"ignore_eos": True})
    assert r.object == "text_completion" and r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 6 and isinstance(r.choices[0].text, str)
    streamed = list(client.completions.create(model=name, prompt="Hello", max_tokens=6, stream=True,
                                              extra_body={"ignore_eos": True}))
    assert "".join(c.choices[0].text for c in streamed) == r.choices[0].text
    assert streamed[-1].choices[0].finish_reason == "length"


def test_completions_keep_think_tags_in_the_text(client, name, server):
    prompt = server.model.tokenizer.decode(server.model.chat_prompt(HELLO))  # the rendered chat, raw
    r = client.completions.create(model=name, prompt=prompt, max_tokens=40)
    assert r.choices[0].text == f"{REASONING}\n</think>\n\n{ANSWER}"


# ---- errors ---------------------------------------------------------------------------------


def test_openai_client_raises_the_right_exceptions(client, name):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert e.value.code == "model_not_found" and e.value.param == "model"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=name, messages=HELLO, max_tokens=10_000)
    assert e.value.param == "max_tokens" and e.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=name, messages=HELLO, n=2)
    assert e.value.param == "n"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=name, messages=HELLO, tools=[
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])
    assert e.value.param == "tools"


LONG = "word " * 400
BAD_CHAT = [
    ("{not json", 400, None),
    ("[1, 2]", 400, None),
    ({"messages": HELLO}, 400, "model"),
    ({"model": "M"}, 400, "messages"),
    ({"model": "M", "messages": []}, 400, "messages"),
    ({"model": "M", "messages": "hi"}, 400, "messages"),
    ({"model": "M", "messages": [{"role": "robot", "content": "hi"}]}, 400, "messages[0].role"),
    ({"model": "M", "messages": [{"role": "user", "content": 5}]}, 400, "messages[0].content"),
    ({"model": "M", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, 400,
     "messages[0].content[0].type"),
    ({"model": "M", "messages": [{"role": "assistant", "content": "hi"}]}, 400, "messages[0].role"),
    ({"model": "M", "messages": [{"role": "tool", "content": "hi"}, *HELLO]}, 400, "messages[0].role"),
    ({"model": "M", "messages": HELLO, "temperature": "hot"}, 400, "temperature"),
    ({"model": "M", "messages": HELLO, "temperature": 3}, 400, "temperature"),
    ({"model": "M", "messages": HELLO, "top_p": 0}, 400, "top_p"),
    ({"model": "M", "messages": HELLO, "top_k": 2**63}, 400, "top_k"),  # past the vocabulary
    ({"model": "M", "messages": HELLO, "max_tokens": 0}, 400, "max_tokens"),
    ({"model": "M", "messages": HELLO, "max_tokens": "10"}, 400, "max_tokens"),
    ({"model": "M", "messages": HELLO, "max_tokens": 1.5}, 400, "max_tokens"),
    ({"model": "M", "messages": HELLO, "max_tokens": 100_000}, 400, "max_tokens"),
    ({"model": "M", "messages": [{"role": "user", "content": LONG}]}, 400, "messages"),
    ({"model": "M", "messages": HELLO, "stream": "yes"}, 400, "stream"),
    ({"model": "M", "messages": HELLO, "stream_options": {"include_usage": True}}, 400, "stream_options"),
    ({"model": "M", "messages": HELLO, "stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
    ({"model": "M", "messages": HELLO, "n": 3}, 400, "n"),
    ({"model": "M", "messages": HELLO, "logprobs": True}, 400, "logprobs"),
    ({"model": "M", "messages": HELLO, "tool_choice": "required"}, 400, "tool_choice"),
    ({"model": "M", "messages": HELLO, "response_format": {"type": "json_object"}}, 400, "response_format"),
    ({"model": "M", "messages": HELLO, "frobnicate": 1}, 400, "frobnicate"),
    ({"model": "nope", "messages": HELLO}, 404, "model"),
]
BAD_COMPLETION = [
    ({"model": "M"}, 400, "prompt"),
    ({"model": "M", "prompt": ""}, 400, "prompt"),
    ({"model": "M", "prompt": 42}, 400, "prompt"),
    ({"model": "M", "prompt": [10**9]}, 400, "prompt"),
    ({"model": "M", "prompt": ["a", "b"]}, 400, "prompt"),
    ({"model": "M", "prompt": LONG}, 400, "prompt"),
    ({"model": "M", "prompt": "hi", "max_tokens": 1000}, 400, "max_tokens"),
    ({"model": "M", "prompt": "hi", "echo": True}, 400, "echo"),
    ({"model": "M", "prompt": "hi", "top_k": 10**9}, 400, "top_k"),
    ({"model": "M", "prompt": "hi", "best_of": 2}, 400, "best_of"),
    ({"model": "nope", "prompt": "hi"}, 404, "model"),
]


@pytest.mark.parametrize("path, body, status, param",
                         [("/v1/chat/completions", *case) for case in BAD_CHAT]
                         + [("/v1/completions", *case) for case in BAD_COMPLETION],
                         ids=[f"chat-{i}" for i in range(len(BAD_CHAT))] + [f"cmpl-{i}" for i in range(len(BAD_COMPLETION))])
def test_bad_input_is_a_4xx_naming_the_field(server, name, path, body, status, param):
    if isinstance(body, dict) and body.get("model") == "M":
        body = {**body, "model": name}
    r = post(server, path, body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    if param:
        assert param.split("[")[0].split(".")[0] in error["message"]


def test_unknown_routes_and_methods_answer_in_the_error_shape(server):
    r = httpx.get(server.url + "/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    r = httpx.get(server.url + "/v1/chat/completions")
    assert r.status_code == 405 and "error" in r.json()


def test_oversized_body_is_413(server, name):
    r = post(server, "/v1/chat/completions", {"model": name, "messages": [{"role": "user", "content": "x" * (2 << 20)}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_oversized_body_is_refused_while_streaming_in(server, name):
    def chunks():  # no Content-Length: the server has to count as it reads
        yield json.dumps({"model": name, "messages": [{"role": "user", "content": ""}]})[:-3].encode()
        for _ in range(64):
            yield b"x" * (64 << 10)
    r = httpx.post(server.url + "/v1/chat/completions", content=chunks(),
                   headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_prompts_are_tokenized_off_the_event_loop(server, name, monkeypatch):
    tokenizer, threads = server.model.tokenizer, []
    for method in ("encode", "encode_chat"):
        original = getattr(tokenizer, method)
        monkeypatch.setattr(tokenizer, method, lambda *a, _f=original, **k: threads.append(threading.current_thread())
                            or _f(*a, **k))
    assert post(server, "/v1/chat/completions", {"model": name, "messages": HELLO, "max_tokens": 2}).status_code == 200
    assert post(server, "/v1/completions", {"model": name, "prompt": "hi", "max_tokens": 2}).status_code == 200
    assert threads and server.thread not in threads  # uvicorn's loop runs in server.thread


def test_a_prompt_longer_than_the_context_can_hold_is_refused_before_tokenizing(server, name, monkeypatch):
    model, encoded = server.model, []
    assert model.max_prompt_chars == model.max_len * max(map(len, model.tokenizer.backend.get_vocab()))
    for method in ("encode", "encode_chat"):
        monkeypatch.setattr(model.tokenizer, method, lambda *a, **k: encoded.append(a) or [1])
    too_long = "x" * (model.max_prompt_chars + 1)
    for path, body, param in [("/v1/chat/completions", {"messages": [{"role": "user", "content": too_long}]}, "messages"),
                              ("/v1/completions", {"prompt": too_long}, "prompt")]:
        r = post(server, path, {"model": name, **body})
        error = r.json()["error"]
        assert (r.status_code, error["code"], error["param"]) == (400, "context_length_exceeded", param)
        assert f"({model.max_prompt_chars})" in error["message"]
    assert encoded == []


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_json_routes_take_only_json(server, name, content_type):
    body = json.dumps({"model": name, "messages": HELLO, "max_tokens": 2})
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/v1/chat/completions", "/v1/completions"):
        r = httpx.post(server.url + path, content=body, headers=headers, timeout=30)
        assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = httpx.post(server.url + "/v1/chat/completions", content=body,
                   headers={"Content-Type": "application/json; charset=utf-8"}, timeout=30)
    assert r.status_code == 200


def test_a_client_that_leaves_mid_upload_is_one_log_line(server, caplog):
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    with caplog.at_level("INFO", logger="nanoseek"):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"model\": ")
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while not [r for r in caplog.records if "left while sending" in r.getMessage()]:
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)
    ours = [r for r in caplog.records if r.name.startswith("nanoseek")]
    assert len(ours) == 1 and ours[0].levelname == "INFO" and not ours[0].exc_info
    assert httpx.get(server.url + "/health").json()["status"] == "ok"


def test_web_pages_on_other_sites_cannot_drive_the_server(checkpoint):
    from nanoseek.serve.api import loopback_names

    app = "https://app.example"
    with LiveServer(ChatModel.load(checkpoint, max_slots=2), hosts=loopback_names("127.0.0.1"),
                    origins=[app]) as live:
        port = live.url.rpartition(":")[2]
        body = {"model": live.model.name, "messages": HELLO, "max_tokens": 2}

        def chat(**headers):
            return httpx.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)

        # a page whose own name was rebound to 127.0.0.1 (its name comes as Host), a page on another site
        for headers, code in (({"Host": f"evil.example:{port}"}, "host_not_allowed"),
                              ({"Origin": "https://evil.example"}, "origin_not_allowed"),
                              ({"Origin": "null"}, "origin_not_allowed")):
            r = chat(**headers)
            assert r.status_code == 403 and r.json()["error"]["code"] == code, (headers, r.text)
        assert httpx.get(live.url + "/", headers={"Host": "evil.example"}).status_code == 403
        # the server's own web chat (either loopback name), scripts (no Origin) and the allowed site
        for headers in ({"Origin": live.url}, {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"},
                        {}, {"Origin": app}):
            assert chat(**headers).status_code == 200, headers
        assert chat(Origin=app).headers["access-control-allow-origin"] == app
        preflight = httpx.options(live.url + "/v1/chat/completions", headers={
            "Origin": app, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == app
        assert live.wait_idle()["in_flight"] == 0


def test_a_server_on_a_network_interface_answers_to_any_host_name():
    from nanoseek.serve.api import loopback_names

    assert loopback_names("0.0.0.0") is None and loopback_names("192.168.1.5") is None
    assert loopback_names("127.0.0.2") == ("localhost", "127.0.0.1", "[::1]", "127.0.0.2")
    assert loopback_names("localhost") == loopback_names("::1") == ("localhost", "127.0.0.1", "[::1]")


# ---- many clients, disconnects, capacity, keys ------------------------------------------------


def test_64_concurrent_streaming_clients_all_complete(server, name):
    async def one(client: httpx.AsyncClient, i: int) -> tuple[str, str]:
        q, reasoning, answer = list(CHATS.values())[i % 3]
        body = {"model": name, "messages": [{"role": "user", "content": q}], "stream": True}
        content, finish = "", None
        async with client.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    choice = json.loads(line[6:])["choices"][0]
                    content += choice["delta"].get("content") or ""
                    finish = choice["finish_reason"] or finish
        return content, finish, answer

    async def main():
        async with httpx.AsyncClient(base_url=server.url, timeout=60,
                                     limits=httpx.Limits(max_connections=64)) as client:
            return await asyncio.gather(*(one(client, i) for i in range(64)))

    results = asyncio.run(main())
    assert len(results) == 64
    assert all(finish == "stop" and content == answer for content, finish, answer in results)
    server.wait_idle()


@pytest.fixture
def small_server(checkpoint):
    """One slot and no waiting line: capacity 1."""
    with LiveServer(ChatModel.load(checkpoint, max_slots=1, max_waiting=0)) as live:
        yield live


LONG_STREAM = {"messages": HELLO, "stream": True, "max_tokens": 200, "ignore_eos": True}


def test_disconnect_mid_stream_cancels_and_frees_the_slot(small_server, monkeypatch):
    server, engine = small_server, small_server.model.engine.engine
    gate = EngineGate(engine, monkeypatch)
    body = {"model": server.model.name, **LONG_STREAM}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            lines = r.iter_lines()
            for _ in range(3):  # the role chunk and the first tokens arrive
                next(lines)
            gate.close()  # hold the engine so the request is surely running when we hang up
            assert server.model.stats()["in_flight"] == 1
        # leaving the `with` closes the connection mid-stream
        wait_for(lambda: server.model.stats()["in_flight"] == 0)  # the server saw it at once
    gate.open()
    server.wait_idle(timeout=5)  # and the engine cancelled it: slot free, nothing unfinished
    generated = engine.stats["generated"]
    assert generated < 20  # far from the 200 asked
    time.sleep(0.1)
    assert engine.stats["generated"] == generated and not engine.has_unfinished()
    r = post(server, "/v1/chat/completions", {"model": server.model.name, "messages": HELLO})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == ANSWER


def test_beyond_capacity_is_429_with_retry_after(small_server, monkeypatch):
    server = small_server
    name = server.model.name
    gate = EngineGate(server.model.engine.engine, monkeypatch)
    gate.close()  # the first request stays in flight as long as the test needs
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(model=name, messages=HELLO, stream=True, max_tokens=200)
    try:
        assert server.model.stats()["in_flight"] == 1  # it holds the only place
        r = post(server, "/v1/chat/completions", {"model": name, "messages": HELLO})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
        with pytest.raises(openai.RateLimitError):
            client.completions.create(model=name, prompt="hi")
    finally:
        stream.close()
        gate.open()
    server.wait_idle(timeout=5)
    assert post(server, "/v1/completions", {"model": name, "prompt": "hi", "max_tokens": 2}).status_code == 200


def test_non_streaming_disconnect_cancels_too(small_server, monkeypatch):
    server, engine = small_server, small_server.model.engine.engine
    gate = EngineGate(engine, monkeypatch)
    gate.close()
    body = {"model": server.model.name, "messages": HELLO, "max_tokens": 200, "ignore_eos": True}
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and hangs up before the reply
        httpx.post(server.url + "/v1/chat/completions", json=body, timeout=httpx.Timeout(30, read=0.2))
    wait_for(lambda: server.model.stats()["in_flight"] == 0)
    gate.open()
    server.wait_idle(timeout=5)
    assert engine.stats["generated"] <= 2


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_engine_failure_is_a_500_and_a_stopped_engine_a_503(checkpoint, monkeypatch):
    from nanoseek.inference.async_engine import MAX_FAILED_STEPS

    with LiveServer(ChatModel.load(checkpoint, max_slots=2)) as server:
        def broken(*args, **kwargs):
            raise RuntimeError("injected decode failure")

        monkeypatch.setattr(server.model.engine.engine.runner, "decode", broken)
        body = {"model": server.model.name, "messages": HELLO}
        r = post(server, "/v1/chat/completions", body)  # failed step 1
        assert r.status_code == 500 and r.json()["error"]["code"] == "engine_error"
        with httpx.stream("POST", server.url + "/v1/chat/completions", json={**body, "stream": True}, timeout=30) as r:
            lines = [line for line in r.iter_lines() if line]  # failed step 2
        assert r.status_code == 200 and json.loads(lines[-1].removeprefix("data: "))["error"]["code"] == "engine_error"
        assert "data: [DONE]" not in lines
        assert server.model.alive  # still taking requests after a failure
        for _ in range(MAX_FAILED_STEPS - 2):
            assert post(server, "/v1/completions", {"model": server.model.name, "prompt": "hi"}).status_code == 500
        wait_for(lambda: not server.model.alive)
        assert httpx.get(server.url + "/health").status_code == 503
        r = post(server, "/v1/chat/completions", body)
        assert r.status_code == 503 and r.json()["error"]["code"] == "engine_stopped"


def test_a_failed_compile_falls_back_to_eager_decoding(checkpoint, monkeypatch, caplog):
    from nanoseek.inference import Engine

    def no_compiler(self):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(Engine, "warm_up", no_compiler)
    model = ChatModel.load(checkpoint, max_slots=2, compile=True)
    try:
        runner = model.engine.engine.runner
        assert runner._decode == runner._decode_eager
        assert "could not compile the decode steps (no C++ compiler)" in caplog.text
        reply = model.engine.generate([model.chat_prompt(HELLO)], model.sampling(max_tokens=64))[0]
        assert reply.finish_reason == "stop"
    finally:
        model.close()


def test_api_key_is_required_when_set(checkpoint):
    with LiveServer(ChatModel.load(checkpoint, max_slots=2), api_key="sekrit") as server:
        name = server.model.name
        bad = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.models.list()
        with pytest.raises(openai.AuthenticationError):
            bad.chat.completions.create(model=name, messages=HELLO)
        assert httpx.post(server.url + "/v1/completions", json={"model": name, "prompt": "x"}).status_code == 401
        good = openai.OpenAI(base_url=server.url + "/v1", api_key="sekrit", max_retries=0)
        assert good.chat.completions.create(model=name, messages=HELLO).choices[0].message.content == ANSWER
        assert httpx.get(server.url + "/health").status_code == 200  # open: load balancers probe it
        assert httpx.get(server.url + "/").status_code == 200  # the page asks for the key itself


# ---- the command ----------------------------------------------------------------------------------


def test_nanoseek_serve_command(checkpoint, tmp_path):
    import signal
    import socket
    import subprocess
    import sys

    policy = tmp_path / "policy.toml"
    policy.write_text('[[refuse]]\ntopic = "weapons"\nkeywords = ["explosive"]\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "nanoseek.cli", "serve", "--model", str(checkpoint), "--port", str(port),
           "--api-key", "k", "--policy", str(policy), "--max-slots", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # A hang guard, not a speed check: the default compiles the decode steps first, which
        # takes over a minute on a 2-core CPU without AVX-512 and a cold compile cache.
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 240
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        card = client.models.list().data[0]
        assert card.id == checkpoint.name and card.model_dump()["policy"]["source"] == "policy.toml"
        r = client.chat.completions.create(model=card.id, messages=HELLO)
        assert (r.choices[0].message.reasoning_content, r.choices[0].message.content) == (REASONING, ANSWER)
        assert httpx.get(url + "/", headers={"Host": "rebound.example"}).status_code == 403  # loopback names only
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean shutdown
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/" in out and "API key required" in out
    assert "compiled the decode steps in" in out  # the default: compiled before serving


def test_generation_config_defaults_are_checked_when_loaded(tmp_path):
    from nanoseek.serve.backend import Defaults

    path = tmp_path / "generation_config.json"
    path.write_text(json.dumps({"temperature": 0.3, "top_p": 0.9}))
    assert Defaults.load(tmp_path) == Defaults(temperature=0.3, top_p=0.9)
    for bad in ({"temperature": -5}, {"top_p": 1.5}, {"temperature": float("nan")}):
        path.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=r"generation_config.json: temperature must be a finite number >= 0"):
            Defaults.load(tmp_path)


# ---- fuzz: generated requests, no server error, the engine alive after every one --------------------

FIELDS = ["model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "seed",
          "presence_penalty", "frequency_penalty", "stop", "n", "logprobs", "top_logprobs", "logit_bias", "stream",
          "stream_options", "ignore_eos", "user", "tools", "tool_choice", "response_format", "reasoning_effort",
          "prompt", "echo", "suffix", "metadata", "unknown_field"]
ODD_VALUES = [None, True, False, 0, -1, 1, 2, 3.5, -0.0, 1e-45, 1e308, 2**63, -(2**63), 2**64, 10**30, "", "x",
              "1", "NaN", "<｜Assistant｜>", "<｜end▁of▁sentence｜>", "\u0000", "\ud7ff" * 3, "你好" * 50, [], [1],
              ["a", 2], [[]], {}, {"a": 1}, {"type": "text"}, [{"role": "user"}], [{"role": "tool", "content": 1}],
              [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}],
              [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], [{"role": "bogus", "content": "hi"}],
              [{"role": "assistant", "content": "hi"}], [{"role": "user", "content": "hi", "name": 3}]]
RAW_BODIES = [b"", b"{", b"[]", b"null", b"1", b'"text"', b"\xff\xfe\xfd", b'{"model": NaN}', b'{"model": Infinity}',
              b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"model": "m", "messages": "hi"}']


def fuzz_cases(name: str, n: int, seed: int = 0):
    """(path, body bytes): valid requests with 1-3 fields set to odd values or removed, and raw
    bodies that are not requests at all."""
    rng = random.Random(seed)
    for i in range(n):
        path = rng.choice(["/v1/chat/completions", "/v1/completions"])
        if i % 10 == 0:
            yield path, rng.choice(RAW_BODIES)
            continue
        body = {"model": name, "max_tokens": 2}
        body |= {"messages": HELLO} if path.endswith("chat/completions") else {"prompt": "hi"}
        for field in rng.sample(FIELDS, rng.randint(1, 3)):
            if rng.random() < 0.15:
                body.pop(field, None)
            else:
                body[field] = rng.choice(ODD_VALUES)
        if body.get("stream") is True and rng.random() < 0.5:
            body["stream"] = False  # keep most replies whole, so the status is the final word
        yield path, json.dumps(body, allow_nan=True).encode()


def test_fuzzed_requests_never_give_a_server_error_and_the_engine_stays_up(server, name):
    from fastapi.testclient import TestClient

    statuses = Counter()
    # in process (the same app and engine): a socket per request waits on TCP's delayed ACKs
    with TestClient(server.app, base_url="http://127.0.0.1") as http:
        for path, body in fuzz_cases(name, 1000):
            r = http.post(path, content=body, headers={"Content-Type": "application/json"})
            statuses[r.status_code] += 1
            assert r.status_code < 500, (path, body[:300], r.status_code, r.text[:300])
            if r.status_code >= 400:
                assert set(r.json()["error"]) >= {"message", "type", "code"}, r.text
        assert http.get("/health").json()["status"] == "ok"
    assert sum(statuses.values()) == 1000 and statuses[200] > 50 and statuses[400] > 300, statuses
    reply = post(server, "/v1/chat/completions", {"model": name, "messages": HELLO}).json()
    assert reply["choices"][0]["message"]["content"] == ANSWER
    assert server.wait_idle()["in_flight"] == 0
