r"""The triangle LP of the ordering problem, solved again and again as bounds and cuts change.

One object holds the LP relaxation of :mod:`.ilp` (one variable ``x_ij`` per
pair ``i < j``, "``i`` before ``j``"; the triangle inequalities found so far
as rows) while a search fixes and frees variables (a node of the branch and
bound of :mod:`.branch`: a prefix placed first) and adds the triangles the
solutions violate.  Each solve returns a *certified* lower bound for the
current box ``lo <= x <= hi``, from the dual values by weak duality (any
``mu >= 0`` gives one; see :func:`_certified`), so a solve cut short by an
iteration or time limit still gives a valid bound.

Two back ends:

- HiGHS's own object (the bindings scipy ships as
  ``scipy.optimize._highspy``, scipy 1.15 and later): the model stays in
  memory, so a solve after a change of bounds or new rows starts from the
  last basis (dual simplex), and a solve can stop after a few iterations,
  its dual values already certifying a bound.  About 3-10 times faster than
  solving from scratch on the nodes of a branch and bound.
- :func:`scipy.optimize.linprog` (``method="highs"``), solving from scratch
  each time, where those bindings are missing.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__: list[str] = []

_EPS = float(np.finfo(np.float64).eps)
# A triangle inequality violated by more than this is added as a cut.
CUT_TOL = 1e-7
# Triangles added per round of a root LP (of :func:`.ilp.lp_bound` and of the branch and
# bound), per vertex: dense matrices need thousands.
ROOT_CUTS = 50
# HiGHS's feasibility tolerances for the LP (the bound is certified whatever they are).
_TOLERANCES = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def _highs_class() -> type | None:
    """HiGHS's ``Highs`` class as scipy ships it, or ``None`` where it is missing."""
    try:
        from scipy.optimize._highspy import _core
    except ImportError:
        return None
    cls = getattr(_core, "_Highs", None)
    needed = ("addVars", "addRows", "changeColsBounds", "changeColsCost", "run", "getSolution",
              "getModelStatus", "setOptionValue")
    if cls is None or not all(hasattr(cls, name) for name in needed):
        return None
    return cls


