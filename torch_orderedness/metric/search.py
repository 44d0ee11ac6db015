r"""A good neuron order for large matrices: a greedy start improved by local search.

The problem is the weighted linear ordering problem on a nonnegative square
matrix ``A`` (the hidden block of ``|W|``; :mod:`.core` explains how the
fixed outputs reduce to it): find a permutation ``p`` minimising

    cost(A, p) = sum of the strict lower triangle of A[p][:, p]
               = sum of A[i, j] over the pairs where i is placed after j.

Read ``A[i, j]`` as an arc ``i -> j`` of weight ``A[i, j]``: "``i`` wants to
come before ``j``"; the cost is the weight of the arcs that point backwards,
a weighted feedback arc set.  The diagonal never counts.

Two steps:

1. :func:`eades_order`, the greedy heuristic of Eades, Lin and Smyth (1993)
   with weights: repeatedly move every sink (no outgoing weight left) to the
   back and every source (no incoming weight left) to the front; otherwise
   move to the front the vertex with the largest ``out - in`` weight among
   the vertices left.  ``O(n^2)``.
2. Insertion local search (:func:`insertion_search`).  Moving the vertex
   ``v`` from position ``p`` to ``q > p`` makes the vertices ``x`` at
   positions ``p+1..q`` precede it: the cost changes by
   ``sum_x (A[v, x] - A[x, v])``; moving it to ``q < p`` changes it by
   ``sum_x (A[x, v] - A[v, x])`` over the positions ``q..p-1``.  With
   ``d = (A - A^T)[v, order]`` both are cumulative sums, so one vertex's best
   move costs ``O(n)`` numpy work and a pass over all vertices ``O(n^2)``.
   Passes repeat until no move improves the cost by more than a relative
   ``1e-12`` (which also guards against cycling on rounding noise).

:func:`heuristic_order` runs both, then an iterated local search: random
perturbations of the best order (up to 8 random vertices moved to random
places, then insertion moves of the vertices around them), each kept when it
ends no worse (ties let the search walk along plateaus), and a last full
sweep.  The number of perturbations is fixed by ``restarts`` (by default
about ``20000 / n`` up to ``n = 1000``, fewer beyond: see
:func:`default_restarts`), so the result depends only on ``A`` and ``seed``;
``time_limit`` can cut it short (then it also depends on the machine's speed).

Quality, measured in ``benchmarks/bench_metric_large.py``: on near-ordered
matrices the local search removes the 28-43 % excess of the greedy start;
on dense random matrices the result is within a fraction of a percent of
the best known cost.
"""

from __future__ import annotations

import time

import numpy as np

from torch_orderedness import _checks
from torch_orderedness.metric.exact import _check_square, order_cost

__all__ = ["eades_order", "insertion_search", "heuristic_order", "default_restarts"]

#: Work budget of the default number of perturbation rounds of :func:`heuristic_order`:
#: ``min(200, DEFAULT_RESTART_WORK // n, 1000 * DEFAULT_RESTART_WORK // n**2)`` rounds for
#: an ``(n, n)`` matrix.
DEFAULT_RESTART_WORK: int = 20_000

# Beyond this size the perturbation rounds track the cost by the moves' changes instead of
# recomputing it (an O(n^2) gather per round).
_INCREMENTAL_N = 1000
# A move must lower the cost by more than this fraction of sum(A) to count as an improvement.
_IMPROVE_RTOL = 1e-12


def _check_matrix(A: object, name: str = "A") -> np.ndarray:
    """``A`` as a float64 square nonnegative finite matrix (a copy is not made when possible)."""
    if hasattr(A, "detach"):  # a torch tensor
        A = A.detach().cpu().numpy()
    a = _check_square(A, name)
    if (a < 0).any():
        raise ValueError(f"{name} must be nonnegative (take abs() of a weight first)")
    return a


def _check_time_limit(time_limit: object) -> float | None:
    """A positive, finite number of seconds (or ``None``), by the library's shared checks."""
    return None if time_limit is None else _checks.real("time_limit", time_limit, positive=True)


def eades_order(A: np.ndarray) -> np.ndarray:
    """Greedy order of Eades, Lin and Smyth, with weights.

    Args:
        A: nonnegative square matrix ``(n, n)``; ``A[i, j]`` is paid when
            ``i`` is placed after ``j``. The diagonal is ignored.

    Returns:
        An int64 permutation of ``range(n)`` (``perm[k]`` is the vertex at
        position ``k``). Deterministic: ties go to the lowest index.

    Example::

        >>> A = np.array([[0.0, 1.0, 0.0], [5.0, 0.0, 0.0], [2.0, 3.0, 0.0]])
        >>> eades_order(A).tolist()  # 2 is a source: first; then 1 (out 5 > in 1)
        [2, 1, 0]
    """
    return _eades(_check_matrix(A), None)


