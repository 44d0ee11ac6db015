r"""The subset DP restricted to the prefixes an LP bound cannot rule out.

The exact DP of :mod:`.exact` visits all ``2**n`` subsets.  Most of them
cannot start an optimal order, and a lower bound says which: this module
runs the same dynamic programme (build the order from the front, one
neuron at a time, keep the cheapest way to reach each set of placed
neurons) over the surviving sets only.

The bound comes from the LP relaxation with triangle inequalities
(:mod:`.ilp`).  With the LP's dual values ``mu >= 0`` on the rows
``G x <= h`` and the reduced costs ``rc = c + G^T mu``, every order ``x``
(a 0/1 vector meeting every row) costs exactly

    cost(x) = K + sum_j R_j(x) + sum_t mu_t * slack_t(x),

where ``K`` is the LP bound, ``R_j(x) = |rc_j|`` when pair ``j`` takes
the orientation its reduced cost penalises (0 otherwise) and
``slack_t(x) = h_t - G_t x >= 0``.  Both sums are nonnegative, so their
part already decided by a prefix set ``T`` (every pair with an end in
``T``, every triangle with two vertices in ``T``: the relative order of
its three vertices is then fixed) is a lower bound on what an order
starting with ``T`` pays beyond ``K``.  A set whose decided part
exceeds ``upper - K`` (``upper``: the cost of a known order) starts no
order better than the known one and is dropped with everything built on
it.  When the LP bound is close to the optimum (as it is on most matrices
up to ``n`` of about 30-40, and on near-ordered ones of any size) only a
few thousand sets survive.

The DP itself adds the true weights of ``A`` along the surviving sets
(float64, as :mod:`.exact` does), so the order returned is optimal among
all orders (every prefix of an optimal order survives: the bound never
exceeds its cost, up to the rounding margin ``tol``) and its cost is
recomputed from ``A``.  When the surviving sets outgrow ``max_states``
or the time runs out, the search gives up (``None``) and the caller falls
back to another method.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from torch_orderedness.metric.exact import order_cost

__all__ = ["default_max_states", "pruned_order", "reduced_costs"]



def reduced_costs(
    n: int, c: np.ndarray, const: float, scale: float, triples: np.ndarray,
    G: sp.csr_matrix, h: np.ndarray, mu: np.ndarray,
    lo: np.ndarray | None = None, hi: np.ndarray | None = None,
) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(K, R, slack terms)`` of an LP dual solution (see the module docstring).

    ``R`` is an ``(n, n)`` matrix with ``R[a, b]`` paid when ``a`` is placed
    after ``b`` (as ``A``). The slack terms ``(U, V, W, P)`` charge ``P``
    when the vertices ``U, V, W`` of a triangle are placed in this order;
    the charge is taken when ``V`` is placed (``U`` before it, ``W`` still
    to come). With a box ``lo <= x <= hi`` (a node of a branch and bound:
    fixed pairs have ``lo == hi``) the decomposition holds for the orders in
    the box; fixed pairs pay nothing in ``R`` (their cost is in ``K``).
    """
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 0.0)
    rc = c + G.T @ mu if G.shape[0] else c.copy()
    if lo is None or hi is None:
        lo, hi = np.zeros(c.size), np.ones(c.size)
    K = const + scale * (float(-(mu @ h)) + float(np.minimum(rc * lo, rc * hi).sum()))
    free = lo < hi
    first, second = np.triu_indices(n, 1)
    R = np.zeros((n, n))
    R[second, first] = np.where(free, scale * np.maximum(rc, 0.0), 0.0)  # x_ij = 1: j after i
    R[first, second] = np.where(free, scale * np.maximum(-rc, 0.0), 0.0)
    m1, m2 = scale * mu[0::2], scale * mu[1::2]
    i, j, k = np.asarray(triples, dtype=np.int64).reshape(-1, 3).T
    # row 2s (x_ij + x_jk - x_ik <= 1) is slack in the orders i,k,j / j,i,k / k,j,i;
    # row 2s+1 (x_ik - x_ij - x_jk <= 0) in i,j,k / j,k,i / k,i,j
    orders = [((i, k, j), m1), ((j, i, k), m1), ((k, j, i), m1),
              ((i, j, k), m2), ((j, k, i), m2), ((k, i, j), m2)]
    U = np.concatenate([o[0][0] for o in orders])
    V = np.concatenate([o[0][1] for o in orders])
    W = np.concatenate([o[0][2] for o in orders])
    P = np.concatenate([o[1] for o in orders])
    keep = P > 0
    return K, R, (U[keep], V[keep], W[keep], P[keep])