def pair_index(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Index of the variable ``x_ij`` (``i < j``) among the ``n (n - 1) / 2`` pairs."""
    return i * n - i * (i + 1) // 2 + (j - i - 1)


def triangle_rows(n: int, triples: np.ndarray) -> sp.csr_matrix:
    """Rows ``x_ij + x_jk - x_ik <= 1`` and ``x_ik - x_ij - x_jk <= 0`` per triple ``i < j < k``."""
    t = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
    ij = pair_index(n, t[:, 0], t[:, 1])
    jk = pair_index(n, t[:, 1], t[:, 2])
    ik = pair_index(n, t[:, 0], t[:, 2])
    rows = np.repeat(np.arange(2 * len(t)), 3)
    cols = np.stack([ij, jk, ik, ij, jk, ik], axis=1).reshape(-1)
    vals = np.tile([1.0, 1.0, -1.0, -1.0, -1.0, 1.0], len(t))
    m = n * (n - 1) // 2
    return sp.csr_matrix((vals, (rows, cols)), shape=(2 * len(t), m))


def most_violated(P: np.ndarray, limit: int) -> np.ndarray:
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
        sub = P[a + 1 :, a + 1 :]
        # V[b, c] for the cycle a -> b -> c -> a, b and c above a
        V = P[a, a + 1 :, None] + sub + P[a + 1 :, a][None, :] - 2.0
        V[idx[: n - a - 1], idx[: n - a - 1]] = -1.0
        b, c = np.nonzero(V > CUT_TOL)
        if b.size:
            v = V[b, c]
            if v.size > limit:
                keep = np.argpartition(-v, limit - 1)[:limit]
                b, c, v = b[keep], c[keep], v[keep]
            found_v.append(v)
            found_t.append(np.stack([np.full(b.size, a), b + a + 1, c + a + 1], axis=1))
    if not found_v:
        return np.zeros((0, 3), dtype=np.int64)
    v = np.concatenate(found_v)
    t = np.concatenate(found_t)
    if v.size > limit:
        keep = np.argpartition(-v, limit - 1)[:limit]
        t = t[keep]
    return np.sort(t, axis=1)


def certified_bound(
    c: np.ndarray, G: sp.csr_matrix, h: np.ndarray, mu: np.ndarray, const: float, scale: float,
    lo: np.ndarray | None = None, hi: np.ndarray | None = None,
) -> float:
    """Weak-duality bound ``const + scale * (-mu.h + sum_j min(rc_j lo_j, rc_j hi_j))``, less
    a margin for its float64 rounding (``rc = c + G^T mu``; box ``[0, 1]`` by default).

    The margin bounds the rounding: each reduced cost ``c_j + (G^T mu)_j``
    sums ``k_j + 1`` terms (``k_j`` rows hold ``x_j``), so its error is at
    most ``(k_j + 2) eps`` times the sum of the magnitudes; numpy's pairwise
    summation of the ``N`` final terms adds at most ``(log2 N + 2) eps``
    times their magnitudes.
    """
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 0.0)
    if G.shape[0]:
        reduced = c + G.T @ mu
        size = np.abs(c) + abs(G).T @ mu
        per_column = np.diff(G.tocsc().indptr) + 2.0
    else:
        reduced, size, per_column = c, np.abs(c), np.full(c.size, 2.0)
    if lo is None:
        box = np.minimum(0.0, reduced)
    else:
        box = np.minimum(reduced * lo, reduced * hi)
    terms = np.concatenate([-mu * h, box])
    value = float(terms.sum())
    margin = _EPS * float((per_column * size).sum())
    margin += _EPS * (np.log2(terms.size + 2) + 2.0) * float(np.abs(terms).sum())
    margin *= 1.0 + 1e-6  # the margin's own rounding
    bound = const + scale * (value - margin)
    # const (a pairwise sum of the upper weights) and the final product and sum round too
    slack = (np.log2(c.size + 2) + 4.0) * _EPS
    return bound - slack * (abs(const) + abs(scale * value) + abs(bound))


class TriangleLP:
    """The LP relaxation over the triangles found so far, with a box ``lo <= x <= hi``.

    Args:
        a: nonnegative ``(n, n)`` matrix with a zero diagonal.
        warm: use HiGHS's own object (warm starts) where scipy ships it.

    Attributes:
        c, const, scale: ``cost(x) = const + scale * c.x``.
        triples: the triangles held as rows (``(t, 3)``, ``i < j < k``).
        lo, hi: the current box.
        rounds: LPs solved.
    """

    def __init__(self, a: np.ndarray, warm: bool = True) -> None:
        n = a.shape[0]
        self.n = n
        first, second = np.triu_indices(n, 1)
        self.I, self.J = first.astype(np.int64), second.astype(np.int64)
        upper, lower = a[first, second], a[second, first]
        c = lower - upper
        scale = float(np.abs(c).max()) if c.size else 0.0
        self.scale = scale if scale > 0.0 else 1.0
        self.c = c / self.scale
        self.const = float(upper.sum())
        self.m = self.c.size
        self.lo = np.zeros(self.m)
        self.hi = np.ones(self.m)
        self.triples = np.zeros((0, 3), dtype=np.int64)
        self._codes: set[int] = set()
        self._blocks: list[sp.csr_matrix] = []
        self._G: sp.csr_matrix | None = None
        # solves in a row each triangle has had no dual value (both of its rows)
        self.idle = np.zeros(0, dtype=np.int64)
        self.rounds = 0
        cls = _highs_class() if warm else None
        self._highs = None if cls is None else self._make_highs(cls)

    def _make_highs(self, cls: type) -> object:
        h = cls()
        h.setOptionValue("output_flag", False)
        for key, value in _TOLERANCES.items():
            h.setOptionValue(key, value)
        h.addVars(self.m, np.zeros(self.m), np.ones(self.m))
        h.changeColsCost(self.m, np.arange(self.m, dtype=np.int32), self.c)
        return h

    @property
    def warm(self) -> bool:
        """Whether solves start from the last basis (HiGHS's own object)."""
        return self._highs is not None

    def add(self, triples: np.ndarray) -> int:
        """Add the triangles not yet held; returns how many were new."""
        t = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
        if not len(t):
            return 0
        t = np.unique(np.sort(t, axis=1), axis=0)
        codes = self._code(t)
        fresh = np.array([int(k) not in self._codes for k in codes.tolist()], dtype=bool)
        t = t[fresh]
        if not len(t):
            return 0
        self._codes.update(int(k) for k in codes[fresh].tolist())
        self.triples = np.concatenate([self.triples, t])
        self.idle = np.concatenate([self.idle, np.zeros(len(t), dtype=np.int64)])
        rows = triangle_rows(self.n, t)
        self._blocks.append(rows)
        self._G = None
        if self._highs is not None:
            self._highs.addRows(
                rows.shape[0], np.full(rows.shape[0], -np.inf), np.tile([1.0, 0.0], len(t)),
                rows.nnz, rows.indptr[:-1].astype(np.int32), rows.indices.astype(np.int32),
                rows.data,
            )
        return int(len(t))

    def _code(self, triples: np.ndarray) -> np.ndarray:
        """One integer per sorted triple ``i < j < k``: the keys of :attr:`_codes`."""
        return (triples[:, 0] * self.n + triples[:, 1]) * self.n + triples[:, 2]

    def note(self, mu: np.ndarray) -> None:
        """Count, per triangle, the solves in a row where neither of its rows had a dual value
        (``mu``: the dual values of a finished solve, one per row held)."""
        used = (np.asarray(mu).reshape(-1, 2) > 0).any(axis=1)
        self.idle = np.where(used, 0, self.idle + 1)

    def purge(self, max_idle: int) -> int:
        """Drop the triangles idle in more than ``max_idle`` solves in a row (they come back
        when violated again); returns how many. Fewer rows make each simplex iteration
        cheaper: the nodes of a branch and bound add cuts no other node needs."""
        drop = self.idle > max_idle
        if not drop.any():
            return 0
        keep = ~drop
        self._codes.difference_update(int(k) for k in self._code(self.triples[drop]).tolist())
        rows = np.flatnonzero(np.repeat(drop, 2)).astype(np.int32)
        self.triples, self.idle = self.triples[keep], self.idle[keep]
        self._G = self.G[np.flatnonzero(np.repeat(keep, 2))]
        self._blocks = [self._G]
        if self._highs is not None:
            self._highs.deleteRows(rows.size, rows)
        return int(drop.sum())

    @property
    def G(self) -> sp.csr_matrix:
        """The rows held, ``(2 t, m)``."""
        if self._G is None:
            self._G = (sp.vstack(self._blocks, format="csr") if self._blocks
                       else sp.csr_matrix((0, self.m)))
            self._blocks = [self._G]
        return self._G

    @property
    def h(self) -> np.ndarray:
        return np.tile([1.0, 0.0], len(self.triples))

    def prefix_box(self, prefix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` of the orders that start with ``prefix`` in its order: every pair
        touching it fixed (``lo == hi``), the others free in ``[0, 1]``."""
        n = self.n
        pos = np.full(n, n, dtype=np.int64)
        pos[np.asarray(prefix, dtype=np.int64)] = np.arange(len(prefix))
        touched = (pos[self.I] < n) | (pos[self.J] < n)
        lo = np.where(touched, (pos[self.I] < pos[self.J]).astype(np.float64), 0.0)
        return lo, np.where(touched, lo, 1.0)

    def set_box(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Bounds of every variable (fixed where ``lo == hi``)."""
        self.lo = np.asarray(lo, dtype=np.float64)
        self.hi = np.asarray(hi, dtype=np.float64)
        if self._highs is not None:
            self._highs.changeColsBounds(self.m, np.arange(self.m, dtype=np.int32), self.lo,
                                         self.hi)

    def padded(self, mu: np.ndarray) -> np.ndarray:
        """Dual values of an earlier solve, with zeros for the rows added since."""
        rows = 2 * len(self.triples)
        mu = np.asarray(mu, dtype=np.float64)
        return mu if mu.size == rows else np.concatenate([mu, np.zeros(rows - mu.size)])

    def decomposition(self, mu: np.ndarray) -> tuple[float, np.ndarray, tuple[np.ndarray, ...]]:
        """:func:`.pruned.reduced_costs` of ``mu`` on the current box."""
        from torch_orderedness.metric.pruned import reduced_costs

        return reduced_costs(self.n, self.c, self.const, self.scale, self.triples, self.G,
                             self.h, self.padded(mu), self.lo, self.hi)

    def bound(self, mu: np.ndarray) -> float:
        """The certified bound of dual values ``mu`` (one per row held) on the current box."""
        return certified_bound(self.c, self.G, self.h, self.padded(mu), self.const, self.scale,
                               self.lo, self.hi)

    def _run(self, deadline: float | None, iterations: int | None) -> tuple[np.ndarray | None,
                                                                            np.ndarray | None,
                                                                            bool]:
        """One solve: ``(x or None, mu or None, optimal)``."""
        self.rounds += 1
        left = None if deadline is None else max(1e-3, deadline - time.perf_counter())
        if self._highs is None:
            G = self.G
            options = dict(_TOLERANCES)
            if left is not None:
                options["time_limit"] = left
            res = linprog(self.c, A_ub=G if G.shape[0] else None,
                          b_ub=self.h if G.shape[0] else None,
                          bounds=np.column_stack([self.lo, self.hi]), method="highs",
                          options=options)
            if res.x is None:
                return None, None, False
            mu = -res.ineqlin.marginals if G.shape[0] else np.zeros(0)
            return res.x, mu, res.status == 0
        h = self._highs
        h.setOptionValue("time_limit", math.inf if left is None else left)
        h.setOptionValue("simplex_iteration_limit", 2**31 - 1 if iterations is None
                         else int(iterations))
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        sol = h.getSolution()
        if not sol.dual_valid:
            return None, None, False
        mu = -np.asarray(sol.row_dual, dtype=np.float64)
        x = np.asarray(sol.col_value, dtype=np.float64) if sol.value_valid else None
        return x, mu, status == "Optimal"

    def solve(
        self, *, upper: float = math.inf, deadline: float | None = None, max_rounds: int = 100,
        per_round: int | None = None, early: tuple[int, ...] = (),
    ) -> tuple[float, np.ndarray | None, np.ndarray, bool]:
        """Solve, add the violated triangles, solve again, until none is violated.

        Stops early when the certified bound reaches ``upper`` (the node is
        ruled out), at ``deadline`` or after ``max_rounds`` solves. With
        ``early`` (iteration counts; warm back end only) the first solves stop
        after that many simplex iterations, enough to rule most nodes out.

        Returns ``(bound, x, mu, complete)``: the best certified bound, the
        last solution (``None`` when stopped early), its dual values and
        whether that solution violates no triangle.
        """
        per_round = 5 * self.n if per_round is None else per_round
        mu_best = np.zeros(self.G.shape[0])
        best = self.bound(mu_best)
        if self._highs is not None:
            for iterations in early:
                x, mu, optimal = self._run(deadline, iterations)
                if mu is not None:
                    value = self.bound(mu)
                    if value > best:
                        best, mu_best = value, mu
                if best >= upper or past(deadline):
                    return best, None, mu_best, False
                if optimal:
                    break
        x = None
        for _ in range(max_rounds):
            x, mu, optimal = self._run(deadline, None)
            if mu is None:
                return best, None, mu_best, False
            value = self.bound(mu)
            if value >= best:
                best, mu_best = value, mu
            if optimal:
                self.note(mu)
            if best >= upper or not optimal or x is None or past(deadline):
                return best, x, mu_best, False
            new = self.violated(x, per_round)
            if not len(new) or self.add(new) == 0:
                return best, x, mu_best, True
        return best, x, mu_best, False

    def violated(self, x: np.ndarray, limit: int) -> np.ndarray:
        """The triangles the solution ``x`` violates most (at most ``limit``)."""
        P = np.zeros((self.n, self.n))
        P[self.I, self.J] = x
        P[self.J, self.I] = 1.0 - x
        return most_violated(P, limit)


def past(deadline: float | None) -> bool:
    """Whether the ``time.perf_counter()`` value ``deadline`` (``None``: none) has passed."""
    return deadline is not None and time.perf_counter() > deadline
