r"""Certified lower bounds on the least backward weight of a square matrix.

The problem is the weighted linear ordering problem of :mod:`.search`: the
cost of an order ``p`` of a nonnegative ``(n, n)`` matrix ``A`` is the sum
of ``A[i, j]`` over the pairs where ``i`` is placed after ``j``.  A lower
bound ``L`` on the least cost gives an upper bound ``1 - (fixed + L) /
sum(S)`` on the orderedness (:mod:`.core`); when it meets the cost of a
heuristic order, that order is proven optimal.

Four bounds:

1. :func:`pairwise_bound`: every pair ``{i, j}`` pays at least
   ``min(A[i, j], A[j, i])``, so ``sum_{i<j} min(A[i, j], A[j, i])`` is a
   bound.  What is left is the *residual* ``R = max(0, A - A^T)``: the cost
   of an order is the pairwise bound plus the residual weight it puts
   backwards.
2. :func:`triangle_bound`: the pairwise bound plus a fractional packing of
   directed 3-cycles of ``R``.  A 3-cycle ``i -> j -> k -> i`` (``R[i, j],
   R[j, k], R[k, i] > 0``) has at least one arc backwards in every order,
   so weights ``y_c >= 0`` on 3-cycles whose sum on each arc stays within
   its residual (``sum_{c ∋ a} y_c <= R_a``) bound the residual cost by
   ``sum_c y_c`` (weak LP duality).  The packing is of product form,
   ``y_ijk = F[i, j] F[j, k] F[k, i]``, so the load of every arc is one
   matrix product: ``load = F * (F @ F).T``, and ``sum_c y_c =
   trace(F^3) / 3``.  ``F`` is fitted by damped multiplicative scaling
   (``F <- min(cap, F * sqrt(R / load))``, float32, about 40 rounds;
   ``O(n^3)`` work per round, done by BLAS), made feasible by scaling down
   every overloaded arc (``F <- F * min(1, R / load)``: loads can only
   drop), and the capacity it leaves is packed again twice.  This is the
   entropy-regularised form of the packing LP; it reaches 96-97 % of the
   ``sum(R) / 3`` ceiling on dense random matrices with ``n`` in the
   thousands (no 3-cycle bound, not even the LP, can pass that ceiling), and
   on near-ordered matrices it usually leaves less than ``1e-4`` of the
   total uncertain.
3. :func:`order_bound`: given an order (the heuristic's), the pairwise bound
   plus a packing of only the 3-cycles with exactly one arc backwards in
   that order: each backward arc spreads its residual over its 3-cycles in
   proportion to their two forward arcs' product (three matrix products in
   all).  Weaker than 2 in general, but exact, up to rounding margins of
   about ``1e-15`` relative, on near-ordered matrices when the order is
   optimal: it proves them at any size in about a second.
4. The LP relaxation with triangle inequalities (:func:`.ilp.lp_bound`),
   solved by HiGHS with cutting planes; exact on most near-ordered matrices
   (its solution is then integral) but slow on dense random ones beyond
   ``n`` of about 50.

:func:`lower_bound` combines them, stopping as soon as one meets the cost of
the order it is given.

Rounding.  Every bound returned is certified in float64 arithmetic, not just
computed: the packing's feasibility is checked with loads rounded upwards
(products of nonnegative numbers summed in any order err by at most
``gamma_n = n eps / (1 - n eps)`` relative), the overloaded arcs are scaled
by an extra ``1 - 4 (n + 16) eps``, and the sums are reduced by their
worst-case rounding error (about ``(n + 2 log2 n + 8) eps`` relative: below
``1e-12`` for ``n`` up to a few thousand).  The margins are far below the
``1e-9`` relative tolerance :mod:`.core` uses to call an order optimal.
"""

from __future__ import annotations

import math
import time

import numpy as np

from torch_orderedness.metric._cost import (
    _PREDICT_N,
    _elementwise_seconds,
    _fits,
    _matmul_seconds,
)
from torch_orderedness.metric.exact import order_cost
from torch_orderedness.metric.search import _check_matrix, _check_time_limit

__all__ = [
    "LP_AUTO_GAP",
    "LP_AUTO_MAX_N",
    "LP_AUTO_SMALL_N",
    "LP_AUTO_TIME_LIMIT",
    "lower_bound",
    "order_bound",
    "pairwise_bound",
    "triangle_bound",
]

