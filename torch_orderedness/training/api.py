"""``train`` and ``train_seeds``: thin drivers of the one loop in :mod:`.loop`.

Both check every argument and the model before anything is moved, pruned,
trained or written (:mod:`.plan`), then create their log files, run the loop
and close the files.  A run that fails before finishing its first step
removes the event files it wrote and the directories it created, if nothing
else was written there; a run that fails later keeps what it logged.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from torch_orderedness import _checks
from torch_orderedness.complete import CompletePerceptron
from torch_orderedness.ensemble import PerceptronEnsemble
from torch_orderedness.logging import (
    TensorBoardLogger,
    TrainingLogger,
    progress_bar,
    use_progress_bar,
)
from torch_orderedness.tasks import Task
from torch_orderedness.training.data import TensorData
from torch_orderedness.training.loop import Prepared, prepare, run
from torch_orderedness.training.plan import Plan, check_model, make_plan
from torch_orderedness.training.results import SeedRuns, TrainResult
from torch_orderedness.training.seeds import (
    SeedGenerators,
    build_model,
    check_seed,
    seed_generators,
    seeded_global_rng,
)
from torch_orderedness.training.spec import PruneSpec

__all__ = ["SMALL_MODEL", "train", "train_seeds"]

#: ``threads="auto"`` trains with one intra-op thread up to this many parameter entries.
SMALL_MODEL: int = 2**16


# --------------------------------------------------------------------------- threads


def _check_threads(threads: object) -> None:
    if threads is None or threads == "auto":
        return
    _checks.count("threads", threads, 1)


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


# --------------------------------------------------------------------------- log directories


def _check_log_dirs(log_dir: object, logger: object, names: Sequence[str] = ()) -> list[Path]:
    """The run's log directories (``log_dir`` itself, or ``log_dir/<name>`` for each name),
    all checked before any is written: none may be an existing file, nor lie under one."""
    if log_dir is not None and logger is not None:
        raise ValueError("give log_dir (TensorBoard) or logger, not both")
    if logger is not None and not isinstance(logger, TrainingLogger):
        raise TypeError(
            "logger must implement TrainingLogger (log_scalars, log_parameters, log_ordering, "
            f"log_hparams, close); got {type(logger).__name__}"
        )
    if log_dir is None:
        return []
    if not isinstance(log_dir, (str, os.PathLike)):
        raise TypeError(f"log_dir must be a path or None, got {log_dir!r}")
    root = Path(log_dir)
    targets = [root / name for name in names] if names else [root]
    for target in targets:
        for p in (target, *target.parents):
            if p.exists() and not p.is_dir():
                raise ValueError(f"log directory {str(target)!r} cannot be created: "
                                 f"{str(p)!r} exists and is not a directory")
    return targets


def _new_dirs(targets: Sequence[Path]) -> list[Path]:
    """The directories that creating ``targets`` would add, deepest first."""
    created: set[Path] = set()
    for target in targets:
        for p in (target, *target.parents):
            if p.exists():
                break
            created.add(p)
    return sorted(created, key=lambda p: len(p.parts), reverse=True)


class _LogFiles:
    """The TensorBoard loggers a call creates, and their cleanup if it fails at once."""

    def __init__(self, targets: Sequence[Path]) -> None:
        self.created = _new_dirs(targets)
        self.loggers = [TensorBoardLogger(t) for t in targets]

    def close(self) -> None:
        for log in self.loggers:
            log.close()

    def remove(self) -> None:
        """Remove this call's own event files, then the directories it created if empty."""
        for log in self.loggers:
            log.remove_own_files()
        for path in self.created:
            with contextlib.suppress(OSError):  # not empty: another writer used it
                path.rmdir()


@contextlib.contextmanager
def _logging(targets: Sequence[Path], done: list[int]) -> Iterator[_LogFiles]:
    files = _LogFiles(targets)
    try:
        yield files
    except BaseException:
        if done[0] == 0:
            files.remove()
        raise
    finally:
        files.close()


# --------------------------------------------------------------------------- building


def _factory_of(model: object, plan: Plan) -> Callable[..., nn.Module]:
    if model is None:
        if plan.data.task is None:
            raise ValueError("model=None needs data given as a Task (or task name) to build from")
        return plan.data.task.model_factory()
    if isinstance(model, nn.Module) or not callable(model):
        raise TypeError(
            "model must be a factory f(generator=g) -> nn.Module (e.g. task.model_factory() or "
            f"functools.partial(CompletePerceptron, 2, 5, 1)), or None; got {type(model).__name__}"
        )
    return model  # type: ignore[return-value]


