r"""Training with pruning schemes, the paper's way or torch's, one seed or many at once.

:func:`train` trains one model; :func:`train_seeds` trains one setting for
many seeds, as one batched model when it can (:class:`PerceptronEnsemble`).
Both validate everything before the first step (data widths, scheme
parameters, progress, intervals, the loss) and create TensorBoard files only
after that, so a call that fails at the start leaves nothing behind.

One step (``k = 1 .. steps``; step ``k`` uses batch ``k`` of the epoch order)::

    loss = loss_fn(model(x_k), y_k)          # recorded as loss[k-1]
    loss.backward(); optimizer.step()        # skipped with update=False
    every scheme applied with progress x_k   # in list order
    sparsity / mask mean recorded; orderedness every `orderedness_every` steps

**Progress** ``x_k`` fed to the dynamic schemes (``progress=``):

- ``"epoch"`` (default, the paper's): ``x = epoch / epochs`` with the
  0-based epoch of the step; constant within an epoch, in ``[0, 1)``.  Needs a
  whole number of epochs.
- ``"step"``: ``x = (k - 1) / steps``, in ``[0, 1)``.  On XOR (one batch per
  epoch) both definitions agree.
- a callable ``f(step_index, steps) -> float`` in ``[0, 1]`` (0-based index),
  checked for every step before training starts.

**Modes** (``mode=``):

- ``"in_place"`` (default, the paper's): after every optimiser step each
  scheme multiplies the weight itself by its mask
  (:class:`~torch_orderedness.pruning.InPlacePruner`).  Tril-damp compounds
  (the lower triangle is scaled by ``(1 - f)`` at every step), and a pruned
  entry still receives gradients, so it can grow back before the next
  pruning.  Random's mask is drawn once, before the first step, and re-applied
  unchanged.
- ``"reparametrize"`` (torch's way): the weight becomes
  ``weight_orig * weight_mask`` through :func:`torch.nn.utils.prune.custom_from_mask`
  (the forward pre-hook of :mod:`torch.nn.utils.prune`), with masks computed
  by the schemes' ``compute_mask``.  Masks are set up before the first step,
  from the initial weight, and multiply the weight in every forward pass, so
  masked entries have no effect and get no gradient (Adam's momentum can
  still move ``weight_orig``, invisibly).  Random, Top-K and Tril-damp keep
  that first mask for the whole run (pruning at initialisation; Tril-damp
  does not compound).  The dynamic schemes are re-applied after every
  optimiser step at that step's progress: Dynamic Top-K keeps the top
  ``floor(k(x) n)`` entries of ``|weight_orig|`` *among those still unpruned*
  (entries never come back: gradual magnitude pruning), Dynamic Tril-damp's
  soft mask is replaced by the one at ``f(x)`` (no compounding).  Several
  schemes on one parameter multiply their masks.  The model stays
  reparametrised after training (``prune.remove`` makes it permanent).

**Records**: per step the loss, and for each pruned parameter the share of
exact zeros of the weight in use (after the step's pruning) and the mean of
the mask applied (Tril-damp's masks are soft, so zeros alone under-report
it); the orderedness (value and bounds, :func:`~torch_orderedness.metric.ordering`)
at the start, every ``orderedness_every`` steps and at the end.  The
orderedness of a weight whose square part is all zero is undefined: it is
recorded as NaN with a ``RuntimeWarning``.

**Seeds**: a run is reproducible from its seed.  :func:`seed_generators`
derives three independent generators: ``init`` (seeded with the seed itself,
so ``CompletePerceptron(..., generator=torch.Generator().manual_seed(seed))``
is the run's initial model), ``data`` (the epoch shuffles) and ``prune``
(Random's mask).

**Many seeds at once**: with complete layers, :func:`train_seeds` stacks the
``S`` models into a :class:`~torch_orderedness.ensemble.PerceptronEnsemble`,
sums the ``S`` per-seed losses (not their mean) and uses one optimiser over
the stacked parameters.  For an elementwise optimiser (Adam, SGD, RMSprop,
Adagrad, ...; not LBFGS, not gradient clipping by a global norm) this is
exactly ``S`` independent runs, with per-seed batches, per-seed Random masks
and per-seed pruning (``batch_dims=1``): the numbers equal those of separate
:func:`train` calls to float rounding, at a fraction of the time.  Other
models (an MLP baseline, say) are trained one seed after the other.

**Early stop** (``stop_loss=``): a run ends after the first step whose loss
is below the threshold; in a batched run that seed's parameters are frozen
from then on while the others go on, and its records end at that step.

**Speed**: the paper's models are tiny, so torch's intra-op threads only add
start-up costs (large ones on a busy machine, where a parallel region waits
for a descheduled thread).  ``threads="auto"`` (the default) therefore sets
``torch.set_num_threads(1)`` for the duration of a call whose model has at
most :data:`SMALL_MODEL` parameter entries and restores the old value after;
``threads=None`` leaves torch's setting alone, an int sets it.  See
``benchmarks/bench_training.py``.

Example (the paper's XOR setting, Dynamic Top-K, three seeds, 50 steps)::

    >>> from torch_orderedness.tasks import xor
    >>> runs = train_seeds(None, xor(), seeds=[0, 1, 2], steps=50,
    ...                    pruning=[PruneSpec("dyn_topk", k=0.5)])
    >>> runs.loss.shape, runs.start.shape, runs.batched
    ((3, 50), (3,), True)
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import prune

from torch_orderedness.complete import CompletePerceptron
from torch_orderedness.ensemble import PerceptronEnsemble
from torch_orderedness.logging import (
    TensorBoardLogger,
    TrainingLogger,
    _format_postfix,
    progress_bar,
    use_progress_bar,
)
from torch_orderedness.metric import Ordering, ordering
from torch_orderedness.pruning import (
    DynamicTopK,
    DynamicTrilDamp,
    InPlacePruner,
    RandomPrune,
    TopK,
    TrilDamp,
)
from torch_orderedness.tasks import Task, get_task

__all__ = [
    "ORDERING_OPTIONS",
    "PRUNING_SCHEMES",
    "PROGRESS",
    "MODES",
    "LOSSES",
    "SMALL_MODEL",
    "PruneSpec",
    "SeedGenerators",
    "seed_generators",
    "TrainResult",
    "SeedRuns",
    "train",
    "train_seeds",
]

#: Scheme names accepted by :class:`PruneSpec` (the classes themselves are accepted too).
PRUNING_SCHEMES: dict[str, type[prune.BasePruningMethod]] = {
    "random": RandomPrune,
    "topk": TopK,
    "dyn_topk": DynamicTopK,
    "tril": TrilDamp,
    "dyn_tril": DynamicTrilDamp,
}
#: The built-in definitions of training progress (a callable is accepted too).
PROGRESS: tuple[str, ...] = ("epoch", "step")
#: How schemes are applied: the paper's ``"in_place"`` or torch's ``"reparametrize"``.
MODES: tuple[str, ...] = ("in_place", "reparametrize")
#: ``threads="auto"`` trains with one intra-op thread up to this many parameter entries.
SMALL_MODEL: int = 2**16
#: Losses by name (a callable ``loss(prediction, target) -> scalar`` is accepted too).
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"mse": F.mse_loss}

_SCHEME_NAME = {cls: name for name, cls in PRUNING_SCHEMES.items()}
_SCHEME_ARGS: dict[type, tuple[str, tuple[str, ...]]] = {
    RandomPrune: ("p", ()),
    TopK: ("k", ()),
    DynamicTopK: ("k", ("schedule",)),
    TrilDamp: ("f", ()),
    DynamicTrilDamp: ("f", ("schedule",)),
}
_MANAGED = ("progress", "batch_dims", "generator")


# --------------------------------------------------------------------------- pruning specs


class PruneSpec:
    """One pruning scheme, its parameters and the parameter it prunes.

    Args:
        scheme: ``"random"``, ``"topk"``, ``"dyn_topk"``, ``"tril"``,
            ``"dyn_tril"`` (see :data:`PRUNING_SCHEMES`) or one of the classes
            :class:`~torch_orderedness.pruning.RandomPrune`, ...
        name: the parameter to prune, as in ``model.named_parameters()``
            (default ``"weight"``; ``"0.weight"`` for a submodule's).
        **params: the scheme's parameter (``p`` for Random, ``k`` for Top-K
            and Dynamic Top-K, ``f`` for the Tril-damps) and, for the dynamic
            schemes, ``schedule`` (``"sin4"`` or ``"cubic"``).  ``progress``,
            ``batch_dims`` and ``generator`` are set by the training loop.

    Raises:
        ValueError, TypeError: an unknown scheme, a missing, unknown or
            out-of-range parameter (checked now, by building the scheme).

    Example::

        >>> PruneSpec("dyn_topk", k=0.5)
        PruneSpec('dyn_topk', name='weight', k=0.5)
        >>> PruneSpec("tril", f=0.8).label
        'tril(f=0.8)@weight'
    """

    __slots__ = ("_method", "_name", "_params")

    def __init__(self, scheme: str | type[prune.BasePruningMethod], /, name: str = "weight",
                 **params: Any) -> None:
        if isinstance(scheme, str):
            if scheme not in PRUNING_SCHEMES:
                raise ValueError(
                    f"scheme must be one of {tuple(PRUNING_SCHEMES)} or a scheme class, "
                    f"got {scheme!r}"
                )
            method = PRUNING_SCHEMES[scheme]
        elif isinstance(scheme, type) and scheme in _SCHEME_ARGS:
            method = scheme
        else:
            raise TypeError(
                f"scheme must be one of {tuple(PRUNING_SCHEMES)} or one of the classes "
                f"{', '.join(c.__name__ for c in _SCHEME_ARGS)}; got {scheme!r}"
            )
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty parameter name, got {name!r}")
        required, optional = _SCHEME_ARGS[method]
        managed = sorted(set(params) & set(_MANAGED))
        if managed:
            raise TypeError(
                f"PruneSpec takes no {', '.join(managed)}: the training loop sets "
                f"progress (see train(progress=...)), batch_dims and Random's generator"
            )
        unknown = sorted(set(params) - {required, *optional})
        if unknown:
            allowed = ", ".join((required, *optional))
            raise TypeError(
                f"{method.__name__} takes the parameter(s) {allowed}; got unexpected {unknown}"
            )
        if required not in params:
            raise TypeError(f"{method.__name__} needs its parameter {required!r}")
        self._method = method
        self._name = name
        self._params = dict(params)
        self.method_at(0.0)  # validates the values

    @property
    def method(self) -> type[prune.BasePruningMethod]:
        """The scheme's class."""
        return self._method

    @property
    def scheme(self) -> str:
        """The scheme's short name (a key of :data:`PRUNING_SCHEMES`)."""
        return _SCHEME_NAME[self._method]

    @property
    def name(self) -> str:
        """The parameter it prunes."""
        return self._name

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the scheme's parameters."""
        return dict(self._params)

    @property
    def dynamic(self) -> bool:
        """``True`` for the schemes that follow the training progress."""
        return issubclass(self._method, (DynamicTopK, DynamicTrilDamp))

    @property
    def label(self) -> str:
        """A short text such as ``"dyn_topk(k=0.5)@weight"``."""
        args = ",".join(f"{k}={v}" for k, v in self._params.items())
        return f"{self.scheme}({args})@{self._name}"

    def method_at(self, progress: float | None = None, *, batch_dims: int = 0,
                  generator: torch.Generator | None = None) -> prune.BasePruningMethod:
        """The scheme instance at ``progress`` (ignored by the static schemes)."""
        extra: dict[str, Any] = {"batch_dims": batch_dims}
        if self.dynamic:
            extra["progress"] = 0.0 if progress is None else progress
        if self._method is RandomPrune:
            extra["generator"] = generator
        return self._method(**self._params, **extra)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self._params.items())
        return f"PruneSpec({self.scheme!r}, name={self._name!r}{args})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PruneSpec):
            return NotImplemented
        return (self._method, self._name, self._params) == (
            other._method, other._name, other._params
        )

    def __hash__(self) -> int:
        return hash((self._method, self._name, tuple(sorted(self._params.items()))))


