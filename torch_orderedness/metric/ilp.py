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

- :func:`milp_order` solves the integer program with every triangle
  inequality (``2 * C(n, 3)`` rows) by :func:`scipy.optimize.milp` (HiGHS
  branch and cut, relative gap 0). Dense random matrices take about 0.03 s at
  ``n = 20``, 0.1-0.2 s at ``n = 30`` and can take minutes at ``n = 40``;
  near-ordered ones are much faster. With a ``time_limit`` the best
  incumbent (or the heuristic order, if better) and HiGHS's dual bound come
  back unproven.
- :func:`lp_bound` solves the LP relaxation (``0 <= x <= 1``) with the
  triangle inequalities added as cutting planes: solve, add the most violated
  triangles, solve again (:func:`scipy.optimize.linprog`, ``method="highs"``)
  until none is violated or the time or round limit is reached.  Every round
  gives a lower bound on the least cost; when the LP solution is integral
  (and so transitive) it is an optimal order.  Near-ordered matrices, such as
  trained and pruned networks, typically need few cuts, and ``n = 200`` is
  solved in seconds; dense random matrices need very many cuts.

Certified bounds.  HiGHS works to tolerances (``1e-7`` by default, ``1e-10``
asked for here), so its objective is not used as a bound as it is.  The bound
of each round is recomputed from the LP's dual values by weak duality: for
any ``mu >= 0`` on the rows ``G x <= h`` and the box ``0 <= x <= 1``,

    min cost  >=  const - mu.h + sum_j min(0, (c + G^T mu)_j),