def _hparams(plan: Plan, prep: Prepared, seed: int | None, batched: bool) -> dict[str, Any]:
    model = prep.model
    h: dict[str, Any] = {
        "task": plan.data.task.name if plan.data.task is not None else (
            "custom" if isinstance(plan.data, TensorData) else plan.data.name),
        "seed": "None" if seed is None else seed,
        "model": "CompletePerceptron" if batched else type(model).__name__,
    }
    for attr in ("in_features", "hidden_features", "out_features", "iterations"):
        if hasattr(model, attr):
            h[attr] = int(getattr(model, attr))
    h.update(
        steps=plan.steps, epochs=plan.epochs, batch_size=plan.data.batch_size,
        shuffle=plan.data.shuffle, loss=plan.loss_name, update=plan.update,
        mode=plan.mode, progress=plan.progress_name,
        pruning="; ".join(s.label for s in plan.specs) or "none",
        stop_loss="None" if plan.stop_loss is None else plan.stop_loss,
    )
    if prep.optimizer is not None:
        h["optimizer"] = type(prep.optimizer).__name__
        lr = prep.optimizer.defaults.get("lr")
        if isinstance(lr, (int, float)):
            h["lr"] = float(lr)
    h.update(plan.hparams)
    return h


def _bar(plan: Plan, total: int, show: bool, what: str) -> Any:
    name = plan.data.task.name if plan.data.task is not None else "data"
    return progress_bar(total, enabled=show, desc=f"{what} {name}")


# --------------------------------------------------------------------------- train


