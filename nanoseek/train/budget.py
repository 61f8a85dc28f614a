"""Wall-time budgets: how many optimizer steps of a run fit in `TrainConfig.max_seconds`.

A run with a budget measures its own speed and plans its step count from it, so a slower
machine trains fewer steps and still ends with its schedule's decay (a run merely cut off at
the budget would end at the peak learning rate). The trainer revises the plan after every
step until the first step whose learning rate, or whether MTP is in the loss, depends on the
total (`Schedule.fixed_prefix`): WSD's decay start, cosine's end of warmup; a constant
schedule never depends on it, so such a run (GRPO) is re-planned to the end and stops before
the step that would pass the budget. Time counts over resumes (checkpoints carry it).
"""

from __future__ import annotations

import math
import time


def now() -> float:
    """The budget's clock (tests replace it to make a run's timing exact)."""
    return time.perf_counter()


def planned_steps(max_steps: int, done: int, seconds_left: float, seconds_per_step: float,
                  mtp_start: float = 0.0, mtp_cost: float = 1.0) -> int:
    """The run's step count: the `done` steps plus what `seconds_left` buys at
    `seconds_per_step`, within [done, max_steps]. With `mtp_start` > 0, steps from that share of
    the total on cost `mtp_cost` times as much (MTP joins the loss there, not yet measured):

        (mtp_start * N - done) + mtp_cost * (1 - mtp_start) * N  <=  seconds_left / seconds_per_step
    """
    if seconds_per_step <= 0:
        return max_steps
    affordable = max(0.0, seconds_left) / seconds_per_step + done
    cost = mtp_start + mtp_cost * (1.0 - mtp_start) if mtp_start > 0 else 1.0  # mean, in measured steps
    total = math.floor(affordable / cost)
    return max(done, min(max_steps, total))
