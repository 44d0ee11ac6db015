"""The branch and bound over prefixes and its warm-started LP (torch_orderedness.metric.branch,
torch_orderedness.metric._lp), checked against brute force and against the subset DP."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from oracles import least_cost, least_cost_after, literal_cost

from torch_orderedness.metric import _lp
from torch_orderedness.metric._lp import TriangleLP, certified_bound, most_violated
from torch_orderedness.metric.branch import branch_and_bound
from torch_orderedness.metric.exact import exact_order
from torch_orderedness.metric.ilp import milp_order, pair_variables
from torch_orderedness.metric.pruned import _prefix_search
from torch_orderedness.metric.search import heuristic_order, improve_order


def family(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "dense":
        A = np.abs(rng.standard_normal((n, n)))
    elif kind == "uniform":
        A = rng.random((n, n))
    elif kind == "sparse":
        A = np.abs(rng.standard_normal((n, n))) * (rng.random((n, n)) < 0.5)
    elif kind == "ties":
        A = rng.integers(0, 3, (n, n)).astype(float)
    else:  # near-ordered, shuffled
        A = np.triu(rng.random((n, n)), 1) + 0.2 * rng.random((n, n))
        p = rng.permutation(n)
        A = A[np.ix_(p, p)]
    np.fill_diagonal(A, 0.0)
    return A


KINDS = ("dense", "uniform", "sparse", "ties", "near")


@pytest.fixture(params=["warm", "linprog"])
def backend(request, monkeypatch):
    """Both LP back ends: HiGHS's own object (warm starts) and linprog from scratch."""
    if request.param == "warm":
        if _lp._highs_class() is None:
            pytest.skip("this scipy ships no HiGHS object")
    else:
        monkeypatch.setattr(_lp, "_highs_class", lambda: None)
    return request.param


# --- the LP ---------------------------------------------------------------------------------


def test_most_violated_finds_exactly_the_violated_triangles():
    rng = np.random.default_rng(0)
    for n in (3, 5, 8):
        P = rng.random((n, n))
        P = np.triu(P, 1) + np.tril(1.0 - P.T, -1)  # P[a, b] + P[b, a] = 1
        expected = set()
        for i, j, k in itertools.combinations(range(n), 3):
            for a, b, c in ((i, j, k), (i, k, j)):  # the two 3-cycles through i, j, k
                if P[a, b] + P[b, c] + P[c, a] - 2.0 > 1e-7:
                    expected.add((i, j, k))
        found = {tuple(t) for t in most_violated(P, 10**6).tolist()}
        assert found == expected
        few = most_violated(P, 2)
        assert len(few) == min(2, len(expected)) and {tuple(t) for t in few.tolist()} <= expected


def test_certified_bound_holds_for_any_duals_and_box():
    # weak duality: for any mu >= 0 and the box of a prefix, the bound is at most the least
    # cost of the orders starting with that prefix
    rng = np.random.default_rng(1)
    for trial in range(30):
        n = 4 + trial % 3
        A = family(KINDS[trial % len(KINDS)], n, rng)
        lp = TriangleLP(A, warm=False)
        lp.add(np.array(list(itertools.combinations(range(n), 3))))
        prefix = rng.permutation(n)[: trial % 3]
        lo, hi = lp.prefix_box(prefix)
        mu = rng.random(2 * len(lp.triples)) * rng.random()
        bound = certified_bound(lp.c, lp.G, lp.h, mu, lp.const, lp.scale, lo, hi)
        assert bound <= least_cost_after(A, prefix.tolist()) + 1e-12


def test_prefix_box_fixes_exactly_the_pairs_a_prefix_decides():
    n, prefix = 5, [3, 1]
    lp = TriangleLP(np.ones((n, n)) - np.eye(n), warm=False)
    lo, hi = lp.prefix_box(np.array(prefix))
    first, second = pair_variables(n)
    for i, j, low, high in zip(first, second, lo, hi, strict=True):
        if i in prefix or j in prefix:  # fixed: i before j exactly when the prefix says so
            before = i in prefix and (j not in prefix or prefix.index(i) < prefix.index(j))
            assert low == high == float(before), (i, j)
        else:
            assert (low, high) == (0.0, 1.0), (i, j)


def test_solve_stops_early_with_a_valid_bound(backend):
    rng = np.random.default_rng(2)
    A = family("dense", 14, rng)
    best = exact_order(A)[1]
    lp = TriangleLP(A)
    full, x, mu, complete = lp.solve(per_round=50 * 14)
    assert complete and full <= best + 1e-9
    # fix vertex 3 first: the node's bound is at most the least cost of those orders, and a
    # solve stopped after a few iterations (warm back end) still certifies a bound
    lp.set_box(*lp.prefix_box([3]))
    early, _, _, _ = lp.solve(early=(5,), max_rounds=1, upper=-np.inf)
    node, _, _, _ = lp.solve()
    after = _least_after_fast(A, [3])
    assert early <= node + 1e-9 and node <= after + 1e-9


