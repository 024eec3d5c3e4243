"""The statistics behind the report, on the standard library alone.

- :func:`wilson_interval`: a confidence interval for a conversion rate that behaves at
  0 % and 100 % and for small samples (the normal approximation does not).
- :func:`ratio_interval`: a confidence interval for the ratio of two rates (a lift),
  by the log method of Katz et al. (1978), with the Haldane–Anscombe correction for
  zero counts.
- :func:`two_proportion_z_test`: is the difference between two conversion rates more
  than chance? (pooled z-test, two-sided p-value).
- :func:`sample_ratio_test`: were visitors split between variants as planned (equally)?
  A chi-square goodness-of-fit test; a tiny p-value (< 0.001) means the assignment or
  the tracking is broken, and the comparison cannot be trusted.
- :func:`holm`: p-values adjusted for several comparisons at once (Holm 1979).
- :func:`minimum_detectable_effect`: the smallest difference in rates a test of this
  size finds 80 % of the time at α = 0.05 (two-sided).
- :func:`median` and :func:`percentile`: the percentile is linearly interpolated
  between the closest ranks (the "inclusive" method, NumPy's default), so the p90 of
  ``[10, 20]`` is 19.

>>> wilson_interval(12, 100)
(0.0699..., 0.1981...)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "Z80",
    "Z95",
    "chi2_sf",
    "holm",
    "median",
    "minimum_detectable_effect",
    "normal_cdf",
    "percentile",
    "ratio_interval",
    "sample_ratio_test",
    "two_proportion_z_test",
    "wilson_interval",
]

#: The two-sided 95 % quantile of the standard normal distribution.
Z95 = 1.959963984540054
#: The 80 % quantile of the standard normal distribution (power 0.8).
Z80 = 0.8416212335729143


def normal_cdf(x: float) -> float:
    """The standard normal distribution function, Φ(x)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for ``successes / trials``; ``None`` when ``trials`` is 0.

    >>> wilson_interval(0, 10)
    (0.0, 0.2775...)
    """
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio_interval(a: int, n1: int, c: int, n2: int, z: float = Z95) -> tuple[float, float] | None:
    """Katz's log-method interval for the ratio ``(a / n1) / (c / n2)``.

    The standard error of ``ln(ratio)`` is ``sqrt(1/a - 1/n1 + 1/c - 1/n2)``. When ``a``
    or ``c`` is 0 the method has no answer, so 0.5 is added to each cell of the 2×2
    table first (the Haldane–Anscombe correction: ``a + 0.5`` of ``n1 + 1``...): a micro
    conversion that every buyer made, and no one else, then gets a wide but finite
    interval instead of none. ``None`` only when a group is empty.

    >>> ratio_interval(30, 100, 10, 100)
    (1.5508..., 5.8033...)
    >>> ratio_interval(0, 10, 3, 10)       # corrected: 0.5/11 against 3.5/11
    (0.0083..., 2.4521...)
    """
    if n1 <= 0 or n2 <= 0:
        return None
    x1, m1, x2, m2 = float(a), float(n1), float(c), float(n2)
    if a == 0 or c == 0:
        x1, m1, x2, m2 = x1 + 0.5, m1 + 1.0, x2 + 0.5, m2 + 1.0
    ratio = (x1 / m1) / (x2 / m2)
    se = math.sqrt(1.0 / x1 - 1.0 / m1 + 1.0 / x2 - 1.0 / m2)
    return ratio * math.exp(-z * se), ratio * math.exp(z * se)


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """Pooled two-proportion z-test of ``x2/n2`` against ``x1/n1``: ``(z, two-sided p)``.

    ``z`` is positive when the second rate is the higher. ``None`` when a group is
    empty or nobody (or everybody) converted in both: there is no variance to test.

    >>> two_proportion_z_test(100, 1000, 130, 1000)
    (2.1027..., 0.0354...)
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return None
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    # erfc keeps precision for small p-values, where 1 - Φ(|z|) would cancel to 0.
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def median(values: Sequence[float]) -> float | None:
    """The median of sorted ``values``; ``None`` for no values."""
    return percentile(values, 0.5)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0 to 1) of sorted ``values``, interpolated; ``None`` for none.

    >>> percentile([10, 20], 0.9)
    19.0
    """
    n = len(values)
    if n == 0:
        return None
    rank = q * (n - 1)
    low = math.floor(rank)
    high = min(low + 1, n - 1)
    fraction = rank - low
    if fraction == 0.0:
        return float(values[low])
    return values[low] + (values[high] - values[low]) * fraction


def chi2_sf(x: float, df: int) -> float:
    """P(X ≥ x) for a chi-square variable with ``df`` degrees of freedom: the regularised
    upper incomplete gamma function Q(df/2, x/2), by its series below a + 1 and its
    continued fraction above (Numerical Recipes, 6.2).

    >>> round(chi2_sf(3.841458820694124, 1), 6)
    0.05
    """
    if df <= 0:
        raise ValueError("df must be positive")
    if x <= 0:
        return 1.0
    a, z = df / 2.0, x / 2.0
    log_prefix = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1.0:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= z / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = z + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(log_prefix) * h)


def sample_ratio_test(visitors: Sequence[int]) -> tuple[float, float] | None:
    """``(chi-square, p-value)`` of visitors split equally between the variants, or
    ``None`` with fewer than two variants or no visitor.

    >>> round(sample_ratio_test([5000, 5000])[1], 3)
    1.0
    """
    total = sum(visitors)
    if len(visitors) < 2 or total == 0:
        return None
    expected = total / len(visitors)
    statistic = sum((n - expected) ** 2 / expected for n in visitors)
    return statistic, chi2_sf(statistic, len(visitors) - 1)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (same order), capped at 1.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def minimum_detectable_effect(
    rate: float, n1: int, n2: int, z_alpha: float = Z95, z_power: float = Z80
) -> float | None:
    """The smallest absolute difference from ``rate`` (the control's) that a two-sided
    test of ``n1`` and ``n2`` visitors detects with 80 % power at α = 0.05 (normal
    approximation, the control's variance for both); ``None`` without visitors.

    >>> round(minimum_detectable_effect(0.1, 1000, 1000), 4)
    0.0376
    """
    if n1 <= 0 or n2 <= 0:
        return None
    return (z_alpha + z_power) * math.sqrt(rate * (1.0 - rate) * (1.0 / n1 + 1.0 / n2))
