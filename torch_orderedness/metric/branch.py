r"""Branch and bound over prefixes, with the triangle LP as the bound and the pruned DP below.

The exact stage of :func:`.ilp.milp_order`.  A *node* is a set ``S`` of
vertices placed first, in a fixed order (the optimal order of ``S``
itself, from the subset DP, while ``S`` is small): the orders it stands
for start with it.  Its bound is the triangle LP (:mod:`._lp`) with every
pair that touches ``S`` fixed, which is far stronger than what the parent's
dual values say about the child (on dense random matrices of 40 vertices,
the LPs of the sets of three vertices that the root's reduced costs cannot
rule out exceed the optimum almost always).  Then:

1. the node is ruled out when its certified bound reaches the best known
   cost (most nodes: the LP is stopped after a few dozen dual simplex
   iterations, whose dual values already certify that);
2. else the subset DP pruned by the node's reduced costs (:mod:`.pruned`)
   starts from ``S`` and either finds the best order below the node (or
   proves that none beats the best known one) or gives up, past its state
   limit;
3. then the node branches: every vertex ``v`` that the node's reduced
   costs allow next becomes the child ``S + v``, bounded by the node's LP
   bound plus the charge of placing ``v`` next.

Nodes are taken best bound first, so that the smallest bound of the nodes
left is a certified lower bound on the optimum at every moment (the result
when time runs out).  A set reached twice (``{a, b}`` after ``a`` and after
``b``) is expanded once, from its cheapest order.  The solution is exact
in the same sense as the DP's: the bounds are certified (weak duality with
rounding margins), and the DP adds the true weights in float64.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from typing import TYPE_CHECKING

import numpy as np

from torch_orderedness.metric._lp import ROOT_CUTS, TriangleLP, past
from torch_orderedness.metric.exact import exact_order, order_cost

if TYPE_CHECKING:
    from torch_orderedness.metric.pruned import _Search

__all__: list[str] = []

# Sets up to this size get their cheapest internal order from the subset DP.
_EXACT_PREFIX = 14
# Dual simplex iterations of a node's first solves: enough to rule most nodes out.
_EARLY = (100, 400)
# From this many vertices the root tries its DP with few sets first and, if that gives up,
# improves the incumbent (runs of the iterated local search from random orders, rounds
# each) before the full DP.
_IMPROVE_N = 28
_QUICK_STATES = 20_000
_IMPROVE_RUNS = 12
_IMPROVE_ROUNDS = 100
# A triangle without a dual value in this many node solves in a row leaves the LP.
_MAX_IDLE = 8
# Triangles added per round and vertex at the nodes (a few; the root adds ROOT_CUTS).
_NODE_CUTS = 5


class _Tree:
    """State of one branch and bound: the incumbent and the nodes left."""

    def __init__(self, a: np.ndarray, lp: TriangleLP, best: np.ndarray, best_cost: float,
                 max_states: int, deadline: float | None) -> None:
        self.a, self.lp = a, lp
        self.n = a.shape[0]
        self.total = float(a.sum())
        self.best, self.best_cost = best, best_cost
        self.max_states, self.deadline = max_states, deadline
        self.heap: list[tuple[float, int, tuple[int, ...]]] = []
        self.seen: dict[int, float] = {}
        self.counter = itertools.count()
        self.nodes = 0

    @property
    def tol(self) -> float:
        return 1e-9 * self.best_cost + 1e-15 * self.total

    def ruled_out(self, bound: float) -> bool:
        return bound >= self.best_cost - self.tol

    def offer(self, perm: np.ndarray | None) -> None:
        """A candidate order: kept when cheaper than the best known."""
        if perm is None:
            return
        cost = order_cost(self.a, perm)
        if cost < self.best_cost:
            self.best, self.best_cost = np.asarray(perm, dtype=np.int64), cost

    def push(self, bound: float, prefix: tuple[int, ...]) -> None:
        heapq.heappush(self.heap, (bound, next(self.counter), prefix))

    def lower(self) -> float:
        """Certified lower bound on the optimum: the smallest bound of the nodes left."""
        if not self.heap:
            return self.best_cost
        return min(self.best_cost, self.heap[0][0])


def _charged(prefix: np.ndarray, n: int, terms: tuple[np.ndarray, ...]) -> float:
    """Triangle charges the prefix decides by itself (``U`` and ``V`` in it, ``U`` first, and
    ``W`` after ``V``)."""
    U, V, W, P = terms
    pos = np.full(n, n, dtype=np.int64)
    pos[prefix] = np.arange(prefix.size)
    placed = (pos[U] < n) & (pos[V] < n) & (pos[U] < pos[V]) & (pos[V] < pos[W])
    return float(P[placed].sum())


def _child(a: np.ndarray, prefix: tuple[int, ...], v: int) -> tuple[tuple[int, ...], float]:
    """The child ``prefix + v`` in its cheapest order (while small) and how much cheaper that
    order is than ``prefix + v`` as it stands."""
    path = np.array(prefix + (v,), dtype=np.int64)
    path_cost = order_cost(a[np.ix_(path, path)], np.arange(path.size))
    if path.size > _EXACT_PREFIX:
        return tuple(int(x) for x in path), 0.0
    inner, cost = exact_order(a[np.ix_(path, path)])
    return tuple(int(x) for x in path[inner]), max(0.0, path_cost - cost)


def _expand(tree: _Tree, prefix: tuple[int, ...], bound0: float) -> None:
    """Process one node: its LP, the pruned DP from it, and its children."""
    lp, n = tree.lp, tree.n
    p = np.array(prefix, dtype=np.int64)
    lp.purge(_MAX_IDLE)
    lp.set_box(*lp.prefix_box(p))
    bound, x, mu, _ = lp.solve(upper=tree.best_cost - tree.tol, deadline=tree.deadline,
                               early=_EARLY if prefix else (),
                               per_round=(_NODE_CUTS if prefix else ROOT_CUTS) * n)
    bound = max(bound, bound0)
    if tree.ruled_out(bound):
        return
    if past(tree.deadline):
        tree.push(bound, prefix)  # unfinished: back into the open nodes
        return
    K, R, terms = lp.decomposition(mu)
    found = _search_below(tree, p, K, R, terms, x)
    if found.status in ("found", "none") or tree.ruled_out(bound):
        return
    if found.first is None or past(tree.deadline):
        tree.push(bound, prefix)
        return
    # the children's bounds: this node's certified bound plus the charge of the vertex next
    # (less a margin for the charge's rounding)
    certified = lp.bound(mu)
    margin = 1e-12 * (abs(K) + float(R.sum()) + float(terms[3].sum()))
    _branch(tree, prefix, bound, certified - margin, found.first)


def _search_below(tree: _Tree, p: np.ndarray, K: float, R: np.ndarray,
                  terms: tuple[np.ndarray, ...], x: np.ndarray | None) -> _Search:
    """The pruned DP from the node's prefix (:func:`.pruned._prefix_search`); at the root,
    first with few sets, then, if that gives up, with a better incumbent and all of them."""
    from torch_orderedness.metric.pruned import _prefix_search

    charged = _charged(p, tree.n, terms)
    tol = tree.tol + 1e-12 * (abs(K) + float(R.sum()) + float(terms[3].sum()))

    def search(max_states: int) -> _Search:
        found = _prefix_search(tree.a, K, R, terms, tree.best_cost, tol=tol, prefix=p,
                               charged=charged, max_states=max_states, deadline=tree.deadline)
        if found.status == "found":
            tree.offer(found.perm)
        return found

    if p.size or tree.n < _IMPROVE_N:
        return search(tree.max_states)
    if x is not None:
        _offer_integral(tree, x)
    found = search(min(tree.max_states, _QUICK_STATES))
    if found.status != "gave up" or past(tree.deadline):
        return found
    _improve_incumbent(tree)
    return search(tree.max_states)


def _branch(tree: _Tree, prefix: tuple[int, ...], bound: float, base: float,
            first: tuple[np.ndarray, np.ndarray]) -> None:
    """Push the children ``prefix + v`` for the vertices ``v`` the DP's first layer kept."""
    a = tree.a
    for v, charge in zip(*first, strict=True):
        child, saved = _child(a, prefix, int(v))
        key = sum(1 << u for u in child)
        cost = order_cost(a[np.ix_(child, child)], np.arange(len(child)))
        if tree.seen.get(key, math.inf) <= cost:
            continue  # the same set in an order no dearer is already there
        tree.seen[key] = cost
        child_bound = max(bound, base + float(charge) - saved)
        if not tree.ruled_out(child_bound):
            tree.push(child_bound, child)