def _eades(a: np.ndarray, deadline: float | None) -> np.ndarray:
    """:func:`eades_order` on a checked matrix; past ``deadline`` the vertices left go by
    ``out - in`` weight, largest first."""
    n = a.shape[0]
    if np.diagonal(a).any():
        a = a.copy()
        np.fill_diagonal(a, 0.0)
    aT = np.ascontiguousarray(a.T)  # columns as rows: removing a vertex reads contiguous memory
    positive = a > 0
    positive_t = np.ascontiguousarray(positive.T)
    out_w = a.sum(axis=1)
    in_w = aT.sum(axis=1)
    out_c = positive.sum(axis=1)
    in_c = positive_t.sum(axis=1)
    left = np.ones(n, dtype=bool)
    front: list[int] = []
    back: list[np.ndarray] = []

    def remove(vs: np.ndarray) -> None:
        left[vs] = False
        out_w[:] -= aT[vs].sum(axis=0)
        in_w[:] -= a[vs].sum(axis=0)
        out_c[:] -= positive_t[vs].sum(axis=0)
        in_c[:] -= positive[vs].sum(axis=0)

    while left.any():
        if deadline is not None and time.perf_counter() > deadline:
            rest = np.flatnonzero(left)
            front.extend(rest[np.argsort(-(out_w - in_w)[rest], kind="stable")].tolist())
            break
        sinks = np.flatnonzero(left & (out_c == 0))
        if sinks.size:
            back.append(sinks)
            remove(sinks)
            continue
        sources = np.flatnonzero(left & (in_c == 0))
        if sources.size:
            front.extend(sources.tolist())
            remove(sources)
            continue
        delta = np.where(left, out_w - in_w, -np.inf)
        v = int(np.argmax(delta))
        front.append(v)
        remove(np.array([v]))
    tail = np.concatenate(back[::-1]) if back else np.zeros(0, dtype=np.int64)
    return np.concatenate([np.array(front, dtype=np.int64), tail.astype(np.int64)])


