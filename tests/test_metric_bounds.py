"""Tests of the certified lower bounds (torch_orderedness.metric.bounds)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from oracles import least_cost, literal_cost

from torch_orderedness.metric import bounds
from torch_orderedness.metric.bounds import (
    lower_bound,
    order_bound,
    pairwise_bound,
    triangle_bound,
)
from torch_orderedness.metric.search import heuristic_order


def small_matrices(count: int, seed: int):
    """Random, sparse, tied, zero-containing and near-ordered matrices with n = 2..7."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(2, 8))
        kind = k % 6
        if kind == 0:
            A = np.abs(rng.standard_normal((n, n)))
        elif kind == 1:
            A = rng.random((n, n)) * (rng.random((n, n)) < 0.3)
        elif kind == 2:
            A = rng.integers(0, 3, (n, n)).astype(float)
        elif kind == 3:
            A = np.ones((n, n))
        elif kind == 4:
            A = np.triu(rng.random((n, n)), 1) + 0.2 * rng.random((n, n))
        else:
            A = rng.random((n, n)) ** 4 * 1e3  # a wide range of magnitudes
        yield A


def test_bounds_never_exceed_the_optimum():
    for A in small_matrices(300, seed=0):
        best = least_cost(A)
        pw = pairwise_bound(A)
        tri = triangle_bound(A)
        assert pw <= best + 1e-12 * max(best, 1.0)
        assert pw - 1e-12 * max(best, 1.0) <= tri <= best
        assert lower_bound(A, lp=False) <= best
    for A in small_matrices(60, seed=1):
        best = least_cost(A)
        assert lower_bound(A, lp=True) <= best
        assert lower_bound(A) <= best


def test_order_bound_is_a_lower_bound_for_any_order():
    rng = np.random.default_rng(10)
    for A in small_matrices(200, seed=11):
        best = least_cost(A)
        n = A.shape[0]
        for order in [rng.permutation(n), heuristic_order(A, restarts=5)[0]]:
            assert order_bound(A, order) <= best
            assert lower_bound(A, order=order, lp=False) <= best


@pytest.mark.parametrize("n", [10, 60, 300])
def test_order_bound_proves_the_hidden_order_of_a_near_triangle(n):
    rng = np.random.default_rng(n)
    T = np.triu(rng.random((n, n)), 1) + 1e-3 * rng.random((n, n))  # too little noise to
    p = rng.permutation(n)  # beat the hidden order
    A = T[np.ix_(p, p)]
    hidden = np.argsort(p)  # A[hidden][:, hidden] == T
    cost = literal_cost(A, hidden)
    bound = order_bound(A, hidden)
    assert bound <= cost
    assert cost - bound <= 1e-12 * cost
    assert lower_bound(A, order=hidden) == bound  # stops there: proven




def test_pairwise_bound_literally():
    rng = np.random.default_rng(2)
    A = rng.random((6, 6))
    literal = sum(min(A[i, j], A[j, i]) for i in range(6) for j in range(i + 1, 6))
    assert pairwise_bound(A) == pytest.approx(literal, rel=1e-13)
    assert pairwise_bound(A) <= literal


def test_zero_on_a_permuted_upper_triangle():
    rng = np.random.default_rng(3)
    for n in [2, 5, 30, 120]:
        A = np.triu(rng.random((n, n)), 1) * (rng.random((n, n)) < 0.7)
        p = rng.permutation(n)
        A = A[np.ix_(p, p)]
        assert pairwise_bound(A) == 0.0
        assert triangle_bound(A) == 0.0
        assert lower_bound(A) == 0.0


def test_one_three_cycle():
    A = np.zeros((3, 3))
    A[0, 1], A[1, 2], A[2, 0] = 2.0, 1.5, 4.0  # each order puts one arc backwards
    assert triangle_bound(A) == pytest.approx(1.5, rel=1e-9)
    assert triangle_bound(A) <= 1.5
    assert pairwise_bound(A) == 0.0


def test_two_cycles_sharing_an_arc():
    # cycles 0->1->2->0 and 0->1->3->0 share the arc 0->1 of capacity 1: the packing
    # can take 1 in total (the optimum pays 1 by putting 0 after 1)
    A = np.zeros((4, 4))
    A[0, 1] = 1.0
    A[1, 2] = A[2, 0] = A[1, 3] = A[3, 0] = 5.0
    assert least_cost(A) == 1.0
    assert 0.9 <= triangle_bound(A) <= 1.0


