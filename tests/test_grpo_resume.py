"""Kill a real `nanoseek rl` process mid-run with SIGKILL, resume it, and hold its metrics
equal to an uninterrupted run's (eager, one process, one thread); with today's defaults, and
with the pass-rate window, dynamic sampling and partial credit, whose state resumes too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from nanoseek.data.rewards import RewardWeights
from nanoseek.train.grpo import GRPOConfig, grpo
from nanoseek.train.metrics import read_metrics

STEPS = 16
SMALL = dict(steps=STEPS, prompts_per_step=2, group_size=4, max_new_tokens=8, lr=1e-2, families=("addition",),
             langs=("en", "es"))
ARGS = ["--steps", str(STEPS), "--prompts-per-step", "2", "--group-size", "4", "--max-new-tokens", "8", "--lr", "1e-2",
        "--families", "addition", "--langs", "en,es", "--save-every", "3", "--threads", "1", "--no-eval"]
CLOCKS = ("rollout_s", "update_s", "elapsed")  # wall times: the only numbers a resume may change
SETTINGS = {  # name: (GRPOConfig.preset's overrides beyond SMALL, the CLI options that ask for them)
    "default": ({}, []),
    "edge": ({"reward": RewardWeights(partial=0.5)}, ["--preset", "edge", "--partial-credit", "0.5"]),
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from nanoseek import Transformer
    from nanoseek.config import tiny
    from nanoseek.data.tasks import generate
    from nanoseek.tokenizer import train_tokenizer

    texts = [p.question + p.trace for lang in ("en", "es") for p in generate("addition", 8, seed=0, lang=lang)]
    tokenizer = train_tokenizer(texts, 320)
    torch.manual_seed(0)
    model = Transformer(tiny().replace(vocab_size=tokenizer.vocab_size, eos_token_id=tokenizer.eos_id,
                                       bos_token_id=tokenizer.bos_id))
    path = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(path)
    tokenizer.save(path)
    return path


def _rows(out):
    return [{k: v for k, v in row.items() if k not in CLOCKS} for row in read_metrics(out / "metrics.jsonl")]


@pytest.fixture(scope="module", params=list(SETTINGS))
def reference(request, checkpoint, tmp_path_factory):
    name = request.param
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("ref") / "rl"
        grpo(checkpoint, out, GRPOConfig.preset(name, **SMALL, **SETTINGS[name][0], save_every=0, log_every=0))
    finally:
        torch.set_num_threads(threads)
    return name, _rows(out)


def _wait_for_steps(out, n, proc, timeout=120.0):
    path = out / "metrics.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and sum(1 for line in path.read_text().splitlines() if line) >= n:
            return
        assert proc.poll() is None, f"run ended before step {n}: {proc.communicate()[1][-2000:]}"
        time.sleep(0.01)
    raise TimeoutError(f"no step {n} within {timeout}s")


def test_reference_run_learns_something(reference):
    """Else the comparison below would hold trivially."""
    name, rows = reference
    assert len(rows) == STEPS
    assert any(row["grad_norm"] > 0 for row in rows) and any(row["reward_std"] > 0 for row in rows)
    if name == "edge":  # groups were dropped and refilled, and cells left the window
        assert any(row["sampling_rounds"] > 1 for row in rows)
        assert len({row["in_window"] for row in rows}) > 1


def test_sigkilled_and_resumed_run_equals_uninterrupted(checkpoint, reference, tmp_path):
    name, rows = reference
    out = tmp_path / "rl"
    cli = [sys.executable, "-m", "nanoseek.cli", "rl", "--model", str(checkpoint), "--out", str(out), *ARGS,
           *SETTINGS[name][1]]
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_steps(out, 5, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(read_metrics(out / "metrics.jsonl")) < STEPS, "the run finished before the kill: raise STEPS"
    resumed = subprocess.run([*cli, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _rows(out) == rows  # every step, every number but the clocks
    assert [p.name for p in sorted((out / "checkpoints").iterdir())] == ["step_000015", "step_000016"]
