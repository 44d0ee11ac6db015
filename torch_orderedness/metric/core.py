r"""The orderedness metric (paper, Sec. 3.3, Eq. 3) and the best neuron order behind it.

Take the square part ``S = |W[:, :N]|`` of a weight (``N = O + H`` neurons,
input columns dropped).  Permute the hidden neurons (the ``O`` outputs stay
first, in order).  The *backward weight* of an order is the sum of the strict
lower triangle of the permuted ``S``: the weight flowing from later neurons
to earlier ones.  Then

    orderedness(W) = 1 - min over orders of backward weight / sum(S)

(the diagonal counts in the total, never in the backward weight); 1 means
perfectly ordered (a feed-forward network).

With the outputs fixed first, the backward weight of an order is a constant
(the outputs' own lower triangle plus all hidden-to-output weight
``S[O:, :O]``, the same for every order) plus the backward weight of the
hidden block ``A = S[O:, O:]`` under the hidden order.  Every solver works on
``A`` alone; :func:`ordering` adds the constant and maps the hidden order back
to neuron indices.

Solvers (``method``):

- ``"exact"``: dynamic programming over subsets (:mod:`.exact`), ``H <= 28``
  by default memory (4 GiB); about 2-4 s at ``H = 24``.
- ``"heuristic"``: a local-search order (:mod:`.search`) and a certified lower
  bound on the least backward weight (:mod:`.bounds`); exact only where the
  bound meets the order's weight.
- ``"milp"``: the integer program (:mod:`.ilp`): the LP relaxation with
  triangle cuts, the subset DP over the prefixes its reduced costs cannot
  rule out (:mod:`.pruned`), a branch and bound over prefixes bounded by the
  same LP (:mod:`.branch`); exact when proven within the time limit (default
  :data:`AUTO_MILP_TIME_LIMIT`, 10 s); if it is not, the certified bounds
  are added to the program's own.
- ``"auto"`` (default), a portfolio measured on dense, uniform, 50 %-sparse
  and near-ordered matrices (``benchmarks/bench_metric_portfolio.py``):

  - ``H <= AUTO_DP_MAX_HIDDEN`` (16): the exact DP (milliseconds);
  - beyond, the heuristic order and its cheap certified bounds first (they
    prove near-ordered matrices of any size);
  - then, up to ``AUTO_MILP_MAX_HIDDEN`` (40), the integer program's stages:
    up to ``AUTO_EXACT_MAX_HIDDEN`` (24) with at most the full DP's
    predicted time and ``2**H / 64`` prefix sets, and the full DP if they do
    not prove the order; beyond 24, for at most
    :data:`AUTO_MILP_TIME_LIMIT` seconds unless ``time_limit`` says
    otherwise;
  - beyond 40, the same stages (up to ``LP_AUTO_MAX_N``, 400) where the
    bounds leave at most 1 % of the weight open (near-ordered matrices,
    trained layers: usually proven at the root) or when a ``time_limit``
    is given (then for what is left of it: the result carries the LP's
    tighter bound when it is not proven), else the bounds.

Time limits hold: a bound whose predicted time (from the measured speed of
matrix products on the machine) does not fit in what is left is not started,
and the result names the bound it carries (:attr:`Ordering.bound`, with
``" (time_limit)"`` when a stronger one was skipped). Measured: at most
1.2 times the limit plus 0.5 s up to ``N = 5000``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from torch_orderedness import _checks
from torch_orderedness.metric.exact import exact_order, exact_order_batch, order_cost
from torch_orderedness.metric.graph import neuron_graph

__all__ = [
    "AUTO_DP_MAX_HIDDEN",
    "AUTO_EXACT_MAX_HIDDEN",
    "AUTO_MILP_MAX_HIDDEN",
    "AUTO_MILP_TIME_LIMIT",
    "METHODS",
    "Ordering",
    "ordering",
    "orderedness",
]

#: The methods :func:`ordering` accepts: ``"auto"`` (default), ``"exact"`` (dynamic
#: programming), ``"heuristic"`` (search and certified bound), ``"milp"`` (integer program).
METHODS: tuple[str, ...] = ("auto", "exact", "heuristic", "milp")
#: ``method="auto"`` runs the exact DP straight away up to this many hidden neurons
#: (a few milliseconds: measured faster there than any search, bound or LP).
AUTO_DP_MAX_HIDDEN: int = 16
#: ``method="auto"`` is exact up to this many hidden neurons: beyond
#: :data:`AUTO_DP_MAX_HIDDEN` the search, the bounds and the integer program's LP
#: stages run first, and the exact DP finishes what they leave open.
AUTO_EXACT_MAX_HIDDEN: int = 24
#: ``method="auto"`` tries the integer program up to this many hidden neurons.
AUTO_MILP_MAX_HIDDEN: int = 40
#: Seconds ``method="auto"`` (and ``"milp"``) grant the integer program when no
#: ``time_limit`` is given. Dense random matrices of 30 hidden neurons take well under a
#: second, 36 one to fifty seconds, 40 a minute or more; trained, near-ordered ones are
#: usually proven by the bounds first.
AUTO_MILP_TIME_LIMIT: float = 10.0
# An order is proven optimal when a lower bound is within this fraction of its weight.
_PROOF_RTOL = 1e-9
# Share of the time limit the exact DP may use before falling back to search + bounds.
_EXACT_SHARE = 0.8


@dataclass(frozen=True)
class Ordering:
    """The result of :func:`ordering`: a neuron order and the orderedness it shows.

    Attributes:
        value: orderedness of :attr:`permutation`, ``1 - backward / total``.
            It is the metric's value when :attr:`exact`, and a lower bound on
            it otherwise (the true optimum order can only be better).
        permutation: the neuron order, a tuple of ``N = O + H`` indices into
            the rows of the square part ``W[:, :N]`` (``permutation[k]`` is
            the neuron placed at position ``k``); the ``O`` outputs come first
            as ``0, ..., O-1``. Inputs are never permuted and not listed. For
            an ``nn.RNN`` the indices are hidden units of that layer; for an
            MLP they index its neurons in the ``from_mlp`` layout (outputs, last
            hidden layer, ..., first hidden layer).
        lower: a lower bound on the true orderedness (always ``== value``).
        upper: an upper bound on the true orderedness, from a certified lower
            bound on the least backward weight; ``== value`` when exact.
        exact: ``True`` when :attr:`value` is proven to be the optimum.
        method: the solver(s) that ran: ``"exact"`` (dynamic programming),
            ``"heuristic"`` (search + bound), ``"milp"``, ``"heuristic+milp"``.
        backward: backward weight of :attr:`permutation` (strict lower
            triangle of the permuted square part).
        total: ``sum(|W[:, :N]|)``, the diagonal included.
        outputs: the number ``O`` of fixed leading neurons.
        bound: where :attr:`upper` comes from: ``"exact"`` (proven optimal),
            or the certified lower bound on the backward weight that gave it:
            ``"pairwise"``, ``"order"`` (the 3-cycles through the order's
            backward arcs), ``"triangle"`` (a packing of 3-cycles), ``"lp"``
            (the LP relaxation) or ``"milp"`` (the integer program's bound).
            `` (time_limit)`` is appended when a stronger bound was skipped
            because it could not finish within ``time_limit``: the interval
            is then wider than the time-unlimited call's.

    ``float(result)`` gives :attr:`value`.

    Example::

        >>> import torch
        >>> w = torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
        >>> r = ordering(w, outputs=1)  # O = 1, H = 2, I = 0
        >>> r.permutation, r.exact, r.method  # hidden neuron 2 placed before neuron 1
        ((0, 2, 1), True, 'exact')
        >>> r.backward, r.total  # only w[1, 2] = 1 flows backwards
        (1.0, 7.0)
        >>> round(r.value, 4), r.lower == r.value == r.upper, round(float(r), 4)
        (0.8571, True, 0.8571)
    """

    value: float
    permutation: tuple[int, ...]
    lower: float
    upper: float
    exact: bool
    method: str
    backward: float
    total: float
    outputs: int
    bound: str = "exact"

    def __float__(self) -> float:
        return self.value


def _check_options(method: object, time_limit: object,
                   seed: object) -> tuple[float | None, int | None]:
    """``(time_limit, seed)`` as Python numbers, after the library's shared checks."""
    _checks.choice("method", method, METHODS)
    if time_limit is not None:
        time_limit = _checks.real("time_limit", time_limit, positive=True)
    if seed is not None:
        seed = _checks.count("seed", seed)
    return time_limit, seed


class _Clock:
    """Remaining time of an optional budget."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.deadline = None if limit is None else time.perf_counter() + limit

    def left(self, share: float = 1.0, floor: float = 0.05) -> float | None:
        if self.deadline is None:
            return None
        return max(floor, share * (self.deadline - time.perf_counter()))


def _proves(lower: float, cost: float, scale: float) -> bool:
    return cost - lower <= _PROOF_RTOL * cost + 1e-15 * scale


def _bound_decides(method: str, n: int) -> bool:
    """Whether the bound can change the order found (``auto`` goes on when it fails)."""
    return method == "auto" and n <= AUTO_MILP_MAX_HIDDEN


def _milp_budget(clock: _Clock) -> float | None:
    return AUTO_MILP_TIME_LIMIT if clock.limit is None else clock.left()


def _search_budget(clock: _Clock, n: int) -> float | None:
    """Seconds for the search: 40 % of what is left once the large matrices' fixed passes
    (copies, the pairwise bound, costs: about 16 elementwise passes) are set aside."""
    if clock.deadline is None:
        return None
    from torch_orderedness.metric._cost import _PREDICT_N, _elementwise_seconds

    fixed = 16.0 * _elementwise_seconds(n) if n >= _PREDICT_N else 0.0
    return max(0.05, 0.4 * (clock.left() - fixed))


def _search_and_bound(
    A: np.ndarray, method: str, clock: _Clock, seed: int | None, bound: bool = True
) -> tuple[np.ndarray, float, float, bool, str, str]:
    """Heuristic order and certified bound; with ``auto``, the exact stages after them.

    With ``bound=False`` the certified bound is skipped where it cannot change
    the order (see :func:`_bound_decides`); the lower bound returned is then
    the cheap pairwise one.
    """
    from torch_orderedness.metric.search import heuristic_order

    n = A.shape[0]
    scale = float(A.sum())
    perm, cost = heuristic_order(A, seed=seed, time_limit=_search_budget(clock, n))
    if not bound and not _bound_decides(method, n):
        from torch_orderedness.metric.bounds import pairwise_bound

        lower = min(float(pairwise_bound(A)), cost)
        return perm, cost, lower, _proves(lower, cost, scale), "heuristic", "pairwise"
    from torch_orderedness.metric.bounds import (
        LP_AUTO_GAP,
        LP_AUTO_MAX_N,
        LP_AUTO_TIME_LIMIT,
        _lower_bound,
    )

    auto = method == "auto"
    # the order found and its cost: order_bound proves near-ordered matrices at any size,
    # and the work stops as soon as a bound meets the cost; under ``auto`` the LP runs in
    # the integer program's stages below instead
    lp: bool | str = False if auto else "auto"
    deadline = None if clock.deadline is None else time.perf_counter() + clock.left(0.5)
    a = A.copy()
    np.fill_diagonal(a, 0.0)
    lower, which = _lower_bound(a, lp, deadline, cost, perm)
    del a
    lower = min(float(lower), cost)
    if _proves(lower, cost, scale) or not auto:
        return perm, cost, lower, _proves(lower, cost, scale), "heuristic", which
    if n <= AUTO_MILP_MAX_HIDDEN:
        return _exact_stages(A, perm, cost, lower, clock, which)
    near = cost - lower <= LP_AUTO_GAP * scale
    if n <= LP_AUTO_MAX_N and (near or clock.limit is not None):
        # the LP, the DP it prunes and the branch and bound: near-ordered matrices (trained
        # layers) are usually proven at the root; the others get the LP's tighter bound
        return _branch_stage(A, perm, cost, lower, clock, which, LP_AUTO_TIME_LIMIT)
    return perm, cost, lower, False, "heuristic", which


def _branch_stage(
    A: np.ndarray, perm: np.ndarray, cost: float, lower: float, clock: _Clock, which: str,
    default_limit: float, max_states: int | None = None,
) -> tuple[np.ndarray, float, float, bool, str, str]:
    """The integer program's stages (:func:`.ilp.milp_order`) from the order found, within
    what is left of the time limit (``default_limit`` seconds without one)."""
    from torch_orderedness.metric.ilp import milp_order

    scale = float(A.sum())
    limit = default_limit if clock.limit is None else clock.left()
    m_perm, m_cost, m_lower, proven = milp_order(A, time_limit=limit, order=perm,
                                                 max_states=max_states)
    if m_cost < cost:
        perm, cost = m_perm, m_cost
    if m_lower > lower:
        which = "milp"
    lower = min(max(lower, float(m_lower)), cost)
    proven = bool(proven) or _proves(lower, cost, scale)
    return perm, cost, lower, proven, "heuristic+milp", "exact" if proven else which


def _dp_seconds(n: int) -> float:
    """A generous estimate of the full DP's seconds (``n 2**n`` steps; 2.4-4.8 s at n = 24)."""
    return 1e-8 * n * 2.0**n


def _exact_stages(
    A: np.ndarray, perm: np.ndarray, cost: float, lower: float, clock: _Clock, which: str
) -> tuple[np.ndarray, float, float, bool, str, str]:
    """``auto`` up to :data:`AUTO_MILP_MAX_HIDDEN`: the integer program's stages, then the DP.

    Up to :data:`AUTO_EXACT_MAX_HIDDEN` the branch and bound gets at most the
    full DP's predicted time and ``2**n / 64`` prefix sets per layer (so it
    never costs much more than the DP, which finishes what it leaves open);
    beyond, it gets the time limit (:data:`AUTO_MILP_TIME_LIMIT` without one).
    """
    n = A.shape[0]
    if n > AUTO_EXACT_MAX_HIDDEN:
        return _branch_stage(A, perm, cost, lower, clock, which, AUTO_MILP_TIME_LIMIT)
    share = _Clock(_dp_seconds(n) if clock.limit is None else
                   min(_dp_seconds(n), clock.left(_EXACT_SHARE)))
    result = _branch_stage(A, perm, cost, lower, share, which, _dp_seconds(n),
                           max_states=max(1024, 2**n // 64))
    if result[3]:
        return result
    perm, cost, lower = result[0], result[1], result[2]
    try:
        perm, cost = exact_order(A, time_limit=clock.left(_EXACT_SHARE, floor=1e-9))
    except TimeoutError:
        return perm, cost, lower, False, "heuristic+milp", result[5]
    return perm, cost, cost, True, "exact", "exact"


def _solve_hidden(
    A: np.ndarray, method: str, clock: _Clock, seed: int | None, bound: bool = True
) -> tuple[np.ndarray, float, float, bool, str, str]:
    """``(perm, cost, lower bound on the least cost, exact, method)`` for the hidden block."""
    n = A.shape[0]
    if n <= 1:
        return np.arange(n, dtype=np.int64), 0.0, 0.0, True, "exact", "exact"
    if method == "exact" or (method == "auto" and n <= AUTO_DP_MAX_HIDDEN):
        try:
            perm, cost = exact_order(A, time_limit=clock.left(_EXACT_SHARE, floor=1e-9))
        except TimeoutError:
            return _search_and_bound(A, "heuristic", clock, seed, bound)
        except MemoryError as e:
            raise MemoryError(
                f"method='exact' cannot solve H = {n} hidden neurons within memory ({e}); "
                "use method='auto' (search with certified bounds, exact where they meet) or "
                "method='milp'"
            ) from None
        return perm, cost, cost, True, "exact", "exact"
    if method == "milp":
        from torch_orderedness.metric.bounds import lower_bound
        from torch_orderedness.metric.ilp import milp_order

        perm, cost, lower, proven = milp_order(A, time_limit=_milp_budget(clock))
        cost, lower = float(cost), min(float(lower), float(cost))
        which = "exact" if proven else "milp"
        if not proven:  # out of time: the certified bounds may still close (part of) the gap
            certified = float(lower_bound(A, order=perm, upper=cost, lp=False))
            if certified > lower:
                which = "triangle"
            lower = min(max(lower, certified), cost)
            proven = _proves(lower, cost, float(A.sum()))
        return perm, cost, lower, bool(proven), "milp", which
    return _search_and_bound(A, method, clock, seed, bound)


def _order_one(
    S: np.ndarray,
    outputs: int,
    method: str,
    time_limit: float | None,
    seed: int | None,
    bound: bool = True,
) -> Ordering:
    """Solve one square matrix. ``bound=False``: callers that read only ``value``
    (it is the same either way; ``upper`` is then only the pairwise bound's)."""
    clock = _Clock(time_limit)
    S = _rescaled(S)
    A = S[outputs:, outputs:]
    perm, cost, lower, exact, used, which = _solve_hidden(A, method, clock, seed, bound)
    return _result(S, outputs, perm, lower, exact, used, which)


def _rescaled(S: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        overflows = not math.isfinite(float(S.sum()))
    # finite entries whose sum overflows: the metric does not depend on scale
    return S / float(S.max()) if overflows else S


def _result(
    S: np.ndarray, outputs: int, perm: np.ndarray, lower: float, exact: bool, used: str,
    which: str,
) -> Ordering:
    """The :class:`Ordering` of the hidden order ``perm`` of ``S``."""
    perm = np.asarray(perm, dtype=np.int64)
    hidden = S.shape[0] - outputs
    if sorted(perm.tolist()) != list(range(hidden)):
        raise RuntimeError(f"solver {used!r} returned an invalid permutation {perm.tolist()}")
    full = np.concatenate([np.arange(outputs, dtype=np.int64), outputs + perm])
    total = float(S.sum())
    backward = order_cost(S, full)
    fixed = float(np.tril(S[:outputs, :outputs], -1).sum() + S[outputs:, :outputs].sum())
    value = 1.0 - backward / total
    upper = value if exact else min(1.0, max(value, 1.0 - (fixed + lower) / total))
    return Ordering(
        value=value,
        permutation=tuple(int(i) for i in full),
        lower=value,
        upper=upper,
        exact=bool(exact),
        method=used,
        backward=backward,
        total=total,
        outputs=outputs,
        bound="exact" if exact else which,
    )


def _exact_results(S: np.ndarray, outputs: int, perms: np.ndarray) -> list[Ordering]:
    """:func:`_result` of many proven hidden orders at once: ``S`` is ``(B, N, N)``, ``perms``
    the ``(B, H)`` optimal hidden orders (the same sums, in the same order, as one by one)."""
    count, hidden = perms.shape
    if not (np.sort(perms, axis=1) == np.arange(hidden)).all():
        raise RuntimeError("solver 'exact' returned an invalid permutation")
    full = np.concatenate([np.broadcast_to(np.arange(outputs), (count, outputs)),
                           outputs + perms], axis=1).astype(np.int64)
    rows = np.arange(count)[:, None, None]
    permuted = S[rows, full[:, :, None], full[:, None, :]]
    backward = np.tril(permuted, -1).sum(axis=(1, 2))
    total = S.sum(axis=(1, 2))
    value = 1.0 - backward / total
    return [Ordering(value=float(v), permutation=tuple(f.tolist()), lower=float(v),
                     upper=float(v), exact=True, method="exact", backward=float(b),
                     total=float(t), outputs=outputs, bound="exact")
            for v, f, b, t in zip(value, full, backward, total, strict=True)]


# Matrices of at most this many hidden neurons are solved together in one vectorised DP
# (exact_order_batch) when a call holds several of them.
_BATCH_MAX_HIDDEN = 10
# Most matrices per vectorised pass (its tables hold B * H * 2**H float64 sums).
_BATCH_ENTRIES = 2**22


def _order_many(
    matrices: Sequence[np.ndarray],
    outputs: int,
    method: str,
    time_limit: float | None,
    seed: int | None,
    bound: bool = True,
) -> list[Ordering]:
    """:func:`_order_one` of every matrix; the small ones of ``auto``/``exact`` in batches."""
    results: list[Ordering | None] = [None] * len(matrices)
    hidden = [S.shape[0] - outputs for S in matrices]
    small = [k for k, h in enumerate(hidden) if 2 <= h <= _BATCH_MAX_HIDDEN]
    if method in ("auto", "exact") and len(small) > 1:
        scaled = {k: _rescaled(matrices[k]) for k in small}
        for h in sorted({hidden[k] for k in small}):
            group = [k for k in small if hidden[k] == h]
            step = max(1, _BATCH_ENTRIES // (h * 2**h))
            for start in range(0, len(group), step):
                part = group[start : start + step]
                blocks = np.stack([scaled[k][outputs:, outputs:] for k in part])
                perms, _ = exact_order_batch(blocks)
                exact = _exact_results(np.stack([scaled[k] for k in part]), outputs, perms)
                for k, result in zip(part, exact, strict=True):
                    results[k] = result
    for k, S in enumerate(matrices):
        if results[k] is None:
            results[k] = _order_one(S, outputs, method, time_limit, seed, bound)
    return results  # type: ignore[return-value]


def _solve(
    w: object,
    outputs: int | None,
    inputs: int | None,
    method: str,
    time_limit: float | None,
    seed: int | None,
    bound: bool,
) -> tuple[tuple[Ordering, ...], bool]:
    """Check the options, read ``w``'s matrices and solve each: ``(results, batched)``."""
    time_limit, seed = _check_options(method, time_limit, seed)
    started = time.perf_counter()
    graph = neuron_graph(w, outputs=outputs, inputs=inputs)
    read = time.perf_counter() - started
    if time_limit is not None and len(graph.matrices) == 1:
        # one matrix: reading it counts against its time limit
        time_limit = max(0.05 * time_limit, time_limit - read)
    results = tuple(_order_many(graph.matrices, graph.outputs, method, time_limit, seed, bound))
    return results, graph.batched


def ordering(
    w: object,
    *,
    outputs: int | None = None,
    inputs: int | None = None,
    method: str = "auto",
    time_limit: float | None = None,
    seed: int | None = 0,
) -> Ordering | tuple[Ordering, ...]:
    """The best order of the hidden neurons of ``w`` and its orderedness.

    Args:
        w: what to measure:

            - a ``torch.Tensor`` (any real dtype and device) or numpy array of
              shape ``(N, N + I)``: rows are receiving neurons, columns sending
              neurons in the layout ``[outputs | hidden | inputs]``; a square
              ``(N, N)`` matrix is any recurrent weight;
            - a batch ``(B, N, N + I)``: one result per matrix;
            - a complete perceptron layer (``out_features``, ``hidden_features``,
              ``in_features``, ``weight``; pruned layers are read as
              ``weight_orig * weight_mask``);
            - an ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``: one result per layer
              (and direction), from ``weight_hh_l{k}``; for the gated modules
              the sum over the gates of ``|W_hh[gate]|`` (see
              :mod:`.graph`; an ``nn.LSTM`` with ``proj_size`` is refused);
            - an MLP (``nn.Sequential``, list of modules, ``nn.Linear``),
              assembled in the ``CompletePerceptron.from_mlp`` layout; a plain
              MLP scores 1.
        outputs: number ``O`` of leading neurons kept first and in order.
            Default: 0 for tensors and ``nn.RNN``; read from a layer or MLP
            (another value is an error).
        inputs: number ``I`` of trailing input columns dropped. Default: all
            columns beyond the square part for tensors; read from a layer or MLP.
        method: ``"auto"``, ``"exact"``, ``"heuristic"`` or ``"milp"`` (see
            the module docstring).
        time_limit: seconds per matrix for the solvers, or ``None``. A soft
            budget: when it runs out the best order found so far is returned
            with ``exact=False`` and its bounds (a little over the budget is
            possible while the fallback runs). Where a budget cuts the work
            short (this one, or without it ``auto``'s own
            :data:`AUTO_MILP_TIME_LIMIT` beyond ``H = 24``), the value and
            bounds depend on how far the solvers got, hence on the machine's
            speed and load: two runs can differ (inside the certified
            interval). Exact results do not.
        seed: seed of the heuristic search (``None``: fresh randomness).

    Returns:
        An :class:`Ordering`, or a tuple of them for a 3-D batch or an ``nn.RNN``
        (even when it holds a single matrix).

    Raises:
        ValueError: non-finite entries; an all-zero square part (orderedness
            undefined); an MLP of a single ``nn.Linear`` (no hidden neurons);
            shapes that do not fit ``outputs``/``inputs``; an unknown
            ``method``; ``method="exact"`` with ``H > EXACT_MAX_N``.
        MemoryError: ``method="exact"`` whose tables exceed 4 GiB (``H > 28``).
        TypeError: unsupported kinds of ``w`` or arguments of the wrong type.
        ValueError: also a tensor on the ``meta`` device (it holds no values).

    Example::

        >>> import torch
        >>> w = torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
        >>> r = ordering(w, outputs=1)  # neuron 2 listens to neuron 1: put 2 first
        >>> r.value, r.permutation, r.exact
        (1.0, (0, 2, 1), True)
    """
    results, batched = _solve(w, outputs, inputs, method, time_limit, seed, bound=True)
    return results if batched else results[0]


def orderedness(
    w: object,
    *,
    outputs: int | None = None,
    inputs: int | None = None,
    method: str = "auto",
    time_limit: float | None = None,
    seed: int | None = 0,
) -> float | tuple[float, ...]:
    """Orderedness of ``w`` (paper, Eq. 3): ``ordering(w, ...).value``.

    ``O(W) = 1 - min over orders of backward weight / sum(|W[:, :N]|)``, the
    hidden neurons permuted and the ``O`` outputs kept first (see the module
    docstring); 1 means perfectly ordered (feed-forward).  The value is exact
    whenever the solvers prove the order optimal: always with
    ``method="exact"``, with ``"auto"`` up to :data:`AUTO_EXACT_MAX_HIDDEN`
    (24) hidden neurons and beyond wherever the bounds or the integer program
    prove it.  Otherwise (a larger problem, ``method="heuristic"`` or a
    ``time_limit`` that ran out) it is the orderedness of the best order
    found, a lower bound on the metric; use :func:`ordering` to see ``exact``
    and the upper bound.

    Args:
        w: a tensor or numpy array ``(N, N + I)`` or a batch ``(B, N, N + I)``,
            a complete perceptron layer, an ``nn.RNN`` or an MLP; see
            :func:`ordering`.
        outputs: number ``O`` of leading neurons kept first and in order
            (default: 0 for tensors and ``nn.RNN``, read from a layer or MLP).
        inputs: number ``I`` of trailing input columns dropped (default: all
            columns beyond the square part, read from a layer or MLP).
        method: ``"auto"`` (default), ``"exact"``, ``"heuristic"`` or ``"milp"``.
        time_limit: soft budget in seconds per matrix, or ``None``.
        seed: seed of the heuristic search (default 0; ``None``: fresh randomness).

    Returns:
        A float in [0, 1], or a tuple of floats for a 3-D batch or an ``nn.RNN``.

    Raises:
        ValueError, TypeError, MemoryError: as :func:`ordering`.

    Example::

        >>> import torch
        >>> orderedness(torch.triu(torch.ones(4, 6)))  # everything on or above the diagonal
        1.0
        >>> w = torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
        >>> round(orderedness(w, outputs=1), 4)  # 1 - 1/7: w[1, 2] flows backwards
        0.8571
        >>> batch = torch.stack([torch.eye(3), torch.ones(3, 3)])  # a batch: a tuple
        >>> [round(v, 4) for v in orderedness(batch)]  # ones: 3 of the 9 always flow back
        [1.0, 0.6667]
    """
    # the value does not depend on the certified bound (except where ``auto`` lets the bound
    # decide whether the integer program runs), so it is skipped: at N = 256 the bound costs
    # one to three times the search
    results, batched = _solve(w, outputs, inputs, method, time_limit, seed, bound=False)
    values = tuple(r.value for r in results)
    return values if batched else values[0]
