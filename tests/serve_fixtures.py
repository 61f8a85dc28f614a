"""A tiny chat checkpoint for the serving tests: it has learned three short chats by heart.

An untrained model emits gibberish and rarely a `</think>`, so nothing could show that the
thinking and the answer travel in their own channels. Instead the tiny preset is trained
for a few hundred steps on one chat per language (question -> reasoning -> answer): greedy
decoding then reproduces `<think>\\n{reasoning}\\n</think>\\n\\n{answer}<eos>` for those
questions, and the tests can check real text in both channels. Built once per test session
(about 4 s on one core). `LiveServer` runs the real uvicorn server on a free port. and shared through the session's temporary directory.
"""

from __future__ import annotations

import fcntl
import json
import socket
import threading
import time
from pathlib import Path

import torch

CHATS = {
    "en": ("Hello, who are you?", "The user greets me. I say hello.", "Hello! I am nanoseek."),
    "es": ("Hola, ¿quién eres?", "El usuario me saluda. Respondo.", "¡Hola! Soy nanoseek."),
    "zh": ("你好，你是谁？", "用户在打招呼。我来回答。", "你好！我是nanoseek。"),
}
STEPS = 120


def conversations() -> list[list[dict]]:
    """One exchange per language, plus es -> en and es -> en -> zh conversations so later turns
    answer the same way (earlier turns lose their reasoning, as the template renders them)."""
    def chat(*langs: str) -> list[dict]:
        turns = []
        for lang in langs:
            q, r, a = CHATS[lang]
            turns += [{"role": "user", "content": q}, {"role": "assistant", "content": a, "reasoning_content": r}]
        return turns

    return [chat("en"), chat("es"), chat("zh"), chat("es", "en"), chat("es", "en", "zh")]


def chat_checkpoint(root: Path) -> Path:
    """The trained checkpoint directory under `root` (built on first use, then reused)."""
    directory = root / "chat-checkpoint"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "chat-checkpoint.lock", "w") as lock:  # pytest-xdist workers share basetemp's parent
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / "model.safetensors").exists():
            _build(directory)
    return directory


def _build(directory: Path) -> None:
    from nanoseek import Transformer
    from nanoseek.config import preset
    from nanoseek.model.loss import IGNORE_INDEX
    from nanoseek.tokenizer import render_chat, train_tokenizer

    chats = conversations()
    texts = [render_chat(c) for c in chats] * 4
    tokenizer = train_tokenizer(texts, vocab_size=512)
    torch.manual_seed(0)
    model = Transformer(preset("tiny").replace(vocab_size=tokenizer.vocab_size))
    rows = [tokenizer.encode_chat(c) for c in chats]
    width = max(len(ids) for ids, _ in rows)
    inputs = torch.full((len(rows), width), tokenizer.pad_id)
    labels = torch.full((len(rows), width), IGNORE_INDEX)
    for i, (ids, mask) in enumerate(rows):
        inputs[i, : len(ids)] = torch.tensor(ids)
        targets = [t if m else IGNORE_INDEX for t, m in zip(ids[1:], mask[1:])]
        labels[i, : len(targets)] = torch.tensor(targets)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and immune to a busy machine
    try:
        model.train()
        for _ in range(STEPS):
            loss = model(inputs, labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    tmp = directory.with_name(directory.name + ".tmp")
    model.save_pretrained(tmp)
    tokenizer.save(tmp)
    # This checkpoint asks for greedy decoding by default, so every client (the web page
    # too) gets the learned reply without sending a temperature.
    generation = json.loads((tmp / "generation_config.json").read_text())
    generation.update(do_sample=False, temperature=0.0, top_p=1.0)
    (tmp / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    tmp.rename(directory)


class LiveServer:
    """The real server (uvicorn) on a free localhost port, in a background thread.

        with LiveServer(ChatModel.load(ckpt, max_slots=4)) as server:
            httpx.get(server.url + "/health")
    """

    def __init__(self, model, **app_kwargs) -> None:
        from nanoseek.serve import create_app

        self.model = model
        self.app = create_app(model, **app_kwargs)

    def __enter__(self) -> "LiveServer":
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # the OS picks a free port; no race with other tests
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.model.close()

    def wait_idle(self, timeout: float = 10.0) -> dict:
        """Wait until no request is in flight and every engine slot is free; returns /health."""
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            health = httpx.get(self.url + "/health").json()
            if health["in_flight"] == 0 and health["free_slots"] == health["slots"]:
                return health
            if time.monotonic() > deadline:
                raise AssertionError(f"server still busy: {health}")
            time.sleep(0.02)


class EngineGate:
    """Holds a live engine's thread before its next step while closed, so a test can make sure
    a request is still running when it disconnects (a tiny model otherwise finishes first)."""

    def __init__(self, engine, monkeypatch) -> None:
        self._open = threading.Event()
        self._open.set()
        step = engine.step
        monkeypatch.setattr(engine, "step", lambda: self._open.wait(30) and step())

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()
