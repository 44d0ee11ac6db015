r"""The shuffled-weights null model of the orderedness metric.

How ordered would a weight be by chance?  Keep its magnitudes and shuffle
them over the positions of the square part ``S = |W[:, :N]|``, then measure
the orderedness of each shuffled copy (outputs still fixed first).  The
spread of those values is the null distribution; a trained or pruned
network is "more ordered than its weights alone explain" when its own
orderedness lies above it (:attr:`NullModel.excess`,
:attr:`NullModel.pvalue`).

Two shuffles:

- ``"pattern"`` (default): the nonzero off-diagonal magnitudes are permuted
  among the nonzero off-diagonal positions.  The sparsity pattern is kept,
  so the null asks whether the *values* are placed in an ordered way given
  *which* connections exist; this is the right null for pruned weights,
  whose pattern is itself what pruning changes (compare ``"all"``).
- ``"all"``: every off-diagonal entry (zeros included) is permuted over all
  off-diagonal positions: both the pattern and the values are random.

The diagonal (self-connections) stays in place in both: it counts in the
total but is never backward, so moving weight on or off it would change the
metric for a reason that has nothing to do with order.  Every shuffle keeps
``sum(S)``, and the input columns (never permuted by the metric) play no part.

Draws use a :class:`torch.Generator` (``torch.randperm``), so a seeded
generator reproduces the samples; ``None`` uses torch's default generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from torch_orderedness import _checks

__all__ = ["SHUFFLES", "NullModel", "orderedness_null", "shuffle_square"]

#: The shuffles :func:`orderedness_null` accepts.
SHUFFLES: tuple[str, ...] = ("pattern", "all")


@dataclass(frozen=True)
class NullModel:
    """Orderedness of a weight against that of its shuffled copies.

    Attributes:
        value: orderedness of the weight itself.
        samples: orderedness of each shuffled copy, in draw order.
        shuffle: ``"pattern"`` or ``"all"`` (see :mod:`.null`).
        mean: mean of :attr:`samples`.
        std: sample standard deviation of :attr:`samples` (``ddof=1``; 0.0
            for a single sample).
        exact: ``True`` when :attr:`value` and every sample were solved
            exactly (see :class:`.core.Ordering`); otherwise they are the
            values of the best orders found (lower bounds on the metric).

    ``excess``, ``pvalue`` and ``float(null)`` (the mean) are derived.

    Example::

        >>> g = torch.Generator().manual_seed(0)
        >>> w = torch.triu(torch.rand(6, 8, generator=g)) + 0.1 * torch.rand(6, 8, generator=g)
        >>> null = orderedness_null(w, outputs=1, samples=20,
        ...                         generator=torch.Generator().manual_seed(0))
        >>> round(null.value, 3), round(null.mean, 3), round(null.std, 3), null.exact
        (0.907, 0.728, 0.04, True)
        >>> len(null.samples), null.shuffle, round(null.excess, 3), round(null.pvalue, 4)
        (20, 'pattern', 0.18, 0.0476)
    """

    value: float
    samples: tuple[float, ...]
    shuffle: str
    mean: float
    std: float
    exact: bool

    @property
    def excess(self) -> float:
        """``value - mean``: orderedness beyond what the shuffled weights give."""
        return self.value - self.mean

    @property
    def pvalue(self) -> float:
        """One-sided permutation p-value ``(1 + #{samples >= value}) / (1 + len(samples))``."""
        hits = sum(1 for s in self.samples if s >= self.value - 1e-12)
        return (1 + hits) / (1 + len(self.samples))

    def __float__(self) -> float:
        return self.mean


def _check_generator(generator: object) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    return generator


def _randperm(k: int, generator: torch.Generator | None) -> np.ndarray:
    device = generator.device if generator is not None else "cpu"
    return torch.randperm(k, generator=generator, device=device).cpu().numpy()


def shuffle_square(
    S: np.ndarray, *, shuffle: str = "pattern", generator: torch.Generator | None = None,
    copies: int | None = None,
) -> np.ndarray:
    """One shuffled copy of a square matrix (the diagonal stays in place), or several.

    Args:
        S: square matrix ``(N, N)`` (numpy array or tensor).
        shuffle: ``"pattern"``: permute the nonzero off-diagonal entries among
            their own positions; ``"all"``: permute all off-diagonal entries.
        generator: a :class:`torch.Generator` for the draw (``None``: torch's
            default generator).
        copies: ``None`` (default): one copy ``(N, N)``; an int ``k >= 0``: ``k``
            copies ``(k, N, N)``, the same as ``k`` calls without ``copies``
            one after the other on the same generator (one permutation each,
            drawn in turn), built in one vectorised step.

    Returns:
        A new float64 numpy array ``(N, N)`` (or ``(copies, N, N)``) with the
        same entries, moved.

    Example::

        >>> S = np.array([[9.0, 1.0, 0.0], [2.0, 9.0, 3.0], [0.0, 0.0, 9.0]])
        >>> T = shuffle_square(S, generator=torch.Generator().manual_seed(0))
        >>> bool((np.diag(T) == 9).all()), bool(((T != 0) == (S != 0)).all())
        (True, True)
        >>> sorted(T[~np.eye(3, dtype=bool)].tolist())
        [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
    """
    if shuffle not in SHUFFLES:
        raise ValueError(f"shuffle must be one of {SHUFFLES}, got {shuffle!r}")
    _check_generator(generator)
    count = 1 if copies is None else _checks.count("copies", copies, 0)
    if isinstance(S, torch.Tensor):
        S = S.detach().cpu().numpy()
    a = np.array(S, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"S must be a square 2-D matrix (N, N), got shape {a.shape}")
    off = ~np.eye(a.shape[0], dtype=bool)
    if shuffle == "pattern":
        off &= a != 0
    rows, cols = np.nonzero(off)
    values = a[rows, cols]
    out = np.repeat(a[None], count, axis=0)
    if values.size > 1 and count:
        order = np.stack([_randperm(values.size, generator) for _ in range(count)])
        out[:, rows, cols] = values[order]
    return out[0] if copies is None else out


def orderedness_null(
    w: object,
    *,
    outputs: int | None = None,
    inputs: int | None = None,
    samples: int = 100,
    generator: torch.Generator | None = None,
    shuffle: str = "pattern",
    method: str = "auto",
    time_limit: float | None = None,
    seed: int | None = 0,
) -> NullModel | tuple[NullModel, ...]:
    """Orderedness of ``w`` and its null distribution under shuffled weights.

    Args:
        w: anything :func:`.core.ordering` accepts (tensor or array
            ``(N, N + I)`` or a batch, complete layer, ``nn.RNN``, MLP).
        outputs, inputs: as in :func:`.core.ordering`.
        samples: number of shuffled copies (``>= 1``).
        generator: a :class:`torch.Generator` for the shuffles (seed it for
            reproducible samples); ``None``: torch's default generator.
        shuffle: ``"pattern"`` (default) or ``"all"``; see :mod:`.null`.
        method, time_limit, seed: passed to :func:`.core.ordering` for the
            weight and for every copy (``time_limit`` per matrix).

    Returns:
        A :class:`NullModel`, or a tuple of them where :func:`.core.ordering`
        returns a tuple (a 3-D batch, an ``nn.RNN``).

    Raises:
        ValueError: ``samples < 1``, an unknown ``shuffle``, and everything
            :func:`.core.ordering` refuses.
        TypeError: a ``generator`` that is not a :class:`torch.Generator`,
            a non-integer ``samples``.

    Example::

        >>> w = torch.triu(torch.ones(4, 4))  # perfectly ordered, and so are its shuffles
        >>> null = orderedness_null(w, samples=5, generator=torch.Generator().manual_seed(0))
        >>> null.value, null.mean, null.excess
        (1.0, 1.0, 0.0)
    """
    from torch_orderedness.metric.core import _check_options, _order_many, _order_one
    from torch_orderedness.metric.graph import neuron_graph

    samples = _checks.count("samples", samples, 1)
    if shuffle not in SHUFFLES:
        raise ValueError(f"shuffle must be one of {SHUFFLES}, got {shuffle!r}")
    _check_generator(generator)
    _check_options(method, time_limit, seed)
    graph = neuron_graph(w, outputs=outputs, inputs=inputs)
    options = {"outputs": graph.outputs, "method": method, "time_limit": time_limit, "seed": seed}

    results = []
    for S in graph.matrices:
        own = _order_one(S, **options)
        copies = list(shuffle_square(S, shuffle=shuffle, generator=generator,
                                     copies=int(samples)))
        # only the copies' values count: their certified bounds are skipped; small copies
        # are solved together in one vectorised DP
        solved = _order_many(copies, **options, bound=False)
        values = [r.value for r in solved]
        exact = own.exact and all(r.exact for r in solved)
        v = np.array(values)
        std = float(v.std(ddof=1)) if v.size > 1 else 0.0
        results.append(
            NullModel(
                value=own.value,
                samples=tuple(float(x) for x in values),
                shuffle=shuffle,
                mean=float(math.fsum(values) / len(values)),
                std=std,
                exact=bool(exact),
            )
        )
    return tuple(results) if graph.batched else results[0]