def _offer_integral(tree: _Tree, x: np.ndarray) -> None:
    """The root LP's order, when its solution is integral."""
    from torch_orderedness.metric.ilp import _is_integral, _order_from_x

    if _is_integral(x):
        tree.offer(_order_from_x(tree.n, x))


def _improve_incumbent(tree: _Tree) -> None:
    """A better incumbent before the root's full DP: runs of the local search from random
    orders, for a tenth of the time left (the DP keeps far fewer sets under a lower cost:
    dense n = 36, seed 1 of the portfolio: 390 000 sets at most with the optimum, past
    1.2 million with the default search's order, 0.25 % dearer)."""
    from torch_orderedness.metric.search import improve_order

    left = None if tree.deadline is None else tree.deadline - time.perf_counter()
    deadline = None if left is None else time.perf_counter() + 0.1 * left
    perm, _ = improve_order(tree.a, tree.best, runs=_IMPROVE_RUNS, restarts=_IMPROVE_ROUNDS,
                            deadline=deadline)
    tree.offer(perm)


def branch_and_bound(
    a: np.ndarray,
    lp: TriangleLP,
    best: np.ndarray,
    best_cost: float,
    *,
    max_states: int,
    deadline: float | None = None,
    branch: bool = True,
) -> tuple[np.ndarray, float, float, bool, int]:
    """The least-cost order of ``a`` (zero diagonal), from a known order ``best``.

    Returns ``(perm, cost, lower, proven, nodes)``: the best order found,
    its cost, a certified lower bound on the optimum and whether they meet
    (within ``1e-9`` relative), and the number of nodes expanded. With
    ``branch=False`` only the root is processed (the LP and the pruned DP).
    """
    tree = _Tree(a, lp, np.asarray(best, dtype=np.int64), float(best_cost), max_states,
                 deadline)
    tree.push(-math.inf, ())
    while tree.heap:
        bound, _, prefix = tree.heap[0]
        if tree.ruled_out(bound):
            tree.heap.clear()
            break
        if past(deadline) or (not branch and tree.nodes >= 1):
            break
        heapq.heappop(tree.heap)
        tree.nodes += 1
        _expand(tree, prefix, bound)
    lower = tree.lower()
    proven = tree.best_cost - lower <= tree.tol
    return tree.best, tree.best_cost, (tree.best_cost if proven else lower), proven, tree.nodes
