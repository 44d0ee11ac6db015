"""The subset DP pruned by the LP's reduced costs (torch_orderedness.metric.pruned)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import least_cost, literal_cost

from torch_orderedness.metric._lp import TriangleLP
from torch_orderedness.metric.exact import exact_order
from torch_orderedness.metric.ilp import milp_order, pair_variables
from torch_orderedness.metric.pruned import pruned_order, reduced_costs
from torch_orderedness.metric.search import heuristic_order


def matrices(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(3, 9))
        kind = k % 4
        if kind == 0:
            A = np.abs(rng.standard_normal((n, n)))
        elif kind == 1:
            A = np.abs(rng.standard_normal((n, n))) * (rng.random((n, n)) < 0.4)
        elif kind == 2:
            A = rng.integers(0, 3, (n, n)).astype(float)  # ties
        else:
            A = np.triu(rng.random((n, n)), 1) + 0.3 * rng.random((n, n))
        np.fill_diagonal(A, 0.0)
        yield A


class Relaxation:
    """A weak LP (few rounds and cuts: many sets survive) and its last dual values."""

    def __init__(self, A: np.ndarray, rounds: int) -> None:
        self.lp = TriangleLP(A)
        _, _, mu, _ = self.lp.solve(max_rounds=rounds, per_round=2)
        self.duals = None if not len(self.lp.triples) else (self.lp.G, self.lp.h,
                                                            self.lp.padded(mu))
        self.c, self.const, self.scale = self.lp.c, self.lp.const, self.lp.scale
        self.dual_triples = self.lp.triples


def relaxation(A: np.ndarray, rounds: int) -> Relaxation:
    return Relaxation(A, rounds)


def test_the_decomposition_is_the_cost_of_every_order():
    # cost(p) = K + R(p) + sum of the slack charges of p, exactly, for any dual values
    rng = np.random.default_rng(0)
    for A in matrices(40, seed=1):
        n = A.shape[0]
        relax = relaxation(A, 2)
        if relax.duals is None:
            continue
        G, h, mu = relax.duals
        mu = mu + rng.random(mu.size)  # any mu >= 0, not only the LP's
        K, R, (U, V, W, P) = reduced_costs(n, relax.c, relax.const, relax.scale,
                                           relax.dual_triples, G, h, mu)
        assert (R >= 0).all() and (P > 0).all()
        first, second = pair_variables(n)
        assert (np.minimum(R[first, second], R[second, first]) == 0).all()  # one direction per pair
        for _ in range(5):
            p = rng.permutation(n)
            pos = np.argsort(p)
            slack = P[(pos[U] < pos[V]) & (pos[V] < pos[W])].sum()
            assert literal_cost(A, p) == pytest.approx(K + literal_cost(R, p) + slack,
                                                       rel=1e-9, abs=1e-9)


def test_pruned_dp_finds_the_optimum_with_weak_bounds():
    for A in matrices(80, seed=2):
        n = A.shape[0]
        relax = relaxation(A, 1 + n % 3)
        if relax.duals is None:
            continue
        K, R, terms = reduced_costs(n, relax.c, relax.const, relax.scale, relax.dual_triples,
                                    *relax.duals)
        _, upper = heuristic_order(A, restarts=0)
        found = pruned_order(A, K, R, terms, upper, tol=1e-9 * A.sum() + 1e-12)
        assert found is not None
        perm, cost = found
        assert sorted(perm.tolist()) == list(range(n))
        assert cost == pytest.approx(literal_cost(A, perm), abs=1e-12)
        assert cost == pytest.approx(least_cost(A), rel=1e-12, abs=1e-12)


def test_pruned_dp_gives_up_beyond_its_state_limit_or_time():
    A = np.abs(np.random.default_rng(3).standard_normal((12, 12)))
    np.fill_diagonal(A, 0.0)
    relax = relaxation(A, 1)
    K, R, terms = reduced_costs(12, relax.c, relax.const, relax.scale, relax.dual_triples,
                                *relax.duals)
    upper = heuristic_order(A)[1]
    assert pruned_order(A, K, R, terms, upper, tol=1e-9, max_states=1) is None
    assert pruned_order(A, K, R, terms, upper, tol=1e-9, deadline=0.0) is None


@pytest.mark.parametrize("seed", [1, 2])
def test_milp_order_proves_where_the_lp_is_fractional(seed):
    # n = 22 dense: the LP bound alone does not meet the optimum for these seeds
    A = np.abs(np.random.default_rng(seed).standard_normal((22, 22)))
    np.fill_diagonal(A, 0.0)
    perm, cost, lower, proven = milp_order(A, branch=False)
    assert proven and lower == cost
    assert cost == pytest.approx(exact_order(A)[1], rel=1e-12)
