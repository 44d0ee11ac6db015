r"""TensorBoard and tqdm glue for the training loop.

Training talks to a logger through the small :class:`TrainingLogger`
interface (five methods); :class:`TensorBoardLogger` implements it with
:class:`torch.utils.tensorboard.SummaryWriter`:

==========================  ==============================================================
what                        TensorBoard
==========================  ==============================================================
loss, sparsity, mask mean,  scalars ``loss``, ``sparsity/<param>``, ``mask_mean/<param>``,
progress                    ``progress``
orderedness                 scalars ``orderedness/value``, ``orderedness/lower``,
                            ``orderedness/upper``
parameters                  histograms ``params/<name>``
the ordered weight          image ``weight/ordered``: ``|W[:, :N]|`` with rows and columns
                            in the order :func:`~torch_orderedness.metric.ordering`
                            found, divided by its largest entry (see :func:`weight_image`)
hyperparameters             ``add_hparams`` (in the same directory), metrics ``hparam/...``
==========================  ==============================================================

Open the logs with::

    tensorboard --logdir runs

Progress bars: :func:`progress_bar` returns a :mod:`tqdm` bar, or a silent
stand-in when bars are off.  ``enabled=None`` means "auto": on only when
standard error is a terminal, so tests and logs stay clean.

Example::

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with TensorBoardLogger(d) as log:
    ...         log.log_scalars(1, {"loss": 0.25})
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from torch_orderedness import _checks

__all__ = [
    "TrainingLogger",
    "TensorBoardLogger",
    "weight_image",
    "progress_bar",
    "use_progress_bar",
]


@runtime_checkable
class TrainingLogger(Protocol):
    """What the training loop calls; implement it to log elsewhere.

    Steps are optimiser steps: ``0`` is the state before training, ``k`` the
    state after ``k`` steps.  A run of :func:`~torch_orderedness.training.train`
    (``logger=...``) calls, in this order:

    - at step 0, at every orderedness measurement (every
      ``orderedness_every`` steps) and at the end: :meth:`log_parameters`;
      then, where the orderedness was measured and is defined,
      :meth:`log_scalars` with ``orderedness/value``, ``orderedness/lower``
      and ``orderedness/upper`` and, for a complete layer,
      :meth:`log_ordering` with its weight ``(N, N+I)`` and the order found;
    - every ``log_every`` steps (and at the last): :meth:`log_scalars` with
      ``loss``, ``progress``, ``sparsity/<param>`` and ``mask_mean/<param>``;
    - once at the end: :meth:`log_hparams` with the run's hyperparameters
      and the metrics ``hparam/final_loss``, ``hparam/start_orderedness``,
      ``hparam/end_orderedness``, ``hparam/orderedness_change`` and
      ``hparam/sparsity/<param>``.

    Training never calls :meth:`close` on a logger it was given.  The protocol
    is ``runtime_checkable``: any object with the five methods is accepted.

    Example::

        >>> class ListLogger:
        ...     def __init__(self):
        ...         self.calls = []
        ...     def log_scalars(self, step, values):
        ...         self.calls.append(("scalars", step))
        ...     def log_parameters(self, step, params):
        ...         self.calls.append(("parameters", step))
        ...     def log_ordering(self, step, weight, permutation):
        ...         self.calls.append(("ordering", step))
        ...     def log_hparams(self, hparams, metrics):
        ...         self.calls.append(("hparams", None))
        ...     def close(self):
        ...         pass
        >>> log = ListLogger()
        >>> isinstance(log, TrainingLogger)
        True
        >>> from torch_orderedness import PruneSpec, train, xor
        >>> _ = train(None, xor(), steps=2, pruning=PruneSpec("topk", k=0.5), logger=log)
        >>> log.calls  # doctest: +NORMALIZE_WHITESPACE
        [('parameters', 0), ('scalars', 0), ('ordering', 0), ('scalars', 1), ('scalars', 2),
         ('parameters', 2), ('scalars', 2), ('ordering', 2), ('hparams', None)]
    """

    def log_scalars(self, step: int, values: Mapping[str, float]) -> None:
        """Record scalar values (``tag -> value``) at ``step``."""

    def log_parameters(self, step: int, params: Mapping[str, Tensor]) -> None:
        """Record the parameters (``name -> tensor``) at ``step``."""

    def log_ordering(self, step: int, weight: Tensor, permutation: tuple[int, ...]) -> None:
        """Record the weight ``(N, N+I)`` in the neuron order ``permutation`` at ``step``."""

    def log_hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """Record the run's hyperparameters and final metrics."""

    def close(self) -> None:
        """Flush and release resources."""


