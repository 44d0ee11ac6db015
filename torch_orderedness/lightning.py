r"""Lightning callbacks: the paper's in-place pruning and orderedness monitoring.

Needs the ``lightning`` package (``pip install 'torch-orderedness[lightning]'``);
this is the only module of the library that imports it.

Two ways to prune a ``LightningModule`` with the paper's schemes:

- Lightning's own ``ModelPruning`` callback, torch's reparametrised way: every
  scheme class takes torch's ``amount`` and is ``"unstructured"``, so
  ``ModelPruning(pruning_fn=TopK, amount=0.5)`` works for all five (Lightning
  accepts a custom method only with its default ``use_global_unstructured=True``).
  Top-K and Random compound when pruned every epoch (as torch's own methods
  do), Dynamic Top-K does not (it keeps ``k(x)`` of the whole weight), and
  Tril-damp can be applied once: a second global application is refused with
  a ``ValueError``, because torch would square its soft mask.
- :class:`InPlacePruning`: the paper's way, the scheme applied to the weight
  itself after every optimiser step, the dynamic schemes following the
  trainer's progress and reaching their target at the last step.

:class:`OrderednessLogging` measures the orderedness every few steps and logs
value, bounds, the ordered-weight image and histograms through the trainer's
loggers (images and histograms where the logger is TensorBoard).

Example::

    >>> import lightning.pytorch as pl
    >>> from torch_orderedness import PruneSpec
    >>> callbacks = [InPlacePruning(PruneSpec("dyn_topk", "layer.weight", k=0.5)),
    ...              OrderednessLogging("layer", every_n_steps=50)]
    >>> isinstance(callbacks[0], pl.Callback)
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from torch_orderedness import _checks
from torch_orderedness.logging import weight_image
from torch_orderedness.training.modes import SpecPruning
from torch_orderedness.training.monitor import OrderednessMonitor
from torch_orderedness.training.plan import check_specs
from torch_orderedness.training.seeds import seed_generators
from torch_orderedness.training.spec import PruneSpec

__all__ = ["InPlacePruning", "OrderednessLogging"]

_PROGRESS = ("epoch", "step", "done")


def _progress(trainer: pl.Trainer, kind: str) -> float:
    """The progress of the optimiser step just done, from the trainer's counters."""
    if kind == "epoch":
        if trainer.max_epochs is None or trainer.max_epochs < 1:
            raise ValueError("progress='epoch' needs Trainer(max_epochs=...); use 'step' or 'done'")
        return min(1.0, trainer.current_epoch / trainer.max_epochs)
    total = trainer.estimated_stepping_batches
    if not total or total == float("inf"):
        raise ValueError(f"progress={kind!r} needs a known number of steps (max_steps or "
                         "max_epochs with a sized data loader)")
    done = trainer.global_step
    return min(1.0, (done - 1 if kind == "step" else done) / total)


class InPlacePruning(pl.Callback):
    r"""Apply pruning schemes in place after every optimiser step, the paper's way.

    Args:
        pruning: a :class:`~torch_orderedness.PruneSpec` or a list of them; each
            names a parameter of the ``LightningModule`` as in its
            ``named_parameters()`` (e.g. ``"layer.weight"``).
        progress: what the dynamic schemes follow: ``"done"`` (default:
            ``global_step / estimated_stepping_batches``, so the last step applies
            the final target), ``"step"`` (``(global_step - 1) / ...``) or
            ``"epoch"`` (the paper's ``current_epoch / max_epochs``), the same
            definitions as :func:`~torch_orderedness.train`'s ``progress``.
        seed: Random's mask is drawn from the ``prune`` stream of
            :func:`~torch_orderedness.seed_generators` for this seed (the mask
            :func:`~torch_orderedness.train` draws with ``seed=``); ``None``:
            torch's global RNG.

    The schemes are applied after each optimiser step (``on_train_batch_end``
    once ``trainer.global_step`` has advanced, so gradient accumulation is
    respected).  Damping compounds and pruned weights may regrow between steps,
    as in the paper; Dynamic Top-K ranks every entry again at every step, so it
    never compounds.  The pruners' state (Random's mask) is saved in Lightning
    checkpoints (:meth:`state_dict`) and restored on resume.

    Example::

        >>> cb = InPlacePruning([PruneSpec("random", "layer.weight", p=0.5)], seed=3)
        >>> cb.progress, cb.specs[0].label
        ('done', 'random(p=0.5)@layer.weight')
    """

    def __init__(self, pruning: PruneSpec | Sequence[PruneSpec], *, progress: str = "done",
                 seed: int | None = 0) -> None:
        specs = [pruning] if isinstance(pruning, PruneSpec) else list(pruning)
        if not specs or not all(isinstance(s, PruneSpec) for s in specs):
            raise TypeError("pruning must be a PruneSpec or a non-empty list of them")
        self.specs = tuple(specs)
        self.progress = _checks.choice("progress", progress, _PROGRESS)
        self.seed = None if seed is None else _checks.count("seed", seed, 0, 2**63 - 1)
        self.pruning: SpecPruning | None = None
        self._state: dict[str, Any] | None = None
        self._last_step = -1

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Check the specs against the module and build the pruners (once)."""
        if self.pruning is not None:
            return
        check_specs(self.specs, pl_module)
        generator = None if self.seed is None else seed_generators(self.seed).prune
        self.pruning = SpecPruning(pl_module, self.specs, "in_place", None, [generator])
        if self._state is not None:
            self.pruning.load_state_dict(self._state)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        """Prune in place if an optimiser step was just taken."""
        if trainer.global_step == self._last_step or self.pruning is None:
            return
        self._last_step = trainer.global_step
        self.pruning.step(_progress(trainer, self.progress))

    def state_dict(self) -> dict[str, Any]:
        """The pruners' state (Random's masks, steps applied)."""
        return {} if self.pruning is None else self.pruning.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the pruners' state (kept until :meth:`setup` builds them)."""
        if not state_dict:
            return
        self._state = state_dict
        if self.pruning is not None:
            self.pruning.load_state_dict(state_dict)


