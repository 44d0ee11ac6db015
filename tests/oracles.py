"""Independent references the tests compare the library with: the paper's definitions
applied literally, the slow and obvious way. Nothing here uses the library. Import from the
tests as ``from oracles import ...`` (pytest puts ``tests/`` on ``sys.path``).

- :func:`literal_cost`: the backward weight of one order, pair by pair.
- :func:`least_backward_weight`: the least backward weight over every order
  of the hidden neurons (outputs fixed first), vectorised over the orders,
  literal over the position pairs.
- :func:`brute_force`: the paper's Eq. 3, ``(orderedness, least backward weight)``.
- :func:`least_cost_after`: the least cost of the orders that start with a given
  prefix, by trying every order of the other vertices.
- :func:`least_cost`: :func:`least_backward_weight` of a square matrix with no
  fixed outputs (the solvers' problem on the hidden block).
- :func:`literal_topk_mask`, :func:`literal_tril_mask`: Top-K by sorting, Tril-damp
  entry by entry.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

__all__ = ["brute_force", "least_backward_weight", "least_cost", "least_cost_after",
           "literal_cost", "literal_topk_mask", "literal_tril_mask"]


def literal_cost(A: np.ndarray, perm) -> float:
    """Sum of ``A[i, j]`` over the pairs where ``i`` is placed after ``j``, by a double loop."""
    perm = list(perm)
    return float(sum(A[perm[a], perm[b]] for a in range(len(perm)) for b in range(a)))


def least_backward_weight(S: np.ndarray, outputs: int = 0) -> float:
    """Least strict-lower-triangle sum of ``S[p][:, p]`` over all ``p`` fixing the outputs.

    Every permutation of the hidden neurons is tried; each one's lower
    triangle is summed position pair by position pair (vectorised over the
    permutations only).
    """
    S = np.asarray(S, dtype=np.float64)
    n = S.shape[0]
    hidden = list(itertools.permutations(range(outputs, n)))
    orders = np.array([list(range(outputs)) + list(h) for h in hidden], dtype=np.int64)
    orders = orders.reshape(len(hidden), n)
    lower = np.zeros(len(hidden))
    for a in range(n):  # position of the receiving neuron
        for b in range(a):  # an earlier position: below the diagonal
            lower += S[orders[:, a], orders[:, b]]
    return float(lower.min())


def least_cost(A: np.ndarray) -> float:
    """Least backward weight of a square matrix over all ``n!`` orders."""
    return least_backward_weight(A, 0)


def least_cost_after(A: np.ndarray, prefix) -> float:
    """Least :func:`literal_cost` over the orders that start with ``prefix`` (in its order)."""
    prefix = list(prefix)
    rest = [v for v in range(A.shape[0]) if v not in prefix]
    return min(literal_cost(A, prefix + list(p)) for p in itertools.permutations(rest))


def brute_force(W: np.ndarray, outputs: int = 0) -> tuple[float, float]:
    """The paper's Eq. 3 literally; returns ``(orderedness, least backward weight)``."""
    W = np.asarray(W, dtype=np.float64)
    S = np.abs(W[:, : W.shape[0]])
    best = least_backward_weight(S, outputs)
    return 1.0 - best / S.sum(), best



def literal_topk_mask(w: torch.Tensor, k: float) -> torch.Tensor:
    """Keep the floor(k*n) largest |w| (continuous values: no ties), by sorting."""
    flat = w.reshape(-1).abs().tolist()
    n_keep = math.floor(round(k * len(flat), 9))
    order = sorted(range(len(flat)), key=lambda i: -flat[i])
    mask = [0.0] * len(flat)
    for i in order[:n_keep]:
        mask[i] = 1.0
    return torch.tensor(mask, dtype=w.dtype).reshape(w.shape)


def literal_tril_mask(rows: int, cols: int, f: float) -> torch.Tensor:
    mask = torch.ones(rows, cols, dtype=torch.float64)
    for i in range(rows):
        for j in range(cols):
            if j < i:
                mask[i, j] = 1.0 - f
    return mask