def weight_image(weight: Tensor, permutation: tuple[int, ...] | list[int]) -> Tensor:
    """The ordered weight as a ``(1, N, N)`` image in ``[0, 1]``.

    ``|W[:, :N]|`` (input columns dropped) with rows and columns permuted by
    ``permutation`` (entry ``[i, j]`` of the image is ``|W[p[i], p[j]]|``),
    divided by its largest entry.  A nearly ordered weight shows as a nearly
    upper-triangular image.  An all-zero square part gives an all-zero image.

    Example::

        >>> w = torch.tensor([[0.0, 2.0, 0.0, 9.0], [1.0, 0.0, 0.0, 9.0]])
        >>> weight_image(w, (1, 0))
        tensor([[[0.0000, 0.5000],
                 [1.0000, 0.0000]]])
    """
    if not isinstance(weight, Tensor) or weight.dim() != 2:
        got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a 2-D tensor (N, N + I), got {got}")
    n = weight.shape[0]
    if weight.shape[1] < n:
        raise ValueError(
            f"weight must have at least as many columns as rows, got {tuple(weight.shape)}"
        )
    perm = [int(i) for i in permutation]
    if sorted(perm) != list(range(n)):
        raise ValueError(f"permutation must be a permutation of range({n}), got {permutation}")
    index = torch.tensor(perm, device=weight.device)
    square = weight.detach()[:, :n].abs().to(torch.float32)
    image = square[index][:, index]
    top = image.max()
    if top > 0:
        image = image / top
    return image.unsqueeze(0).cpu()


