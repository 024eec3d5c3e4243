"""The statistics behind the report, on the standard library alone.

- :func:`wilson_interval`: a confidence interval for a conversion rate that behaves at
  0 % and 100 % and for small samples (the normal approximation does not).
- :func:`ratio_interval`: a confidence interval for the ratio of two rates (a lift),
  by the log method of Katz et al. (1978), with the Haldane–Anscombe correction for
  zero counts.
- :func:`two_proportion_z_test`: is the difference between two conversion rates more
  than chance? (pooled z-test, two-sided p-value).
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
    "Z95",
    "median",
    "normal_cdf",
    "percentile",
    "ratio_interval",
    "two_proportion_z_test",
    "wilson_interval",
]

#: The two-sided 95 % quantile of the standard normal distribution.
Z95 = 1.959963984540054


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