which holds whatever ``mu`` is (optimal or not).  The sum is taken in
float64 and a relative safety margin of ``8 * (m + 64) * eps`` of the
largest term's size (``m`` the number of variables) is subtracted to cover
its rounding.  :func:`milp_order`'s bound, when not proven, is HiGHS's dual
bound less a margin of ``1e-9 * sum(A)`` (HiGHS's own tolerances).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

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
# A triangle inequality violated by more than this is added as a cut.
_CUT_TOL = 1e-7
# HiGHS options for the LP relaxation.
_LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


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


def _pair_id(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Index of the variable ``x_ij`` (``i < j``) in :func:`pair_variables` order."""
    return i * n - i * (i + 1) // 2 + (j - i - 1)


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
    t = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
    ij = _pair_id(n, t[:, 0], t[:, 1])
    jk = _pair_id(n, t[:, 1], t[:, 2])
    ik = _pair_id(n, t[:, 0], t[:, 2])
    rows = np.repeat(np.arange(2 * len(t)), 3)
    cols = np.stack([ij, jk, ik, ij, jk, ik], axis=1).reshape(-1)
    vals = np.tile([1.0, 1.0, -1.0, -1.0, -1.0, 1.0], len(t))
    m = n * (n - 1) // 2
    return sp.csr_matrix((vals, (rows, cols)), shape=(2 * len(t), m))


def _bounds_vector(t: int) -> np.ndarray:
    return np.tile([1.0, 0.0], t)


def _objective(a: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(c, const, scale)``: cost(x) = const + scale * c.x, with ``max |c| = 1``."""
    n = a.shape[0]
    I, J = pair_variables(n)
    upper = a[I, J]
    lower = a[J, I]
    c = lower - upper
    scale = float(np.abs(c).max()) if c.size else 0.0
    if scale == 0.0:
        scale = 1.0
    return c / scale, float(upper.sum()), scale


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


def _most_violated(P: np.ndarray, limit: int) -> np.ndarray:
    """Triples ``i < j < k`` whose triangle inequality ``P`` violates most (at most ``limit``).

    ``P[a, b]`` is the relaxed "a before b"; a directed 3-cycle ``a -> b ->
    c`` violates when ``P[a, b] + P[b, c] + P[c, a] > 2``. Each cycle is
    found from its smallest vertex.
    """
    n = P.shape[0]
    found_v: list[np.ndarray] = []
    found_t: list[np.ndarray] = []
    idx = np.arange(n)
    for a in range(n - 2):
        V = P[a, :, None] + P + P[:, a][None, :] - 2.0  # V[b, c] for the cycle a -> b -> c -> a
        V[: a + 1, :] = -1.0
        V[:, : a + 1] = -1.0
        V[idx, idx] = -1.0
        b, c = np.nonzero(V > _CUT_TOL)
        if b.size:
            v = V[b, c]
            if v.size > limit:
                keep = np.argpartition(-v, limit - 1)[:limit]
                b, c, v = b[keep], c[keep], v[keep]
            found_v.append(v)
            found_t.append(np.stack([np.full(b.size, a), b, c], axis=1))
    if not found_v:
        return np.zeros((0, 3), dtype=np.int64)
    v = np.concatenate(found_v)
    t = np.concatenate(found_t)
    if v.size > limit:
        keep = np.argpartition(-v, limit - 1)[:limit]
        t = t[keep]
    return np.sort(t, axis=1)


def _certified(c, G, h, mu, const, scale) -> float:
    """Weak-duality bound ``const + scale * (-mu.h + sum min(0, c + G^T mu))``, less a margin.

    The margin bounds the float64 rounding of the computation: each reduced
    cost ``c_j + (G^T mu)_j`` sums ``k_j + 1`` terms (``k_j`` rows hold
    ``x_j``), so its error is at most ``(k_j + 2) eps`` times the sum of the
    magnitudes; numpy's pairwise summation of the ``N`` final terms adds at
    most ``(log2 N + 2) eps`` times their magnitudes.
    """
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 0.0)
    if G.shape[0]:
        reduced = c + G.T @ mu
        size = np.abs(c) + abs(G).T @ mu
        per_column = np.diff(G.tocsc().indptr) + 2.0
    else:
        reduced, size, per_column = c, np.abs(c), np.full(c.size, 2.0)
    terms = np.concatenate([-mu * h, np.minimum(0.0, reduced)])
    value = float(terms.sum())
    margin = _EPS * float((per_column * size).sum())
    margin += _EPS * (np.log2(terms.size + 2) + 2.0) * float(np.abs(terms).sum())
    margin *= 1.0 + 1e-6  # the margin's own rounding
    bound = const + scale * (value - margin)
    # const (a pairwise sum of the upper weights) and the final product and sum round too
    slack = (np.log2(c.size + 2) + 4.0) * _EPS
    return bound - slack * (abs(const) + abs(scale * value) + abs(bound))


class _Relaxation:
    """State of the cutting-plane loop shared by :func:`lp_bound` and :func:`milp_order`."""

    def __init__(self, a: np.ndarray, triples: np.ndarray | None = None) -> None:
        self.a = a
        self.n = a.shape[0]
        self.c, self.const, self.scale = _objective(a)
        self.I, self.J = pair_variables(self.n)
        self.triples = np.zeros((0, 3), dtype=np.int64) if triples is None else triples
        self.bound = pair_bound_value(a) * (1.0 - (np.log2(a.size + 2) + 4) * _EPS)
        self.x: np.ndarray | None = None
        self.complete = False
        self.rounds = 0
        # the last LP's rows and dual values (for the reduced costs of :mod:`.pruned`)
        self.duals: tuple[sp.csr_matrix, np.ndarray, np.ndarray] | None = None

    def add(self, triples: np.ndarray) -> None:
        if len(triples):
            self.triples = np.unique(np.concatenate([self.triples, triples]), axis=0)

    def constraints(self) -> tuple[sp.csr_matrix, np.ndarray]:
        return triangle_constraints(self.n, self.triples), _bounds_vector(len(self.triples))

    def violated(self, x: np.ndarray, limit: int) -> np.ndarray:
        P = np.zeros((self.n, self.n))
        P[self.I, self.J] = x
        P[self.J, self.I] = 1.0 - x
        return _most_violated(P, limit)

    def solve(self, deadline: float | None, max_rounds: int, per_round: int) -> None:
        """Cutting-plane rounds until no triangle is violated, or the limits."""
        while self.rounds < max_rounds and not self.complete:
            if deadline is not None and time.perf_counter() > deadline:
                break
            G, h = self.constraints()
            options = dict(_LP_OPTIONS)
            if deadline is not None:
                options["time_limit"] = max(0.01, deadline - time.perf_counter())
            res = linprog(
                self.c,
                A_ub=G if G.shape[0] else None,
                b_ub=h if G.shape[0] else None,
                bounds=(0.0, 1.0),
                method="highs",
                options=options,
            )
            self.rounds += 1
            if res.x is None:
                break
            mu = -res.ineqlin.marginals if G.shape[0] else np.zeros(0)
            self.bound = max(self.bound, _certified(self.c, G, h, mu, self.const, self.scale))
            self.duals = (G, h, mu)
            self.dual_triples = self.triples
            if res.status != 0:
                break
            self.x = res.x
            new = self.violated(res.x, per_round)
            if len(new) == 0:
                self.complete = True
            self.add(new)

    def integral_order(self) -> np.ndarray | None:
        """The relaxation's order when its solution is integral and transitive."""
        if self.x is None or not self.complete or not _is_integral(self.x):
            return None
        return _order_from_x(self.n, self.x)


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
        cuts_per_round: most triangles added per round (default ``5 n``).
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
    for name, value in [("max_rounds", max_rounds), ("cuts_per_round", cuts_per_round)]:
        if value is None and name == "cuts_per_round":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int >= 1, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value}")
    if order is not None:
        order = np.asarray(order, dtype=np.int64)
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of range({n})")
    if n <= 1:
        return LPBound(0.0, np.arange(n, dtype=np.int64), 0.0, True, True, 0, 0)
    per_round = 5 * n if cuts_per_round is None else int(cuts_per_round)
    deadline = None if limit is None else t0 + limit
    relax = _Relaxation(a)
    if order is not None:
        relax.add(_seed_triangles(a, _x_from_order(n, order), per_round))
    relax.solve(deadline, int(max_rounds), per_round)
    total = float(a.sum())
    candidates = [p for p in (relax.integral_order(), order) if p is not None]
    perm, cost = None, None
    for p in candidates:
        pc = order_cost(a, p)
        if cost is None or pc < cost:
            perm, cost = p, pc
    bound = relax.bound if cost is None else min(relax.bound, cost)
    proven = cost is not None and cost - bound <= 1e-9 * cost + 1e-15 * total
    if not proven and relax.integral_order() is None:
        perm, cost = None, None  # an order is returned only when it is optimal
    return LPBound(
        bound=float(bound),
        permutation=perm,
        cost=cost,
        proven=bool(proven),
        complete=relax.complete,
        rounds=relax.rounds,
        cuts=int(len(relax.triples)),
    )