def _least_after_fast(A: np.ndarray, prefix: list[int]) -> float:
    """Least cost of the orders starting with ``prefix``: the prefix's cost plus what it pays
    to the rest plus the rest's own optimum (the subset DP, checked against brute force in
    test_metric_exact)."""
    rest = [v for v in range(A.shape[0]) if v not in prefix]
    inner = literal_cost(A, prefix)
    cross = A[np.ix_(rest, prefix)].sum()
    return inner + cross + exact_order(A[np.ix_(rest, rest)])[1]


# --- the DP from a prefix -------------------------------------------------------------------


def test_prefix_search_finds_the_best_order_after_a_prefix():
    rng = np.random.default_rng(3)
    for trial in range(40):
        n = 5 + trial % 3
        A = family(KINDS[trial % len(KINDS)], n, rng)
        lp = TriangleLP(A, warm=False)
        prefix = rng.permutation(n)[: trial % 4]
        lp.set_box(*lp.prefix_box(prefix))
        _, _, mu, _ = lp.solve(max_rounds=1 + trial % 2, per_round=2)  # weak: many sets
        K, R, terms = lp.decomposition(mu)
        best = least_cost_after(A, prefix.tolist())
        upper = best + rng.random()  # any cost at least the optimum's
        found = _prefix_search(A, K, R, terms, upper, tol=1e-9 * A.sum() + 1e-12,
                               prefix=prefix, max_states=10**6)
        assert found.status == "found"
        assert found.perm[: prefix.size].tolist() == prefix.tolist()
        assert found.cost == pytest.approx(literal_cost(A, found.perm), abs=1e-12)
        assert found.cost == pytest.approx(best, rel=1e-12, abs=1e-12)
        below = _prefix_search(A, K, R, terms, best - 1e-3 - 1e-3 * best, tol=0.0,
                               prefix=prefix, max_states=10**6)
        assert below.status == "none"  # nothing costs less than the optimum


# --- the branch and bound -------------------------------------------------------------------


def test_branch_and_bound_matches_brute_force_when_it_must_branch(backend):
    # max_states=1: the DP gives up at every node with more than one way on, so the tree
    # branches down to single orders
    rng = np.random.default_rng(4)
    for trial in range(25):
        n = 3 + trial % 5
        A = family(KINDS[trial % len(KINDS)], n, rng)
        start = rng.permutation(n)
        lp = TriangleLP(A)
        perm, cost, lower, proven, nodes = branch_and_bound(
            A, lp, start, literal_cost(A, start), max_states=1)
        best = least_cost(A)
        assert sorted(perm.tolist()) == list(range(n))
        assert cost == pytest.approx(literal_cost(A, perm), abs=1e-12)
        assert cost == pytest.approx(best, rel=1e-12, abs=1e-12)
        assert proven and lower == cost


@pytest.mark.parametrize("kind", KINDS)
def test_milp_agrees_with_the_dp_at_20_vertices(kind, backend):
    rng = np.random.default_rng(len(kind))
    for _ in range(2):
        A = family(kind, 20, rng)
        perm, cost, lower, proven = milp_order(A, max_states=2000)
        assert proven and lower == cost
        assert cost == pytest.approx(exact_order(A)[1], rel=1e-12)
        assert cost == pytest.approx(literal_cost(A, perm), rel=1e-12)


def test_the_bound_of_an_unfinished_search_is_certified():
    # dense 24: out of time after a few nodes; the bound is the smallest of the open nodes'
    rng = np.random.default_rng(6)
    A = family("dense", 24, rng)
    best = exact_order(A)[1]
    for limit in (0.02, 0.3):
        perm, cost, lower, proven = milp_order(A, time_limit=limit, max_states=64)
        assert lower <= best + 1e-9 * best <= cost + 1e-9 * best
        assert cost == pytest.approx(literal_cost(A, perm), rel=1e-12)


def test_improve_order_never_worsens_and_is_seeded():
    rng = np.random.default_rng(7)
    A = family("dense", 30, rng)
    start, start_cost = heuristic_order(A, restarts=0)
    a, cost_a = improve_order(A, start, runs=3, restarts=20, seed=1)
    b, cost_b = improve_order(A, start, runs=3, restarts=20, seed=1)
    assert cost_a <= start_cost and np.array_equal(a, b) and cost_a == cost_b
    assert cost_a == pytest.approx(literal_cost(A, a), rel=1e-12)
    started = time.perf_counter()
    improve_order(A, start, runs=10**6, restarts=20, deadline=started + 0.2)
    assert time.perf_counter() - started < 5.0  # the deadline stops it