def _scalar(value: Any) -> Any:
    """A value ``add_hparams`` accepts: int, float, str, bool (others become their ``str``)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    return str(value)


class TensorBoardLogger:
    """A :class:`TrainingLogger` writing TensorBoard event files to ``log_dir``.

    Wraps a :class:`torch.utils.tensorboard.SummaryWriter` (needs the
    ``tensorboard`` package): scalars by their tags, parameters as histograms
    ``params/<name>``, the ordered weight as the image ``weight/ordered``
    (:func:`weight_image`) and the hyperparameters by ``add_hparams`` in the
    same directory (see the module docstring).  :func:`~torch_orderedness.train`
    creates one itself for ``log_dir=...``; pass one as ``logger=...`` to
    keep it open across runs, or give the
    :class:`~torch_orderedness.OrderednessMonitor` your own ``SummaryWriter``.

    Args:
        log_dir: directory of the event files (created by ``SummaryWriter``).
        writer: instead of ``log_dir``, an existing ``SummaryWriter`` to write
            through; it stays yours (:meth:`close` only flushes it).
        flush_secs: seconds between automatic flushes to disk (default 30),
            as for ``SummaryWriter`` (with ``log_dir`` only).

    Attributes:
        log_dir: the directory, a :class:`pathlib.Path`.
        writer: the ``SummaryWriter``.

    Usable as a context manager; :meth:`close` flushes the files.
    :meth:`remove_own_files` deletes the event files this logger created (a
    run that failed before its first step uses it), never other writers'.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with TensorBoardLogger(d) as log:
        ...         log.log_scalars(1, {"loss": 0.25})
        ...         log.log_ordering(1, torch.tensor([[0.0, 2.0, 5.0], [1.0, 0.0, 5.0]]), (1, 0))
        ...     files = [p.name.split(".")[0] for p in log.log_dir.iterdir()]
        >>> isinstance(log, TrainingLogger), files
        (True, ['events'])
    """

    def __init__(self, log_dir: str | os.PathLike[str] | None = None, *, writer: Any = None,
                 flush_secs: int = 30) -> None:
        if (log_dir is None) == (writer is None):
            raise TypeError("TensorBoardLogger needs log_dir or writer (one of them)")
        # a name ending no other writer uses marks this logger's own event files
        self._suffix = f".{uuid.uuid4().hex[:12]}"
        if writer is not None:
            self.writer, self._owns = writer, False
            self.log_dir = Path(writer.get_logdir())
            return
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)  # type: ignore[arg-type]
        self.writer, self._owns = SummaryWriter(log_dir=str(self.log_dir), flush_secs=flush_secs,
                                                filename_suffix=self._suffix), True

    def _own_files(self) -> list[Path]:
        """The event files this logger's writer created in :attr:`log_dir`."""
        if not self._owns or not self.log_dir.is_dir():
            return []
        return sorted(p for p in self.log_dir.iterdir()
                      if "tfevents" in p.name and p.name.endswith(self._suffix))

    def log_scalars(self, step: int, values: Mapping[str, float]) -> None:
        """``add_scalar(tag, value, step)`` for every ``tag -> value``."""
        for tag, value in values.items():
            self.writer.add_scalar(tag, float(value), global_step=step)

    def log_parameters(self, step: int, params: Mapping[str, Tensor]) -> None:
        """A histogram ``params/<name>`` of every parameter."""
        for name, tensor in params.items():
            self.writer.add_histogram(f"params/{name}", tensor.detach().cpu(), global_step=step)

    def log_ordering(self, step: int, weight: Tensor, permutation: tuple[int, ...], *,
                     tag: str = "weight/ordered") -> None:
        """The image ``tag``: :func:`weight_image` of ``weight`` in that order."""
        self.writer.add_image(tag, weight_image(weight, permutation), global_step=step,
                              dataformats="CHW")

    def log_hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """``add_hparams`` in this directory; values other than int, float, str, bool as text."""
        # run_name="." keeps the hparams summary in this run's directory (not a timestamped one)
        self.writer.add_hparams(
            {k: _scalar(v) for k, v in hparams.items()},
            {k: float(v) for k, v in metrics.items()},
            run_name=".",
        )

    def flush(self) -> None:
        """Write pending events to disk."""
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event files (a writer given as ``writer=`` is only flushed)."""
        if self._owns:
            self.writer.close()
        else:
            self.writer.flush()

    def remove_own_files(self) -> list[Path]:
        """Close, then delete the event files this logger created; returns them.

        Only the files of this logger's own writer are removed (their names end
        in a suffix unique to it); a writer given as ``writer=`` is left alone.
        """
        if not self._owns:
            return []
        self.close()
        mine = self._own_files()
        for path in mine:
            path.unlink(missing_ok=True)
        return mine

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def use_progress_bar(enabled: bool | None) -> bool:
    """Resolve ``enabled``: ``None`` (auto) means on only when ``sys.stderr`` is a terminal."""
    if enabled is None:
        stream = sys.stderr
        return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
    return _checks.flag("progress_bar", enabled)


class _NoBar:
    """Stands in for a tqdm bar when bars are off."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(total: int, *, enabled: bool | None = None, desc: str | None = None) -> Any:
    """A ``tqdm`` bar over ``total`` steps, or a silent stand-in (same methods) when off.

    Example::

        >>> bar = progress_bar(10, enabled=False)
        >>> bar.update(3); bar.set_postfix(loss=0.1); bar.close()
    """
    if not use_progress_bar(enabled):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, dynamic_ncols=True, leave=True)


def _format_postfix(values: Mapping[str, float]) -> dict[str, str]:
    return {k: f"{v:.4g}" for k, v in values.items() if v == v}  # skip NaN