def train(
    model: nn.Module | Callable[..., nn.Module] | None,
    data: Task | str | tuple[Tensor, Tensor] | Iterable[tuple[Tensor, Tensor]],
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
            of ``data``'s :class:`~torch_orderedness.Task`.
        data: a :class:`~torch_orderedness.Task` (``xor()``, ``sine()``), a
            task name, ``(inputs (n, I), targets (n, O))`` (cast to the model's
            dtype and device), or any re-iterable of ``(x, y)`` batches with a
            length, such as a :class:`torch.utils.data.DataLoader`: iterated
            once per epoch, in the order it serves (its own sampler decides;
            ``seed`` does not reorder it), batches moved to the model's device
            and floating ones cast to its dtype.
        seed: the seed of the data shuffles (tensors and tasks), Random's mask
            and (for a factory) the initialisation, an int in ``[0, 2**63)``;
            ``None``: torch's global RNG.
        steps, epochs: the length (give one; both must agree); default: the
            task's epochs.  An epoch is ``ceil(n / batch_size)`` batches
            (``len(loader)`` for a loader).
        batch_size, shuffle: default: the task's (``n`` rows, no shuffling for
            plain tensors); a loader has its own.
        loss: ``"mse"`` (default) or ``loss(prediction, target) -> scalar``.
        optimizer: a factory ``params -> Optimizer``; default Adam with lr 0.01
            (with ``eps`` raised to float16's smallest normal number for a
            float16 model, where 1e-8 underflows).
        pruning: a :class:`PruneSpec` or a list of them, applied in order after
            every optimiser step.
        mode: ``"in_place"`` (the paper's) or ``"reparametrize"`` (torch's);
            see the package docstring.
        progress: ``"epoch"`` (``epoch / epochs``, the paper's), ``"step"``
            (``(k - 1) / steps`` at step ``k``), ``"done"`` (``k / steps``: the
            last step applies the dynamic schemes' final target) or
            ``f(step_index, steps) -> float`` (0-based index, values in [0, 1]).
        update: ``False`` runs no optimiser steps: the schemes are applied
            ``steps`` times to the initial weights (the paper's "untrained"
            column: XOR, 10 steps); losses are still recorded.
        orderedness_every: measure the orderedness every this many steps (as
            well as at the start and the end); ``None``: start and end only.
        measure_orderedness: ``False`` skips the metric (for models it cannot read).
        orderedness_options: keyword arguments for every
            :func:`~torch_orderedness.ordering` call (``method``,
            ``time_limit``, ``seed``), e.g. ``{"time_limit": 2.0}`` to bound
            the time a measurement of a large layer may take (its result then
            says whether it is exact).
        stop_loss: stop after the first step whose loss is below this.
        device: move the model (and data) there, once everything is checked.
        log_dir: write TensorBoard event files there (created only once
            every argument has been checked).
        logger: a :class:`~torch_orderedness.TrainingLogger` instead of
            ``log_dir`` (not closed by training).
        log_every: log the per-step scalars every this many steps.
        hparams: extra hyperparameters for the result and ``add_hparams``.
        progress_bar: ``True``/``False``, or ``None`` (default): only when
            standard error is a terminal.
        threads: torch's intra-op threads while training (``torch.set_num_threads``,
            restored afterwards): an int, ``None`` (leave torch's setting), or
            ``"auto"`` (default): 1 for small models (at most
            :data:`SMALL_MODEL` parameter entries, all seeds together, as in
            all of the paper's settings), torch's setting otherwise.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError, TypeError: any bad argument, before the model is moved or
            anything is trained or written.
        FloatingPointError: the loss became NaN or infinite (training stops at
            that step, named in the message; what was logged before stays), or
            the parameters did.

    Example::

        >>> from torch_orderedness import xor
        >>> r = train(None, xor(), seed=0, steps=20, pruning=PruneSpec("topk", k=0.5))
        >>> r.loss.shape, r.final_sparsity, r.orderedness_steps.tolist()
        ((20,), {'weight': 0.5}, [0, 20])
    """
    plan = make_plan(
        data, steps=steps, epochs=epochs, batch_size=batch_size, shuffle=shuffle, loss=loss,
        optimizer=optimizer, pruning=pruning, mode=mode, progress=progress, update=update,
        orderedness_every=orderedness_every, measure_orderedness=measure_orderedness,
        orderedness_options=orderedness_options, log_every=log_every, stop_loss=stop_loss,
        hparams=hparams,
    )
    seed = None if seed is None else check_seed(seed)
    gens = None if seed is None else seed_generators(seed)
    targets = _check_log_dirs(log_dir, logger)
    show = use_progress_bar(progress_bar)
    _check_threads(threads)
    built = model if isinstance(model, nn.Module) else build_model(_factory_of(model, plan), gens)
    check_model(plan, built, None)
    if device is not None:
        built = built.to(device)
    prep = prepare(plan, built, None, [seed])
    hp = _hparams(plan, prep, seed, False)
    # everything is checked: from here on, files may be written
    done = [0]
    bar = _bar(plan, plan.steps, show, "train")
    try:
        with _logging(targets, done) as files, _intra_op_threads(threads, built), \
                seeded_global_rng(seed, prep.device):
            own = files.loggers[0] if files.loggers else logger
            (result,) = run(plan, prep, [seed], [gens], [own], [hp], bar, done)
    finally:
        bar.close()
    return result


# --------------------------------------------------------------------------- train_seeds


def _seed_list(seeds: object) -> list[int]:
    if isinstance(seeds, (bool, np.bool_)):
        raise TypeError(f"seeds must be an int or a list of ints, got {seeds!r}")
    try:
        return list(range(_checks.count("seeds", seeds, 1)))
    except TypeError:
        pass
    if not isinstance(seeds, Iterable) or isinstance(seeds, (str, bytes)):
        raise TypeError(f"seeds must be an int or a list of ints, got {seeds!r}")
    seed_list = [check_seed(s, "each seed") for s in seeds]
    if not seed_list:
        raise ValueError("seeds must hold at least one seed")
    if len(set(seed_list)) != len(seed_list):
        raise ValueError(f"seeds must be distinct, got {seed_list}")
    return seed_list


def _batched(batched: object, models: Sequence[nn.Module]) -> bool:
    _checks.choice("batched", batched, ("auto", True, False))
    complete = all(type(m) is CompletePerceptron for m in models)
    if batched == "auto":
        return complete and len(models) > 1
    if batched and not complete:
        kinds = sorted({type(m).__name__ for m in models})
        raise ValueError(
            f"batched=True needs a factory of CompletePerceptron layers, got {kinds}; "
            "use batched=False"
        )
    return bool(batched)


def _prepare_seeds(plan: Plan, models: list[nn.Module], seeds: list[int], batched: bool,
                   device: torch.device | str | None) -> list[Prepared]:
    if batched:
        ensemble = PerceptronEnsemble.from_modules(models)  # type: ignore[arg-type]
        check_model(plan, ensemble, len(seeds))
        if device is not None:
            ensemble.to(device)
        return [prepare(plan, ensemble, len(seeds), seeds)]
    for m in models:
        check_model(plan, m, None)
    if device is not None:
        models = [m.to(device) for m in models]
    return [prepare(plan, m, None, [s]) for m, s in zip(models, seeds, strict=True)]


def _run_seeds(plan: Plan, preps: list[Prepared], seeds: list[int], gens: list[SeedGenerators],
               loggers: list[Any], hps: list[dict[str, Any]], bar: Any, done: list[int]
               ) -> list[TrainResult]:
    if len(preps) == 1 and preps[0].members is not None:
        with seeded_global_rng(seeds[0], preps[0].device):
            runs = run(plan, preps[0], seeds, gens, loggers, hps, bar, done)
        for s, r in enumerate(runs):
            r.model = preps[0].model.member(s)  # type: ignore[operator]
        return runs
    runs = []
    for p, s, g, log, hp in zip(preps, seeds, gens, loggers, hps, strict=True):
        with seeded_global_rng(s, p.device):
            runs.append(run(plan, p, [s], [g], [log], [hp], bar, done)[0])
    return runs


def train_seeds(
    model: Callable[..., nn.Module] | None,
    data: Task | str | tuple[Tensor, Tensor] | Iterable[tuple[Tensor, Tensor]],
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
    stacked into a :class:`~torch_orderedness.PerceptronEnsemble` and trained
    together: the sum of the per-seed losses, one optimiser, per-seed batches,
    Random masks and pruning (see the package docstring); the numbers agree
    with separate runs to float rounding.  With a data loader every seed of a
    batched run gets the same batches (the loader's order).

    Args:
        model: a factory ``f(generator=g) -> nn.Module``, or ``None`` for the
            task's complete layer (``task.model_factory(...)`` sets size and
            initialisation, e.g. ``weight_init="uniform"``).
        data: as for :func:`train`.
        seeds: the seeds (distinct ints), or an int ``S`` for ``range(S)``.
        batched: ``"auto"`` (batched when the factory builds
            ``CompletePerceptron`` layers and there are several seeds),
            ``True`` or ``False`` (one run after the other).
        log_dir: TensorBoard files go to ``log_dir/seed_<seed>/`` (every
            target is checked before any is written).
        progress_bar: one bar over all steps of all seeds.
        threads: as for :func:`train` (``"auto"``: one thread for the paper's
            settings).
        steps, epochs, batch_size, shuffle, loss, optimizer, pruning, mode,
            progress, update, orderedness_every, measure_orderedness,
            orderedness_options, stop_loss, device, log_every, hparams: as
            for :func:`train`.

    Returns:
        :class:`SeedRuns`: per-seed :class:`TrainResult` and arrays
        ``start``, ``end``, ``change``, ``loss``.

    Raises:
        ValueError, TypeError: any bad argument, before anything is trained or written.
        FloatingPointError: as for :func:`train`.

    Example::

        >>> from torch_orderedness import xor
        >>> runs = train_seeds(None, xor(), seeds=2, steps=10, update=False,
        ...                    pruning=[PruneSpec("tril", f=0.8)])
        >>> bool((runs.change > 0).all())
        True
    """
    seed_list = _seed_list(seeds)
    plan = make_plan(
        data, steps=steps, epochs=epochs, batch_size=batch_size, shuffle=shuffle, loss=loss,
        optimizer=optimizer, pruning=pruning, mode=mode, progress=progress, update=update,
        orderedness_every=orderedness_every, measure_orderedness=measure_orderedness,
        orderedness_options=orderedness_options, log_every=log_every, stop_loss=stop_loss,
        hparams=hparams,
    )
    targets = _check_log_dirs(log_dir, None, [f"seed_{s}" for s in seed_list])
    show = use_progress_bar(progress_bar)
    _check_threads(threads)
    factory = _factory_of(model, plan)
    gens = [seed_generators(s) for s in seed_list]
    models = [build_model(factory, g) for g in gens]
    is_batched = _batched(batched, models)
    t0 = time.perf_counter()
    preps = _prepare_seeds(plan, models, seed_list, is_batched, device)
    hps = [_hparams(plan, preps[0 if is_batched else k], s, is_batched) | {"batched": is_batched}
           for k, s in enumerate(seed_list)]
    # everything is checked: from here on, files may be written
    done = [0]
    bar = _bar(plan, plan.steps * (1 if is_batched else len(seed_list)), show,
               f"{len(seed_list)} seeds")
    try:
        with _logging(targets, done) as files, _intra_op_threads(threads,
                                                                  *(p.model for p in preps)):
            loggers = files.loggers or [None] * len(seed_list)
            runs = _run_seeds(plan, preps, seed_list, gens, loggers, hps, bar, done)
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    trained = preps[0].model if is_batched else [p.model for p in preps]
    return SeedRuns(tuple(runs), is_batched, wall, model=trained)
