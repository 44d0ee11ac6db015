r"""``OrderednessMonitor``: measure a model's orderedness during training and log it.

Any loop can use it: build it once with the module (or weight) to watch and
a logger, and call :meth:`OrderednessMonitor.step` with the global step after
each optimiser step; every ``every`` steps it measures
:func:`~torch_orderedness.ordering` (value and certified bounds), keeps the
history and logs, per measurement:

- the parameters as histograms (``log_parameters``: ``params/<name>``),
- the scalars ``orderedness/value``, ``orderedness/lower``, ``orderedness/upper``,
- the weight in the order found as an image (``log_ordering``: ``weight/ordered``).

Example::

    >>> from torch_orderedness import CompletePerceptron
    >>> layer = CompletePerceptron(2, 5, 1, generator=torch.Generator().manual_seed(0))
    >>> monitor = OrderednessMonitor(layer, every=10)
    >>> [monitor.step(k) is not None for k in (1, 10)]
    [False, True]
    >>> step, (result,) = monitor.history[-1]
    >>> step, result.exact, round(result.value, 4) == round(monitor.last_value, 4)
    (10, True, True)
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from torch_orderedness import _checks
from torch_orderedness._weights import mlp_weight, parse_mlp, weight_in_use
from torch_orderedness.logging import TensorBoardLogger, TrainingLogger
from torch_orderedness.metric import Ordering, neuron_graph, ordering

__all__ = ["ORDERING_OPTIONS", "OrderednessMonitor", "check_ordering_options"]

#: The keys of the options passed to every ``ordering()`` call (``orderedness_options=``).
ORDERING_OPTIONS: tuple[str, ...] = ("method", "time_limit", "seed")


def check_ordering_options(options: object, name: str = "options") -> dict[str, Any]:
    """A copy of ``options`` for :func:`~torch_orderedness.ordering`, keys and values checked."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"{name} must be a mapping or None, got {type(options).__name__}")
    unknown = sorted(set(options) - set(ORDERING_OPTIONS))
    if unknown:
        raise ValueError(
            f"{name} may hold {ORDERING_OPTIONS} (passed to ordering()), got {unknown}"
        )
    from torch_orderedness.metric.core import _check_options

    _check_options(options.get("method", "auto"), options.get("time_limit"),
                   options.get("seed", 0))
    return dict(options)


@dataclass(frozen=True)
class _View:
    """What is measured: ``weights (k, N, M)``, fixed outputs, input columns, labels."""

    weights: Tensor
    outputs: int
    inputs: int
    labels: tuple[str, ...]
    images: bool


def _complete(module: nn.Module) -> bool:
    return all(hasattr(module, a) for a in ("out_features", "hidden_features", "in_features"))


def _view(target: object, outputs: int | None) -> _View | None:
    """The weights to measure, or ``None`` for a module the metric reads by itself."""
    if isinstance(target, Tensor):
        w = target.detach()
        if w.dim() not in (2, 3):
            raise ValueError(
                f"a weight to monitor must be 2-D or a 3-D batch, got {tuple(w.shape)}")
        batch = w if w.dim() == 3 else w.unsqueeze(0)
        labels = ("weight",) if w.dim() == 2 else tuple(f"w[{b}]" for b in range(w.shape[0]))
        return _View(batch, outputs or 0, w.shape[-1] - w.shape[-2], labels, True)
    if isinstance(target, nn.Module) and _complete(target):
        w = weight_in_use(target).detach()
        batch = w if w.dim() == 3 else w.unsqueeze(0)
        labels = ("weight",) if w.dim() == 2 else tuple(f"member[{b}]" for b in range(len(batch)))
        return _View(batch, int(target.out_features), int(target.in_features), labels, True)
    if isinstance(target, nn.RNNBase):  # RNN, GRU, LSTM: the metric's neuron-to-neuron weights
        graph = neuron_graph(target, outputs=outputs)
        stacked = torch.from_numpy(np.stack(graph.matrices))
        return _View(stacked, graph.outputs, 0, graph.names, True)
    if isinstance(target, (nn.Sequential, nn.Linear, list, tuple)):
        try:
            layout = parse_mlp(target)
        except (TypeError, ValueError):  # not an MLP of nn.Linear layers: ordering() decides
            return None
        return _View(mlp_weight(layout).unsqueeze(0), layout.sizes[-1], layout.sizes[0],
                     ("mlp",), True)
    if isinstance(target, nn.Module):
        return None
    raise TypeError(
        "the monitor watches a weight tensor, a complete layer, an nn.RNN, an MLP or another "
        f"module ordering() reads; got {type(target).__name__}"
    )


def _as_logger(logger: object) -> TrainingLogger:
    if isinstance(logger, TrainingLogger):
        return logger
    methods = ("add_scalar", "add_image", "add_histogram")
    if all(callable(getattr(logger, m, None)) for m in methods):
        return TensorBoardLogger(writer=logger)  # a SummaryWriter
    raise TypeError(
        "logger must be a TrainingLogger (e.g. TensorBoardLogger), a "
        f"torch.utils.tensorboard.SummaryWriter, or a list of them; got {type(logger).__name__}"
    )