#: ``lp="auto"`` considers the LP relaxation only up to this ``n``.
LP_AUTO_MAX_N: int = 400
#: ``lp="auto"`` always runs the LP relaxation up to this ``n`` (when the triangle
#: bound does not already meet the heuristic cost). Measured on 50 %-sparse random
#: matrices: about 1 s at n = 40, 4 s at n = 50, over 10 s at n = 60.
LP_AUTO_SMALL_N: int = 40
#: Beyond :data:`LP_AUTO_SMALL_N`, ``lp="auto"`` runs the LP relaxation only when the
#: triangle bound leaves at most this fraction of ``sum(A)`` uncertain (near-ordered
#: matrices, where the LP is fast and usually exact).
LP_AUTO_GAP: float = 0.01
#: Seconds ``lp="auto"`` grants the LP relaxation when no ``time_limit`` is given.
LP_AUTO_TIME_LIMIT: float = 10.0

_EPS = float(np.finfo(np.float64).eps)
_U = _EPS / 2  # unit roundoff of float64
# Rounds of multiplicative scaling: the first packing, then two packings of what is left.
_ROUNDS = (40, 10, 10)
# The fitted arc factors may grow to this multiple of their largest value after one step.
_CAP = 2.0


# On matrices at least _PREDICT_N large, order_bound runs only when the order leaves at most
# this fraction of sum(A) above the pairwise bound (near-ordered ones, which it proves).
_ORDER_BOUND_GAP = 0.02


def _prepared(A: object) -> np.ndarray:
    a = _check_matrix(A).copy()
    np.fill_diagonal(a, 0.0)
    return a


def _pairwise(a: np.ndarray) -> float:
    """``sum_{i<j} min(a_ij, a_ji)`` less its worst rounding (the diagonal of ``a`` is 0)."""
    m = np.minimum(a, a.T)
    value = 0.5 * float(m.sum())  # numpy's pairwise summation of n^2 nonnegative terms
    return value * (1.0 - (math.log2(a.size + 2) + 4.0) * _U)


def pairwise_bound(A: np.ndarray) -> float:
    """The pairwise lower bound ``sum_{i<j} min(A[i, j], A[j, i])`` on the least cost.

    Args:
        A: nonnegative square matrix ``(n, n)``; ``A[i, j]`` is paid when
            ``i`` is placed after ``j``. The diagonal is ignored.

    Returns:
        A certified lower bound (reduced by its worst-case rounding error).

    Example::

        >>> A = np.array([[0.0, 2.0], [3.0, 0.0]])  # one of the two weights is always paid
        >>> round(pairwise_bound(A), 12)
        2.0
    """
    return _pairwise(_prepared(A))


