"""Mean and 95% confidence interval over training seeds (Student's t; no scipy needed)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

# Two-sided 95% quantiles t_{0.975, df} for df = 1..30; past 30 the normal 1.96 is within 4%.
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    if df < 1:
        raise ValueError(f"a t interval needs at least 2 values (df={df})")
    return T_975[df - 1] if df <= len(T_975) else 1.96


@dataclass(frozen=True)
class MeanCI:
    """``mean`` of ``n`` values and its 95% interval ``[low, high]`` (equal to the mean when n = 1)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_ci(values: list[float]) -> MeanCI:
    """Mean and 95% t interval: mean ± t_{0.975, n-1} * s / sqrt(n), s the sample std (n - 1)."""
    if not values:
        raise ValueError("mean_ci needs at least one value")
    mean = statistics.fmean(values)
    if len(values) == 1:
        return MeanCI(mean, mean, mean, 1)
    half = t_quantile_975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return MeanCI(mean, mean - half, mean + half, len(values))


def format_percent_ci(ci: MeanCI) -> str:
    """``97% [94, 100]`` (the interval clipped to 0-100 %, as success rates cannot leave it)."""
    if ci.n == 1:
        return f"{ci.mean:.0%}"
    low, high = max(0.0, ci.low), min(1.0, ci.high)
    return f"{ci.mean:.0%} [{100 * low:.0f}, {100 * high:.0f}]"


def format_value_ci(ci: MeanCI, digits: int = 3) -> str:
    if ci.n == 1:
        return f"{ci.mean:.{digits}f}"
    return f"{ci.mean:.{digits}f} [{ci.low:.{digits}f}, {ci.high:.{digits}f}]"