# Up to this many vertices the triangle charges are held as a dense (n, n, n) table.
_DENSE_CHARGES_N = 128
# Bytes the search may hold in its layers (per set: the increments of both sums, the
# members, the candidates it spawns): the default max_states follows from it.
_STATE_BYTES = 768 * 2**20


def default_max_states(n: int) -> int:
    """Most sets per layer :func:`pruned_order` keeps by default for ``n`` vertices.

    About 768 MiB of layers: ``64 n`` bytes per set (its two rows of
    increments, its members and the candidates it spawns); 300 000 sets at
    ``n = 40``.

    Example::

        >>> default_max_states(40)
        314572
    """
    return max(1024, _STATE_BYTES // (64 * max(int(n), 1)))


class _Charges:
    """The triangle charges of :func:`reduced_costs`' terms, arranged for the search.

    Placing ``w`` after a set ``S`` changes the decided charge of placing
    ``v`` next by ``M1[w, v] - sum_{u in S} Q[w][u, v]``: ``M1[w, v]`` sums
    the terms ``(w, v, W)`` (they start to count: ``w`` is now before ``v``,
    ``W`` still to come unless ``W`` is in ``S``), ``Q[w][u, v]`` the terms
    ``(w, v, u)`` and ``(u, v, w)`` (the first never counts once ``u`` is
    placed, the second stops counting now that its last vertex is placed).
    """

    def __init__(self, n: int, terms: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
        U, V, W, P = terms
        self.n = n
        self.first = np.zeros((n, n))
        np.add.at(self.first, (U, V), P)
        # both (w, v, u) and (u, v, w) charge pair (w, u) for v
        rows = np.concatenate([U, W])
        cols = np.concatenate([W, U])
        via = np.concatenate([V, V])
        weight = np.concatenate([P, P])
        self.dense = n <= _DENSE_CHARGES_N
        if self.dense:
            self.table = np.zeros((n, n, n))
            np.add.at(self.table, (rows, cols, via), weight)
        else:
            self.sparse = []
            order = np.argsort(rows, kind="stable")
            rows, cols, via, weight = rows[order], cols[order], via[order], weight[order]
            ends = np.searchsorted(rows, np.arange(n + 1))
            for w in range(n):
                a, b = ends[w], ends[w + 1]
                self.sparse.append(sp.csr_matrix((weight[a:b], (cols[a:b], via[a:b])),
                                                 shape=(n, n)))

    def of_sets(self, bits: np.ndarray, terms: tuple[np.ndarray, ...]) -> np.ndarray:
        """``sum_{terms with V = v} P [U in S] [W not in S]`` for each row ``S`` of ``bits``."""
        U, V, W, P = terms
        out = np.zeros(bits.shape)
        for r in range(bits.shape[0]):
            b = bits[r]
            out[r] = np.bincount(V, weights=P * b[U] * (1.0 - b[W]), minlength=self.n)
        return out

    def removed(self, w: int, member_rows: np.ndarray) -> np.ndarray:
        """``sum_{u in S} Q[w][u, :]`` for each row (0/1 members of ``S``) of ``member_rows``."""
        b = member_rows.astype(np.float64)
        if self.dense:
            return b @ self.table[w]
        return np.asarray((self.sparse[w].T @ b.T).T)


class _Search:
    """Outcome of :func:`_prefix_search`.

    ``status``: ``"found"`` (``perm`` is the least-cost order starting with
    the given prefix, ``cost`` its cost), ``"none"`` (no order starting with
    the prefix costs at most ``upper + tol``) or ``"gave up"`` (too many sets
    or out of time). ``first``: the vertices the bound lets follow the prefix
    and the decided charge of the prefix followed by each (so ``K`` plus it
    is a lower bound on the orders starting that way); ``None`` if not reached.
    """

    __slots__ = ("status", "perm", "cost", "first")

    def __init__(self, status: str, perm: np.ndarray | None = None, cost: float = np.inf,
                 first: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.status, self.perm, self.cost, self.first = status, perm, cost, first


def _set_keys(members: np.ndarray, words: int) -> np.ndarray:
    """``(m, words)`` uint64 keys of ``(m, n)`` 0/1 member rows."""
    m, n = members.shape
    keys = np.zeros((m, words), dtype=np.uint64)
    for v in range(n):
        keys[:, v // 64] |= members[:, v].astype(np.uint64) << np.uint64(v % 64)
    return keys


def _unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, starts)``: a sort of the key rows and where each distinct key begins."""
    order = np.argsort(keys[:, 0], kind="stable") if keys.shape[1] == 1 else np.lexsort(keys.T)
    k = keys[order]
    first = np.ones(k.shape[0], dtype=bool)
    first[1:] = (k[1:] != k[:-1]).any(axis=1)
    return order, np.flatnonzero(first)


def _prefix_search(
    A: np.ndarray,
    K: float,
    R: np.ndarray,
    terms: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    upper: float,
    *,
    tol: float,
    prefix: np.ndarray | None = None,
    charged: float = 0.0,
    max_states: int,
    deadline: float | None = None,
) -> _Search:
    """The DP over the sets the bound keeps, from the sets holding ``prefix`` (in its order).

    ``charged`` is the decided part of the bound the prefix already carries
    (pairs and triangles it fixes that :func:`reduced_costs` did not fold
    into ``K``). Every set's two row vectors (the cost of placing each vertex
    next, and its decided charge) are carried from the set it was reached
    from and updated by the vertex added, so a layer costs a few passes over
    its sets plus one ``n x n`` product per set.
    """
    n = A.shape[0]
    prefix = np.zeros(0, dtype=np.int64) if prefix is None else np.asarray(prefix, np.int64)
    words = (n + 63) // 64
    U, V, W, P = terms
    charges = _Charges(n, terms)
    step = charges.first - R
    budget = upper + tol - K
    member = np.zeros((1, n), dtype=np.uint8)
    member[0, prefix] = 1
    b0 = member[0].astype(np.float64)
    inc_a = (A.sum(axis=0) - b0 @ A)[None, :]
    inc_r = (R.sum(axis=0) - b0 @ R)[None, :]
    if P.size:
        inc_r = inc_r + charges.of_sets(b0[None, :], terms)
    keys = _set_keys(member, words)
    g_a = np.array([order_cost(A[np.ix_(prefix, prefix)], np.arange(prefix.size))
                    if prefix.size else 0.0])
    g_r = np.array([float(charged)])
    word_of = np.arange(n) // 64
    bit_of = np.left_shift(np.uint64(1), (np.arange(n) % 64).astype(np.uint64))
    history: list[tuple[np.ndarray, np.ndarray]] = []
    first = None
    for layer in range(n - prefix.size):
        if deadline is not None and time.perf_counter() > deadline:
            return _Search("gave up", first=first)
        ok = inc_r <= (budget - g_r)[:, None]
        ok &= member == 0
        s, v = np.nonzero(ok)
        del ok
        cand_r = g_r[s] + inc_r[s, v]
        if layer == 0:
            first = (v.copy(), cand_r.copy())
        if s.size == 0:
            return _Search("none", first=first)
        cand_a = g_a[s] + inc_a[s, v]
        new = keys[s]
        new[np.arange(s.size), word_of[v]] |= bit_of[v]
        order, starts = _unique_rows(new)
        if starts.size > max_states:
            return _Search("gave up", first=first)
        s, v, new = s[order], v[order], new[order]
        cand_a, cand_r = cand_a[order], cand_r[order]
        best_a = np.minimum.reduceat(cand_a, starts)
        group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, s.size)))
        hit = np.flatnonzero(cand_a == best_a[group])
        keep = np.ones(hit.size, dtype=bool)
        keep[1:] = group[hit[1:]] != group[hit[:-1]]
        hit = hit[keep]
        # the new layer ordered by the vertex added: each group's updates are slices
        by_vertex = np.argsort(v[hit], kind="stable")
        hit = hit[by_vertex]
        parent, added = s[hit], v[hit]
        history.append((parent, added))
        keys = new[starts[by_vertex]]
        g_a = best_a[by_vertex]
        g_r = np.minimum.reduceat(cand_r, starts)[by_vertex]
        del new, cand_a, cand_r, s, v, group, best_a
        advanced = _advance(A, member, inc_a, inc_r, parent, added, step, charges, deadline)
        if advanced is None:
            return _Search("gave up", first=first)
        member, inc_a, inc_r = advanced
    perm = _read_back(history, prefix)
    return _Search("found", perm, order_cost(A, perm), first)


def _advance(
    A: np.ndarray, member: np.ndarray, inc_a: np.ndarray, inc_r: np.ndarray,
    parent: np.ndarray, added: np.ndarray, step: np.ndarray, charges: _Charges,
    deadline: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The next layer's members and increments from each new set's parent and added vertex
    (``added`` sorted; ``None`` past the deadline)."""
    member = member[parent]
    inc_a = inc_a[parent]
    inc_r = inc_r[parent]
    ends = np.searchsorted(added, np.arange(A.shape[0] + 1))
    for w in np.flatnonzero(np.diff(ends)):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        rows = slice(ends[w], ends[w + 1])
        inc_a[rows] -= A[w]
        inc_r[rows] += step[w]
        inc_r[rows] -= charges.removed(int(w), member[rows])
        member[rows, w] = 1
    return member, inc_a, inc_r


def _read_back(history: list[tuple[np.ndarray, np.ndarray]], prefix: np.ndarray) -> np.ndarray:
    order_out = []
    k = 0
    for s, v in reversed(history):
        order_out.append(int(v[k]))
        k = int(s[k])
    return np.concatenate([prefix, np.array(order_out[::-1], dtype=np.int64)])


def pruned_order(
    A: np.ndarray,
    K: float,
    R: np.ndarray,
    terms: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    upper: float,
    *,
    tol: float,
    max_states: int | None = None,
    deadline: float | None = None,
) -> tuple[np.ndarray, float] | None:
    """The optimal order of ``A`` by the DP over the sets the bound keeps, or ``None``.

    Args:
        A: nonnegative ``(n, n)`` float64 matrix with a zero diagonal.
        K, R, terms: the bound's decomposition (:func:`reduced_costs`).
        upper: the cost of a known order; orders costing more are ruled out.
        tol: rounding margin added to ``upper`` before ruling out.
        max_states: give up when a layer keeps more sets than this (default
            :func:`default_max_states`).
        deadline: ``time.perf_counter()`` value at which to give up.

    Returns:
        ``(perm, cost)``, an optimal order and its cost, or ``None`` when the
        search gave up (too many sets, out of time). When no order costs at
        most ``upper + tol`` (``upper`` below the optimum: not a known
        order's cost) the result is also ``None``.
    """
    if max_states is None:
        max_states = default_max_states(A.shape[0])
    found = _prefix_search(A, K, R, terms, upper, tol=tol, max_states=int(max_states),
                           deadline=deadline)
    return (found.perm, found.cost) if found.status == "found" else None