def milp_order(
    A: np.ndarray,
    *,
    time_limit: float | None = None,
    order: np.ndarray | None = None,
    max_states: int | None = None,
    branch: bool = True,
) -> tuple[np.ndarray, float, float, bool]:
    """The least-cost order by integer programming: LP bound, pruned DP, branch and cut.

    Four stages, each stopping the work as soon as an order is proven optimal:

    1. an incumbent: ``order`` if given, else :func:`.search.heuristic_order`;
    2. the LP relaxation with triangle cuts (:func:`lp_bound`'s loop, seeded
       with the cuts the incumbent needs), which often ends integral and so
       proves an order optimal;
    3. the subset DP over the prefixes the LP's reduced costs cannot rule out
       (:mod:`.pruned`): exact, and fast while the LP bound is close to the
       optimum (dense random matrices up to ``n`` of about 30, near-ordered
       ones of any size); it gives up beyond ``max_states`` sets per layer;
    4. HiGHS's branch and cut (:func:`scipy.optimize.milp`) on the triangle
       inequalities found so far, re-solved with the triangles its solution
       violates added, until that solution is transitive (lazy constraints:
       far fewer rows than all ``2 C(n, 3)``, and the same optimum).

    Args:
        A: nonnegative square matrix ``(n, n)``; ``A[i, j]`` is paid when
            ``i`` is placed after ``j``. The diagonal is ignored.
        time_limit: seconds in all (``None``: no limit). When it runs out the
            best order found (the incumbent at worst) comes back unproven,
            with the best bound proven so far.
        order: a good order to start from (e.g. the heuristic's); ``None``
            runs the heuristic.
        max_states: most prefix sets per layer in stage 3 (default
            :data:`.pruned.DEFAULT_MAX_STATES`, 400 000: about 1 GiB at
            ``n = 40``).
        branch: run stage 4; ``False`` stops after stage 3 (unproven when
            the pruned DP gave up).

    Returns:
        ``(perm, cost, lower, proven_optimal)``: an int64 permutation, its
        cost (strict lower triangle sum of ``A[perm][:, perm]``), a lower
        bound on the least cost (``== cost`` when proven) and whether the
        order was proven optimal (by the certified LP bound, by the pruned
        DP, or by HiGHS with relative gap 0, within its tolerances).

    Raises:
        ValueError, TypeError: as :func:`.search.heuristic_order`; an
            ``order`` that is not a permutation.

    Example::

        >>> A = np.array([[0.0, 1.0, 0.0], [5.0, 0.0, 0.0], [2.0, 3.0, 0.0]])
        >>> perm, cost, lower, proven = milp_order(A)
        >>> perm.tolist(), cost, lower, proven
        ([2, 1, 0], 1.0, 1.0, True)
    """
    from torch_orderedness.metric.pruned import DEFAULT_MAX_STATES

    t0 = time.perf_counter()
    a = _check_matrix(A).copy()
    limit = _check_time_limit(time_limit)
    n = a.shape[0]
    np.fill_diagonal(a, 0.0)
    if order is not None:
        order = np.asarray(order, dtype=np.int64)
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of range({n})")
    if max_states is None:
        max_states = DEFAULT_MAX_STATES
    if n <= 1:
        return np.arange(n, dtype=np.int64), 0.0, 0.0, True
    deadline = None if limit is None else t0 + limit

    def left(share: float = 1.0) -> float | None:
        return None if deadline is None else max(1e-3, share * (deadline - time.perf_counter()))

    total = float(a.sum())
    if order is None:
        best, best_cost = heuristic_order(a, seed=0, time_limit=left(0.1))
    else:
        best, best_cost = order, order_cost(a, order)
    relax = _Relaxation(a)
    per_round = 5 * n
    relax.add(_seed_triangles(a, _x_from_order(n, best), per_round))
    lp_left = left(0.3)
    relax.solve(None if lp_left is None else time.perf_counter() + lp_left, 100, per_round)
    lower = relax.bound
    p = relax.integral_order()
    if p is not None and order_cost(a, p) < best_cost:
        best, best_cost = p, order_cost(a, p)

    def proves(bound: float) -> bool:
        return best_cost - min(bound, best_cost) <= 1e-9 * best_cost + 1e-15 * total

    proven = proves(lower)
    if not proven and relax.duals is not None:
        found = _pruned_stage(a, relax, best_cost, total, int(max_states), deadline)
        if found is not None:
            best, best_cost = found
            proven, lower = True, best_cost
    if not proven and branch:
        best, best_cost, lower, proven = _branch_and_cut(
            a, relax, best, best_cost, lower, total, deadline
        )
    lower = best_cost if proven else min(lower, best_cost)
    return best, order_cost(np.asarray(A, dtype=np.float64), best), lower, bool(proven)


