"""Training data: tensors, the paper's tasks and DataLoaders, as one batch stream per run.

:func:`resolve_data` turns the ``data`` argument of :func:`~torch_orderedness.train`
into a :class:`TensorData` (a task or ``(inputs, targets)``: batched and
shuffled here, per seed, from each seed's ``data`` generator) or a
:class:`LoaderData` (any re-iterable of ``(x, y)`` batches with a length, such
as a :class:`torch.utils.data.DataLoader`: iterated once per epoch, in the
order it serves).  Both give :meth:`batches`, the run's ``(x, y)`` in order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass

import torch
from torch import Tensor

from torch_orderedness import _checks
from torch_orderedness.tasks import Task, get_task
from torch_orderedness.training.seeds import SeedGenerators

__all__ = ["TensorData", "LoaderData", "resolve_data"]


def _check_tensor_pair(inputs: object, targets: object) -> tuple[Tensor, Tensor]:
    if not isinstance(inputs, Tensor) or not isinstance(targets, Tensor):
        raise TypeError("data must be a Task, a task name, a pair (inputs, targets) of tensors, "
                        "or an iterable of (x, y) batches such as a DataLoader")
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
    return inputs, targets


@dataclass
class TensorData:
    """All rows in memory, batched and (optionally) shuffled per seed and epoch."""

    inputs: Tensor
    targets: Tensor
    task: Task | None
    batch_size: int
    shuffle: bool

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.inputs.shape[0] / self.batch_size)

    @property
    def name(self) -> str:
        return self.task.name if self.task is not None else "custom"

    def to(self, device: torch.device, dtype: torch.dtype) -> TensorData:
        """A copy with the rows on ``device`` in ``dtype``."""
        return TensorData(self.inputs.to(device=device, dtype=dtype),
                          self.targets.to(device=device, dtype=dtype), self.task,
                          self.batch_size, self.shuffle)

    def first_batch(self) -> tuple[Tensor, Tensor]:
        rows = min(self.batch_size, self.inputs.shape[0])
        return self.inputs[:rows], self.targets[:rows]

    def batches(self, steps: int, gens: Sequence[SeedGenerators | None], members: int | None,
                device: torch.device | None = None, dtype: torch.dtype | None = None
                ) -> Iterator[tuple[Tensor, Tensor]]:
        """The run's batches: ``(batch, ...)`` or, with ``members``, ``(members, batch, ...)``
        (the rows are already on the model's device and dtype: see :meth:`to`).

        Each epoch starts with a new order per seed (``randperm`` from the
        seed's ``data`` generator) when shuffling; rows in order otherwise.
        """
        n, bs, per_epoch = self.inputs.shape[0], self.batch_size, self.batches_per_epoch
        device = self.inputs.device
        order: Tensor | None = None
        for i in range(steps):
            j = i % per_epoch
            if j == 0 and (self.shuffle or order is None):
                order = self._order(n, gens, device)
            index = order[:, j * bs: (j + 1) * bs]  # type: ignore[index]
            xb, yb = self.inputs[index], self.targets[index]
            yield (xb[0], yb[0]) if members is None else (xb, yb)

    def _order(self, n: int, gens: Sequence[SeedGenerators | None], device: torch.device
               ) -> Tensor:
        if not self.shuffle:
            return torch.arange(n, device=device).expand(len(gens), n)
        rows = [torch.randperm(n, generator=None if g is None else g.data) for g in gens]
        return torch.stack(rows).to(device)


@dataclass
class LoaderData:
    """A re-iterable of ``(x, y)`` batches with a length (a DataLoader), once per epoch."""

    loader: Iterable
    batches_per_epoch: int

    task = None
    shuffle = None

    @property
    def name(self) -> str:
        return type(self.loader).__name__

    @property
    def batch_size(self) -> int | None:
        return getattr(self.loader, "batch_size", None)

    def batches(self, steps: int, gens: Sequence[SeedGenerators | None], members: int | None,
                device: torch.device, dtype: torch.dtype) -> Iterator[tuple[Tensor, Tensor]]:
        """The loader's batches, epoch after epoch, moved to ``device`` (floats cast to
        ``dtype``); with ``members`` every member gets the same batch."""
        done = 0
        while done < steps:
            served = 0
            for batch in self.loader:
                x, y = (_move(t, device, dtype) for t in _pair(batch, done + 1))
                yield (x, y) if members is None else (_expand(x, members), _expand(y, members))
                served += 1
                done += 1
                if done == steps:
                    return
            if served == 0:
                raise ValueError("the data loader served no batch in an epoch")


def _pair(batch: object, step: int) -> tuple[Tensor, Tensor]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2 and all(
            isinstance(t, Tensor) for t in batch):
        return batch[0], batch[1]
    raise TypeError(f"batch {step} of the data loader is not a pair (x, y) of tensors, got "
                    f"{type(batch).__name__}")


def _move(t: Tensor, device: torch.device, dtype: torch.dtype) -> Tensor:
    return t.to(device=device, dtype=dtype) if t.is_floating_point() else t.to(device=device)


def _expand(t: Tensor, members: int) -> Tensor:
    return t.expand(members, *t.shape)


def resolve_data(data: object, batch_size: object, shuffle: object
                 ) -> TensorData | LoaderData:
    """Check ``data`` (with the batching options) and wrap it for the loop."""
    if isinstance(data, (str, Task)):
        task = get_task(data) if isinstance(data, str) else data
        return _tensor_data(task.inputs, task.targets, task, batch_size, shuffle)
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0],
                                                                              (tuple, list)):
        inputs, targets = _check_tensor_pair(*data)
        return _tensor_data(inputs, targets, None, batch_size, shuffle)
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, Tensor)):
        if batch_size is not None or shuffle is not None:
            raise ValueError("batch_size and shuffle are the data loader's own: give them to it")
        if not isinstance(data, Sized):
            raise TypeError("an iterable of batches must have a length (len(loader) batches per "
                            f"epoch); got {type(data).__name__}")
        return LoaderData(data, _checks.count("len(data)", len(data), 1))
    raise TypeError(
        "data must be a Task (tasks.xor(), tasks.sine()), a task name ('xor', 'sine'), a pair "
        "(inputs, targets) of tensors, or an iterable of (x, y) batches such as a DataLoader; "
        f"got {type(data).__name__}"
    )


def _tensor_data(inputs: Tensor, targets: Tensor, task: Task | None, batch_size: object,
                 shuffle: object) -> TensorData:
    if batch_size is None:
        batch_size = task.batch_size if task is not None else inputs.shape[0]
    if shuffle is None:
        shuffle = task.shuffle if task is not None else False
    return TensorData(inputs, targets, task, _checks.count("batch_size", batch_size, 1),
                      _checks.flag("shuffle", shuffle))
