"""What a run shows while it trains: a progress bar, one JSONL line per step, a summary.

JSONL fields per optimizer step (rank 0 writes them):
  step, loss, ce, mtp, balance      the objective and its parts (mean over the global batch)
  lr, grad_norm                     grad norm before clipping
  tokens, tokens_per_s, mfu         tokens in the step; throughput; model FLOPs utilisation
                                    against the GEMM peak measured at start-up in the precision
                                    the matmuls run in
  mfu_fp32                          the same against the fp32 peak
  elapsed, skipped                  seconds since start; true when a NaN/inf skipped the update
  expert_imbalance                  per MoE layer: max / mean expert load over the step
  router_bias_min/max               per MoE layer: range of the correction biases
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch


@dataclass
class StepMetrics:
    step: int
    loss: float
    ce: float
    mtp: float
    balance: float
    lr: float
    grad_norm: float
    tokens: int
    tokens_per_s: float
    mfu: float  # against the peak of the precision the matmuls run in (TrainConfig.precision)
    mfu_fp32: float  # against the fp32 peak, comparable across precisions
    elapsed: float
    skipped: bool = False
    expert_imbalance: list[float] = field(default_factory=list)
    router_bias_min: list[float] = field(default_factory=list)
    router_bias_max: list[float] = field(default_factory=list)

    def row(self) -> dict:
        """The step's metrics.jsonl line."""
        return asdict(self)

    def describe(self) -> str:
        """The step's numbers on the progress display."""
        return f"loss {self.loss:.4f}  lr {self.lr:.2e}  {self.tokens_per_s:,.0f} tok/s  MFU {self.mfu:.1%}"


def measure_peak_flops(device: torch.device, dtype: torch.dtype = torch.float32, n: int = 2048,
                       reps: int = 3) -> float:
    """FLOP/s of an n x n matmul in `dtype` on `device` (best of `reps`): the roof MFU is taken
    against. Measured rather than looked up: 2 shared cores vary more than any data sheet, and
    a CPU's bf16 roof depends on units (AVX512-BF16, AMX) that no dtype name tells."""
    if dtype == torch.int8:  # int8 x int8 -> int32 (VNNI on CPUs); FLOPs count as OPs
        a = torch.randint(-127, 128, (n, n), device=device, dtype=dtype)
        b = torch.randint(-127, 128, (n, n), device=device, dtype=dtype)
        matmul = torch._int_mm
    else:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        matmul = torch.matmul
    matmul(a, b)  # warm-up
    best = float("inf")
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        matmul(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def expert_stats(loads: torch.Tensor, biases: list[torch.Tensor]) -> dict[str, list[float]]:
    """loads [L, E] tokens per expert over the step (all ranks) -> imbalance and bias ranges."""
    mean = loads.float().mean(-1).clamp_min(1e-9)
    return {
        "expert_imbalance": [round(v, 4) for v in (loads.float().amax(-1) / mean).tolist()],
        "router_bias_min": [round(float(b.min()), 6) for b in biases],
        "router_bias_max": [round(float(b.max()), 6) for b in biases],
    }


class MetricsLog:
    """metrics.jsonl, appended one line per step and flushed, so a kill loses no logged step.
    A step's metrics are any object with `step` and `row()` (StepMetrics, GRPO's RLStepMetrics)."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = path
        if resume_step is None:
            path.write_text("")
        else:  # drop the steps a killed run logged after its last checkpoint: they are redone
            kept = [row for row in read_metrics(path) if row["step"] <= resume_step]
            path.write_text("".join(json.dumps(row) + "\n" for row in kept))
        self.file = open(path, "a", encoding="utf-8")

    def write(self, m: StepMetrics) -> None:
        self.file.write(json.dumps(m.row()) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_metrics(path: str | Path) -> list[dict]:
    """The logged steps. A last line cut short by a kill mid-write is left out; a bad line
    before it means the file was damaged otherwise, and raises ValueError naming it."""
    lines = _lines(Path(path))
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i < len(lines) - 1:
                raise ValueError(f"{path}: line {i + 1} is not JSON ({e})") from None
    return rows


class ProgressDisplay:
    """A rich progress bar (the step's `describe()`: loss, tok/s, MFU for training; reward,
    KL, ... for GRPO) with its ETA on a terminal; plain lines every `log_every` steps otherwise
    (CI logs, pipes), so nothing floods a file; none when `log_every` is 0."""

    def __init__(self, total: int, start: int, enabled: bool | None, log_every: int = 10):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.total, self.start, self.log_every = total, start, log_every
        self.t0 = time.perf_counter()
        self.bar = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[text]}", markup=False),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False,
            )
            self.task = self.bar.add_task("train", total=total, completed=start, text="")
            self.bar.start()

    def update(self, m: StepMetrics, total: int | None = None) -> None:
        """Show step `m`; `total` revises the run's step count (a time budget's plan)."""
        self.total = total or self.total
        if self.bar is not None:
            self.bar.update(self.task, completed=m.step, total=self.total, text=m.describe())
        elif self.log_every and (m.step % self.log_every == 0 or m.step == self.total):
            per_step = (time.perf_counter() - self.t0) / max(1, m.step - self.start)
            eta = time.strftime("%H:%M:%S", time.gmtime(per_step * (self.total - m.step)))
            print(f"step {m.step}/{self.total}  {m.describe()}  ETA {eta}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