# --------------------------------------------------------------------------- seeds


class SeedGenerators(NamedTuple):
    """The three independent random streams of one seed (CPU generators)."""

    init: torch.Generator
    data: torch.Generator
    prune: torch.Generator


def _check_seed(seed: object, what: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{what} must be an int in [0, 2**63), got {seed!r}")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"{what} must be an int in [0, 2**63), got {seed}")
    return int(seed)


def _derived(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0])


@contextlib.contextmanager
def _seeded_global_rng(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNG for the block (from ``(seed, 3)``) and restore it after.

    For models that draw from the global RNG while training (dropout, say);
    ``None`` leaves it alone.
    """
    if seed is None:
        yield
        return
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(_derived(seed, 3))
        yield


def seed_generators(seed: int) -> SeedGenerators:
    """Fresh generators for model init, data shuffling and Random's mask of ``seed``.

    ``init`` is seeded with ``seed`` itself, so
    ``CompletePerceptron(..., generator=torch.Generator().manual_seed(seed))``
    is the run's initial model; ``data`` (the epoch shuffles) and ``prune``
    (Random's mask) with numbers derived from ``(seed, 1)`` and ``(seed, 2)``
    by :class:`numpy.random.SeedSequence`, so the streams are independent.
    :func:`train` and :func:`train_seeds` call it for every seed.

    Args:
        seed: an int in ``[0, 2**63)``.

    Returns:
        A :class:`SeedGenerators` ``(init, data, prune)`` of new CPU
        :class:`torch.Generator` objects (each call gives fresh ones).

    Raises:
        TypeError: ``seed`` is not an int (a bool is refused too).
        ValueError: ``seed`` outside ``[0, 2**63)``.

    Example::

        >>> g = seed_generators(3)
        >>> g.init.initial_seed(), g.data.initial_seed() != g.prune.initial_seed()
        (3, True)
        >>> torch.equal(torch.rand(2, generator=seed_generators(3).data),
        ...             torch.rand(2, generator=g.data))  # reproducible
        True
    """
    seed = _check_seed(seed)
    return SeedGenerators(
        torch.Generator().manual_seed(seed),
        torch.Generator().manual_seed(_derived(seed, 1)),
        torch.Generator().manual_seed(_derived(seed, 2)),
    )


# --------------------------------------------------------------------------- results


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

        >>> from torch_orderedness.tasks import xor
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

        >>> from torch_orderedness.tasks import xor
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


# --------------------------------------------------------------------------- validation


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


@dataclass
class _Plan:
    """Everything about a run that does not depend on the model, checked."""

    task: Task | None
    inputs: Tensor
    targets: Tensor
    batch_size: int
    shuffle: bool
    steps: int
    epochs: int
    batches_per_epoch: int
    progress: np.ndarray
    progress_name: str
    specs: tuple[PruneSpec, ...]
    mode: str
    loss_name: str
    loss_fn: Callable[[Tensor, Tensor], Tensor]
    optimizer: Callable[..., torch.optim.Optimizer]
    update: bool
    orderedness_every: int | None
    measure: bool
    orderedness_options: dict[str, Any]
    log_every: int
    stop_loss: float | None
    hparams: dict[str, Any]


def _resolve_data(data: object) -> tuple[Tensor, Tensor, Task | None]:
    if isinstance(data, str):
        task = get_task(data)
        return task.inputs, task.targets, task
    if isinstance(data, Task):
        return data.inputs, data.targets, data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, targets = data
        if not isinstance(inputs, Tensor) or not isinstance(targets, Tensor):
            raise TypeError(
                "data must be a Task, a task name, or a pair (inputs, targets) of tensors"
            )
        if inputs.dim() != 2 or targets.dim() != 2:
            raise ValueError(
                f"data must be inputs (n, in_features) and targets (n, out_features); got shapes "
                f"{tuple(inputs.shape)} and {tuple(targets.shape)} (reshape 1-D targets to (n, 1))"
            )
        if inputs.shape[0] != targets.shape[0] or inputs.shape[0] == 0:
            raise ValueError(
                f"inputs and targets must have the same number n >= 1 of rows, got "
                f"{inputs.shape[0]} and {targets.shape[0]}"
            )
        for what, t in (("inputs", inputs), ("targets", targets)):
            if not t.is_floating_point():
                raise TypeError(f"data {what} must be floating point, got {t.dtype}")
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"data {what} contain NaN or infinite values")
        return inputs, targets, None
    raise TypeError(
        "data must be a Task (tasks.xor(), tasks.sine()), a task name ('xor', 'sine') or a "
        f"pair (inputs, targets) of tensors; got {type(data).__name__}"
    )


def _progress_values(
    progress: object, steps: int, epochs: int, per_epoch: int
) -> tuple[np.ndarray, str]:
    index = np.arange(steps)
    if isinstance(progress, str):
        if progress == "epoch":
            if steps % per_epoch:
                raise ValueError(
                    f"progress='epoch' (epoch / epochs) needs whole epochs, but steps={steps} is "
                    f"not a multiple of the {per_epoch} batches per epoch; give epochs=... or "
                    "use progress='step'"
                )
            return (index // per_epoch) / epochs, "epoch"
        if progress == "step":
            return index / steps, "step"
        raise ValueError(f"progress must be one of {PROGRESS} or a callable, got {progress!r}")
    if callable(progress):
        values = np.empty(steps)
        for i in range(steps):
            x = progress(i, steps)
            if isinstance(x, Tensor) and x.numel() == 1:
                x = x.item()
            if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
                raise TypeError(f"progress({i}, {steps}) must return a float in [0, 1], got {x!r}")
            if not 0.0 <= float(x) <= 1.0:
                raise ValueError(f"progress({i}, {steps}) must return a float in [0, 1], got {x}")
            values[i] = float(x)
        return values, getattr(progress, "__name__", "callable")
    raise ValueError(f"progress must be one of {PROGRESS} or a callable, got {progress!r}")


def _plan(
    data: object,
    *,
    steps: int | None,
    epochs: int | None,
    batch_size: int | None,
    shuffle: bool | None,
    loss: str | Callable[[Tensor, Tensor], Tensor],
    optimizer: Callable[..., torch.optim.Optimizer] | None,
    pruning: PruneSpec | Sequence[PruneSpec],
    mode: str,
    progress: str | Callable[[int, int], float],
    update: bool,
    orderedness_every: int | None,
    measure_orderedness: bool,
    orderedness_options: Mapping[str, Any] | None,
    log_every: int,
    stop_loss: float | None,
    hparams: Mapping[str, Any] | None,
) -> _Plan:
    inputs, targets, task = _resolve_data(data)
    n = inputs.shape[0]
    if batch_size is None:
        batch_size = task.batch_size if task is not None else n
    batch_size = _check_int("batch_size", batch_size, 1)
    if shuffle is None:
        shuffle = task.shuffle if task is not None else False
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be a bool or None (the task's), got {shuffle!r}")
    per_epoch = math.ceil(n / batch_size)
    if steps is not None:
        steps = _check_int("steps", steps, 1)
    if epochs is not None:
        epochs = _check_int("epochs", epochs, 1)
    if steps is None and epochs is None:
        if task is None:
            raise ValueError("give steps or epochs (data without a Task has no default length)")
        epochs = task.epochs
    if steps is None:
        steps = epochs * per_epoch  # type: ignore[operator]
    elif epochs is None:
        epochs = math.ceil(steps / per_epoch)
    elif steps != epochs * per_epoch:
        raise ValueError(
            f"steps={steps} and epochs={epochs} disagree: {epochs} epochs of {per_epoch} "
            f"batches are {epochs * per_epoch} steps; give one of them"
        )
    values, progress_name = _progress_values(progress, steps, epochs, per_epoch)
    if isinstance(pruning, PruneSpec):
        pruning = [pruning]
    if isinstance(pruning, (str, bytes)) or not isinstance(pruning, Iterable):
        raise TypeError(f"pruning must be a PruneSpec or a list of them, got {pruning!r}")
    specs = tuple(pruning)
    for k, spec in enumerate(specs):
        if not isinstance(spec, PruneSpec):
            raise TypeError(
                f"pruning[{k}] must be a PruneSpec (e.g. PruneSpec('topk', k=0.5)), got {spec!r}"
            )
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {tuple(LOSSES)} or a callable, got {loss!r}")
        loss_name, loss_fn = loss, LOSSES[loss]
    elif callable(loss):
        loss_name, loss_fn = getattr(loss, "__name__", type(loss).__name__), loss
    else:
        raise TypeError(f"loss must be one of {tuple(LOSSES)} or a callable, got {loss!r}")
    if optimizer is None:
        def optimizer(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
            return torch.optim.Adam(params, lr=0.01)
    elif not callable(optimizer):
        raise TypeError(
            "optimizer must be a factory params -> Optimizer, e.g. "
            f"functools.partial(torch.optim.Adam, lr=0.01); got {optimizer!r}"
        )
    if not isinstance(update, bool):
        raise TypeError(f"update must be a bool, got {update!r}")
    if orderedness_every is not None:
        orderedness_every = _check_int("orderedness_every", orderedness_every, 1)
    if not isinstance(measure_orderedness, bool):
        raise TypeError(f"measure_orderedness must be a bool, got {measure_orderedness!r}")
    options = _check_orderedness_options(orderedness_options)
    log_every = _check_int("log_every", log_every, 1)
    if stop_loss is not None:
        if isinstance(stop_loss, bool) or not isinstance(stop_loss, (int, float)):
            raise TypeError(f"stop_loss must be a positive float or None, got {stop_loss!r}")
        if not (math.isfinite(stop_loss) and stop_loss > 0):
            raise ValueError(f"stop_loss must be a positive finite float or None, got {stop_loss}")
        stop_loss = float(stop_loss)
    if hparams is not None and not isinstance(hparams, Mapping):
        raise TypeError(f"hparams must be a mapping or None, got {type(hparams).__name__}")
    return _Plan(
        task=task, inputs=inputs, targets=targets, batch_size=batch_size, shuffle=shuffle,
        steps=steps, epochs=epochs, batches_per_epoch=per_epoch, progress=values,  # type: ignore[arg-type]
        progress_name=progress_name, specs=specs, mode=mode, loss_name=loss_name,
        loss_fn=loss_fn, optimizer=optimizer, update=update,
        orderedness_every=orderedness_every, measure=measure_orderedness,
        orderedness_options=options, log_every=log_every,
        stop_loss=stop_loss, hparams=dict(hparams or {}),
    )


#: The keys :func:`train`'s ``orderedness_options`` may hold (passed to ``ordering``).
ORDERING_OPTIONS: tuple[str, ...] = ("method", "time_limit", "seed")


def _check_orderedness_options(options: object) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(
            f"orderedness_options must be a mapping or None, got {type(options).__name__}"
        )
    unknown = sorted(set(options) - set(ORDERING_OPTIONS))
    if unknown:
        raise ValueError(
            f"orderedness_options may hold {ORDERING_OPTIONS} (passed to ordering()), got "
            f"{unknown}"
        )
    from torch_orderedness.metric.core import _check_options

    _check_options(options.get("method", "auto"), options.get("time_limit"),
                   options.get("seed", 0))
    return dict(options)


def _accepts_generator(factory: Callable[..., Any]) -> bool:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return True
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD or (
            p.name == "generator"
            and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )
        for p in sig.parameters.values()
    )


def _build(factory: Callable[..., nn.Module], gens: SeedGenerators | None,
           device: torch.device | str | None) -> nn.Module:
    """``factory(generator=gens.init)``, with torch's global CPU RNG seeded from the same seed."""
    with torch.random.fork_rng(devices=[]):
        if gens is not None:
            torch.manual_seed(gens.init.initial_seed())
        generator = None if gens is None else gens.init
        model = factory(generator=generator) if _accepts_generator(factory) else factory()
    if not isinstance(model, nn.Module):
        raise TypeError(f"the model factory must return an nn.Module, got {type(model).__name__}")
    return model if device is None else model.to(device)


def _split(name: str) -> tuple[str, str]:
    prefix, _, attr = name.rpartition(".")
    return prefix, attr


def _owner(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    prefix, attr = _split(name)
    return (model.get_submodule(prefix) if prefix else model), attr


def _current(model: nn.Module, name: str) -> Tensor:
    module, attr = _owner(model, name)
    orig, mask = getattr(module, attr + "_orig", None), getattr(module, attr + "_mask", None)
    if isinstance(orig, Tensor) and isinstance(mask, Tensor):
        return (orig * mask).detach()
    return getattr(module, attr).detach()


def _is_complete(model: nn.Module) -> bool:
    return all(hasattr(model, a) for a in ("out_features", "hidden_features", "in_features"))


def _float_dtype(model: nn.Module, fallback: torch.dtype) -> tuple[torch.dtype, torch.device]:
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            return t.dtype, t.device
    return fallback, torch.device("cpu")


@dataclass
class _Prepared:
    """One model ready to train: data on its device, checked names, start measurement."""

    model: nn.Module
    members: int | None
    inputs: Tensor
    targets: Tensor
    pruned: tuple[str, ...]
    param_names: tuple[str, ...]
    start: list[Ordering | None]
    start_params: list[dict[str, Tensor]]
    optimizer: torch.optim.Optimizer | None


def _loss_vector(plan: _Plan, pred: Tensor, target: Tensor, members: int | None) -> Tensor:
    if members is None:
        return plan.loss_fn(pred, target).reshape(1)
    if plan.loss_name == "mse" and plan.loss_fn is F.mse_loss:
        return (pred - target).square().mean(dim=tuple(range(1, pred.dim())))
    return torch.stack([plan.loss_fn(pred[s], target[s]).reshape(()) for s in range(members)])


def _measure(model: nn.Module, members: int | None,
             options: Mapping[str, Any]) -> list[Ordering | None]:
    """One ``Ordering`` per seed (``None`` where the square part is all zero)."""
    count = members or 1
    if not _is_complete(model):
        result = ordering(model, **options)
        if not isinstance(result, Ordering):
            raise TypeError(
                f"the orderedness of a {type(model).__name__} is not one number; "
                "pass measure_orderedness=False"
            )
        return [result]
    w = _current(model, "weight")
    w = w if members is not None else w.unsqueeze(0)
    n = w.shape[1]
    defined = (w[:, :, :n] != 0).flatten(1).any(dim=1).tolist()
    out: list[Ordering | None] = [None] * count
    index = [s for s in range(count) if defined[s]]
    if index:
        found = ordering(w[index], outputs=int(model.out_features), inputs=int(model.in_features),
                         **options)
        for s, r in zip(index, found, strict=True):
            out[s] = r
    return out


def _prepare(plan: _Plan, model: nn.Module, members: int | None) -> _Prepared:
    """Every check that needs the model; changes nothing in it."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be an nn.Module or a factory of one, got {type(model).__name__}"
        )
    dtype, device = _float_dtype(model, plan.inputs.dtype)
    inputs = plan.inputs.to(device=device, dtype=dtype)
    targets = plan.targets.to(device=device, dtype=dtype)
    in_w, out_w = inputs.shape[1], targets.shape[1]
    if hasattr(model, "in_features") and int(model.in_features) != in_w:
        raise ValueError(
            f"data inputs have width {in_w} but the model's in_features is {model.in_features}"
        )
    if hasattr(model, "out_features") and int(model.out_features) != out_w:
        raise ValueError(
            f"data targets have width {out_w} but the model's out_features is {model.out_features}"
        )
    params = dict(model.named_parameters())
    bd = 0 if members is None else 1
    pruned: list[str] = []
    for k, spec in enumerate(plan.specs):
        if spec.name + "_orig" in params:
            raise ValueError(
                f"pruning[{k}]: {spec.name!r} is already reparametrised by torch.nn.utils.prune; "
                "call prune.remove first"
            )
        if spec.name not in params:
            raise ValueError(
                f"pruning[{k}] ({spec.label}) names the parameter {spec.name!r}, which the "
                f"model lacks; its parameters are {sorted(params)}"
            )
        try:
            spec.method_at(0.0, batch_dims=bd)._check_tensor(params[spec.name].detach())
        except ValueError as e:
            raise ValueError(f"pruning[{k}] ({spec.label}): {e}") from None
        if spec.name not in pruned:
            pruned.append(spec.name)
    # a dry run on the first batch: shapes and the loss, before anything is trained
    rows = min(plan.batch_size, inputs.shape[0])
    x, y = inputs[:rows], targets[:rows]
    if members is not None:
        x, y = x.expand(members, *x.shape), y.expand(members, *y.shape)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()  # the dry run must not change running statistics (batch norm) or draw dropout
    with torch.no_grad():
        try:
            pred = model(x)
        except Exception as e:
            raise ValueError(
                f"the model cannot run on the data's inputs of width {in_w}: {e}"
            ) from e
        finally:
            for m, training in modes:
                m.training = training
        if not isinstance(pred, Tensor) or pred.shape != y.shape:
            raise ValueError(
                f"the model's output has shape {tuple(getattr(pred, 'shape', ()))} for a batch "
                f"whose targets have shape {tuple(y.shape)}: the data's width does not fit "
                "the model"
            )
        single = plan.loss_fn(pred if members is None else pred[0], y if members is None else y[0])
        if not isinstance(single, Tensor) or single.numel() != 1:
            raise ValueError(
                f"loss must return a scalar tensor, got {type(single).__name__} of shape "
                f"{tuple(getattr(single, 'shape', ()))}"
            )
    start: list[Ordering | None] = [None] * (members or 1)
    if plan.measure:
        try:
            start = _measure(model, members, plan.orderedness_options)
        except TypeError as e:
            raise TypeError(f"{e}; or pass measure_orderedness=False") from None
    names = _param_names(model)
    start_params = _snapshot(model, names, members)
    optimizer = None
    if plan.update:
        optimizer = plan.optimizer(model.parameters())
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                "optimizer factory must return a torch.optim.Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        if _needs_closure(optimizer):
            raise TypeError(
                f"{type(optimizer).__name__}.step needs a closure, and training calls "
                "optimizer.step() after one backward pass; use an optimizer such as Adam or SGD"
            )
    return _Prepared(model, members, inputs, targets, tuple(pruned), names, start, start_params,
                     optimizer)


def _needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer.step`` has a required ``closure`` argument (e.g. LBFGS)."""
    try:
        param = inspect.signature(optimizer.step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is inspect.Parameter.empty


def _param_names(model: nn.Module) -> tuple[str, ...]:
    """Parameter names, with torch's ``<name>_orig`` read as ``<name>`` (the masked weight)."""
    names = []
    buffers = dict(model.named_buffers())
    for name, _ in model.named_parameters():
        if name.endswith("_orig") and name[: -len("_orig")] + "_mask" in buffers:
            name = name[: -len("_orig")]
        names.append(name)
    return tuple(names)


def _snapshot(
    model: nn.Module, names: Sequence[str], members: int | None
) -> list[dict[str, Tensor]]:
    current = {name: _current(model, name).cpu().clone() for name in names}
    if members is None:
        return [current]
    return [{name: t[s].clone() for name, t in current.items()} for s in range(members)]


def _hparams(plan: _Plan, prepared: _Prepared, seed: int | None, batched: bool) -> dict[str, Any]:
    model = prepared.model
    h: dict[str, Any] = {
        "task": plan.task.name if plan.task is not None else "custom",
        "seed": "None" if seed is None else seed,
        "model": "CompletePerceptron" if batched else type(model).__name__,
    }
    for attr in ("in_features", "hidden_features", "out_features", "iterations"):
        if hasattr(model, attr):
            h[attr] = int(getattr(model, attr))
    h.update(
        steps=plan.steps, epochs=plan.epochs, batch_size=plan.batch_size, shuffle=plan.shuffle,
        loss=plan.loss_name, update=plan.update, mode=plan.mode, progress=plan.progress_name,
        pruning="; ".join(s.label for s in plan.specs) or "none",
        stop_loss="None" if plan.stop_loss is None else plan.stop_loss,
    )
    if prepared.optimizer is not None:
        h["optimizer"] = type(prepared.optimizer).__name__
        lr = prepared.optimizer.defaults.get("lr")
        if isinstance(lr, (int, float)):
            h["lr"] = float(lr)
    h.update(plan.hparams)
    return h


# --------------------------------------------------------------------------- the loop


class _Pruning:
    """Applies the specs to a prepared model in the chosen mode; returns masks per parameter."""

    def __init__(self, plan: _Plan, prepared: _Prepared, gens: Sequence[SeedGenerators | None]):
        self.plan = plan
        self.model = model = prepared.model
        self.members = members = prepared.members
        self.bd = 0 if members is None else 1
        self.specs = plan.specs
        with torch.no_grad():
            # Random's masks: drawn once, per seed, from the seed's prune stream, in spec order
            self.fixed: dict[int, Tensor] = {}
            for j, spec in enumerate(self.specs):
                if spec.method is RandomPrune:
                    w = _current(model, spec.name)
                    rows = [w] if members is None else list(w.unbind(0))
                    masks = [
                        spec.method_at(generator=None if g is None else g.prune).compute_mask(
                            r, torch.ones_like(r))
                        for r, g in zip(rows, gens, strict=True)
                    ]
                    self.fixed[j] = masks[0] if members is None else torch.stack(masks)
            if plan.mode == "in_place":
                self.pruners = []
                for j, spec in enumerate(self.specs):
                    module, attr = _owner(model, spec.name)
                    pruner = InPlacePruner(module, attr, spec.method, **spec.params,
                                           batch_dims=self.bd)
                    if j in self.fixed:
                        pruner.mask = self.fixed[j]
                    self.pruners.append(pruner)
            else:
                x0 = float(plan.progress[0])
                self.masks: dict[int, Tensor] = {}
                for j, spec in enumerate(self.specs):
                    w = _current(model, spec.name)
                    self.masks[j] = self.fixed[j] if j in self.fixed else spec.method_at(
                        x0, batch_dims=self.bd).compute_mask(w, torch.ones_like(w))
                for name in prepared.pruned:
                    module, attr = _owner(model, name)
                    prune.custom_from_mask(module, attr, self._combined(name))

    def _combined(self, name: str) -> Tensor:
        mask = None
        for j, spec in enumerate(self.specs):
            if spec.name == name:
                mask = self.masks[j] if mask is None else mask * self.masks[j]
        assert mask is not None
        return mask

    @torch.no_grad()
    def step(self, progress: float) -> dict[str, Tensor]:
        """Apply the schemes after an optimiser step; returns the mask of each pruned parameter."""
        masks: dict[str, Tensor] = {}
        if self.plan.mode == "in_place":
            for spec, pruner in zip(self.specs, self.pruners, strict=True):
                mask = pruner.step(progress if spec.dynamic else None)
                masks[spec.name] = mask if spec.name not in masks else masks[spec.name] * mask
            return masks
        changed = set()
        for j, spec in enumerate(self.specs):
            if not spec.dynamic:
                continue
            module, attr = _owner(self.model, spec.name)
            orig = getattr(module, attr + "_orig").detach()
            method = spec.method_at(progress, batch_dims=self.bd)
            if spec.method is DynamicTopK:  # gradual: pruned entries stay pruned
                self.masks[j] = method.compute_mask(orig, self.masks[j])
            else:  # Dynamic Tril-damp: the soft mask at f(x), replacing the last one
                self.masks[j] = method.compute_mask(orig, torch.ones_like(orig))
            changed.add(spec.name)
        for name in dict.fromkeys(s.name for s in self.specs):
            module, attr = _owner(self.model, name)
            buffer = getattr(module, attr + "_mask")
            if name in changed:
                buffer.copy_(self._combined(name))
            masks[name] = buffer
        return masks


def _execute(
    plan: _Plan,
    prepared: _Prepared,
    seeds: Sequence[int | None],
    gens: Sequence[SeedGenerators | None],
    loggers: Sequence[TrainingLogger | None],
    hparams: Sequence[dict[str, Any]],
    bar: Any,
    done: list[int] | None = None,
) -> list[TrainResult]:
    """Train a prepared model (one seed, or ``members`` seeds at once) and record everything.

    ``done``, if given, is a one-element list kept at the number of finished steps.
    """
    t0 = time.perf_counter()
    model, members = prepared.model, prepared.members
    S = members or 1
    X, Y = prepared.inputs, prepared.targets
    device = X.device
    n, bs, per_epoch, steps = X.shape[0], plan.batch_size, plan.batches_per_epoch, plan.steps
    optimizer = prepared.optimizer
    loss_buf = torch.empty(steps, S, dtype=torch.float64, device=device)
    zero_buf = {name: torch.empty(steps, S, dtype=torch.float64, device=device)
                for name in prepared.pruned}
    mean_buf = {name: torch.empty(steps, S, dtype=torch.float64, device=device)
                for name in prepared.pruned}
    measured: list[list[tuple[int, Ordering | None]]] = [[(0, r)] for r in prepared.start]
    stop_at: list[int | None] = [None] * S
    frozen: dict[int, dict[str, Tensor]] = {}
    warned = False

    def warn_undefined(results: list[Ordering | None], step: int) -> None:
        nonlocal warned
        if plan.measure and not warned and any(r is None for r in results):
            bad = [seeds[s] for s, r in enumerate(results) if r is None]
            warnings.warn(
                f"orderedness is undefined (the square part of the weight is all zero) for "
                f"seed(s) {bad} at step {step}; recorded as NaN",
                RuntimeWarning,
                stacklevel=4,
            )
            warned = True

    def log_model(step: int, results: list[Ordering | None], active: Sequence[int]) -> None:
        if not any(loggers):
            return
        w = _current(model, "weight") if _is_complete(model) else None
        current = {name: _current(model, name) for name in prepared.param_names}
        for s in active:
            log = loggers[s]
            if log is None:
                continue
            params = current if members is None else {k: v[s] for k, v in current.items()}
            log.log_parameters(step, params)
            r = results[s]
            if r is not None:
                log.log_scalars(step, {"orderedness/value": r.value, "orderedness/lower": r.lower,
                                       "orderedness/upper": r.upper})
                if w is not None:
                    log.log_ordering(step, w if members is None else w[s], r.permutation)

    warn_undefined(prepared.start, 0)
    log_model(0, prepared.start, range(S))  # the initial model, before any pruning
    pruning = _Pruning(plan, prepared, gens)  # reparametrize: the model changes here
    state_names = [k for k, _ in model.named_parameters()] + [k for k, _ in model.named_buffers()]

    order: Tensor | None = None
    postfix_every = max(1, steps // 100)
    last_orderedness = _mean_defined([_nan_if_none(r) for r in prepared.start])
    done_steps = 0
    for i in range(steps):
        epoch, j = divmod(i, per_epoch)
        if j == 0 and (plan.shuffle or order is None):  # a new order per seed and epoch
            if plan.shuffle:
                rows = [torch.randperm(n, generator=None if g is None else g.data) for g in gens]
                order = torch.stack(rows).to(device)
            else:
                order = torch.arange(n, device=device).expand(S, n)
        assert order is not None
        index = order[:, j * bs: (j + 1) * bs]
        xb, yb = X[index], Y[index]
        if members is None:
            xb, yb = xb[0], yb[0]
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            per_seed = _loss_vector(plan, model(xb), yb, members)
            per_seed.sum().backward()
            optimizer.step()
        else:
            with torch.no_grad():
                per_seed = _loss_vector(plan, model(xb), yb, members)
        loss_buf[i] = per_seed.detach()
        try:
            masks = pruning.step(float(plan.progress[i]))
        except ValueError as e:
            _raise_if_diverged(model, members, seeds, i + 1, e)
            raise
        if frozen:  # seeds stopped by stop_loss keep the state they stopped with
            with torch.no_grad():
                state = dict(model.named_parameters()) | dict(model.named_buffers())
                for s, saved in frozen.items():
                    for name, value in saved.items():
                        state[name][s] = value
        with torch.no_grad():
            for name in prepared.pruned:
                w = _current(model, name)
                rows_w = w.reshape(S, -1)
                zero_buf[name][i] = (rows_w == 0).to(torch.float64).mean(dim=1)
                mean_buf[name][i] = masks[name].reshape(S, -1).to(torch.float64).mean(dim=1)
        k = i + 1
        done_steps = k
        if done is not None:
            done[0] = k
        active = [s for s in range(S) if stop_at[s] is None]
        if plan.stop_loss is not None:
            values = per_seed.detach().cpu().tolist()
            for s in active:
                if values[s] < plan.stop_loss:
                    stop_at[s] = k
                    if members is not None:
                        state = dict(model.named_parameters()) | dict(model.named_buffers())
                        frozen[s] = {name: state[name][s].detach().clone() for name in state_names}
        last = k == steps or all(s is not None for s in stop_at)
        if plan.measure and plan.orderedness_every is not None and k % plan.orderedness_every == 0 \
                and not last:
            try:
                results = _measure(model, members, plan.orderedness_options)
            except ValueError as e:
                _raise_if_diverged(model, members, seeds, k, e)
                raise
            warn_undefined(results, k)
            for s in active:
                measured[s].append((k, results[s]))
            log_model(k, results, active)
            last_orderedness = _mean_defined([_nan_if_none(results[s]) for s in active])
        due = [s for s in active if loggers[s] is not None
               and (k % plan.log_every == 0 or last or stop_at[s] == k)]
        if due:
            loss_now = loss_buf[i].tolist()
            zeros_now = {name: b[i].tolist() for name, b in zero_buf.items()}
            means_now = {name: b[i].tolist() for name, b in mean_buf.items()}
            for s in due:
                values = {"loss": loss_now[s], "progress": float(plan.progress[i])}
                for name in prepared.pruned:
                    values[f"sparsity/{name}"] = zeros_now[name][s]
                    values[f"mask_mean/{name}"] = means_now[name][s]
                loggers[s].log_scalars(k, values)  # type: ignore[union-attr]
        bar.update(1)
        if k % postfix_every == 0 or last:
            live = [s for s in range(S) if stop_at[s] is None or stop_at[s] == k] or list(range(S))
            loss_mean = float(loss_buf[i, live].mean())
            bar.set_postfix(_format_postfix({"loss": loss_mean, "orderedness": last_orderedness}))
        if last:
            break

    losses = loss_buf[:done_steps].cpu().numpy()
    if not np.isfinite(losses).all():
        step, s = np.argwhere(~np.isfinite(losses))[0]
        raise FloatingPointError(
            f"the loss became {losses[step, s]} at step {step + 1} (seed {seeds[s]}); lower the "
            "learning rate or check the data"
        )
    _raise_if_diverged(model, members, seeds, done_steps, None)
    end = _measure(model, members, plan.orderedness_options) if plan.measure else [None] * S
    if plan.measure:  # the bar's last word is the end orderedness, not the last interval's
        end_loss = float(np.nanmean(losses[-1]))
        bar.set_postfix(_format_postfix(
            {"loss": end_loss, "orderedness": _mean_defined([_nan_if_none(r) for r in end])}
        ))
    final = [done_steps if stop_at[s] is None else stop_at[s] for s in range(S)]
    appended = []
    for s in range(S):
        appended.append(measured[s][-1][0] != final[s])
        if appended[s]:
            measured[s].append((final[s], end[s]))
    warn_undefined(end, done_steps)
    end_params = _snapshot(model, prepared.param_names, members)
    zeros = {name: b[:done_steps].cpu().numpy() for name, b in zero_buf.items()}
    means = {name: b[:done_steps].cpu().numpy() for name, b in mean_buf.items()}
    wall = time.perf_counter() - t0

    out: list[TrainResult] = []
    for s in range(S):
        upto = final[s]
        found = [r for _, r in measured[s]]
        result = TrainResult(
            seed=seeds[s],
            steps=upto,
            loss=losses[:upto, s].copy(),
            progress=np.asarray(plan.progress[:upto], dtype=np.float64).copy(),
            sparsity={name: z[:upto, s].copy() for name, z in zeros.items()},
            mask_mean={name: m[:upto, s].copy() for name, m in means.items()},
            orderedness_steps=np.array([step for step, _ in measured[s]], dtype=np.int64),
            orderedness=np.array([_nan_if_none(r) for r in found]),
            orderedness_lower=np.array([np.nan if r is None else r.lower for r in found]),
            orderedness_upper=np.array([np.nan if r is None else r.upper for r in found]),
            start=prepared.start[s],
            end=end[s],
            start_params=prepared.start_params[s],
            end_params=end_params[s],
            stopped_early=stop_at[s] is not None and stop_at[s] < plan.steps,
            hparams=hparams[s],
            wall_s=wall,
            model=model if members is None else None,
        )
        log = loggers[s]
        if log is not None:
            if appended[s]:
                log_model(final[s], end, [s])
            metrics = {"hparam/final_loss": result.final_loss,
                       "hparam/start_orderedness": result.start_orderedness,
                       "hparam/end_orderedness": result.end_orderedness,
                       "hparam/orderedness_change": result.change}
            for name, value in result.final_sparsity.items():
                metrics[f"hparam/sparsity/{name}"] = value
            log.log_hparams(hparams[s], metrics)
        out.append(result)
    return out


def _raise_if_diverged(model: nn.Module, members: int | None, seeds: Sequence[int | None],
                       step: int, cause: Exception | None) -> None:
    """Raise ``FloatingPointError`` naming the seeds whose parameters are no longer finite."""
    bad: set[int] = set()
    with torch.no_grad():
        for t in model.parameters():
            finite = torch.isfinite(t)
            if members is None:
                if not bool(finite.all()):
                    bad.add(0)
            else:
                bad.update(int(s) for s in torch.nonzero(~finite.reshape(members, -1).all(1)))
    if bad:
        names = [seeds[s] for s in sorted(bad)]
        raise FloatingPointError(
            f"training diverged: parameters of seed(s) {names} are NaN or infinite after step "
            f"{step}; lower the learning rate or check the data"
        ) from cause


# --------------------------------------------------------------------------- public entry points


def _check_threads(threads: object) -> None:
    if threads is None or threads == "auto":
        return
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be an int >= 1, None or 'auto', got {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be an int >= 1, None or 'auto', got {threads!r}")


@contextlib.contextmanager
def _intra_op_threads(threads: int | str | None, *models: nn.Module) -> Iterator[None]:
    """``torch.set_num_threads`` for the block (``"auto"``: 1 for small models), restored after."""
    if threads == "auto":
        size = sum(p.numel() for m in models for p in m.parameters())
        threads = 1 if size <= SMALL_MODEL else None
    if threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _check_logging(log_dir: object, logger: object) -> Path | None:
    if log_dir is not None and logger is not None:
        raise ValueError("give log_dir (TensorBoard) or logger, not both")
    if logger is not None and not isinstance(logger, TrainingLogger):
        raise TypeError(
            "logger must implement TrainingLogger (log_scalars, log_parameters, log_ordering, "
            f"log_hparams, close); got {type(logger).__name__}"
        )
    if log_dir is None:
        return None
    if not isinstance(log_dir, (str, os.PathLike)):
        raise TypeError(f"log_dir must be a path or None, got {log_dir!r}")
    path = Path(log_dir)
    if path.exists() and not path.is_dir():
        raise ValueError(f"log_dir {str(path)!r} exists and is not a directory")
    return path


def _factory_of(model: object, plan: _Plan) -> Callable[..., nn.Module]:
    if model is None:
        if plan.task is None:
            raise ValueError("model=None needs data given as a Task (or task name) to build from")
        return plan.task.model_factory()
    if isinstance(model, nn.Module) or not callable(model):
        raise TypeError(
            "model must be a factory f(generator=g) -> nn.Module (e.g. task.model_factory() or "
            f"functools.partial(CompletePerceptron, 2, 5, 1)), or None; got {type(model).__name__}"
        )
    return model


def train(
    model: nn.Module | Callable[..., nn.Module] | None,
    data: Task | str | tuple[Tensor, Tensor],
    *,
    seed: int | None = 0,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    shuffle: bool | None = None,
    loss: str | Callable[[Tensor, Tensor], Tensor] = "mse",
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
    pruning: PruneSpec | Sequence[PruneSpec] = (),
    mode: str = "in_place",
    progress: str | Callable[[int, int], float] = "epoch",
    update: bool = True,
    orderedness_every: int | None = None,
    measure_orderedness: bool = True,
    orderedness_options: Mapping[str, Any] | None = None,
    stop_loss: float | None = None,
    device: torch.device | str | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    logger: TrainingLogger | None = None,
    log_every: int = 1,
    hparams: Mapping[str, Any] | None = None,
    progress_bar: bool | None = None,
    threads: int | str | None = "auto",
) -> TrainResult:
    """Train one model with pruning schemes and record loss, sparsity and orderedness.

    Args:
        model: an ``nn.Module`` (trained in place; its initialisation is yours),
            a factory ``f(generator=g) -> nn.Module`` (built from the seed's
            ``init`` generator, with torch's global CPU RNG seeded the same
            way for factories that use it), or ``None`` for the complete layer
            of ``data``'s :class:`~torch_orderedness.tasks.Task`.
        data: a :class:`~torch_orderedness.tasks.Task` (``tasks.xor()``,
            ``tasks.sine()``), a task name, or ``(inputs (n, I), targets (n, O))``.
            Cast to the model's dtype and device.
        seed: the seed of the data shuffles, Random's mask and (for a factory)
            the initialisation, an int in ``[0, 2**63)``; ``None``: torch's
            global RNG.
        steps, epochs: the length (give one; both must agree); default: the
            task's epochs.  An epoch is ``ceil(n / batch_size)`` batches.
        batch_size, shuffle: default: the task's (``n`` rows, no shuffling for
            plain tensors).
        loss: ``"mse"`` (default) or ``loss(prediction, target) -> scalar``.
        optimizer: a factory ``params -> Optimizer``; default Adam with lr 0.01.
        pruning: a :class:`PruneSpec` or a list of them, applied in order after
            every optimiser step.
        mode: ``"in_place"`` (the paper's) or ``"reparametrize"`` (torch's);
            see the module docstring.
        progress: ``"epoch"`` (``epoch / epochs``, the paper's), ``"step"``
            (``(k - 1) / steps`` at step ``k``) or ``f(step_index, steps) -> float``
            (0-based index, values in [0, 1]).
        update: ``False`` runs no optimiser steps: the schemes are applied
            ``steps`` times to the initial weights (the paper's "untrained"
            column: XOR, 10 steps); losses are still recorded.
        orderedness_every: measure the orderedness every this many steps (as
            well as at the start and the end); ``None``: start and end only.
        measure_orderedness: ``False`` skips the metric (for models it cannot read).
        orderedness_options: keyword arguments for every
            :func:`~torch_orderedness.ordering` call (``method``,
            ``time_limit``, ``seed``; see :data:`ORDERING_OPTIONS`), e.g.
            ``{"time_limit": 2.0}`` to bound the time a measurement of a large
            layer may take (its result then says whether it is exact).
        stop_loss: stop after the first step whose loss is below this.
        device: move the model (and data) there.
        log_dir: write TensorBoard event files there (created only once
            every argument has been checked).
        logger: a :class:`~torch_orderedness.logging.TrainingLogger` instead
            of ``log_dir`` (not closed by training).
        log_every: log the per-step scalars every this many steps.
        hparams: extra hyperparameters for the result and ``add_hparams``.
        progress_bar: ``True``/``False``, or ``None`` (default): only when
            standard error is a terminal.
        threads: torch's intra-op threads while training (``torch.set_num_threads``,
            restored afterwards): an int, ``None`` (leave torch's setting), or
            ``"auto"`` (default): 1 for small models (at most
            :data:`SMALL_MODEL` parameter entries, all seeds together, as in
            all of the paper's settings), torch's setting otherwise.  For tiny
            tensors threads only add start-up costs, large ones on a busy
            machine (see ``benchmarks/bench_training.py``).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError, TypeError: any bad argument, before anything is trained or written.
        FloatingPointError: the loss or the parameters became NaN or infinite.

    Example::

        >>> from torch_orderedness.tasks import xor
        >>> r = train(None, xor(), seed=0, steps=20, pruning=PruneSpec("topk", k=0.5))
        >>> r.loss.shape, r.final_sparsity, r.orderedness_steps.tolist()
        ((20,), {'weight': 0.5}, [0, 20])
    """
    plan = _plan(
        data, steps=steps, epochs=epochs, batch_size=batch_size, shuffle=shuffle, loss=loss,
        optimizer=optimizer, pruning=pruning, mode=mode, progress=progress, update=update,
        orderedness_every=orderedness_every, measure_orderedness=measure_orderedness,
        orderedness_options=orderedness_options,
        log_every=log_every, stop_loss=stop_loss, hparams=hparams,
    )
    gens = None if seed is None else seed_generators(seed)
    path = _check_logging(log_dir, logger)
    show = use_progress_bar(progress_bar)
    _check_threads(threads)
    if isinstance(model, nn.Module):
        built = model if device is None else model.to(device)
    else:
        built = _build(_factory_of(model, plan), gens, device)
    prepared = _prepare(plan, built, None)
    hp = _hparams(plan, prepared, None if seed is None else int(seed), False)
    # everything is checked: from here on, files may be written
    created = _new_dir(path)
    own = TensorBoardLogger(path) if path is not None else None
    bar = _bar(plan.steps, show, plan)
    done = [0]
    try:
        with _intra_op_threads(threads, built), _seeded_global_rng(seed, prepared.inputs.device):
            (result,) = _execute(plan, prepared, [seed], [gens], [own or logger], [hp], bar,
                                 done)
    except BaseException:
        _remove_if_unstarted([own] if own is not None else [], created, done[0])
        raise
    finally:
        bar.close()
        if own is not None:
            own.close()
    return result


def _new_dir(path: Path | None) -> Path | None:
    """The outermost directory that creating ``path`` would add (``None``: none)."""
    top = None
    for p in () if path is None else (path, *path.parents):
        if p.exists():
            break
        top = p
    return top


def _remove_if_unstarted(loggers: Sequence[TrainingLogger], created: Path | None,
                         steps_done: int) -> None:
    """After a run that failed before finishing a step, remove the log directory it made."""
    if steps_done > 0 or created is None:
        return
    for log in loggers:
        log.close()
    shutil.rmtree(created, ignore_errors=True)


def _bar(total: int, show: bool, plan: _Plan, what: str = "train") -> Any:
    """A progress bar named after the task."""
    name = plan.task.name if plan.task is not None else "data"
    return progress_bar(total, enabled=show, desc=f"{what} {name}")


def train_seeds(
    model: Callable[..., nn.Module] | None,
    data: Task | str | tuple[Tensor, Tensor],
    seeds: int | Iterable[int],
    *,
    batched: bool | str = "auto",
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    shuffle: bool | None = None,
    loss: str | Callable[[Tensor, Tensor], Tensor] = "mse",
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
    pruning: PruneSpec | Sequence[PruneSpec] = (),
    mode: str = "in_place",
    progress: str | Callable[[int, int], float] = "epoch",
    update: bool = True,
    orderedness_every: int | None = None,
    measure_orderedness: bool = True,
    orderedness_options: Mapping[str, Any] | None = None,
    stop_loss: float | None = None,
    device: torch.device | str | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    log_every: int = 1,
    hparams: Mapping[str, Any] | None = None,
    progress_bar: bool | None = None,
    threads: int | str | None = "auto",
) -> SeedRuns:
    """Train one setting for many seeds, as one batched model where possible.

    Every seed's run is the run :func:`train` would make with
    ``train(model, data, seed=seed, ...)`` and the same arguments.  With
    ``batched`` (the default for complete layers), the seeds' layers are
    stacked into a :class:`~torch_orderedness.ensemble.PerceptronEnsemble`
    and trained together: the sum of the per-seed losses, one optimiser,
    per-seed batches, Random masks and pruning (see the module docstring);
    the numbers agree with separate runs to float rounding.

    Args:
        model: a factory ``f(generator=g) -> nn.Module``, or ``None`` for the
            task's complete layer (``task.model_factory(...)`` sets size and
            initialisation, e.g. ``weight_init="uniform"``).
        data: as for :func:`train`.
        seeds: the seeds (distinct ints), or an int ``S`` for ``range(S)``.
        batched: ``"auto"`` (batched when the factory builds
            ``CompletePerceptron`` layers and there are several seeds),
            ``True`` or ``False`` (one run after the other).
        log_dir: TensorBoard files go to ``log_dir/seed_<seed>/``.
        progress_bar: one bar over all steps of all seeds.
        threads: as for :func:`train` (``"auto"``: one thread for the paper's
            settings).
        Others: as for :func:`train`.

    Returns:
        :class:`SeedRuns`: per-seed :class:`TrainResult` and arrays
        ``start``, ``end``, ``change``, ``loss``.

    Example::

        >>> from torch_orderedness.tasks import xor
        >>> runs = train_seeds(None, xor(), seeds=2, steps=10, update=False,
        ...                    pruning=[PruneSpec("tril", f=0.8)])
        >>> bool((runs.change > 0).all())
        True
    """
    if isinstance(seeds, bool):
        raise TypeError(f"seeds must be an int or a list of ints, got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        seed_list = list(range(_check_int("seeds", seeds, 1)))
    elif isinstance(seeds, Iterable) and not isinstance(seeds, (str, bytes)):
        seed_list = [_check_seed(s, "each seed") for s in seeds]
    else:
        raise TypeError(f"seeds must be an int or a list of ints, got {seeds!r}")
    if not seed_list:
        raise ValueError("seeds must hold at least one seed")
    if len(set(seed_list)) != len(seed_list):
        raise ValueError(f"seeds must be distinct, got {seed_list}")
    if batched not in ("auto", True, False):
        raise ValueError(f"batched must be 'auto', True or False, got {batched!r}")
    plan = _plan(
        data, steps=steps, epochs=epochs, batch_size=batch_size, shuffle=shuffle, loss=loss,
        optimizer=optimizer, pruning=pruning, mode=mode, progress=progress, update=update,
        orderedness_every=orderedness_every, measure_orderedness=measure_orderedness,
        orderedness_options=orderedness_options,
        log_every=log_every, stop_loss=stop_loss, hparams=hparams,
    )
    path = _check_logging(log_dir, None)
    show = use_progress_bar(progress_bar)
    _check_threads(threads)
    factory = _factory_of(model, plan)
    gens = [seed_generators(s) for s in seed_list]
    models = [_build(factory, g, None) for g in gens]
    S = len(seed_list)
    complete = all(type(m) is CompletePerceptron for m in models)
    if batched == "auto":
        batched = complete and S > 1
    elif batched and not complete:
        kinds = sorted({type(m).__name__ for m in models})
        raise ValueError(
            f"batched=True needs a factory of CompletePerceptron layers, got {kinds}; "
            "use batched=False"
        )
    t0 = time.perf_counter()
    if batched:
        ensemble = PerceptronEnsemble.from_modules(models)  # type: ignore[arg-type]
        if device is not None:
            ensemble.to(device)
        preps = [_prepare(plan, ensemble, S)]
        hps = [_hparams(plan, preps[0], s, True) | {"batched": True} for s in seed_list]
    else:
        if device is not None:
            models = [m.to(device) for m in models]
        preps = [_prepare(plan, m, None) for m in models]
        hps = [_hparams(plan, p, s, False) | {"batched": False}
               for p, s in zip(preps, seed_list, strict=True)]
    # everything is checked: from here on, files may be written
    created = _new_dir(path)
    loggers: list[TensorBoardLogger | None] = [
        TensorBoardLogger(path / f"seed_{s}") if path is not None else None for s in seed_list
    ]
    bar = _bar(plan.steps * (1 if batched else S), show, plan, f"{S} seeds")
    done = [0]
    try:
        with _intra_op_threads(threads, *(p.model for p in preps)):
            if batched:
                with _seeded_global_rng(seed_list[0], preps[0].inputs.device):
                    runs = _execute(plan, preps[0], seed_list, gens, loggers, hps, bar, done)
                for s, run in enumerate(runs):
                    run.model = ensemble.member(s)
            else:
                runs = []
                for p, s, g, log, hp in zip(preps, seed_list, gens, loggers, hps, strict=True):
                    with _seeded_global_rng(s, p.inputs.device):
                        runs.append(_execute(plan, p, [s], [g], [log], [hp], bar, done)[0])
    except BaseException:
        _remove_if_unstarted([log for log in loggers if log is not None], created, done[0])
        raise
    finally:
        bar.close()
        for log in loggers:
            if log is not None:
                log.close()
    wall = time.perf_counter() - t0
    return SeedRuns(tuple(runs), bool(batched), wall, model=ensemble if batched else models)
