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

__all__ = ["pruned_order", "reduced_costs"]

# Most surviving sets kept in one layer before giving up (memory: about 10 * 8 * n bytes each).
DEFAULT_MAX_STATES: int = 400_000
# Entries of one chunk of (states x slack terms) temporaries.
_CHUNK = 2**22


def reduced_costs(
    n: int, c: np.ndarray, const: float, scale: float, triples: np.ndarray,
    G: sp.csr_matrix, h: np.ndarray, mu: np.ndarray,
) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(K, R, slack terms)`` of an LP dual solution (see the module docstring).

    ``R`` is an ``(n, n)`` matrix with ``R[a, b]`` paid when ``a`` is placed
    after ``b`` (as ``A``). The slack terms ``(U, V, W, P)`` charge ``P``
    when the vertices ``U, V, W`` of a triangle are placed in this order;
    the charge is taken when ``V`` is placed (``U`` before it, ``W`` still
    to come).
    """
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 0.0)
    rc = c + G.T @ mu if G.shape[0] else c.copy()
    K = const + scale * (float(-(mu @ h)) + float(np.minimum(rc, 0.0).sum()))
    first, second = np.triu_indices(n, 1)
    R = np.zeros((n, n))
    R[second, first] = scale * np.maximum(rc, 0.0)  # x_ij = 1: i before j: j placed after i
    R[first, second] = scale * np.maximum(-rc, 0.0)
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


def _keys_to_bits(keys: np.ndarray, n: int) -> np.ndarray:
    """``(m, words)`` uint64 set keys as an ``(m, n)`` float64 0/1 matrix."""
    v = np.arange(n)
    words = keys[:, v // 64]
    return ((words >> (v % 64).astype(np.uint64)) & np.uint64(1)).astype(np.float64)


def _unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, starts)``: a sort of the key rows and where each distinct key begins."""
    order = np.argsort(keys[:, 0], kind="stable") if keys.shape[1] == 1 else np.lexsort(keys.T)
    k = keys[order]
    first = np.ones(k.shape[0], dtype=bool)
    first[1:] = (k[1:] != k[:-1]).any(axis=1)
    return order, np.flatnonzero(first)


def pruned_order(
    A: np.ndarray,
    K: float,
    R: np.ndarray,
    terms: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    upper: float,
    *,
    tol: float,
    max_states: int = DEFAULT_MAX_STATES,
    deadline: float | None = None,
) -> tuple[np.ndarray, float] | None:
    """The optimal order of ``A`` by the DP over the sets the bound keeps, or ``None``.

    Args:
        A: nonnegative ``(n, n)`` float64 matrix with a zero diagonal.
        K, R, terms: the bound's decomposition (:func:`reduced_costs`).
        upper: the cost of a known order; orders costing more are ruled out.
        tol: rounding margin added to ``upper`` before ruling out.
        max_states: give up when a layer keeps more sets than this.
        deadline: ``time.perf_counter()`` value at which to give up.

    Returns:
        ``(perm, cost)``, an optimal order and its cost, or ``None`` when the
        search gave up (too many sets, out of time). When no order costs at
        most ``upper + tol`` (``upper`` below the optimum: not a known
        order's cost) the result is also ``None``.
    """
    n = A.shape[0]
    words = (n + 63) // 64
    col_a = A.sum(axis=0)
    col_r = R.sum(axis=0)
    U, V, W, P = terms
    E = sp.csr_matrix((P, (np.arange(P.size), V)), shape=(P.size, n))
    budget = upper + tol - K
    keys = np.zeros((1, words), dtype=np.uint64)
    g_a = np.zeros(1)
    g_r = np.zeros(1)
    bits = np.zeros((1, n))
    history: list[tuple[np.ndarray, np.ndarray]] = []
    word_of = np.arange(n) // 64
    bit_of = np.left_shift(np.uint64(1), (np.arange(n) % 64).astype(np.uint64))
    for _ in range(n):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        inc_a = col_a[None, :] - bits @ A
        inc_r = col_r[None, :] - bits @ R
        if P.size:
            rows = max(1, _CHUNK // P.size)
            for s in range(0, bits.shape[0], rows):
                b = bits[s : s + rows]
                inc_r[s : s + rows] += np.asarray(E.T @ (b[:, U] * (1.0 - b[:, W])).T).T
        inc_r += g_r[:, None]
        s, v = np.nonzero((bits == 0.0) & (inc_r <= budget))
        if s.size == 0:
            return None
        cand_a = g_a[s] + inc_a[s, v]
        cand_r = inc_r[s, v]
        new = keys[s]
        new[np.arange(s.size), word_of[v]] |= bit_of[v]
        order, starts = _unique_rows(new)
        if starts.size > max_states:
            return None
        s, v, new = s[order], v[order], new[order]
        cand_a, cand_r = cand_a[order], cand_r[order]
        best_a = np.minimum.reduceat(cand_a, starts)
        group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, s.size)))
        hit = np.flatnonzero(cand_a == best_a[group])
        first = np.ones(hit.size, dtype=bool)
        first[1:] = group[hit[1:]] != group[hit[:-1]]
        hit = hit[first]
        history.append((s[hit], v[hit]))
        keys, g_a = new[starts], best_a
        g_r = np.minimum.reduceat(cand_r, starts)
        bits = _keys_to_bits(keys, n)
    order_out = []
    k = 0
    for s, v in reversed(history):
        order_out.append(int(v[k]))
        k = int(s[k])
    perm = np.array(order_out[::-1], dtype=np.int64)
    return perm, order_cost(A, perm)
