"""One setting, many seeds: the :class:`Setting` and :class:`Run` records and the one loop.

Every experiment of :mod:`paper_repro` is a list of *settings* (task,
initialisation, pruning scheme, size); each setting, trained for a list of
seeds, becomes one :class:`Run` holding one number per seed.  Tables and
figures are computed from runs only, so they can be remade from the JSON
file without training.

:func:`run_settings` is the one loop every experiment uses: it hands each
setting to a *trainer* ``trainer(setting, seeds) -> Run``.  The real trainer
is :func:`paper_repro._adapter.train_setting` (the only place that calls the
library's training and metric); tests pass
:func:`paper_repro.testing.fake_trainer` to run the whole pipeline on
synthetic numbers.  This module imports nothing from the library, so the
records can be read without torch.

Example::

    >>> s = Setting("xor", "default", "topk", 0.5, hidden=5, iterations=3, steps=1000)
    >>> s.label
    'xor/default/topk(0.5)/H5/T3/1000 steps'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = [
    "TASK_NAMES",
    "RANDOM_MASKS",
    "Setting",
    "Run",
    "Trainer",
    "run_settings",
    "Sweep",
    "SweepFailed",
    "setting_key",
    "seed_list",
    "finite",
]

#: ``"untrained"``: XOR defaults, the scheme applied for some steps without gradient updates.
TASK_NAMES: tuple[str, ...] = ("untrained", "xor", "sine")

#: How Random's masks are drawn for the seeds of a setting: ``"per_seed"`` (each
#: seed draws its own, the sound design) or ``"shared"`` (one mask, the first
#: seed's, for every seed: what the paper's reference notebook did for Table 1).
RANDOM_MASKS: tuple[str, ...] = ("per_seed", "shared")


def seed_list(n: int, base_seed: int) -> list[int]:
    """The ``n`` seeds ``base_seed, base_seed + 1, ...`` used by every setting.

    Example::

        >>> seed_list(3, 10)
        [10, 11, 12]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of seeds) must be an int >= 1, got {n!r}")
    return [base_seed + i for i in range(n)]


@dataclass(frozen=True)
class Setting:
    """What to train: one cell of a table or one point of a figure, for all seeds.

    Attributes:
        task: ``"untrained"``, ``"xor"`` or ``"sine"``.
        init: ``"default"``, ``"uniform"`` or ``"zeros"`` (see
            :data:`paper_repro.paper_numbers.INITS`).
        scheme: ``"none"``, ``"random"``, ``"topk"``, ``"dyn_topk"``, ``"tril"``
            or ``"dyn_tril"``.
        amount: the scheme's parameter (Random ``p``, Top-K ``k``, Tril-damp
            ``f``); ``None`` for ``"none"``.
        hidden: hidden units ``H``.
        iterations: iterations ``T``.
        steps: optimiser steps (for ``"untrained"``: scheme applications
            without gradient updates).
        model: ``"complete"`` (the complete layer) or ``"mlp"`` (Appendix D's baseline).
        early_stop: stop a seed once its loss is below this (``None``: never).
        record_loss: keep the per-step loss curve of every seed.
        null_samples: draws of the metric's null model per seed on the final weight
            (for each of its two shuffles).
        random_mask: for ``scheme="random"``, one of :data:`RANDOM_MASKS`.
    """

    task: str
    init: str
    scheme: str
    amount: float | None
    hidden: int
    iterations: int
    steps: int
    model: str = "complete"
    early_stop: float | None = None
    record_loss: bool = False
    null_samples: int = 0
    random_mask: str = "per_seed"

    def __post_init__(self) -> None:
        if self.task not in TASK_NAMES:
            raise ValueError(f"task must be one of {TASK_NAMES}, got {self.task!r}")
        if self.model not in ("complete", "mlp"):
            raise ValueError(f"model must be 'complete' or 'mlp', got {self.model!r}")
        if (self.scheme == "none") != (self.amount is None):
            raise ValueError(
                f"amount must be None exactly when scheme is 'none', got scheme={self.scheme!r}, "
                f"amount={self.amount!r}"
            )
        if self.random_mask not in RANDOM_MASKS:
            raise ValueError(f"random_mask must be one of {RANDOM_MASKS}, got {self.random_mask!r}")
        if self.random_mask != "per_seed" and self.scheme != "random":
            raise ValueError(f"random_mask={self.random_mask!r} needs scheme='random', got "
                             f"{self.scheme!r}")
        for name in ("hidden", "iterations", "steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")

    @property
    def label(self) -> str:
        scheme = self.scheme if self.amount is None else f"{self.scheme}({self.amount:g})"
        model = "" if self.model == "complete" else f"{self.model}/"
        mask = "" if self.random_mask == "per_seed" else f"/{self.random_mask} mask"
        return (
            f"{model}{self.task}/{self.init}/{scheme}{mask}/H{self.hidden}/T{self.iterations}/"
            f"{self.steps} steps"
        )