def default_restarts(n: int) -> int:
    """Perturbation rounds :func:`heuristic_order` runs by default on an ``(n, n)`` matrix.

    About ``20000 / n`` rounds up to ``n = 1000``, at most 200; beyond, about
    ``2e7 / n^2`` (5 at ``n = 2000``, none from ``n = 4473``): each round costs
    ``O(n^2)``, and on large matrices the rounds barely move the cost (at
    ``n = 2000`` ten rounds lowered it by 2e-4 of the weight, against a gap of
    0.06 to the certified bound) while taking 0.16 s each.

    Example::

        >>> default_restarts(30), default_restarts(1000), default_restarts(2000)
        (200, 20, 5)
        >>> default_restarts(5000)
        0
    """
    n = max(int(n), 1)
    return int(min(200, DEFAULT_RESTART_WORK // n, 1000 * DEFAULT_RESTART_WORK // n**2))


def _best_move(D: np.ndarray, order: np.ndarray, p: int) -> tuple[int, float]:
    """Best new position of the vertex at position ``p`` and the change of cost it brings.

    With ``d = D[v, order]`` and ``e = cumsum(d)``, moving ``v`` to ``q > p``
    changes the cost by ``e[q] - e[p]`` and to ``q < p`` by
    ``e[q - 1] - e[p - 1] = (e - d)[q] - e[p]`` (``d[p] = D[v, v] = 0``): one
    cumulative sum serves both directions.
    """
    d = D[order[p], order]
    f = np.cumsum(d)
    base = f[p]
    f[:p] -= d[:p]
    q = int(np.argmin(f))
    delta = float(f[q] - base)
    if delta < 0.0:
        return q, delta
    return p, 0.0


def _move_change(D: np.ndarray, order: np.ndarray, p: int, q: int) -> float:
    """Change of cost when the vertex at position ``p`` moves to position ``q``."""
    d = D[order[p], order]
    if q > p:
        return float(d[p + 1 : q + 1].sum())
    return -float(d[q:p].sum())


def _move(order: np.ndarray, pos: np.ndarray, p: int, q: int) -> None:
    """Move the vertex at position ``p`` to position ``q`` in place (``pos`` kept in step)."""
    v = order[p]
    if q > p:
        order[p:q] = order[p + 1 : q + 1]
        order[q] = v
        pos[order[p : q + 1]] = np.arange(p, q + 1)
    elif q < p:
        order[q + 1 : p + 1] = order[q:p].copy()
        order[q] = v
        pos[order[q : p + 1]] = np.arange(q, p + 1)


def _local_search(
    D: np.ndarray,
    order: np.ndarray,
    tol: float,
    deadline: float | None,
    rng: np.random.Generator,
    queue: np.ndarray | None = None,
    max_passes: int | None = None,
) -> float:
    """Insertion local search in place; returns the total change of cost (<= 0).

    Sweeps the vertices (in a random order) until a full sweep finds no
    improving move. With ``queue``, the first sweep looks only at those
    vertices and later sweeps at the vertices whose neighbourhood changed.
    """
    n = order.size
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    total = 0.0
    todo = np.arange(n) if queue is None else np.unique(queue)
    passes = 0
    while todo.size:
        passes += 1
        touched = np.zeros(n, dtype=bool)
        improved = False
        for v in rng.permutation(todo):
            p = int(pos[v])
            q, delta = _best_move(D, order, p)
            if delta < -tol:
                _move(order, pos, p, q)
                total += delta
                improved = True
                touched[order[min(p, q) : max(p, q) + 1]] = True
            if deadline is not None and time.perf_counter() > deadline:
                return total
        if not improved or (max_passes is not None and passes >= max_passes):
            break
        if queue is None:
            todo = np.arange(n)
        else:
            todo = np.flatnonzero(touched)
    return total


def insertion_search(
    A: np.ndarray,
    order: np.ndarray,
    *,
    seed: int | None = 0,
    time_limit: float | None = None,
) -> tuple[np.ndarray, float]:
    """Improve an order by insertion moves until none helps (a local optimum).

    Args:
        A: nonnegative square matrix ``(n, n)``.
        order: a permutation of ``range(n)`` to start from (not modified).
        seed: seed of the sweep order (``None``: fresh randomness).
        time_limit: seconds, or ``None`` to run to a local optimum.

    Returns:
        ``(perm, cost)``: an int64 permutation no worse than ``order`` and its
        cost (strict lower triangle sum of ``A[perm][:, perm]``).

    Example::

        >>> A = np.array([[0.0, 1.0, 0.0], [5.0, 0.0, 0.0], [2.0, 3.0, 0.0]])
        >>> perm, cost = insertion_search(A, np.array([0, 1, 2]))
        >>> perm.tolist(), cost
        ([2, 1, 0], 1.0)
    """
    a = _check_matrix(A)
    limit = _check_time_limit(time_limit)
    n = a.shape[0]
    start = np.asarray(order, dtype=np.int64).copy()
    if start.shape != (n,) or not np.array_equal(np.sort(start), np.arange(n)):
        raise ValueError(f"order must be a permutation of range({n}), got {order!r}")
    deadline = None if limit is None else time.perf_counter() + limit
    D = a - a.T
    tol = _IMPROVE_RTOL * float(a.sum())
    _local_search(D, start, tol, deadline, np.random.default_rng(seed))
    return start, order_cost(a, start)


def heuristic_order(
    A: np.ndarray,
    *,
    seed: int | None = 0,
    time_limit: float | None = None,
    restarts: int | None = None,
) -> tuple[np.ndarray, float]:
    """A good order of a large matrix: Eades' greedy start, insertion search, perturbations.

    Args:
        A: nonnegative square matrix ``(n, n)`` (float64, or anything numpy
            converts; a torch tensor is read via ``.detach().cpu()``);
            ``A[i, j]`` is paid when ``i`` is placed after ``j``. The diagonal
            is ignored.
        seed: seed of the sweeps and perturbations; the result is a
            deterministic function of ``A`` and ``seed`` unless ``time_limit``
            cuts the search short. ``None``: fresh randomness.
        time_limit: seconds for the whole search, or ``None``. When it runs
            out the best order so far is returned (a local optimum unless the
            first descent itself was cut).
        restarts: number of perturbation rounds after the first local optimum
            (default :func:`default_restarts` of ``n``; 0 for the plain local
            search).

    Returns:
        ``(perm, cost)``: an int64 permutation of ``range(n)`` and its cost,
        the strict lower triangle sum of ``A[perm][:, perm]`` (recomputed
        literally). The cost is never above that of :func:`eades_order`.

    Raises:
        ValueError: ``A`` not square, not finite or with negative entries; a
            bad ``time_limit`` or ``restarts``.
        TypeError: non-numeric ``A`` or a ``time_limit`` of the wrong type.

    Example::

        >>> rng = np.random.default_rng(0)
        >>> A = np.triu(rng.random((30, 30)), 1)[::-1, ::-1]  # a reversed upper triangle
        >>> perm, cost = heuristic_order(A)
        >>> cost  # the local search finds the order with nothing backwards
        0.0
    """
    t0 = time.perf_counter()
    a = _check_matrix(A)
    limit = _check_time_limit(time_limit)
    if restarts is None:
        restarts = default_restarts(a.shape[0])
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)):
        raise TypeError(f"restarts must be an int >= 0, got {restarts!r}")
    if restarts < 0:
        raise ValueError(f"restarts must be an int >= 0, got {restarts!r}")
    n = a.shape[0]
    if n <= 1:
        return np.arange(n, dtype=np.int64), 0.0
    deadline = None if limit is None else t0 + limit
    rng = np.random.default_rng(seed)
    a0 = a
    if np.diagonal(a).any():
        a0 = a.copy()
        np.fill_diagonal(a0, 0.0)
    D = a0 - a0.T
    tol = _IMPROVE_RTOL * float(a0.sum())

    best = _eades(a0, deadline)
    _local_search(D, best, tol, deadline, rng)
    best_cost = order_cost(a0, best)

    best, best_cost = _iterated_search(a0, D, best, best_cost, int(restarts), rng, tol, deadline)
    return best, order_cost(a, best)