def _pruned_stage(
    a: np.ndarray, relax: _Relaxation, upper: float, total: float, max_states: int,
    deadline: float | None,
) -> tuple[np.ndarray, float] | None:
    """Stage 3 of :func:`milp_order`: the DP over the prefixes the LP duals keep."""
    from torch_orderedness.metric.pruned import pruned_order, reduced_costs

    G, h, mu = relax.duals
    K, R, terms = reduced_costs(relax.n, relax.c, relax.const, relax.scale, relax.dual_triples,
                                G, h, mu)
    # the decomposition is exact in real numbers; the margin covers its float64 rounding
    tol = 1e-9 * total + 1e-12 * (abs(K) + float(R.sum()) + float(terms[3].sum()))
    found = pruned_order(a, K, R, terms, upper, tol=tol, max_states=max_states,
                         deadline=deadline)
    if found is None or found[1] > upper:
        return None
    return found


def _branch_and_cut(
    a: np.ndarray, relax: _Relaxation, best: np.ndarray, best_cost: float, lower: float,
    total: float, deadline: float | None,
) -> tuple[np.ndarray, float, float, bool]:
    """Stage 4 of :func:`milp_order`: HiGHS on the triangles found, lazily extended."""
    n = relax.n
    proven = False
    while True:
        if deadline is not None and deadline - time.perf_counter() <= 0:
            break
        G, h = relax.constraints()
        options: dict[str, object] = {"mip_rel_gap": 0.0}
        if deadline is not None:
            options["time_limit"] = max(1e-3, deadline - time.perf_counter())
        res = milp(
            relax.c,
            constraints=[LinearConstraint(G, -np.inf, h)] if G.shape[0] else [],
            integrality=np.ones(relax.c.size),
            bounds=Bounds(0.0, 1.0),
            options=options,
        )
        dual = getattr(res, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            # HiGHS's bound on a relaxation of the full program (fewer rows): valid,
            # within HiGHS's tolerances, for which a margin of 1e-9 sum(A) is taken
            lower = max(lower, relax.const + relax.scale * float(dual) - 1e-9 * total)
        if res.x is None:
            break
        x = np.round(np.clip(res.x, 0.0, 1.0))
        p = _order_from_x(n, x)
        cost = order_cost(a, p)
        if cost < best_cost:
            best, best_cost = p, cost
        new = relax.violated(x, 50 * n)
        if len(new) and res.status in (0, 1):
            relax.add(new)  # not yet an order: add the triangles it violates
            if res.status == 0:
                continue
        if res.status == 0 and len(new) == 0:
            solver_cost = relax.const + relax.scale * float(res.fun)
            proven = abs(cost - solver_cost) <= 1e-9 * total + 1e-12 and cost <= best_cost
            if proven:
                best, best_cost = p, cost
        break
    return best, best_cost, lower, proven


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
