r"""Summary statistics, confidence intervals and significance tests for per-seed numbers.

Everything takes plain sequences of per-seed numbers (one number per seed)
and returns plain floats, so tables can be recomputed from the JSON file.

- :func:`summarize`: mean, sample std (``ddof=1``), standard error and the
  Student-t confidence interval of the mean.
- :func:`inside_ci`: whether a (rounded) reference value lies in an interval.
- :func:`welch_test`: Welch's unequal-variance t-test (as
  ``scipy.stats.ttest_ind(equal_var=False)``), with the degenerate
  zero-variance cases decided instead of returning NaN.
- :func:`welch_from_stats`: the same test from two ``mean, std, n``
  summaries (our seeds against a table's reported numbers).
- :func:`permutation_test`: two-sample (or paired) permutation test of the
  difference of means (:func:`scipy.stats.permutation_test`; exact
  enumeration when affordable).
- :func:`holm`: Holm-Bonferroni adjusted p-values for a family of tests.
- :func:`null_excess_test`: observed values against per-seed samples of a
  null model (e.g. the shuffled-weight null of the orderedness metric).
- :func:`linear_trend`, :func:`slope_difference_test`: least-squares slope
  of per-seed values against a setting (e.g. sparsity), with its interval,
  and whether two slopes differ.

Example::

    >>> s = summarize([0.1, 0.2, 0.3])
    >>> round(s.mean, 3), round(s.std, 3), s.n
    (0.2, 0.1, 3)
    >>> round(welch_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).p_value, 3)
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _st

__all__ = [
    "Summary",
    "TestResult",
    "summarize",
    "mean_ci",
    "inside_ci",
    "welch_test",
    "welch_from_stats",
    "permutation_test",
    "holm",
    "null_excess_test",
    "Trend",
    "linear_trend",
    "slope_difference_test",
]


def _as_sample(x: Sequence[float] | np.ndarray, name: str, minimum: int = 1) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if a.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} value(s), got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has NaN or infinite values")
    return a


def _check_level(level: float) -> float:
    if not (isinstance(level, (int, float)) and 0.0 < level < 1.0):
        raise ValueError(f"level must be a float in (0, 1), got {level!r}")
    return float(level)


@dataclass(frozen=True)
class Summary:
    """Per-seed numbers summarised.

    Attributes:
        n: number of seeds.
        mean: sample mean.
        std: sample standard deviation (``ddof=1``; 0 for ``n = 1``).
        sem: standard error of the mean, ``std / sqrt(n)``.
        ci_low, ci_high: Student-t confidence interval of the mean at ``level``
            (``mean +- t_{n-1} * sem``; the point ``[mean, mean]`` when ``n = 1``
            or all values are equal).
        level: confidence level of the interval.
    """

    n: int
    mean: float
    std: float
    sem: float
    ci_low: float
    ci_high: float
    level: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(x: Sequence[float] | np.ndarray, level: float = 0.95) -> Summary:
    """Mean, sample std and the t confidence interval of the mean of ``x`` (shape ``(n,)``)."""
    a = _as_sample(x, "x")
    level = _check_level(level)
    n = a.size
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if n > 1 else 0.0
    sem = std / math.sqrt(n)
    if n > 1 and sem > 0:
        half = float(_st.t.ppf(0.5 + level / 2.0, n - 1)) * sem
    else:
        half = 0.0
    return Summary(n, mean, std, sem, mean - half, mean + half, level)


def mean_ci(x: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The Student-t ``level`` confidence interval ``(low, high)`` of the mean of ``x``.

    Example::

        >>> low, high = mean_ci([0.0, 1.0])
        >>> round(low, 3), round(high, 3)   # 0.5 -+ 12.706 * 0.5
        (-5.853, 6.853)
    """
    s = summarize(x, level)
    return s.ci_low, s.ci_high


