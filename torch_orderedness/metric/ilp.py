r"""The least backward weight as an integer program, and its LP relaxation, with HiGHS.

The weighted linear ordering problem on a nonnegative square matrix ``A``
(see :mod:`.search`: ``A[i, j]`` is paid when ``i`` is placed after ``j``)
is written over one variable per pair ``i < j``:

    x_ij = 1  if i is placed before j,  0 otherwise,

    cost(x) = sum_{i<j} ( A[j, i] * x_ij + A[i, j] * (1 - x_ij) ).

A 0/1 vector ``x`` is an order exactly when it is transitive, which the
3-cycle (triangle) inequalities say: for every ``i < j < k``

    x_ij + x_jk - x_ik <= 1     (i before j before k forces i before k)
    x_ik - x_ij - x_jk <= 0     (k before j before i forces k before i)

(equivalently ``P[a, b] + P[b, c] + P[c, a] <= 2`` for every directed
3-cycle, with ``P[a, b]`` the indicator "a before b").

- :func:`milp_order` solves the integer program exactly: the LP relaxation
  with triangle cuts, the subset DP pruned by its reduced costs
  (:mod:`.pruned`), and a branch and bound over prefixes whose nodes are
  bounded by the same LP with the prefix fixed (:mod:`.branch`).  Dense
  random matrices take about 0.1 s at ``n = 24``, 0.2-1 s at ``n = 30``,
  1-50 s at ``n = 36`` and from 45 s to many minutes at ``n = 40``;
  near-ordered ones are proven at the root at any size the LP fits.  With a
  ``time_limit`` the best order found and the smallest bound of the nodes
  left come back unproven.
- :func:`lp_bound` solves the LP relaxation (``0 <= x <= 1``) with the
  triangle inequalities added as cutting planes: solve, add the most violated
  triangles, solve again (HiGHS, from the last basis where scipy ships its
  object, see :mod:`._lp`) until none is violated or the time or round
  limit is reached.  Every round gives a lower bound on the least cost; when
  the LP solution is integral (and so transitive) it is an optimal order.
  Near-ordered matrices, such as trained and pruned networks, typically need
  few cuts, and ``n = 200`` is solved in seconds; dense random matrices need
  very many cuts (``n = 64``: about 6 000, 5 s).

Certified bounds.  HiGHS works to tolerances (``1e-7`` by default, ``1e-10``
asked for here), so its objective is not used as a bound as it is.  The bound
of each round is recomputed from the LP's dual values by weak duality: for
any ``mu >= 0`` on the rows ``G x <= h`` and the box ``0 <= x <= 1``,

    min cost  >=  const - mu.h + sum_j min(0, (c + G^T mu)_j),

which holds whatever ``mu`` is (optimal or not; with fixed variables, the
box's ``min`` is taken over ``[lo_j, hi_j]``).  The sum is taken in float64
and a margin bounding its rounding is subtracted
(:func:`._lp.certified_bound`).  :func:`milp_order`'s bound, when not
proven, is the smallest of the open nodes' such bounds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from torch_orderedness import _checks
from torch_orderedness.metric._lp import ROOT_CUTS, TriangleLP, triangle_rows
from torch_orderedness.metric.exact import order_cost
from torch_orderedness.metric.search import (
    _check_matrix,
    _check_time_limit,
    heuristic_order,
)

__all__ = ["LPBound", "lp_bound", "milp_order", "pair_variables", "triangle_constraints"]

_EPS = float(np.finfo(np.float64).eps)
# A relaxation value within this distance of 0 or 1 counts as integral.
_INTEGRAL_TOL = 1e-6


def pair_variables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(i, j)``, ``i < j``, in the order of the program's variables.

    Returns:
        Two int64 arrays of length ``n (n - 1) / 2``: ``I`` and ``J`` with
        ``I < J``, row-major (``(0, 1), (0, 2), ..., (1, 2), ...``), the
        order of :func:`numpy.triu_indices` with offset 1.

    Example::

        >>> I, J = pair_variables(3)
        >>> list(zip(I.tolist(), J.tolist()))
        [(0, 1), (0, 2), (1, 2)]
    """
    I, J = np.triu_indices(n, 1)
    return I.astype(np.int64), J.astype(np.int64)


