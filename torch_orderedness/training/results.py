"""What training returns: :class:`TrainResult` (one run) and :class:`SeedRuns` (many seeds).

Plain data: arrays are NumPy, tensors on the CPU; ``to_dict()`` gives
JSON-friendly copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import Tensor, nn

from torch_orderedness.metric import Ordering

__all__ = ["TrainResult", "SeedRuns"]


def _mean_defined(values: Iterable[float]) -> float:
    """Mean of the non-NaN values (NaN when there are none), without numpy's warning."""
    kept = [float(v) for v in values if v == v]
    return sum(kept) / len(kept) if kept else float("nan")


def _nan_if_none(r: Ordering | None) -> float:
    return float("nan") if r is None else r.value


@dataclass(repr=False)
class TrainResult:
    """What one training run recorded (plain data; arrays are numpy, tensors on the CPU).

    Attributes:
        seed: the run's seed (``None`` when none was given).
        steps: optimiser steps done (fewer than planned when ``stop_loss`` stopped it).
        loss: ``(steps,)`` training loss of each step's batch, before its update.
        progress: ``(steps,)`` the progress ``x`` fed to the dynamic schemes.
        sparsity: ``{parameter: (steps,)}`` share of exact zeros of each pruned
            parameter in use after the step's pruning.
        mask_mean: ``{parameter: (steps,)}`` mean value of its mask at that step
            (the product of the masks of all schemes on it).
        orderedness_steps: ``(m,)`` steps at which the orderedness was
            measured (``0`` = before training, the last = :attr:`steps`).
        orderedness, orderedness_lower, orderedness_upper: ``(m,)`` the value and
            its certified bounds (NaN where undefined: an all-zero square part).
        start, end: the :class:`~torch_orderedness.metric.Ordering` before
            and after training (``None`` where undefined or not measured).
        start_params, end_params: ``{name: tensor}`` the parameters before and
            after training (for a reparametrised weight, the masked weight).
        stopped_early: ``True`` when ``stop_loss`` ended the run.
        hparams: the run's hyperparameters (as logged to TensorBoard).
        wall_s: seconds of the call that produced it (shared by batched seeds).
        model: the trained model (for batched seeds, a copy of this seed's layer).

    Derived: :attr:`start_orderedness`, :attr:`end_orderedness`,
    :attr:`change` (the paper's change in orderedness), :attr:`final_loss`,
    :attr:`final_sparsity`; :meth:`to_dict` gives a JSON-friendly copy.

    Example::

        >>> from torch_orderedness import PruneSpec, train, train_seeds, xor
        >>> r = train(None, xor(), seed=0, steps=10, pruning=PruneSpec("tril", f=0.5),
        ...           orderedness_every=5)
        >>> r.seed, r.steps, r.loss.shape, r.stopped_early
        (0, 10, (10,), False)
        >>> r.orderedness_steps.tolist(), r.end.exact, r.end.permutation[0]
        ([0, 5, 10], True, 0)
        >>> r.final_sparsity, float(r.mask_mean["weight"][0])  # soft: 15 of 48 entries x 0.5
        ({'weight': 0.0}, 0.84375)
        >>> round(r.start_orderedness, 4), round(r.end_orderedness, 4), r.change > 0
        (0.7635, 0.9913, True)
        >>> sorted(r.end_params), type(r.model).__name__
        (['initial_state', 'weight'], 'CompletePerceptron')
    """

    seed: int | None
    steps: int
    loss: np.ndarray
    progress: np.ndarray
    sparsity: dict[str, np.ndarray]
    mask_mean: dict[str, np.ndarray]
    orderedness_steps: np.ndarray
    orderedness: np.ndarray
    orderedness_lower: np.ndarray
    orderedness_upper: np.ndarray
    start: Ordering | None
    end: Ordering | None
    start_params: dict[str, Tensor]
    end_params: dict[str, Tensor]
    stopped_early: bool
    hparams: dict[str, Any]
    wall_s: float
    model: nn.Module | None = field(default=None, compare=False)

    @property
    def start_orderedness(self) -> float:
        """Orderedness before training (NaN when undefined or not measured)."""
        return _nan_if_none(self.start)

    @property
    def end_orderedness(self) -> float:
        """Orderedness after training (NaN when undefined or not measured)."""
        return _nan_if_none(self.end)

    @property
    def change(self) -> float:
        """``end_orderedness - start_orderedness``, the paper's change in orderedness."""
        return self.end_orderedness - self.start_orderedness

    @property
    def final_loss(self) -> float:
        """The loss of the last step."""
        return float(self.loss[-1])

    @property
    def final_sparsity(self) -> dict[str, float]:
        """Share of exact zeros of each pruned parameter at the end."""
        return {k: float(v[-1]) for k, v in self.sparsity.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (lists and floats; the model is left out)."""

        def ordering_dict(r: Ordering | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"value": r.value, "permutation": list(r.permutation), "lower": r.lower,
                    "upper": r.upper, "exact": r.exact, "method": r.method}

        return {
            "seed": self.seed,
            "steps": self.steps,
            "loss": self.loss.tolist(),
            "progress": self.progress.tolist(),
            "sparsity": {k: v.tolist() for k, v in self.sparsity.items()},
            "mask_mean": {k: v.tolist() for k, v in self.mask_mean.items()},
            "orderedness_steps": self.orderedness_steps.tolist(),
            "orderedness": self.orderedness.tolist(),
            "orderedness_lower": self.orderedness_lower.tolist(),
            "orderedness_upper": self.orderedness_upper.tolist(),
            "start": ordering_dict(self.start),
            "end": ordering_dict(self.end),
            "start_params": {k: v.tolist() for k, v in self.start_params.items()},
            "end_params": {k: v.tolist() for k, v in self.end_params.items()},
            "stopped_early": self.stopped_early,
            "hparams": dict(self.hparams),
            "wall_s": self.wall_s,
        }

    def __repr__(self) -> str:
        return (
            f"TrainResult(seed={self.seed}, steps={self.steps}, final_loss={self.final_loss:.4g}, "
            f"orderedness {self.start_orderedness:.4f} -> {self.end_orderedness:.4f}, "
            f"sparsity={ {k: round(v, 4) for k, v in self.final_sparsity.items()} })"
        )


@dataclass(repr=False)
class SeedRuns:
    """The runs of one setting over several seeds (from :func:`train_seeds`).

    Attributes:
        runs: one :class:`TrainResult` per seed, in the order of the seeds.
        batched: ``True`` when the seeds were trained as one batched model.
        wall_s: seconds the whole call took.
        model: the trained :class:`PerceptronEnsemble` (batched) or the list
            of trained models.

    Indexing, ``len`` and iteration go over :attr:`runs`.  Arrays across the
    seeds: :attr:`start`, :attr:`end`, :attr:`change`, :attr:`final_loss`
    ``(S,)``; :attr:`loss`, :meth:`sparsity`, :meth:`mask_mean`
    ``(S, steps)``, NaN-padded after a seed stopped early by ``stop_loss``.

    Example::

        >>> from torch_orderedness import PruneSpec, train, train_seeds, xor
        >>> runs = train_seeds(None, xor(), seeds=[3, 4], steps=10,
        ...                    pruning=PruneSpec("tril", f=0.5))
        >>> len(runs), runs.seeds, runs.batched, runs[0].seed
        (2, [3, 4], True, 3)
        >>> runs.loss.shape, runs.sparsity("weight").shape, runs.change.shape
        ((2, 10), (2, 10), (2,))
        >>> runs.start.round(4).tolist(), bool((runs.change > 0).all())
        ([0.716, 0.6327], True)
        >>> type(runs.model).__name__, type(runs[1].model).__name__
        ('PerceptronEnsemble', 'CompletePerceptron')
    """

    runs: tuple[TrainResult, ...]
    batched: bool
    wall_s: float
    model: nn.Module | list[nn.Module] | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[TrainResult]:
        return iter(self.runs)

    def __getitem__(self, index: int) -> TrainResult:
        return self.runs[index]

    @property
    def seeds(self) -> list[int | None]:
        """The seeds, in the order of :attr:`runs`."""
        return [r.seed for r in self.runs]

    @property
    def start(self) -> np.ndarray:
        """``(S,)`` orderedness before training."""
        return np.array([r.start_orderedness for r in self.runs])

    @property
    def end(self) -> np.ndarray:
        """``(S,)`` orderedness after training."""
        return np.array([r.end_orderedness for r in self.runs])

    @property
    def change(self) -> np.ndarray:
        """``(S,)`` change in orderedness, ``end - start``."""
        return self.end - self.start

    @property
    def final_loss(self) -> np.ndarray:
        """``(S,)`` loss of each seed's last step."""
        return np.array([r.final_loss for r in self.runs])

    @property
    def loss(self) -> np.ndarray:
        """``(S, steps)`` loss curves; a seed stopped early by ``stop_loss`` is NaN-padded."""
        return _padded([r.loss for r in self.runs])

    def sparsity(self, name: str = "weight") -> np.ndarray:
        """``(S, steps)`` share of exact zeros of parameter ``name`` (NaN-padded)."""
        return _padded([r.sparsity[name] for r in self.runs])

    def mask_mean(self, name: str = "weight") -> np.ndarray:
        """``(S, steps)`` mean mask value of parameter ``name`` (NaN-padded like :attr:`loss`)."""
        return _padded([r.mask_mean[name] for r in self.runs])

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (lists and floats; the models are left out).

        Keys ``runs`` (each as :meth:`TrainResult.to_dict`), ``batched``, ``wall_s``.
        """
        return {"runs": [r.to_dict() for r in self.runs], "batched": self.batched,
                "wall_s": self.wall_s}

    def __repr__(self) -> str:
        return (
            f"SeedRuns({len(self.runs)} seeds, batched={self.batched}, "
            f"change={_mean_defined(self.change):+.4f}, "
            f"wall_s={self.wall_s:.2f})"
        )


def _padded(rows: Sequence[np.ndarray]) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
