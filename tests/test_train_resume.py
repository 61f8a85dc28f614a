"""Kill a real `nanoseek pretrain` process mid-run (SIGTERM: it checkpoints and exits;
SIGKILL: it just dies), resume it, and hold the loss sequence equal to an uninterrupted run's
bit for bit (eager, one process, one thread)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from nanoseek.train import DataConfig, TrainConfig, pretrain
from nanoseek.train.metrics import read_metrics
from train_fixtures import make_shards

STEPS = 40
ARGS = ["--preset", "tiny", "--steps", str(STEPS), "--batch-size", "2", "--seq-len", "32",
        "--lr", "1e-2", "--warmup-steps", "3", "--save-every", "5", "--threads", "1", "--no-progress",
        "--log-every", "1000"]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return make_shards(tmp_path_factory.mktemp("shards"))


@pytest.fixture(scope="module")
def reference(shards, tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainConfig(steps=STEPS, lr=1e-2, warmup_steps=3, save_every=0, progress=False)
        result = pretrain(shards, tmp_path_factory.mktemp("ref") / "run", model_preset="tiny",
                          train_config=config, data=DataConfig(batch_size=2, seq_len=32))
    finally:
        torch.set_num_threads(threads)
    return result.losses


def _start(shards, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "nanoseek.cli", "pretrain", "--data", str(shards),
                             "--out", str(out), *ARGS, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_steps(out, n, proc, timeout=60.0):
    path = out / "metrics.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and sum(1 for line in path.read_text().splitlines() if line) >= n:
            return
        assert proc.poll() is None, f"run ended before step {n}: {proc.communicate()[1][-2000:]}"
        time.sleep(0.01)
    raise TimeoutError(f"no step {n} within {timeout}s")


def _losses(out):
    return [row["loss"] for row in read_metrics(out / "metrics.jsonl")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killed_and_resumed_run_equals_uninterrupted(shards, reference, tmp_path, sig):
    out = tmp_path / "run"
    proc = _start(shards, out)
    _wait_for_steps(out, 8, proc)
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert "interrupted" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    stopped_at = len(_losses(out))
    assert stopped_at < STEPS, "the run finished before the kill: raise STEPS"
    resumed = subprocess.run([sys.executable, "-m", "nanoseek.cli", "pretrain", "--data", str(shards),
                              "--out", str(out), *ARGS, "--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert _losses(out) == reference  # bit-exact, every step
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == list(range(1, STEPS + 1))