def triangle_constraints(n: int, triples: np.ndarray | None = None) -> sp.csr_matrix:
    """Rows of the triangle inequalities ``G x <= h`` for triples ``i < j < k``.

    Args:
        n: number of vertices.
        triples: ``(t, 3)`` int array of triples with ``i < j < k``; ``None``
            for all ``C(n, 3)`` of them.

    Returns:
        A sparse ``(2 t, n (n - 1) / 2)`` matrix ``G``; rows ``2 s`` hold
        ``x_ij + x_jk - x_ik`` (bound ``1``), rows ``2 s + 1`` hold
        ``x_ik - x_ij - x_jk`` (bound ``0``). The bounds ``h`` are
        ``[1, 0, 1, 0, ...]``.

    Example::

        >>> triangle_constraints(3).toarray().tolist()  # x01 + x12 - x02, x02 - x01 - x12
        [[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]
    """
    if triples is None:
        if n < 3:
            triples = np.zeros((0, 3), dtype=np.int64)
        else:
            i, j, k = np.meshgrid(*(np.arange(n),) * 3, indexing="ij", sparse=False)
            keep = (i < j) & (j < k)
            triples = np.stack([i[keep], j[keep], k[keep]], axis=1)
    return triangle_rows(n, triples)


def _order_from_x(n: int, x: np.ndarray) -> np.ndarray:
    """An order from pair variables: sort by the number of vertices each one precedes."""
    I, J = pair_variables(n)
    r = np.round(np.clip(x, 0.0, 1.0))
    wins = np.zeros(n)
    np.add.at(wins, I, r)
    np.add.at(wins, J, 1.0 - r)
    return np.argsort(-wins, kind="stable").astype(np.int64)


def _is_integral(x: np.ndarray) -> bool:
    return bool(np.all(np.minimum(np.abs(x), np.abs(1.0 - x)) <= _INTEGRAL_TOL))


def _x_from_order(n: int, perm: np.ndarray) -> np.ndarray:
    pos = np.empty(n, dtype=np.int64)
    pos[perm] = np.arange(n)
    I, J = pair_variables(n)
    return (pos[I] < pos[J]).astype(np.float64)


def pair_bound_value(a: np.ndarray) -> float:
    """``sum_{i<j} min(A[i, j], A[j, i])`` (every pair pays at least its smaller weight)."""
    m = np.minimum(a, a.T)
    return 0.5 * float(m.sum() - np.trace(m))


@dataclass(frozen=True)
class LPBound:
    """The result of :func:`lp_bound`.

    Attributes:
        bound: a certified lower bound on the least cost (weak duality from
            the last LP's dual values, less a rounding margin).
        permutation: an optimal order when the relaxation's solution is
            integral (then :attr:`cost` is its cost), else ``None``.
        cost: the cost of :attr:`permutation`, or ``None``.
        proven: ``True`` when :attr:`permutation` is proven optimal: its cost
            is within ``1e-9`` (relative) of :attr:`bound`.
        complete: ``True`` when the last LP violates no triangle inequality
            (its value is the full relaxation's, not a weaker one's).
        rounds: LPs solved.
        cuts: triangle inequalities in the last LP.

    Example::

        >>> rng = np.random.default_rng(0)
        >>> A = np.triu(rng.random((8, 8)), 1) + 0.01 * rng.random((8, 8))  # near-ordered
        >>> r = lp_bound(A)
        >>> r.proven, r.complete, r.permutation.tolist(), r.rounds >= 1
        (True, True, [0, 1, 2, 3, 4, 5, 6, 7], True)
        >>> bool(r.bound <= r.cost <= r.bound * (1 + 1e-9)), round(r.cost, 6)
        (True, 0.152126)
    """

    bound: float
    permutation: np.ndarray | None
    cost: float | None
    proven: bool
    complete: bool
    rounds: int
    cuts: int