def _iterated_search(
    a0: np.ndarray, D: np.ndarray, best: np.ndarray, best_cost: float, restarts: int,
    rng: np.random.Generator, tol: float, deadline: float | None,
) -> tuple[np.ndarray, float]:
    """Iterated local search from the local optimum ``best``: kick a few vertices to random
    places, re-optimise the vertices around them, keep the result if it is no worse (ties let
    the search walk along plateaus, common in pruned matrices); a full sweep at the end."""
    n = a0.shape[0]
    kick = max(2, min(n // 10, 8))
    incremental = n > _INCREMENTAL_N
    for _ in range(restarts):
        if deadline is not None and time.perf_counter() > deadline:
            break
        trial = best.copy()
        pos = np.empty(n, dtype=np.int64)
        pos[trial] = np.arange(n)
        moved = rng.choice(n, size=kick, replace=False)
        touched = [moved]
        change = 0.0
        for v in moved:
            p, q = int(pos[v]), int(rng.integers(n))
            if incremental:
                change += _move_change(D, trial, p, q)
            _move(trial, pos, p, q)
            touched.append(trial[min(p, q) : max(p, q) + 1])
        change += _local_search(D, trial, tol, deadline, rng, queue=np.concatenate(touched))
        # large matrices: the cost from the moves' changes (O(n) each), not recomputed
        cost = best_cost + change if incremental else order_cost(a0, trial)
        if cost <= best_cost:
            best, best_cost = trial, cost
    if restarts:
        _local_search(D, best, tol, deadline, rng)  # a full sweep: back to a local optimum
        best_cost = order_cost(a0, best)
    return best, best_cost


def improve_order(
    A: np.ndarray, order: np.ndarray, *, runs: int, restarts: int, seed: int = 0,
    deadline: float | None = None,
) -> tuple[np.ndarray, float]:
    """The best of ``order`` and ``runs`` searches from random orders (a local search, then
    ``restarts`` rounds of the iterated search), for the exact stages, where a better
    incumbent shrinks the search (``A``: a checked nonnegative matrix, zero diagonal).

    Random starts reach what the iterated search from one local optimum does not: on the
    dense matrices of 40 vertices of ``bench_metric_portfolio.py``, 12 runs of 100
    rounds (0.6-0.8 s) found orders 0.2-0.3 % cheaper than six seeds of
    :func:`heuristic_order` on two matrices in five, and never a dearer one.
    """
    n = A.shape[0]
    D = A - A.T
    tol = _IMPROVE_RTOL * float(A.sum())
    best = np.asarray(order, dtype=np.int64).copy()
    best_cost = order_cost(A, best)
    rng = np.random.default_rng(seed)
    for _ in range(runs):
        if deadline is not None and time.perf_counter() > deadline:
            break
        trial = rng.permutation(n).astype(np.int64)
        _local_search(D, trial, tol, deadline, rng)
        trial, cost = _iterated_search(A, D, trial, order_cost(A, trial), restarts, rng, tol,
                                       deadline)
        if cost < best_cost:
            best, best_cost = trial, cost
    return best, best_cost