def as_loggers(logger: object, count: int) -> list[TrainingLogger | None]:
    """The monitor's loggers: none, one, or one per measured matrix (``None`` entries allowed)."""
    if logger is None:
        return []
    if isinstance(logger, (list, tuple)):
        if len(logger) != count:
            raise ValueError(f"a list of loggers needs one per measured matrix ({count}), "
                             f"got {len(logger)}")
        return [None if log is None else _as_logger(log) for log in logger]
    return [_as_logger(logger)]


def _takes_tag(logger: TrainingLogger) -> bool:
    try:
        return "tag" in inspect.signature(logger.log_ordering).parameters
    except (TypeError, ValueError):
        return False


class OrderednessMonitor:
    r"""Measure a model's orderedness every ``every`` steps, remember it and log it.

    Args:
        target: what to watch, read at every measurement: a complete layer
            (pruned by torch or not; a :class:`~torch_orderedness.PerceptronEnsemble`
            gives one value per member), an ``nn.RNN`` (one value per layer and
            direction), an MLP (``nn.Sequential`` or a list of modules), a
            weight tensor ``(N, N + I)`` or a batch ``(B, N, N + I)`` (a
            parameter is read at every measurement, so in-place changes count),
            or any other module :func:`~torch_orderedness.ordering` reads
            (no image then).
        logger: ``None`` (history only), a :class:`~torch_orderedness.TrainingLogger`
            (e.g. :class:`~torch_orderedness.TensorBoardLogger`), a
            ``torch.utils.tensorboard.SummaryWriter`` (wrapped, never closed
            here), or a list with one of them per measured matrix (per member
            of a batched target), each then logging its own matrix under the
            plain tags.  One logger for several matrices logs the tags
            ``orderedness/<label>/value`` etc. (and one image per matrix if its
            ``log_ordering`` takes ``tag=``, as TensorBoardLogger's does).
        every: measure when ``global_step % every == 0``.
        options: keyword arguments for every ``ordering()`` call (``method``,
            ``time_limit``, ``seed``; see :data:`ORDERING_OPTIONS`), e.g.
            ``{"time_limit": 2.0}`` for large layers.
        outputs: fixed leading neurons of a plain weight tensor (default 0;
            modules give their own).
        histograms: also log the target's parameters as histograms.
        labels: names of the measured matrices for messages (e.g. the seeds).

    Attributes:
        history: ``[(step, (Ordering or None, ...)), ...]``, one tuple entry per
            matrix; ``None`` where the orderedness is undefined (an all-zero
            square part: a ``RuntimeWarning`` says so once).

    Example::

        >>> import tempfile
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> from torch_orderedness import CompletePerceptron
        >>> layer = CompletePerceptron(2, 4, 1)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     writer = SummaryWriter(d)
        ...     monitor = OrderednessMonitor(layer, writer, every=5)
        ...     results = [monitor.step(k) for k in range(1, 11)]
        ...     writer.close()
        >>> [step for step, _ in monitor.history], 0 < monitor.last_value <= 1
        ([5, 10], True)
    """

    def __init__(self, target: object, logger: object = None, *, every: int = 1,
                 options: Mapping[str, Any] | None = None, outputs: int | None = None,
                 histograms: bool = True, labels: Sequence[str] | None = None) -> None:
        self.target = target
        self.every = _checks.count("every", every, 1)
        self.options = check_ordering_options(options)
        self.outputs = None if outputs is None else _checks.count("outputs", outputs, 0)
        self.histograms = _checks.flag("histograms", histograms)
        if isinstance(target, (list, tuple)) and not all(isinstance(m, nn.Module) for m in target):
            raise TypeError("a list to monitor must hold the modules of an MLP")
        view = _view(target, self.outputs)  # checks the target now
        count = 1 if view is None else view.weights.shape[0]
        self.labels = tuple(str(x) for x in labels) if labels is not None else (
            view.labels if view is not None else ("target",))
        if len(self.labels) != count:
            raise ValueError(
                f"labels must name the {count} measured matrices, got {len(self.labels)}")
        self.loggers = as_loggers(logger, count)
        self.history: list[tuple[int, tuple[Ordering | None, ...]]] = []
        self._warned = False

    @property
    def last(self) -> tuple[Ordering | None, ...] | None:
        """The latest measurement (one entry per matrix), or ``None`` before the first."""
        return self.history[-1][1] if self.history else None

    @property
    def last_value(self) -> float:
        """Mean orderedness of the latest measurement (NaN before the first or if undefined)."""
        values = [r.value for r in self.last or () if r is not None]
        return sum(values) / len(values) if values else float("nan")

    def step(self, global_step: int) -> tuple[Ordering | None, ...] | None:
        """Measure, remember and log if ``global_step % every == 0``; the results, else None."""
        global_step = _checks.count("global_step", global_step, 0)
        if global_step % self.every:
            return None
        return self.measure(global_step)

    def measure(self, global_step: int, members: Sequence[int] | None = None
                ) -> tuple[Ordering | None, ...]:
        """Measure now, then remember and log (only ``members``, if given) at ``global_step``."""
        results = self.evaluate()
        self.add(global_step, results, members)
        return results

    def evaluate(self) -> tuple[Ordering | None, ...]:
        """The orderedness of every matrix now (``None`` where undefined); nothing is logged."""
        view = _view(self.target, self.outputs)
        if view is None:
            found = ordering(self.target, **self.options)
            return found if isinstance(found, tuple) else (found,)
        n = view.weights.shape[1]
        defined = (view.weights[:, :, :n] != 0).flatten(1).any(dim=1).tolist()
        out: list[Ordering | None] = [None] * len(defined)
        index = [k for k, ok in enumerate(defined) if ok]
        if index:
            found = ordering(view.weights[index], outputs=view.outputs, inputs=view.inputs,
                             **self.options)
            for k, r in zip(index, found, strict=True):
                out[k] = r
        return tuple(out)

    def add(self, global_step: int, results: Sequence[Ordering | None],
            members: Sequence[int] | None = None) -> None:
        """Remember ``results`` as measured at ``global_step`` and log them (for ``members``)."""
        results = tuple(results)
        self.history.append((global_step, results))
        self._warn_undefined(global_step, results, members)
        if self.loggers:
            self._log(global_step, results, range(len(results)) if members is None else members)

    def _warn_undefined(self, step: int, results: tuple[Ordering | None, ...],
                        members: Sequence[int] | None) -> None:
        chosen = range(len(results)) if members is None else members
        bad = [self.labels[k] for k in chosen if results[k] is None]
        if bad and not self._warned:
            warnings.warn(
                f"orderedness is undefined (the square part of the weight is all zero) for "
                f"{', '.join(bad)} at step {step}; recorded as NaN", RuntimeWarning, stacklevel=4)
            self._warned = True

    def log_parameters(self, step: int, members: Sequence[int] | None = None) -> None:
        """Log only the parameters' histograms (of ``members``), without measuring."""
        if not (self.loggers and self.histograms):
            return
        if len(self.loggers) > 1:
            for k in range(len(self.loggers)) if members is None else members:
                if self.loggers[k] is not None:
                    self.loggers[k].log_parameters(step, self._parameters(k))
        elif self.loggers[0] is not None:
            self.loggers[0].log_parameters(step, self._parameters(None))

    def _log(self, step: int, results: tuple[Ordering | None, ...], members: Sequence[int]) -> None:
        view = _view(self.target, self.outputs)
        if len(self.loggers) == len(results):  # one logger per matrix (or one matrix)
            for k in members:
                self._log_own(step, k, results[k], view)
        else:
            self._log_shared(step, results, members, view)

    def _log_own(self, step: int, k: int, r: Ordering | None, view: _View | None) -> None:
        """Matrix ``k`` to its own logger, under the plain tags."""
        log = self.loggers[k]
        if log is None:
            return
        if self.histograms:
            log.log_parameters(step, self._parameters(k))
        if r is None:
            return
        log.log_scalars(step, {"orderedness/value": r.value, "orderedness/lower": r.lower,
                               "orderedness/upper": r.upper})
        if view is not None:
            log.log_ordering(step, view.weights[k], r.permutation)

    def _log_shared(self, step: int, results: tuple[Ordering | None, ...],
                    members: Sequence[int], view: _View | None) -> None:
        """Several matrices to one logger, under tags labelled per matrix."""
        log = self.loggers[0]
        if log is None:
            return
        if self.histograms:
            log.log_parameters(step, self._parameters(None))
        tagged = _takes_tag(log)
        for k in members:
            r, label = results[k], self.labels[k]
            if r is None:
                continue
            log.log_scalars(step, {f"orderedness/{label}/value": r.value,
                                   f"orderedness/{label}/lower": r.lower,
                                   f"orderedness/{label}/upper": r.upper})
            if view is not None and tagged:
                log.log_ordering(step, view.weights[k], r.permutation,  # type: ignore[call-arg]
                                 tag=f"weight/ordered/{label}")

    def _parameters(self, member: int | None) -> dict[str, Tensor]:
        """The target's parameters as used (member ``member``'s slice of a batched target)."""
        if isinstance(self.target, Tensor):
            params = {"weight": self.target.detach()}
            batched = self.target.dim() == 3
        elif isinstance(self.target, nn.Module):
            params = _module_parameters(self.target)
            batched = _complete(self.target) and params["weight"].dim() == 3
        else:  # an MLP given as a list of modules
            params = {f"{i}.{n}": t for i, m in enumerate(self.target)  # type: ignore[arg-type]
                      for n, t in _module_parameters(m).items()}
            batched = False
        if member is None or not batched:
            return params
        return {name: t[member] for name, t in params.items()}


def _module_parameters(module: nn.Module) -> dict[str, Tensor]:
    out = {}
    for full, _ in module.named_parameters():
        prefix, _, attr = full.rpartition(".")
        owner = module.get_submodule(prefix) if prefix else module
        if attr.endswith("_orig") and hasattr(owner, attr[: -len("_orig")] + "_mask"):
            attr = attr[: -len("_orig")]
            full = f"{prefix}.{attr}" if prefix else attr
        out[full] = weight_in_use(owner, attr).detach()
    return out