def _scaled_residual(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(C, e)``: capacities ``C <= max(0, a - a^T) / 2**e`` (exactly representable) and ``e``.

    The power-of-two scaling is exact; ``C`` is reduced by ``2 eps`` to cover
    the rounding of the subtraction, so ``C * 2**e`` never exceeds the true
    residual.
    """
    R = np.maximum(a - a.T, 0.0)
    top = float(R.max()) if R.size else 0.0
    if top == 0.0:
        return R, 0
    e = math.frexp(top)[1]  # top < 2**e
    C = np.ldexp(R, -e) * (1.0 - 4.0 * _U)
    return C, e


# The scaling rounds and the certificate work on transposed matrices ("T frame"):
# with Ft = F.T, the loads are load.T = Ft * (F @ F) and F @ F = Ft.T @ Ft.T (BLAS reads
# the transposes in place), so every elementwise step runs over contiguous memory.


def _fit_t(
    Ct: np.ndarray, iterations: int, deadline: float | None, reserve: float = 0.0
) -> np.ndarray:
    """Product-form packing factors, transposed (``F.T``), for transposed capacities ``C.T``.

    Only a candidate: :func:`_certify_t` makes any factors feasible. The
    rounds run in float32 on ``C / max(C)`` (capacities below ``1e-6`` of the
    largest are left out), with the factors kept within ``[1e-12, 1] * cap``
    so float32 never overflows or turns subnormal; the result is scaled back
    by ``max(C) ** (1/3)`` (a 3-cycle's weight is a product of three factors).
    """
    top = float(Ct.max())
    Cf = (Ct / top).astype(np.float32)
    support = (Cf >= 1e-6).astype(np.float32)
    Cf *= support
    Ft = Cf.copy()
    work = np.empty_like(Ft)
    tiny = np.float32(1e-30)
    cap = None
    # no round starts unless it (as long as the longest so far) and ``reserve`` fit
    longest = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for _ in range(iterations):
            started = time.perf_counter()
            if deadline is not None and started + longest + reserve > deadline:
                break
            np.multiply(Ft, Ft.T @ Ft.T, out=work)  # load.T
            if not (work > 0).any():
                break  # no 3-cycle left
            np.maximum(work, tiny, out=work)
            np.divide(Cf, work, out=work)
            np.sqrt(work, out=work)
            np.multiply(Ft, work, out=Ft)
            if cap is None:
                cap = np.float32(_CAP * float(Ft[support > 0].max(initial=0.0)))
                if not (np.isfinite(cap) and cap > 0):
                    break
            np.clip(Ft, cap * np.float32(1e-12), cap, out=Ft)
            np.multiply(Ft, support, out=Ft)
            longest = max(longest, time.perf_counter() - started)
    del work, support, Cf
    return Ft.astype(np.float64) * top ** (1.0 / 3.0)


def _certify_t(Ct: np.ndarray, Ft: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """A feasible packing from any factors ``F >= 0`` (all in the T frame).

    Returns ``(certified value, capacities left (T frame), feasible factors
    (T frame))``. Guarantees (in exact arithmetic on the float inputs): the
    true loads of the returned packing are at most ``C``, its true value is
    at least the returned value, and ``capacities left + true loads <= C``.
    """
    n = Ct.shape[0]
    gamma = (n + 2) * _U / (1.0 - (n + 2) * _U)
    delta = 4.0 * (n + 16) * _U
    Ft = np.where(Ct > 0, Ft, 0.0)
    load = Ft * (Ft.T @ Ft.T)  # rounded: true load <= load * (1 + u) / (1 - gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(load > 0, np.minimum(1.0, Ct / load), 1.0)
    Ft = Ft * rho * (1.0 - delta)
    load = Ft * (Ft.T @ Ft.T)  # loads of the feasible packing, rounded
    value = float(load.sum()) / 3.0  # sum over 3-cycles = trace(F^3) / 3
    value *= 1.0 - (n + 2.0 * math.log2(n + 2) + 8.0) * 2.0 * _U
    used = load * (1.0 + 2.0 * gamma + delta) + 4.0 * _U * Ct
    left = np.maximum(Ct - used, 0.0)
    return max(value, 0.0), left, Ft


def _packing_seconds(n: int) -> tuple[float, float]:
    """Predicted seconds of ``(one scaling round, one certification)`` at size ``n``."""
    if n < _PREDICT_N:
        return 0.0, 0.0
    elem = _elementwise_seconds(n)
    return (_matmul_seconds(n) + 6.0 * elem,
            2.0 * _matmul_seconds(n, np.float64) + 12.0 * elem)


def _rounds_for(n: int) -> tuple[int, ...]:
    """The scaling rounds of the packing: fewer on large matrices (each is ``O(n^3)``).

    Measured on the dense ``|N(0, 1)|`` matrix of ``n = 2000`` of
    ``bench_metric_large.py`` (gap ``(cost - bound) / sum(A)`` with the default
    search's order): 8 rounds 0.0612 (1.6 s), 16 rounds 0.0605 (1.6 s), 30
    rounds 0.0602 (2.9 s), 16 then 8 on the capacity left 0.0587 (3.1 s),
    30 + 10 + 10 0.0582 (5.3 s): packing what is left again gains more than
    more rounds of the first packing.
    """
    if n <= 1000:
        return _ROUNDS
    return (16, 8) if n <= 3000 else (8,)


def _packing(
    a: np.ndarray, deadline: float | None, rounds: tuple[int, ...] | None = None
) -> float | None:
    """Certified value of a fractional packing of 3-cycles of the residual of ``a``.

    ``None`` when not even one round and its certification fit before ``deadline``.
    """
    n = a.shape[0]
    if n < 3:
        return 0.0
    rounds = _rounds_for(n) if rounds is None else rounds
    round_s, certify_s = _packing_seconds(n) if deadline is not None else (0.0, 0.0)
    if not _fits(round_s + certify_s + 2.0 * round_s, deadline):
        return None
    C, e = _scaled_residual(a)
    Ct = np.ascontiguousarray(C.T)
    del C
    total = 0.0
    for k, iterations in enumerate(rounds):
        if not (Ct > 0).any():
            break
        if k and not _fits(round_s + certify_s, deadline):
            break
        Ft = _fit_t(Ct, iterations, deadline, reserve=certify_s)
        value, Ct, _ = _certify_t(Ct, Ft)
        del Ft
        total += value
        if deadline is not None and time.perf_counter() > deadline:
            break
    return math.ldexp(total, e) * (1.0 - 4.0 * _U * len(rounds))


def _certify_one_backward(C: np.ndarray, Fb: np.ndarray, G: np.ndarray) -> float:
    """Certified value of the packing ``y_ijk = Fb[i, j] G[j, k] G[k, i]`` within ``C``.

    ``Fb`` lives on the backward arcs of an order and ``G`` on its forward
    arcs, so every packed 3-cycle has exactly one backward arc. Loads:
    ``Fb * (G @ G).T`` on backward arcs, ``G * (G @ Fb + Fb @ G).T`` on
    forward ones. Overloaded arcs are scaled down as in :func:`_certify_t`.
    """
    n = C.shape[0]
    gamma = (2 * n + 2) * _U / (1.0 - (2 * n + 2) * _U)
    delta = 4.0 * (2 * n + 16) * _U

    def loads(Fb: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        back = Fb * (G @ G).T
        return back, back + G * (G @ Fb + Fb @ G).T

    back, load = loads(Fb, G)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(load > 0, np.minimum(1.0, C / load), 1.0)
    rho *= 1.0 - delta
    back, load = loads(Fb * rho, G * rho)
    del load
    value = float(back.sum())  # one backward arc per 3-cycle
    value *= 1.0 - (2 * n + 2.0 * math.log2(n + 2) + 8.0) * 2.0 * _U
    return max(value, 0.0) * (1.0 - gamma)


def _order_packing(a: np.ndarray, order: np.ndarray) -> float:
    """Certified packing of the 3-cycles with one backward arc in ``order`` (unscaled units).

    Every backward residual arc ``i -> j`` (``i`` placed after ``j``) spreads
    its whole residual over the 3-cycles ``i -> j -> k -> i`` closed by two
    forward arcs, in proportion to ``C[j, k] C[k, i]``: ``Fb[i, j] = C[i, j]
    / (C_fwd @ C_fwd)[j, i]``. When the forward arcs can carry that, the
    packing is worth the whole backward residual, which is the order's cost
    less the pairwise bound: the order is proven optimal.
    """
    n = a.shape[0]
    if n < 3:
        return 0.0
    C, e = _scaled_residual(a)
    pos = np.empty(n, dtype=np.int64)
    pos[np.asarray(order, dtype=np.int64)] = np.arange(n)
    later = pos[:, None] > pos[None, :]  # later[i, j]: i is placed after j
    G = np.where(later, 0.0, C)
    paths = (G @ G).T  # paths[i, j] = sum_k G[j, k] G[k, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        Fb = np.where(later & (C > 0) & (paths > 0), C / paths, 0.0)
    return math.ldexp(_certify_one_backward(C, Fb, G), e) * (1.0 - 4.0 * _U)


def order_bound(A: np.ndarray, order: np.ndarray) -> float:
    """Pairwise bound plus the 3-cycles through the backward arcs of ``order``: a lower bound.

    Cheap (three matrix products) and exact for near-ordered matrices when
    ``order`` is optimal: it then equals the order's cost (up to rounding
    margins, below ``1e-12`` relative). It is a valid bound for any ``order``, but
    weaker than :func:`triangle_bound` on matrices far from ordered.

    Args:
        A: nonnegative square matrix ``(n, n)``; the diagonal is ignored.
        order: a permutation of ``range(n)``, e.g. from
            :func:`.search.heuristic_order`.

    Returns:
        A certified lower bound on the least cost.

    Example::

        >>> rng = np.random.default_rng(1)
        >>> A = np.triu(rng.random((50, 50)), 1) + 0.01 * rng.random((50, 50))
        >>> from torch_orderedness.metric.exact import order_cost
        >>> cost = order_cost(A, np.arange(50))
        >>> bool(cost - order_bound(A, np.arange(50)) <= 1e-9 * cost)  # identity is optimal
        True
    """
    a = _prepared(A)
    n = a.shape[0]
    p = np.asarray(order, dtype=np.int64)
    if p.shape != (n,) or not np.array_equal(np.sort(p), np.arange(n)):
        raise ValueError(f"order must be a permutation of range({n})")
    return (_pairwise(a) + _order_packing(a, p)) * (1.0 - 2.0 * _U)


def triangle_bound(A: np.ndarray, *, time_limit: float | None = None) -> float:
    """Pairwise bound plus a packing of directed 3-cycles of the residual: a lower bound.

    Args:
        A: nonnegative square matrix ``(n, n)``; ``A[i, j]`` is paid when
            ``i`` is placed after ``j``. The diagonal is ignored.
        time_limit: seconds (``None``: the full 60 scaling rounds, ``O(n^3)``
            each: about 1.5 s at ``n = 1000`` on 2 cores). When it runs out
            the packing found so far is certified and used.

    Returns:
        A certified lower bound on the least cost, at least
        :func:`pairwise_bound`.

    Example::

        >>> A = np.zeros((3, 3))
        >>> A[0, 1] = A[1, 2] = A[2, 0] = 1.0  # a 3-cycle: one arc is always backwards
        >>> round(triangle_bound(A), 9)
        1.0
    """
    t0 = time.perf_counter()
    a = _prepared(A)
    limit = _check_time_limit(time_limit)
    deadline = None if limit is None else t0 + limit
    pair = _pairwise(a)
    packed = _packing(a, deadline)
    return (pair + (packed or 0.0)) * (1.0 - 2.0 * _U)


def _order_bound_seconds(n: int) -> float:
    """Predicted seconds of :func:`order_bound` (seven float64 products and elementwise work)."""
    if n < _PREDICT_N:
        return 0.0
    return 7.0 * _matmul_seconds(n, np.float64) + 30.0 * _elementwise_seconds(n)


def lower_bound(
    A: np.ndarray,
    *,
    lp: bool | str = "auto",
    time_limit: float | None = None,
    upper: float | None = None,
    order: np.ndarray | None = None,
) -> float:
    """A certified lower bound on the least cost (backward weight) of an order of ``A``.

    Given an order, first :func:`order_bound` (three matrix products; it
    proves near-ordered matrices optimal at any size), then, unless that
    already meets the order's cost, :func:`triangle_bound`; then, if ``lp``
    says so, the LP relaxation (:func:`.ilp.lp_bound`). The largest bound.

    Args:
        A: nonnegative square matrix ``(n, n)`` (float64, or anything numpy
            converts; a torch tensor is read via ``.detach().cpu()``);
            ``A[i, j]`` is paid when ``i`` is placed after ``j``. The diagonal
            is ignored.
        lp: ``True``: run the LP relaxation; ``False``: never; ``"auto"``:
            run it when the triangle bound does not already meet ``upper``
            and either ``n <= LP_AUTO_SMALL_N`` (40) or ``n <= LP_AUTO_MAX_N``
            (400) with at most ``LP_AUTO_GAP`` (1 %) of ``sum(A)`` left
            uncertain (near-ordered matrices).
        time_limit: seconds for everything (``None``: no limit for the
            triangle bound and :data:`LP_AUTO_TIME_LIMIT` for an automatic
            LP). When it runs out, the best bound certified so far.
        upper: the cost of a known order (e.g. the heuristic's): the work
            stops as soon as a bound meets it, and it decides whether the LP
            can help. Default: the cost of ``order``; with ``lp="auto"``, no
            order and ``n <= LP_AUTO_MAX_N``, a quick local search
            (:func:`.search.heuristic_order` without perturbations) provides
            both.
        order: a good order (e.g. the heuristic's), for :func:`order_bound`
            and to seed the LP's cuts. Passing the heuristic's order and cost
            is what makes near-ordered matrices of any size cheap to prove.

    Returns:
        A float ``<=`` the least cost (certified: see the module docstring).

    Raises:
        ValueError: ``A`` not square, not finite or negative; a bad
            ``lp`` or ``time_limit``.
        TypeError: non-numeric ``A``; ``time_limit`` of the wrong type.

    Example::

        >>> rng = np.random.default_rng(0)
        >>> A = rng.random((40, 40))
        >>> from torch_orderedness.metric.exact import order_cost
        >>> from torch_orderedness.metric.search import heuristic_order
        >>> perm, cost = heuristic_order(A)
        >>> pairwise_bound(A) < triangle_bound(A) <= lower_bound(A) <= cost
        True
    """
    t0 = time.perf_counter()
    a = _prepared(A)
    limit = _check_time_limit(time_limit)
    if lp not in (True, False, "auto"):
        raise ValueError(f"lp must be True, False or 'auto', got {lp!r}")
    if upper is not None and not (isinstance(upper, (int, float, np.floating)) and upper >= 0):
        raise ValueError(f"upper must be a nonnegative number or None, got {upper!r}")
    n = a.shape[0]
    if order is not None:
        order = np.asarray(order, dtype=np.int64)
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of range({n})")
    deadline = None if limit is None else t0 + limit
    return _lower_bound(a, lp, deadline, upper, order)[0]


def _lower_bound(
    a: np.ndarray,
    lp: bool | str,
    deadline: float | None,
    upper: float | None,
    order: np.ndarray | None,
) -> tuple[float, str]:
    """:func:`lower_bound` on a checked matrix (zero diagonal): ``(bound, which)``.

    ``which`` names the bound that gave the value: ``"pairwise"``,
    ``"order"``, ``"triangle"`` or ``"lp"``; with ``" (time_limit)"``
    appended when a stronger bound was skipped because it could not finish
    before ``deadline``.
    """
    n = a.shape[0]

    def left(share: float = 1.0) -> float | None:
        if deadline is None:
            return None
        return max(1e-3, share * (deadline - time.perf_counter()))

    total = float(a.sum())

    def proves(bound: float) -> bool:
        return upper is not None and upper - bound <= 1e-9 * upper + 1e-15 * total

    if lp == "auto" and order is None and upper is None and 3 <= n <= LP_AUTO_MAX_N:
        from torch_orderedness.metric.search import heuristic_order

        order, upper = heuristic_order(a, restarts=0, time_limit=left(0.2))
    if order is not None and upper is None:
        upper = order_cost(a, order)
    bound, which, skipped = _pairwise(a), "pairwise", False
    # on large matrices far from ordered (more than _ORDER_BOUND_GAP of the weight backwards
    # beyond the pairwise bound) the order's 3-cycles prove nothing the packing does not
    far = upper is not None and n >= _PREDICT_N and upper - bound > _ORDER_BOUND_GAP * total
    if order is not None and n >= 3 and not far:
        if _fits(_order_bound_seconds(n), deadline):
            # cheap; exact on near-ordered matrices (and never below the pairwise bound
            # but for its rounding margin)
            bound, which = order_bound(a, order), "order"
        else:
            skipped = True
    if proves(bound):
        return bound, which
    if n >= 3:
        sub = None if deadline is None else time.perf_counter() + left(1.0 if lp is False else 0.6)
        packed = _packing(a, sub)
        if packed is None:
            skipped = True
        else:
            value = (_pairwise(a) + packed) * (1.0 - 2.0 * _U)
            if value > bound:
                bound, which = value, "triangle"
    suffix = " (time_limit)" if skipped else ""
    if lp is False or n < 3 or proves(bound):
        return bound, which + suffix
    if lp == "auto" and (
        upper is None
        or n > LP_AUTO_MAX_N
        or (n > LP_AUTO_SMALL_N and upper - bound > LP_AUTO_GAP * total)
    ):
        return bound, which + suffix
    value = _lp_value(a, lp, left(), order)
    if value > bound:
        bound, which = value, "lp"
    return bound, which + suffix


def _lp_value(a: np.ndarray, lp: bool | str, limit: float | None,
              order: np.ndarray | None) -> float:
    """The LP relaxation's certified bound (:func:`.ilp.lp_bound`) within ``limit``."""
    from torch_orderedness.metric.ilp import lp_bound

    if limit is None and lp == "auto":
        limit = LP_AUTO_TIME_LIMIT
    return lp_bound(a, time_limit=limit, order=order).bound
