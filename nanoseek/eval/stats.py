"""Confidence intervals for the shares an evaluation reports (pass@1, well-formed, ...).

    wilson_interval(32 / 64, 64)    # (0.3809, 0.6191): 32 of 64 right, 95% interval

Wilson's score interval, not the normal approximation p +- z sqrt(p(1-p)/n): it stays inside
[0, 1] and is not zero-width at 0/n or n/n, which small evaluations hit all the time.

A share that is a mean of per-item shares (sampled pass@1 = the mean over k samples of each
problem, language consistency = a per-reply share) gets the same interval with n = the
number of items (problems, prompts), not items x samples: samples of one problem are not
independent trials. That interval is conservative: the variance of a mean of per-item shares
is at most p(1 - p) / n, the variance of n independent trials.
"""

from __future__ import annotations

import math
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)  # 1.95996...: two-sided 95%


def wilson_interval(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (lo, hi) of a share p observed over n items; (nan, nan) when n == 0."""
    if n <= 0 or math.isnan(p):
        return math.nan, math.nan
    z2n = z * z / n
    center = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return max(0.0, center - half), min(1.0, center + half)