def literal_packing(F: np.ndarray):
    """Loads and value of the product-form packing y_ijk = F_ij F_jk F_ki, by loops."""
    n = F.shape[0]
    load = np.zeros((n, n))
    value = 0.0
    for i, j, k in itertools.permutations(range(n), 3):
        if i < j and i < k:  # each directed 3-cycle once, from its smallest vertex
            y = F[i, j] * F[j, k] * F[k, i]
            load[i, j] += y
            load[j, k] += y
            load[k, i] += y
            value += y
    return load, value


@pytest.mark.parametrize("seed", range(5))
def test_packing_is_feasible_and_its_value_is_not_overstated(seed):
    rng = np.random.default_rng(seed)
    A = rng.random((9, 9)) * (rng.random((9, 9)) < 0.8)
    np.fill_diagonal(A, 0.0)
    C, e = bounds._scaled_residual(A)
    R = np.maximum(A - A.T, 0.0)
    assert (np.ldexp(C, e) <= R).all()
    Ct = np.ascontiguousarray(C.T)  # the packing code works on transposes
    Ft = bounds._fit_t(Ct, 40, None)
    # any starting factors: the fitted ones and deliberately overloaded ones
    for Gt in [Ft, 10.0 * Ft + rng.random(Ft.shape)]:
        value, left_t, Ff_t = bounds._certify_t(Ct, Gt)
        load, literal = literal_packing(Ff_t.T)
        assert (load <= C).all()
        assert (left_t.T + load <= C).all()
        assert value <= literal
        assert value == pytest.approx(literal, rel=1e-9)
    assert literal_packing(bounds._certify_t(Ct, Ft)[2].T)[1] > 0.0  # a real packing


def test_scale_invariance_and_extreme_magnitudes():
    rng = np.random.default_rng(4)
    A = rng.random((25, 25))
    base = triangle_bound(A)
    for s in [1e-200, 1e-30, 1e30, 1e200]:
        assert triangle_bound(s * A) == pytest.approx(s * base, rel=1e-6)


def test_triangle_bound_beats_pairwise_on_random_matrices():
    A = np.abs(np.random.default_rng(5).standard_normal((80, 80)))
    _, cost = heuristic_order(A, restarts=0)
    pw, tri = pairwise_bound(A), triangle_bound(A)
    # the 3-cycle packing closes most of what the pairwise bound leaves open
    assert cost - tri < 0.4 * (cost - pw)


def test_near_ordered_matrix_is_proven_optimal():
    rng = np.random.default_rng(6)
    n = 80
    A = np.triu(rng.random((n, n)), 1) + 0.05 * rng.random((n, n))
    p = rng.permutation(n)
    A = A[np.ix_(p, p)]
    perm, cost = heuristic_order(A)
    bound = lower_bound(A, upper=cost, order=perm)
    assert bound <= cost
    assert cost - bound <= 1e-9 * cost
    assert lower_bound(A) == pytest.approx(bound, rel=1e-9)  # finds its own upper bound


def test_diagonal_ignored_and_tensor_input():
    rng = np.random.default_rng(7)
    A = rng.random((12, 12))
    B = A.copy()
    np.fill_diagonal(B, 50.0)
    assert triangle_bound(B) == triangle_bound(A)
    assert triangle_bound(torch.tensor(A)) == triangle_bound(A)


def test_time_limit_still_certified():
    A = np.random.default_rng(8).random((7, 7))
    assert lower_bound(A, time_limit=1e-6) <= least_cost(A)
    assert triangle_bound(A, time_limit=1e-6) <= least_cost(A)


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        lower_bound(np.ones((2, 3)))
    with pytest.raises(ValueError, match="nonnegative"):
        triangle_bound(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        pairwise_bound(np.full((2, 2), np.inf))
    with pytest.raises(ValueError, match="lp must be"):
        lower_bound(np.ones((3, 3)), lp="yes")
    with pytest.raises(ValueError, match="time_limit"):
        lower_bound(np.ones((3, 3)), time_limit=-1)
    with pytest.raises(ValueError, match="upper"):
        lower_bound(np.ones((3, 3)), upper=-1.0)
    with pytest.raises(ValueError, match="permutation"):
        lower_bound(np.ones((3, 3)), order=[0, 1, 1])
    with pytest.raises(ValueError, match="permutation"):
        order_bound(np.ones((3, 3)), [0, 1])