def lp_bound(
    A: np.ndarray,
    *,
    time_limit: float | None = None,
    max_rounds: int = 50,
    cuts_per_round: int | None = None,
    order: np.ndarray | None = None,
) -> LPBound:
    """LP relaxation of the ordering problem with triangle inequalities as cutting planes.

    Args:
        A: nonnegative square matrix ``(n, n)``; ``A[i, j]`` is paid when
            ``i`` is placed after ``j``. The diagonal is ignored.
        time_limit: seconds for all rounds (``None``: no limit). The bound of
            the last finished round is returned.
        max_rounds: most LPs to solve.
        cuts_per_round: most triangles added per round (default ``50 n``: few
            rounds, each a warm-started solve; dense ``n = 64`` completes in 3
            rounds, 4.6 s, against 8 rounds and 11 s with ``20 n``).
        order: optional good order (e.g. the heuristic's). The first LP then
            starts with the 3-cycles through that order's backward arcs (the
            cuts needed to prove it optimal), which saves rounds on
            near-ordered matrices; and the order is returned as proven
            optimal when its cost meets the bound.

    Returns:
        An :class:`LPBound`.

    Raises:
        ValueError, TypeError: as :func:`.search.heuristic_order`; a bad
            ``max_rounds``, ``cuts_per_round`` or ``order``.

    Example::

        >>> rng = np.random.default_rng(0)
        >>> A = np.triu(rng.random((12, 12)), 1) + 0.01 * rng.random((12, 12))
        >>> r = lp_bound(A)
        >>> r.proven, r.permutation.tolist() == list(range(12))
        (True, True)
    """
    t0 = time.perf_counter()
    a = _check_matrix(A).copy()
    limit = _check_time_limit(time_limit)
    n = a.shape[0]
    np.fill_diagonal(a, 0.0)
    max_rounds = _checks.count("max_rounds", max_rounds, 1)
    if cuts_per_round is not None:
        cuts_per_round = _checks.count("cuts_per_round", cuts_per_round, 1)
    order = _checked_order(order, n)
    if n <= 1:
        return LPBound(0.0, np.arange(n, dtype=np.int64), 0.0, True, True, 0, 0)
    per_round = ROOT_CUTS * n if cuts_per_round is None else cuts_per_round
    deadline = None if limit is None else t0 + limit
    lp = TriangleLP(a)
    if order is not None:
        lp.add(_seed_triangles(a, _x_from_order(n, order), per_round))
    lower = pair_bound_value(a) * (1.0 - (np.log2(a.size + 2) + 4) * _EPS)
    bound, x, _, complete = lp.solve(deadline=deadline, max_rounds=max_rounds,
                                     per_round=per_round)
    bound = max(bound, lower)
    total = float(a.sum())
    integral = _order_from_x(n, x) if x is not None and complete and _is_integral(x) else None
    perm, cost = None, None
    for p in (integral, order):
        if p is not None and (cost is None or order_cost(a, p) < cost):
            perm, cost = p, order_cost(a, p)
    bound = bound if cost is None else min(bound, cost)
    proven = cost is not None and cost - bound <= 1e-9 * cost + 1e-15 * total
    if not proven and integral is None:
        perm, cost = None, None  # an order is returned only when it is optimal
    return LPBound(
        bound=float(bound),
        permutation=perm,
        cost=cost,
        proven=bool(proven),
        complete=bool(complete),
        rounds=lp.rounds,
        cuts=int(len(lp.triples)),
    )


def _checked_order(order: np.ndarray | None, n: int) -> np.ndarray | None:
    if order is None:
        return None
    order = np.asarray(order, dtype=np.int64)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"order must be a permutation of range({n})")
    return order


