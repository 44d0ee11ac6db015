"""Speed of the exact orderedness metric (pytest-benchmark).

Run::

    .venv/bin/python -m pytest benchmarks/bench_metric_exact.py --benchmark-only

- ``H=6..9``: the subset DP (``ordering(method="exact")``) against the
  paper's definition applied literally (every permutation of the hidden
  neurons, one lower-triangle sum each, as the paper's reference code does).
  Each ``H`` is its own group, so the table's parenthesised factors are the
  speed ratios.
- ``H=10, 16, 20, 24``: the DP alone (targets: 10 ms, 1 s, 30 s; ``H=24`` one
  round, its peak traced memory in ``extra_info``).
- ``H=30``: ``method="auto"`` (search, bound, integer program), one round; what it
  reports is in ``extra_info``.

Weights: O = 1 output, H hidden, I = 2 inputs, iid N(0, 1), fixed seed.
"""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

from torch_orderedness.metric import ordering


def _weight(hidden: int, seed: int = 0) -> np.ndarray:
    n = 1 + hidden
    return np.random.default_rng(seed).standard_normal((n, n + 2))


def literal_brute_force(W: np.ndarray, outputs: int = 1) -> float:
    """Eq. 3 literally: try every order of the hidden neurons (outputs fixed first)."""
    n = W.shape[0]
    S = np.abs(W[:, :n])
    best = np.inf
    for hidden in itertools.permutations(range(outputs, n)):
        p = list(range(outputs)) + list(hidden)
        best = min(best, np.tril(S[np.ix_(p, p)], -1).sum())
    return 1.0 - best / S.sum()


@pytest.mark.parametrize("hidden", [6, 7, 8, 9])
@pytest.mark.parametrize("solver", ["brute_force", "exact_dp"])
def test_exact_vs_brute_force(benchmark, solver, hidden):
    benchmark.group = f"exact vs brute force, H={hidden}"
    W = _weight(hidden)
    if solver == "brute_force":
        rounds = {6: 5, 7: 3, 8: 1, 9: 1}[hidden]
        value = benchmark.pedantic(literal_brute_force, args=(W,), rounds=rounds, iterations=1)
    else:
        value = benchmark(lambda: ordering(W, outputs=1, method="exact").value)
    assert value == pytest.approx(ordering(W, outputs=1, method="exact").value, abs=1e-12)


@pytest.mark.parametrize("hidden", [10, 16, 20, 24])
def test_exact_dp(benchmark, hidden):
    benchmark.group = "exact DP"
    W = _weight(hidden)
    if hidden < 24:
        result = benchmark(ordering, W, outputs=1, method="exact")
    else:
        result = benchmark.pedantic(
            ordering, args=(W,), kwargs={"outputs": 1, "method": "exact"}, rounds=1, iterations=1
        )
        tracemalloc.start()
        ordering(W, outputs=1, method="exact")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        benchmark.extra_info["peak_traced_MiB"] = round(peak / 2**20, 1)
    benchmark.extra_info["value"] = result.value
    assert result.exact


def test_auto_at_h30(benchmark):
    benchmark.group = "auto beyond the DP"
    W = _weight(30)
    result = benchmark.pedantic(ordering, args=(W,), kwargs={"outputs": 1}, rounds=1, iterations=1)
    benchmark.extra_info.update(
        method=result.method, exact=result.exact, value=result.value, upper=result.upper
    )
    assert result.lower <= result.upper
