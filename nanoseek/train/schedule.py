"""Learning-rate schedules: linear warmup, then WSD (warmup-stable-decay) or cosine.

A schedule is a pure function of the optimizer step, so its whole "state" is the step the
trainer already checkpoints: resuming needs nothing else.

    WSD:     lr rises linearly over `warmup` steps, holds at the peak, and in the last
             `decay_frac` of the run falls linearly to `min_ratio * peak`. DeepSeek-V3 used
             this shape (constant, then decay near the end); so do MiniCPM and nanochat.
    cosine:  after warmup, half a cosine from the peak to `min_ratio * peak` at the last step.
    constant: after warmup, the peak (RL fine-tuning: R1 used a constant 3e-6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("wsd", "cosine", "constant")


@dataclass(frozen=True)
class Schedule:
    kind: str  # one of SCHEDULES
    total_steps: int
    warmup_steps: int = 0
    decay_frac: float = 0.2  # WSD only: share of total_steps spent decaying
    min_ratio: float = 0.0  # final lr as a fraction of the peak

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.kind!r}")

    def fixed_prefix(self) -> float:
        """How many first steps have a multiplier that does not depend on `total_steps` (a
        budget may re-plan the total until then; budget.py): all of a constant schedule's."""
        if self.kind == "constant":
            return math.inf
        return self._decay_start() if self.kind == "wsd" else self.warmup_steps

    def _decay_start(self) -> int:
        """WSD: the first step of the decay."""
        return max(self.warmup_steps, self.total_steps - max(1, round(self.decay_frac * self.total_steps)))

    def __call__(self, step: int) -> float:
        """Multiplier of the peak lr for optimizer step `step` (0-based)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return 1.0
        if self.kind == "wsd":
            decay_start = self._decay_start()
            if step < decay_start:
                return 1.0
            progress = min(1.0, (step + 1 - decay_start) / max(1, self.total_steps - decay_start))
            return 1.0 - (1.0 - self.min_ratio) * progress
        span = max(1, self.total_steps - self.warmup_steps - 1)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