def milp_order(
    A: np.ndarray,
    *,
    time_limit: float | None = None,
    order: np.ndarray | None = None,
    max_states: int | None = None,
    branch: bool = True,
) -> tuple[np.ndarray, float, float, bool]:
    """The least-cost order by integer programming: LP bound, pruned DP, branch and bound.

    Four stages, each stopping the work as soon as an order is proven optimal:

    1. an incumbent: ``order`` if given, else :func:`.search.heuristic_order`
       (from 28 vertices on, improved by searches from random orders,
       :func:`.search.improve_order`, once the LP leaves a gap);
    2. the LP relaxation with triangle cuts (seeded with the cuts the
       incumbent needs), which often ends integral and so proves an order
       optimal;
    3. the subset DP over the prefixes the LP's reduced costs cannot rule out
       (:mod:`.pruned`): exact, and fast while the LP bound is close to the
       optimum (dense random matrices up to ``n`` of about 30, near-ordered
       ones of any size); it gives up beyond ``max_states`` sets per layer;
    4. a branch and bound over prefixes (:mod:`.branch`): each node (a set
       placed first) bounded by the LP with its pairs fixed, re-solved from
       the last basis, then stages 3 and 4 again below it; best bound first.

    Args:
        A: nonnegative square matrix ``(n, n)``; ``A[i, j]`` is paid when
            ``i`` is placed after ``j``. The diagonal is ignored.
        time_limit: seconds in all (``None``: no limit). When it runs out the
            best order found (the incumbent at worst) comes back unproven,
            with the best bound proven so far.
        order: a good order to start from (e.g. the heuristic's); ``None``
            runs the heuristic.
        max_states: most prefix sets per layer in stage 3 (default
            :func:`.pruned.default_max_states`: about 300 000 at ``n = 40``,
            under 1 GiB).
        branch: run stage 4; ``False`` stops after stage 3 (unproven when
            the pruned DP gave up; the bound is then the smallest of the
            root's children's).

    Returns:
        ``(perm, cost, lower, proven_optimal)``: an int64 permutation, its
        cost (strict lower triangle sum of ``A[perm][:, perm]``), a lower
        bound on the least cost (``== cost`` when proven) and whether the
        order was proven optimal (by the certified LP bounds and the DP,
        which adds the true weights in float64).

    Raises:
        ValueError, TypeError: as :func:`.search.heuristic_order`; an
            ``order`` that is not a permutation.

    Example::

        >>> A = np.array([[0.0, 1.0, 0.0], [5.0, 0.0, 0.0], [2.0, 3.0, 0.0]])
        >>> perm, cost, lower, proven = milp_order(A)
        >>> perm.tolist(), cost, lower, proven
        ([2, 1, 0], 1.0, 1.0, True)
    """
    from torch_orderedness.metric.branch import branch_and_bound
    from torch_orderedness.metric.pruned import default_max_states

    t0 = time.perf_counter()
    a = _check_matrix(A).copy()
    limit = _check_time_limit(time_limit)
    n = a.shape[0]
    np.fill_diagonal(a, 0.0)
    order = _checked_order(order, n)
    if max_states is None:
        max_states = default_max_states(n)
    if n <= 1:
        return np.arange(n, dtype=np.int64), 0.0, 0.0, True
    deadline = None if limit is None else t0 + limit
    if order is None:
        order, _ = heuristic_order(a, seed=0, time_limit=None if limit is None else 0.1 * limit)
    lp = TriangleLP(a)
    lp.add(_seed_triangles(a, _x_from_order(n, order), 5 * n))
    best, cost, lower, proven, _ = branch_and_bound(
        a, lp, order, order_cost(a, order), max_states=int(max_states), deadline=deadline,
        branch=branch,
    )
    return best, cost, lower, bool(proven)


def _seed_triangles(a: np.ndarray, x0: np.ndarray, limit: int) -> np.ndarray:
    """Triangles through the backward arcs of an order, with two forward arcs (at most ``limit``).

    For each pair paid in the wrong direction by the order (the heavier weight
    is backwards), the third vertices placed between them close a 3-cycle of
    the residual preferences; these are the cuts an LP proving the order
    optimal needs.
    """
    n = a.shape[0]
    I, J = pair_variables(n)
    P = np.zeros((n, n))
    P[I, J] = x0
    P[J, I] = 1.0 - x0
    R = a - a.T  # R[i, j] > 0: i prefers to come first
    # backward arcs: i prefers first (R > 0) but comes after j
    bi, bj = np.nonzero((R > 0) & (P < 0.5))
    if bi.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    per_arc = max(1, limit // bi.size)
    out = []
    for i, j in zip(bi.tolist(), bj.tolist(), strict=True):
        # cycle i -> j -> k -> i with j before k before i: R[j, k] > 0, R[k, i] > 0
        ks = np.flatnonzero((P[j] > 0.5) & (P[:, i] > 0.5) & (R[j] > 0) & (R[:, i] > 0))
        if ks.size == 0:
            continue
        strength = np.minimum(R[j, ks], R[ks, i])
        ks = ks[np.argsort(-strength)[:per_arc]]
        out.append(np.stack([np.full(ks.size, i), np.full(ks.size, j), ks], axis=1))
        if sum(len(o) for o in out) >= limit:
            break
    if not out:
        return np.zeros((0, 3), dtype=np.int64)
    return np.unique(np.sort(np.concatenate(out), axis=1), axis=0)