def inside_ci(value: float, low: float, high: float, tolerance: float = 0.0) -> bool:
    """Whether ``value`` lies in ``[low - tolerance, high + tolerance]``.

    ``tolerance`` accounts for the rounding of a reported value: a number the
    paper prints with 3 decimals is only known to ``+- 0.0005``.

    Example::

        >>> inside_ci(0.0, 0.0, 0.0), inside_ci(0.1, 0.2, 0.3), inside_ci(0.1995, 0.2, 0.3, 5e-4)
        (True, False, True)
    """
    if low > high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    return bool(low - tolerance <= value <= high + tolerance)


@dataclass(frozen=True)
class TestResult:
    """A two-sample comparison.

    Attributes:
        statistic: the test statistic (t for Welch; difference of means for a
            permutation test; mean excess for :func:`null_excess_test`).
        p_value: two-sided p-value (one-sided where the function says so).
        difference: ``mean(a) - mean(b)`` (or the mean excess over the null).
        method: name of the test.
    """

    __test__ = False  # not a pytest class

    statistic: float
    p_value: float
    difference: float
    method: str

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def welch_test(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Welch's two-sided t-test of ``mean(a) == mean(b)`` (unequal variances).

    Agrees with ``scipy.stats.ttest_ind(a, b, equal_var=False)`` wherever that
    is defined.  When both samples have zero variance scipy returns NaN; here
    the answer is decided: p = 1 if the means are equal, p = 0 otherwise (the
    samples are then separated without any overlap or noise).

    Example::

        >>> r = welch_test([0.0, 0.0, 0.0], [0.1, 0.1, 0.1])
        >>> r.p_value, round(r.difference, 3)
        (0.0, -0.1)
    """
    x = _as_sample(a, "a", 2)
    y = _as_sample(b, "b", 2)
    diff = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    scale = max(1.0, abs(float(x.mean())), abs(float(y.mean())))
    if math.sqrt(vx + vy) <= 1e-12 * scale:  # constant samples up to float noise
        equal = math.isclose(diff, 0.0, abs_tol=1e-15)
        return TestResult(0.0 if equal else math.copysign(math.inf, diff),
                          1.0 if equal else 0.0, diff, "welch")
    se2 = vx + vy
    t = diff / math.sqrt(se2)
    dof = se2**2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))  # Welch-Satterthwaite
    return TestResult(t, float(2.0 * _st.t.sf(abs(t), dof)), diff, "welch")


def welch_from_stats(
    mean1: float, std1: float, n1: int, mean2: float, std2: float, n2: int
) -> TestResult:
    """Welch's two-sided t-test from summaries (``std`` with ``ddof=1``).

    As ``scipy.stats.ttest_ind_from_stats(..., equal_var=False)``, with the
    zero-variance cases decided as in :func:`welch_test`.  Used to compare our
    per-seed values with a paper's reported ``mean ± std`` over ``n`` seeds,
    which accounts for the paper's own sampling error (a confidence interval
    of ours alone does not).

    Example::

        >>> r = welch_from_stats(0.1, 0.05, 10, 0.1, 0.05, 10)
        >>> r.statistic, r.p_value
        (0.0, 1.0)
    """
    for name, n in (("n1", n1), ("n2", n2)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"{name} must be an int >= 2, got {n!r}")
    for name, sd in (("std1", std1), ("std2", std2)):
        if not (math.isfinite(sd) and sd >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {sd!r}")
    diff = float(mean1 - mean2)
    vx, vy = std1**2 / n1, std2**2 / n2
    scale = max(1.0, abs(mean1), abs(mean2))
    if math.sqrt(vx + vy) <= 1e-12 * scale:
        equal = math.isclose(diff, 0.0, abs_tol=1e-15)
        return TestResult(0.0 if equal else math.copysign(math.inf, diff),
                          1.0 if equal else 0.0, diff, "welch")
    se2 = vx + vy
    t = diff / math.sqrt(se2)
    dof = se2**2 / (vx**2 / (n1 - 1) + vy**2 / (n2 - 1))
    return TestResult(t, float(2.0 * _st.t.sf(abs(t), dof)), diff, "welch")


def _abs_mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.abs(np.mean(x, axis=axis) - np.mean(y, axis=axis))


def _abs_mean_paired_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.abs(np.mean(x - y, axis=axis))


def permutation_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    paired: bool = False,
    n_resamples: int = 20000,
    seed: int | None = 0,
    max_exact: int = 100_000,
) -> TestResult:
    """Two-sided permutation test of the difference of means ``mean(a) - mean(b)``.

    :func:`scipy.stats.permutation_test` on ``|mean(a) - mean(b)|`` (one-sided
    ``"greater"`` on the absolute value: a rearrangement counts when it is at
    least as far from zero as the observed difference).  Unpaired: the pooled
    values are re-split into groups of the original sizes.  Paired (``a[i]``
    and ``b[i]`` from the same seed): each pair's values are swapped or not
    (the sign of ``a[i] - b[i]`` flipped).  The null distribution is
    enumerated exactly when it has at most ``max_exact`` rearrangements
    (``C(n + m, n)`` unpaired, ``2^n`` paired); otherwise ``n_resamples``
    random ones are drawn (from ``numpy.random.default_rng(seed)``) and
    ``p = (1 + hits) / (1 + n_resamples)`` (never 0), scipy's rule.

    Example::

        >>> r = permutation_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
        >>> r.p_value  # exact: 2 of the 20 splits are as extreme
        0.1
    """
    x = _as_sample(a, "a")
    y = _as_sample(b, "b")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if paired:
        if x.size != y.size:
            raise ValueError(f"paired samples need equal sizes, got {x.size} and {y.size}")
        observed = float((x - y).mean())
        count, kind, statistic = 2**x.size, "samples", _abs_mean_paired_difference
    else:
        observed = float(x.mean() - y.mean())
        count, kind, statistic = math.comb(x.size + y.size, x.size), "independent", \
            _abs_mean_difference
    exact = count <= max_exact
    res = _st.permutation_test(
        (x, y), statistic, permutation_type=kind, vectorized=True, alternative="greater",
        n_resamples=np.inf if exact else n_resamples,
        random_state=np.random.default_rng(seed),
    )
    method = ("paired " if paired else "") + ("exact permutation" if exact else "permutation")
    return TestResult(observed, float(min(1.0, res.pvalue)), observed, method)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (same order as given), capped at 1.

    Reject hypothesis ``i`` at family-wise level ``alpha`` iff ``adjusted[i] <= alpha``.
    ``None`` entries (a test that could not be made) are skipped: they stay
    ``None`` and do not count in the family.

    Example::

        >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
        [0.03, 0.06, 0.06]
        >>> holm([0.01, None, 0.5])
        [0.02, None, 0.5]
    """
    index = [i for i, p in enumerate(p_values) if p is not None]
    p = _as_sample([p_values[i] for i in index], "p_values") if index else np.zeros(0)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must lie in [0, 1]")
    m = p.size
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, j in enumerate(np.argsort(p, kind="stable")):
        running = max(running, min(1.0, (m - rank) * float(p[j])))
        adjusted[index[j]] = running
    return adjusted


