"""Tests of the integer program and its LP relaxation (torch_orderedness.metric.ilp)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracles import least_cost, literal_cost

from torch_orderedness.metric.ilp import (
    lp_bound,
    milp_order,
    pair_variables,
    triangle_constraints,
)


def matrices(count: int, seed: int, sizes=(2, 3, 5, 7, 8)):
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = sizes[k % len(sizes)]
        kind = k % 4
        if kind == 0:
            A = np.abs(rng.standard_normal((n, n)))
        elif kind == 1:
            A = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
        elif kind == 2:
            A = rng.integers(0, 3, (n, n)).astype(float)
        else:
            A = np.triu(rng.random((n, n)), 1) + 0.3 * rng.random((n, n))
        yield A


def test_pair_variables_and_triangles_describe_the_orders():
    # for n = 4, exactly the 4! transitive 0/1 vectors satisfy every triangle inequality
    n = 4
    I, J = pair_variables(n)
    assert list(zip(I.tolist(), J.tolist(), strict=True)) == [
        (i, j) for i in range(n) for j in range(i + 1, n)
    ]
    G = triangle_constraints(n).toarray()
    h = np.tile([1.0, 0.0], G.shape[0] // 2)
    orders = set()
    for p in itertools.permutations(range(n)):
        pos = np.argsort(p)
        orders.add(tuple((pos[I] < pos[J]).astype(int).tolist()))
    feasible = set()
    for x in itertools.product([0, 1], repeat=len(I)):
        if (G @ np.array(x, dtype=float) <= h).all():
            feasible.add(x)
    assert feasible == orders and len(orders) == 24


def test_milp_matches_brute_force():
    for A in matrices(30, seed=0):
        best = least_cost(A)
        perm, cost, lower, proven = milp_order(A)
        assert sorted(perm.tolist()) == list(range(A.shape[0]))
        assert cost == pytest.approx(literal_cost(A, perm), abs=1e-12)
        assert cost == pytest.approx(best, rel=1e-9, abs=1e-12)
        assert proven and lower == cost


@pytest.mark.parametrize("seed", [15, 39])
def test_milp_where_the_lp_relaxation_is_fractional(seed):
    # for these matrices the LP with all triangle inequalities has no integral optimum,
    # so the branch and cut stage must finish the proof
    from torch_orderedness.metric.exact import exact_order

    A = np.abs(np.random.default_rng(seed).standard_normal((12, 12)))
    relaxation = lp_bound(A)
    assert relaxation.complete and relaxation.permutation is None
    _, best = exact_order(A)
    assert relaxation.bound < best
    perm, cost, lower, proven = milp_order(A)
    assert proven and cost == pytest.approx(best, rel=1e-12) and lower == cost


def test_milp_time_limit_returns_a_valid_unproven_or_proven_result():
    A = np.abs(np.random.default_rng(2).standard_normal((25, 25)))
    perm, cost, lower, proven = milp_order(A, time_limit=0.05)
    assert sorted(perm.tolist()) == list(range(25))
    assert cost == pytest.approx(literal_cost(A, perm))
    assert lower <= cost


def test_lp_bound_is_a_lower_bound():
    for A in matrices(40, seed=3):
        best = least_cost(A)
        r = lp_bound(A)
        assert r.bound <= best
        if r.permutation is not None:
            assert r.proven
            assert r.cost == pytest.approx(literal_cost(A, r.permutation))
            assert r.cost == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n", [40, 120])
def test_lp_proves_a_shuffled_upper_triangle_with_noise(n):
    rng = np.random.default_rng(n)
    T = np.triu(rng.random((n, n)), 1) + 1e-3 * rng.random((n, n))
    p = rng.permutation(n)
    A = T[np.ix_(p, p)]
    r = lp_bound(A)
    assert r.proven and r.complete
    # the noise is too small to beat the hidden order: the LP returns exactly it
    assert np.array_equal(p[r.permutation], np.arange(n))
    assert r.cost == pytest.approx(literal_cost(A, r.permutation))
    assert r.bound <= r.cost


def test_lp_with_a_seed_order_and_limits():
    rng = np.random.default_rng(5)
    n = 30
    A = np.triu(rng.random((n, n)), 1) + 0.1 * rng.random((n, n))
    seeded = lp_bound(A, order=np.arange(n))
    plain = lp_bound(A)
    assert seeded.bound == pytest.approx(plain.bound, rel=1e-9)
    assert seeded.rounds <= plain.rounds
    short = lp_bound(np.abs(rng.standard_normal((30, 30))), max_rounds=1)
    assert short.rounds == 1 and not short.complete and short.permutation is None


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        milp_order(np.ones((2, 3)))
    with pytest.raises(ValueError, match="nonnegative"):
        lp_bound(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="max_rounds"):
        lp_bound(np.ones((3, 3)), max_rounds=0)
    with pytest.raises(ValueError, match="permutation"):
        lp_bound(np.ones((3, 3)), order=[0, 0, 1])
