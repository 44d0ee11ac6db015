"""The exact solver against the paper's definition applied literally (a brute force)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import brute_force, least_backward_weight

from torch_orderedness.metric import ordering
from torch_orderedness.metric.exact import (
    DEFAULT_MAX_MEMORY,
    EXACT_MAX_N,
    exact_memory,
    exact_order,
    order_cost,
)


def random_weight(rng: np.random.Generator, o: int, h: int, i: int) -> np.ndarray:
    n = o + h
    kind = rng.integers(5)
    if kind == 0:  # dense normal
        w = rng.standard_normal((n, n + i))
    elif kind == 1:  # sparse
        w = rng.standard_normal((n, n + i)) * (rng.random((n, n + i)) < rng.uniform(0.1, 0.6))
    elif kind == 2:  # few distinct values: many ties
        w = rng.integers(-2, 3, (n, n + i)).astype(np.float64)
    elif kind == 3:  # uniform with whole zero rows and columns
        w = rng.random((n, n + i))
        w[rng.integers(n)] = 0.0
        w[:, rng.integers(n)] = 0.0
    else:  # exact ties of equal magnitude, different signs
        w = rng.choice([-1.0, 0.0, 1.0], (n, n + i))
    if not np.abs(w[:, :n]).any():
        w[0, 0] = 1.0
    return w


def test_brute_force_reference_on_a_hand_computed_case():
    # neuron 2 listens to 1 (weight 3), 1 listens to 2 (weight 1), output 0 hears both.
    W = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
    value, best = brute_force(W, outputs=1)
    assert best == 1.0  # order (0, 2, 1): only the weight 1 flows backward
    assert value == pytest.approx(1.0 - 1.0 / 7.0)


def test_exact_agrees_with_brute_force_on_hundreds_of_matrices():
    rng = np.random.default_rng(20250601)
    for trial in range(400):
        h = int(rng.integers(0, 9)) if trial % 8 == 0 else int(rng.integers(0, 7))
        o = int(rng.integers(0, 4))
        i = int(rng.integers(0, 4))
        if o + h == 0:
            h = 1
        W = random_weight(rng, o, h, i)
        expected, best = brute_force(W, o)
        result = ordering(W, outputs=o, inputs=i, method="exact")
        assert result.exact and result.method == "exact"
        assert result.value == pytest.approx(expected, abs=1e-12), (trial, o, h, i)
        assert result.backward == pytest.approx(best, abs=1e-12)
        assert result.lower == result.value == result.upper
        assert result.permutation[:o] == tuple(range(o))
        assert sorted(result.permutation) == list(range(o + h))
        S = np.abs(W[:, : o + h])
        assert order_cost(S, np.array(result.permutation)) == pytest.approx(best, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 3).flatmap(
        lambda o: st.integers(1 if o == 0 else 0, 6).flatmap(
            lambda h: st.lists(
                st.sampled_from([0.0, 0.0, 1.0, -1.0, 2.0, 0.5, 3.0]),
                min_size=(o + h) ** 2,
                max_size=(o + h) ** 2,
            ).map(lambda v: (o, np.array(v).reshape(o + h, o + h)))
        )
    )
)
def test_exact_agrees_with_brute_force_on_tied_values(case):
    o, W = case
    if not W.any():
        W[0, 0] = 1.0
    expected, _ = brute_force(W, o)
    assert ordering(W, outputs=o, method="exact").value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
def test_exact_order_minimises_the_cost_of_any_square_matrix(n):
    rng = np.random.default_rng(n)
    for _ in range(20 if n < 8 else 4):
        A = rng.standard_normal((n, n))  # any real weights, negative ones included
        perm, cost = exact_order(A)
        assert perm.dtype == np.int64 and sorted(perm.tolist()) == list(range(n))
        best = least_backward_weight(A)
        assert cost == pytest.approx(best, abs=1e-12)
        assert order_cost(A, perm) == cost


def test_exact_order_beyond_the_low_bits_matches_a_plain_subset_dp():
    # n = 13 > 10 low bits: rows of the table (high bits) are exercised too.
    rng = np.random.default_rng(7)
    n = 13
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    np.fill_diagonal(A, 0.0)
    f = np.full(2**n, np.inf)
    f[0] = 0.0
    members = [[j for j in range(n) if t >> j & 1] for t in range(2**n)]
    for t in range(1, 2**n):
        f[t] = min(f[t ^ (1 << v)] + A[v, members[t]].sum() for v in members[t])
    perm, cost = exact_order(A)
    assert cost == pytest.approx(f[-1], abs=1e-12)


def test_exact_order_ignores_the_diagonal():
    rng = np.random.default_rng(3)
    A = rng.random((6, 6))
    B = A.copy()
    np.fill_diagonal(B, 100.0)
    assert exact_order(A)[1] == pytest.approx(exact_order(B)[1], abs=1e-12)


def test_exact_memory_counts_the_tables():
    for n in (0, 1, 10, 20, 24, 28):
        assert 9 * 2**n <= exact_memory(n) <= 9 * 2**n + 64 * 2**20
    assert exact_memory(28) <= DEFAULT_MAX_MEMORY < exact_memory(29)
    with pytest.raises(ValueError, match="n must be"):
        exact_memory(-1)


def test_exact_order_refuses_what_it_cannot_afford():
    with pytest.raises(ValueError, match=f"up to n = {EXACT_MAX_N}"):
        exact_order(np.zeros((EXACT_MAX_N + 1, EXACT_MAX_N + 1)))
    with pytest.raises(MemoryError, match="max_memory"):
        exact_order(np.zeros((29, 29)))  # refused before anything is allocated
    with pytest.raises(MemoryError, match="max_memory"):
        exact_order(np.ones((12, 12)), max_memory=exact_memory(12) - 1)
    perm, cost = exact_order(np.ones((12, 12)), max_memory=exact_memory(12))
    assert cost == 12 * 11 / 2


def test_exact_order_rejects_bad_matrices():
    with pytest.raises(ValueError, match="square"):
        exact_order(np.ones((3, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        exact_order(np.array([[0.0, math.nan], [1.0, 0.0]]))
    with pytest.raises(TypeError, match="real"):
        exact_order(np.ones((2, 2), dtype=complex))
    with pytest.raises(ValueError, match="time_limit"):
        exact_order(np.ones((2, 2)), time_limit=0)


def test_exact_order_time_limit_raises_timeout():
    A = np.random.default_rng(0).random((20, 20))
    with pytest.raises(TimeoutError, match="time_limit"):
        exact_order(A, time_limit=1e-9)