def null_excess_test(
    observed: Sequence[float], null_samples: Sequence[Sequence[float]] | np.ndarray
) -> TestResult:
    """Are the observed values above what a null model gives for the same seeds?

    Args:
        observed: one value per seed, shape ``(n,)``.
        null_samples: null-model draws per seed, shape ``(n, m)`` (e.g. the
            orderedness of ``m`` shuffled copies of each seed's weight).

    Returns:
        ``difference`` = mean over seeds of ``observed - mean(null)``;
        ``p_value`` = one-sided p of a one-sample t-test that this excess is
        ``> 0`` (for ``n = 1``, the empirical tail ``(1 + #null >= obs) / (1 + m)``);
        ``statistic`` = the t statistic (or the excess for ``n = 1``).

    Example::

        >>> r = null_excess_test([0.9, 0.8, 0.85], [[0.5, 0.6], [0.5, 0.7], [0.6, 0.6]])
        >>> round(r.difference, 3), r.p_value < 0.05
        (0.267, True)
    """
    obs = _as_sample(observed, "observed")
    null = np.asarray(null_samples, dtype=np.float64)
    if null.ndim != 2 or null.shape[0] != obs.size or null.shape[1] < 1:
        raise ValueError(
            f"null_samples must have shape (n, m) with n = {obs.size} and m >= 1, "
            f"got {tuple(null.shape)}"
        )
    if not np.all(np.isfinite(null)):
        raise ValueError("null_samples has NaN or infinite values")
    excess = obs - null.mean(axis=1)
    diff = float(excess.mean())
    if obs.size == 1:
        hits = int(np.count_nonzero(null[0] >= obs[0]))
        return TestResult(diff, (1 + hits) / (1 + null.shape[1]), diff, "null tail")
    sd = excess.std(ddof=1)
    if sd == 0.0:
        p = 0.0 if diff > 0 else 1.0
        return TestResult(math.copysign(math.inf, diff) if diff else 0.0, p, diff, "null t")
    t = diff / (sd / math.sqrt(obs.size))
    p = float(_st.t.sf(t, obs.size - 1))
    return TestResult(float(t), p, diff, "null t")


