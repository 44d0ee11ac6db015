"""Tests of the heuristic order for large matrices (torch_orderedness.metric.search)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from oracles import least_cost, literal_cost

from torch_orderedness.metric.search import (
    default_restarts,
    eades_order,
    heuristic_order,
    insertion_search,
)


def matrices(n: int, count: int, seed: int):
    """Dense, sparse, tied and zero-containing nonnegative matrices."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        kind = k % 5
        if kind == 0:
            A = np.abs(rng.standard_normal((n, n)))
        elif kind == 1:
            A = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
        elif kind == 2:
            A = rng.integers(0, 3, (n, n)).astype(float)  # many ties
        elif kind == 3:
            A = np.triu(rng.random((n, n)), 1) + 0.1 * rng.random((n, n))
            p = rng.permutation(n)
            A = A[np.ix_(p, p)]
        else:
            A = rng.random((n, n))
            A[rng.random((n, n)) < 0.5] = 0.0
            A[:, rng.integers(n)] = 0.0  # a source
        yield A


def is_permutation(p, n: int) -> bool:
    p = np.asarray(p)
    return p.dtype.kind == "i" and p.shape == (n,) and sorted(p.tolist()) == list(range(n))


@pytest.mark.parametrize("n", [2, 3, 5, 9, 17, 40])
def test_valid_permutation_and_literal_cost(n):
    for A in matrices(n, 10, seed=n):
        perm, cost = heuristic_order(A, seed=1, restarts=20)
        assert is_permutation(perm, n)
        assert cost == pytest.approx(literal_cost(A, perm), rel=1e-12, abs=1e-12)


def test_never_worse_than_eades():
    for n in [4, 8, 15, 30, 60]:
        for A in matrices(n, 10, seed=100 + n):
            e = eades_order(A)
            assert is_permutation(e, n)
            _, cost = heuristic_order(A, restarts=0)
            assert cost <= literal_cost(A, e) + 1e-9
            _, cost_ils = heuristic_order(A, restarts=10)
            assert cost_ils <= cost + 1e-9


def test_close_to_brute_force_on_small_matrices():
    ratios = []
    for n in [3, 5, 7, 8]:
        for A in matrices(n, 15, seed=200 + n):
            best = least_cost(A)
            _, cost = heuristic_order(A)
            assert cost >= best - 1e-9  # nothing beats the optimum
            ratios.append((cost + 1e-12) / (best + 1e-12))
    ratios = np.array(ratios)
    assert ratios.max() <= 1.10
    assert np.mean(ratios <= 1 + 1e-9) >= 0.9  # optimal in most cases


def test_eades_is_exact_on_acyclic_graphs():
    # a DAG always has a sink and a source: Eades' rules then give a topological order
    rng = np.random.default_rng(3)
    for n in [1, 2, 6, 25]:
        A = np.triu(rng.random((n, n)) * (rng.random((n, n)) < 0.5), 1)
        p = rng.permutation(n)
        A = A[np.ix_(p, p)]
        assert literal_cost(A, eades_order(A)) == 0.0
        perm, cost = heuristic_order(A)
        assert cost == 0.0 and literal_cost(A, perm) == 0.0


def test_eades_rules_by_hand():
    # 0 -> 1 (weight 5), 1 -> 0 (weight 1), 2 -> both: 2 is a source, then 0 has out - in = 4
    A = np.array([[0.0, 5.0, 0.0], [1.0, 0.0, 0.0], [2.0, 3.0, 0.0]])
    assert eades_order(A).tolist() == [2, 0, 1]
    # with no arcs at all every vertex is a sink: index order
    assert eades_order(np.zeros((4, 4))).tolist() == [0, 1, 2, 3]


def test_insertion_search_reaches_a_local_optimum():
    rng = np.random.default_rng(4)
    for n in [5, 12]:
        A = rng.random((n, n))
        perm, cost = insertion_search(A, rng.permutation(n), seed=0)
        assert cost == pytest.approx(literal_cost(A, perm))
        # no single move of one vertex to another place lowers the cost
        for p in range(n):
            for q in range(n):
                trial = list(perm)
                v = trial.pop(p)
                trial.insert(q, v)
                assert literal_cost(A, trial) >= cost - 1e-9


def test_deterministic_for_a_seed():
    A = np.abs(np.random.default_rng(5).standard_normal((50, 50)))
    p1, c1 = heuristic_order(A, seed=7)
    p2, c2 = heuristic_order(A, seed=7)
    assert np.array_equal(p1, p2) and c1 == c2


def test_diagonal_is_ignored_and_tensors_accepted():
    rng = np.random.default_rng(6)
    A = rng.random((20, 20))
    B = A.copy()
    np.fill_diagonal(B, 100.0)
    pa, ca = heuristic_order(A)
    pb, cb = heuristic_order(B)
    assert np.array_equal(pa, pb) and ca == pytest.approx(cb)
    pt, ct = heuristic_order(torch.tensor(A, dtype=torch.float32))
    assert is_permutation(pt, 20)
    assert ct == pytest.approx(literal_cost(A.astype(np.float32).astype(float), pt), rel=1e-6)


def test_time_limit_still_gives_a_valid_order():
    A = np.random.default_rng(8).random((300, 300))
    perm, cost = heuristic_order(A, time_limit=1e-3)
    assert is_permutation(perm, 300)
    assert cost == pytest.approx(literal_cost(A, perm))


def test_default_restarts():
    assert default_restarts(10) == 200
    assert default_restarts(1000) == 20  # 20000 / n up to n = 1000
    assert default_restarts(2000) == 5  # then 2e7 / n^2: O(n^2) each, little gain
    assert default_restarts(10**6) == 0


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.ones((2, 3)), ValueError, "square"),
        (np.ones(3), ValueError, "square"),
        (-np.ones((3, 3)), ValueError, "nonnegative"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), ValueError, "non-finite"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "real numbers"),
    ],
)
def test_bad_matrices(bad, error, match):
    with pytest.raises(error, match=match):
        heuristic_order(bad)
    with pytest.raises(error, match=match):
        eades_order(bad)


def test_bad_options():
    A = np.ones((3, 3))
    with pytest.raises(ValueError, match="time_limit"):
        heuristic_order(A, time_limit=0)
    with pytest.raises(TypeError, match="time_limit"):
        heuristic_order(A, time_limit="1")
    with pytest.raises(ValueError, match="restarts"):
        heuristic_order(A, restarts=-1)
    with pytest.raises(ValueError, match="permutation"):
        insertion_search(A, np.array([0, 0, 1]))


def test_restarts_must_be_a_nonnegative_int():
    A = np.ones((3, 3))
    with pytest.raises(TypeError, match="restarts"):
        heuristic_order(A, restarts=1.5)
    with pytest.raises(ValueError, match="restarts"):
        heuristic_order(A, restarts=-1)