class _TrainerLogger:
    """A :class:`~torch_orderedness.TrainingLogger` over one of the trainer's loggers."""

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        experiment = getattr(logger, "experiment", None)
        self.writer = experiment if callable(getattr(experiment, "add_image", None)) else None

    def log_scalars(self, step: int, values: Mapping[str, float]) -> None:
        self.logger.log_metrics({k: float(v) for k, v in values.items()}, step=step)

    def log_parameters(self, step: int, params: Mapping[str, Tensor]) -> None:
        if self.writer is not None:
            for name, tensor in params.items():
                self.writer.add_histogram(f"params/{name}", tensor.detach().cpu(), step)

    def log_ordering(self, step: int, weight: Tensor, permutation: tuple[int, ...], *,
                     tag: str = "weight/ordered") -> None:
        if self.writer is not None:
            self.writer.add_image(tag, weight_image(weight, permutation), step,
                                  dataformats="CHW")

    def log_hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """Lightning logs the hyperparameters itself."""

    def close(self) -> None:
        """The trainer closes its loggers."""


def _resolve(pl_module: nn.Module, module: str) -> nn.Module:
    try:
        return pl_module.get_submodule(module)
    except AttributeError:
        raise ValueError(f"the LightningModule has no submodule {module!r}") from None


class OrderednessLogging(pl.Callback):
    r"""Measure a submodule's orderedness every few steps and log it through the trainer.

    Args:
        module: the submodule to watch, as in ``named_modules()`` (``""``: the
            ``LightningModule`` itself): a complete layer, an ``nn.RNN``, an MLP
            or any module :func:`~torch_orderedness.ordering` reads.
        every_n_steps: measure every this many optimiser steps, and at the
            start and the end of training.
        options: passed to every ``ordering()`` call (``method``,
            ``time_limit``, ``seed``), e.g. ``{"time_limit": 2.0}``.
        histograms: also log the watched module's parameters as histograms.

    Logs ``orderedness/value``, ``orderedness/lower`` and ``orderedness/upper``
    through every logger of the trainer (``log_metrics``), and, through
    TensorBoard loggers, the image ``weight/ordered`` and histograms
    ``params/<name>``.  :attr:`monitor` (an
    :class:`~torch_orderedness.OrderednessMonitor`) keeps the history.

    Example::

        >>> cb = OrderednessLogging("layer", every_n_steps=10)
        >>> cb.every_n_steps, cb.monitor is None
        (10, True)
    """

    def __init__(self, module: str = "", *, every_n_steps: int = 50,
                 options: Mapping[str, Any] | None = None, histograms: bool = True) -> None:
        if not isinstance(module, str):
            raise TypeError(f"module must be a submodule name, got {module!r}")
        self.module = module
        self.every_n_steps = _checks.count("every_n_steps", every_n_steps, 1)
        self.options = dict(options or {})
        self.histograms = _checks.flag("histograms", histograms)
        self.monitor: OrderednessMonitor | None = None
        self._last_step = -1

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Build the monitor on the watched submodule and the trainer's loggers."""
        loggers = [_TrainerLogger(log) for log in trainer.loggers]
        self.monitor = OrderednessMonitor(
            _resolve(pl_module, self.module), _Fanout(loggers) if loggers else None,
            every=self.every_n_steps, options=self.options, histograms=self.histograms)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.monitor is not None and trainer.global_step == 0:
            self.monitor.measure(0)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.monitor is None or trainer.global_step == self._last_step:
            return
        self._last_step = trainer.global_step
        with torch.no_grad():
            self.monitor.step(trainer.global_step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        history = self.monitor.history if self.monitor is not None else []
        if self.monitor is not None and (not history or history[-1][0] != trainer.global_step):
            self.monitor.measure(trainer.global_step)


class _Fanout:
    """One :class:`~torch_orderedness.TrainingLogger` writing to several."""

    def __init__(self, loggers: Sequence[_TrainerLogger]) -> None:
        self.loggers = list(loggers)

    def log_scalars(self, step: int, values: Mapping[str, float]) -> None:
        for log in self.loggers:
            log.log_scalars(step, values)

    def log_parameters(self, step: int, params: Mapping[str, Tensor]) -> None:
        for log in self.loggers:
            log.log_parameters(step, params)

    def log_ordering(self, step: int, weight: Tensor, permutation: tuple[int, ...], *,
                     tag: str = "weight/ordered") -> None:
        for log in self.loggers:
            log.log_ordering(step, weight, permutation, tag=tag)

    def log_hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """Lightning logs the hyperparameters itself."""

    def close(self) -> None:
        """The trainer closes its loggers."""