@dataclass(frozen=True)
class Trend:
    """Least-squares line ``y = intercept + slope * x`` through all (seed, x) points.

    Attributes:
        slope, intercept: the fitted line.
        stderr: standard error of the slope.
        ci_low, ci_high: Student-t ``level`` interval of the slope (``n - 2`` dof).
        p_value: two-sided p of ``slope == 0`` (as ``scipy.stats.linregress``).
        n: number of points.
    """

    slope: float
    intercept: float
    stderr: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def linear_trend(
    x: Sequence[float], y: Sequence[float], level: float = 0.95
) -> Trend:
    """Slope of ``y`` against ``x`` (same length, at least 3 points, 2 distinct ``x``).

    Example::

        >>> t = linear_trend([0, 1, 2, 3], [0.0, 1.1, 1.9, 3.0])
        >>> round(t.slope, 2), t.p_value < 0.01
        (0.98, True)
    """
    xs = _as_sample(x, "x", 3)
    ys = _as_sample(y, "y", 3)
    level = _check_level(level)
    if xs.size != ys.size:
        raise ValueError(f"x and y need equal lengths, got {xs.size} and {ys.size}")
    if np.ptp(xs) == 0:
        raise ValueError("x needs at least two distinct values for a slope")
    res = _st.linregress(xs, ys)
    stderr = float(res.stderr)
    half = float(_st.t.ppf(0.5 + level / 2.0, xs.size - 2)) * stderr
    p = float(res.pvalue)
    if not math.isfinite(p):  # a perfect fit: scipy may return NaN
        p = 0.0 if res.slope != 0 else 1.0
    return Trend(float(res.slope), float(res.intercept), stderr, float(res.slope) - half,
                 float(res.slope) + half, p, int(xs.size))


def slope_difference_test(a: Trend, b: Trend) -> TestResult:
    """Two-sided z-test of ``a.slope == b.slope`` for independent fits.

    ``z = (a.slope - b.slope) / sqrt(a.stderr^2 + b.stderr^2)``.

    Example::

        >>> a = Trend(1.0, 0.0, 0.1, 0.8, 1.2, 0.0, 10)
        >>> b = Trend(0.0, 0.0, 0.1, -0.2, 0.2, 1.0, 10)
        >>> r = slope_difference_test(a, b)
        >>> round(r.statistic, 3), r.p_value < 1e-6
        (7.071, True)
    """
    diff = a.slope - b.slope
    se = math.hypot(a.stderr, b.stderr)
    if se == 0.0:
        equal = diff == 0.0
        return TestResult(0.0 if equal else math.copysign(math.inf, diff),
                          1.0 if equal else 0.0, diff, "slope z")
    z = diff / se
    return TestResult(z, float(2.0 * _st.norm.sf(abs(z))), diff, "slope z")
