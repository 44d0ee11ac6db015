"""Measured estimates of the time of large matrix passes, so that time limits hold."""

from __future__ import annotations

import math
import time

import numpy as np

# Matrices at least this large get their bound's cost predicted before it starts, so
# that a time limit holds: below it every bound takes well under a tenth of a second.
_PREDICT_N = 600


def _matmul_seconds(n: int, dtype: type = np.float32) -> float:
    """A measured estimate of one ``(n, n) @ (n, n)`` product's seconds on this machine.

    Times a product of at most ``256 x 256`` (twice, the faster counts) and
    scales it by the ratio of flops; large products run somewhat faster per
    flop, so the estimate errs on the safe side.
    """
    k = min(n, 256)
    x = np.ones((k, k), dtype=dtype)
    best = math.inf
    for _ in range(2):
        t = time.perf_counter()
        x @ x
        best = min(best, time.perf_counter() - t)
    return best * (n / k) ** 3


def _elementwise_seconds(n: int) -> float:
    """A measured estimate of one float64 elementwise pass over an ``(n, n)`` matrix."""
    # large enough not to fit in a cache: the passes it predicts stream from memory
    k = min(n, 1536)
    x = np.ones((k, k))
    t = time.perf_counter()
    np.multiply(x, x, out=x)
    return max(time.perf_counter() - t, 1e-6) * (n / k) ** 2


def _fits(seconds: float, deadline: float | None) -> bool:
    return deadline is None or time.perf_counter() + seconds <= deadline