@dataclass
class Run:
    """Per-seed results of one :class:`Setting`.

    Attributes:
        setting: what was trained.
        seeds: the seeds, one per entry of the lists below.
        start: orderedness at the start (after initialisation), per seed.
        end: orderedness at the end, per seed (NaN where undefined: a weight
            whose square part is all zero, possible at high sparsity).
        final_loss: training loss at the last step, per seed (``None`` untrained).
        sparsity: fraction of exact zeros in the final weight, per seed.
        null: the metric's null model on each seed's final weight: shuffle
            (``"pattern"``, ``"all"``) -> ``(seeds, m)`` orderedness of shuffled copies.
        loss_curve: per-step training loss, ``(seeds, steps)`` (``None`` unless asked).
        wall_s: seconds the setting took.
    """

    setting: Setting
    seeds: list[int]
    start: list[float]
    end: list[float]
    final_loss: list[float] | None = None
    sparsity: list[float] | None = None
    null: dict[str, list[list[float]]] | None = None
    loss_curve: list[list[float]] | None = None
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.seeds)
        for name in ("start", "end", "final_loss", "sparsity", "loss_curve"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"Run.{name} has {len(value)} entries for {n} seeds")
        for shuffle, draws in (self.null or {}).items():
            if len(draws) != n:
                raise ValueError(f"Run.null[{shuffle!r}] has {len(draws)} entries for {n} seeds")

    @property
    def change(self) -> list[float]:
        """``end - start`` per seed: the change in orderedness."""
        return [e - s for s, e in zip(self.start, self.end, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; NaN (an undefined orderedness) is written as ``None``."""
        out = {f.name: _nan_to_none(getattr(self, f.name)) for f in fields(self)
               if f.name != "setting"}
        out["setting"] = asdict(self.setting)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """Inverse of :meth:`to_dict` (``None`` inside number lists becomes NaN)."""
        data = dict(data)
        setting = Setting(**data.pop("setting"))
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Run fields in JSON: {sorted(unknown)}")
        for name in ("start", "end", "final_loss", "sparsity", "loss_curve"):
            if data.get(name) is not None:
                data[name] = _none_to_nan(data[name])
        if data.get("null") is not None:
            data["null"] = {k: _none_to_nan(v) for k, v in data["null"].items()}
        return cls(setting=setting, **data)


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    return x


def _none_to_nan(x: Any) -> Any:
    if x is None:
        return math.nan
    if isinstance(x, list):
        return [_none_to_nan(v) for v in x]
    return x


def finite(values: Sequence[float]) -> list[float]:
    """The finite entries of ``values`` (NaN marks an undefined orderedness: all-zero weight).

    Example::

        >>> finite([0.1, float("nan"), 0.3])
        [0.1, 0.3]
    """
    return [float(v) for v in values if math.isfinite(v)]


#: What every experiment calls to get a :class:`Run`: ``trainer(setting, seeds) -> Run``.
Trainer = Callable[[Setting, Sequence[int]], Run]


@dataclass(frozen=True)
class Sweep:
    """How :func:`run_settings` runs its settings as a sweep (see :mod:`paper_repro.sweep`).

    Attributes:
        folder: where each setting's run is written when it finishes (one JSON file each).
        workers: 1: here, one after the other; more: that many at once (``executor``).
        address: an existing Ray cluster to run on instead.
        executor: ``"processes"`` (local worker processes) or ``"ray"`` (a local Ray
            instance); ``None``: Ray with ``address``, else processes
            (see :func:`paper_repro.sweep.run_jobs`).
        resume: reuse the runs already written in ``folder``.
        progress: a progress bar over the settings (on a terminal).
    """

    folder: Any
    workers: int = 1
    address: str | None = None
    resume: bool = False
    progress: bool = True
    executor: str | None = None

    def run(self, jobs: Sequence[Any], valid: Callable[[Any, dict[str, Any]], bool],
            desc: str) -> Any:
        """:func:`paper_repro.sweep.run_jobs` of ``jobs`` with this sweep's options."""
        from paper_repro.sweep import run_jobs

        return run_jobs(jobs, self.folder, workers=self.workers, address=self.address,
                        resume=self.resume, progress=self.progress, valid=valid, desc=desc,
                        executor=self.executor)


def setting_key(setting: Setting, seeds: Sequence[int]) -> str:
    """A file-safe key naming ``setting`` trained for ``seeds`` (its label and a digest)."""
    text = json.dumps([asdict(setting), list(seeds)], sort_keys=True)
    label = re.sub(r"[^A-Za-z0-9.()-]+", "_", setting.label).strip("_")
    return f"{label}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def _run_job(trainer: Trainer, setting: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """One setting as a sweep job: the run as plain JSON values."""
    return trainer(Setting(**setting), seeds).to_dict()


def _valid(job: Any, result: dict[str, Any]) -> bool:
    """A saved run is reused only if it is a whole run of the job's setting and seeds."""
    try:
        run = Run.from_dict(result)
    except (TypeError, ValueError, KeyError):
        return False
    return setting_key(run.setting, run.seeds) == job.key

def run_settings(
    settings: Sequence[Setting],
    seeds: Sequence[int],
    trainer: Trainer,
    progress: Callable[[Sequence[Setting]], Iterable[Setting]] | None = None,
    sweep: Sweep | None = None,
) -> list[Run]:
    """Train every setting for all ``seeds``: one :class:`Run` per setting, in order.

    Args:
        settings: what to train.
        seeds: the seeds of every setting (the same for all: common random numbers).
        trainer: ``trainer(setting, seeds) -> Run``, e.g.
            :func:`paper_repro._adapter.train_setting` (a module-level function when
            the sweep runs in worker processes or on Ray: it is pickled by reference).
        progress: optional wrapper of the settings (a progress bar), without ``sweep``.
        sweep: run the settings as the jobs of a sweep: each written when it finishes,
            resumable, here, in worker processes or on Ray (:class:`Sweep`).  Each job
            is seeded by its own setting and seeds, so the runs are the same for any
            executor.

    Raises:
        RuntimeError: with ``sweep``, some settings failed (the others are written).

    Example::

        >>> from paper_repro.testing import fake_trainer
        >>> s = Setting("untrained", "default", "none", None, 5, 3, 10)
        >>> [r.change for r in run_settings([s], [1, 2], fake_trainer)]
        [[0.0, 0.0]]
    """
    todo = list(settings)
    if sweep is None:
        return [trainer(s, list(seeds)) for s in (progress(todo) if progress else todo)]
    from paper_repro.sweep import Job

    keys = [setting_key(s, seeds) for s in todo]
    jobs = [Job(k, s.label, _run_job, (trainer, asdict(s), list(seeds)))
            for k, s in zip(keys, todo, strict=True)]
    done = sweep.run(jobs, _valid, "settings")
    if not done.ok:
        raise SweepFailed(done.failed)
    return [Run.from_dict(done.results[k]) for k in keys]


class SweepFailed(RuntimeError):
    """Settings of a sweep raised; the others were written."""

    def __init__(self, failed: dict[str, str]) -> None:
        self.failed = dict(failed)
        super().__init__(f"{len(failed)} setting(s) failed:\n" + "\n".join(
            f"  {message}" for message in failed.values()))
