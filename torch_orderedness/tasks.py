r"""The paper's two tasks (Sec. 4, Appendix C): XOR and Sine, with their training defaults.

=======  ======================================  =====================  ==========================
task     inputs ``(n, I)``                       targets ``(n, O)``     defaults
=======  ======================================  =====================  ==========================
XOR      the 4 rows of ``{0, 1}^2``              ``x1 XOR x2``          H=5, T=3, batch 4,
                                                                        1000 epochs of 1 batch
Sine     ``arange(0, 3, 0.01)`` as 150 rows of   ``(sin x1 + sin x2)    H=8, T=3, batch 10,
         two numbers (row ``r`` holds            / 2``                  40 epochs of 15 shuffled
         ``0.02 r`` and ``0.02 r + 0.01``)                              batches (600 steps)
=======  ======================================  =====================  ==========================

The paper's text gives ``H = 10`` for Sine; its Table 1 numbers come from
``H = 8`` (see the project's paper notes), which is the default here:
``sine(hidden=10)`` gives the text's setting.

A :class:`Task` bundles the data with its batch size, shuffling, number of
epochs and the complete layer's size, so the paper's settings are one call::

    >>> task = xor()
    >>> task.inputs.shape, task.targets.shape, task.steps
    (torch.Size([4, 2]), torch.Size([4, 1]), 1000)
    >>> layer = task.model(generator=torch.Generator().manual_seed(0))
    >>> layer.hidden_features, layer.iterations
    (5, 3)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from torch_orderedness import _checks
from torch_orderedness.complete import CompletePerceptron

__all__ = ["Task", "TASKS", "xor", "sine", "get_task", "xor_data", "sine_data"]


def _factory(dtype: torch.dtype | None, device: torch.device | str | None) -> dict[str, Any]:
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return {"dtype": dtype, "device": device}


def xor_data(
    *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """The XOR task: inputs ``(4, 2)``, the rows of ``{0, 1}^2``; targets ``(4, 1)``.

    Example::

        >>> x, y = xor_data()
        >>> torch.cat([x, y], dim=1).tolist()
        [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    """
    kw = _factory(dtype, device)
    inputs = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], **kw)
    targets = torch.tensor([[0], [1], [1], [0]], **kw)
    return inputs, targets


def sine_data(
    *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """The Sine task: ``arange(0, 3, 0.01)`` as ``(150, 2)`` inputs, targets ``(150, 1)``.

    Row ``r`` holds ``x1 = 0.02 r`` and ``x2 = 0.02 r + 0.01`` (the 300 values
    reshaped row by row); the target is ``(sin x1 + sin x2) / 2``.  Values are
    computed in float64 (``r / 100`` exactly rounded) and then cast to ``dtype``.

    Example::

        >>> x, y = sine_data()
        >>> x.shape, y.shape, x[1].tolist()
        (torch.Size([150, 2]), torch.Size([150, 1]), [0.019999999552965164, 0.029999999329447746])
    """
    kw = _factory(dtype, device)
    values = torch.arange(300, dtype=torch.float64) / 100.0
    inputs = values.reshape(150, 2)
    targets = (inputs.sin().sum(dim=1, keepdim=True)) / 2.0
    return inputs.to(**kw), targets.to(**kw)


@dataclass(frozen=True, eq=False)
class Task:
    """A supervised task with the paper's training defaults.

    Attributes:
        name: short name (``"xor"``, ``"sine"`` or your own).
        inputs: ``(n, I)`` input rows.
        targets: ``(n, O)`` target rows.
        batch_size: rows per batch (the last batch of an epoch may be smaller).
        shuffle: draw a new order of the rows every epoch.
        epochs: default number of epochs.
        hidden: default number of hidden neurons ``H`` of the complete layer.
        iterations: default number of iterations ``T``.

    Example::

        >>> t = sine()
        >>> t.batches_per_epoch, t.epochs, t.steps
        (15, 40, 600)
    """

    name: str
    inputs: Tensor
    targets: Tensor
    batch_size: int
    shuffle: bool
    epochs: int
    hidden: int
    iterations: int

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, Tensor) or not isinstance(self.targets, Tensor):
            raise TypeError("inputs and targets must be torch.Tensors")
        if self.inputs.dim() != 2 or self.targets.dim() != 2:
            raise ValueError(
                f"inputs must be (n, I) and targets (n, O); got shapes {tuple(self.inputs.shape)} "
                f"and {tuple(self.targets.shape)}"
            )
        if self.inputs.shape[0] != self.targets.shape[0] or self.inputs.shape[0] == 0:
            raise ValueError(
                f"inputs and targets must have the same number n >= 1 of rows; got "
                f"{self.inputs.shape[0]} and {self.targets.shape[0]}"
            )
        for name, minimum in (("batch_size", 1), ("epochs", 1), ("hidden", 0),
                              ("iterations", 1)):
            object.__setattr__(self, name, _checks.count(name, getattr(self, name), minimum))
        object.__setattr__(self, "shuffle", _checks.flag("shuffle", self.shuffle))

    @property
    def in_features(self) -> int:
        """``I``, the width of the inputs."""
        return int(self.inputs.shape[1])

    @property
    def out_features(self) -> int:
        """``O``, the width of the targets."""
        return int(self.targets.shape[1])

    @property
    def batches_per_epoch(self) -> int:
        """``ceil(n / batch_size)``."""
        return math.ceil(self.inputs.shape[0] / self.batch_size)

    @property
    def steps(self) -> int:
        """Default number of optimiser steps, ``epochs * batches_per_epoch``."""
        return self.epochs * self.batches_per_epoch

    def replace(self, **changes: Any) -> Task:
        """A copy with some fields changed, e.g. ``xor().replace(hidden=7)``."""
        return dataclasses.replace(self, **changes)

    def model(
        self,
        *,
        hidden: int | None = None,
        iterations: int | None = None,
        weight_init: str | Callable[[Tensor], object] = "normal",
        state_init: str | Callable[[Tensor], object] = "normal",
        bias: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> CompletePerceptron:
        """A complete layer for this task (default size: :attr:`hidden`, :attr:`iterations`).

        Defaults are the paper's: no bias, sigmoid, weights and initial state
        N(0, 1).  ``weight_init="uniform"`` is Table 1's "Random Uniform" row,
        ``state_init="zeros"`` its "Zeros" row.
        """
        return CompletePerceptron(
            self.in_features,
            self.hidden if hidden is None else hidden,
            self.out_features,
            iterations=self.iterations if iterations is None else iterations,
            bias=bias,
            weight_init=weight_init,  # type: ignore[arg-type]
            state_init=state_init,  # type: ignore[arg-type]
            generator=generator,
            dtype=dtype,
            device=device,
        )

    def model_factory(self, **options: Any) -> Callable[..., CompletePerceptron]:
        """A factory ``f(generator=g) -> CompletePerceptron`` for the training functions.

        ``options`` are those of :meth:`model` (except ``generator``); they are
        checked now, by building one layer.

        Example::

            >>> make = xor().model_factory(hidden=3, state_init="zeros")
            >>> make(generator=torch.Generator().manual_seed(1)).hidden_features
            3
        """
        if "generator" in options:
            raise TypeError("model_factory() takes no generator: the training functions pass one")
        with torch.random.fork_rng(devices=[]):  # validate now, leaving the global RNG as it was
            self.model(**options)

        def factory(generator: torch.Generator | None = None) -> CompletePerceptron:
            return self.model(generator=generator, **options)

        factory.__qualname__ = f"{self.name}.model_factory"
        return factory

    def __repr__(self) -> str:
        return (
            f"Task(name={self.name!r}, n={self.inputs.shape[0]}, in_features={self.in_features}, "
            f"out_features={self.out_features}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, epochs={self.epochs}, hidden={self.hidden}, "
            f"iterations={self.iterations})"
        )


def xor(
    *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> Task:
    """The paper's XOR setting: O=1, H=5, I=2, T=3, batch 4, 1000 epochs of one batch.

    The inputs are the 4 rows of ``{0, 1}^2`` and the targets ``x1 XOR x2``
    (:func:`xor_data`), in one unshuffled batch per epoch, so the 1000 epochs
    are the paper's 1000 optimiser steps.  :meth:`Task.model` builds the
    paper's layer, ``CompletePerceptron(2, 5, 1, iterations=3)`` with no
    bias and N(0, 1) weights and initial state.

    Args:
        dtype: floating-point dtype of the data (default: torch's default dtype).
        device: device of the data (default: the CPU).

    Returns:
        A :class:`Task` named ``"xor"``.

    Raises:
        TypeError: ``dtype`` is not a floating-point ``torch.dtype``.

    Example::

        >>> task = xor()
        >>> task.name, task.batch_size, task.shuffle, task.epochs, task.steps
        ('xor', 4, False, 1000, 1000)
        >>> task.in_features, task.hidden, task.out_features, task.iterations
        (2, 5, 1, 3)
        >>> xor(dtype=torch.float64).inputs.dtype
        torch.float64
    """
    inputs, targets = xor_data(dtype=dtype, device=device)
    return Task("xor", inputs, targets, batch_size=4, shuffle=False, epochs=1000, hidden=5,
                iterations=3)


def sine(
    hidden: int = 8, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> Task:
    """The paper's Sine setting: H=8 (Table 1; the text says 10), T=3, batch 10, 40 epochs.

    The inputs are ``arange(0, 3, 0.01)`` as 150 rows of two numbers, the
    targets ``(sin x1 + sin x2) / 2`` (:func:`sine_data`); O=1, I=2.  The 150
    rows come in shuffled batches of 10: 15 batches per epoch, 600 steps.

    Args:
        hidden: number of hidden neurons ``H`` of the task's layer (default 8,
            which reproduces Table 1; 10 is the paper's text).
        dtype: floating-point dtype of the data (default: torch's default dtype).
        device: device of the data (default: the CPU).

    Returns:
        A :class:`Task` named ``"sine"``.

    Raises:
        TypeError: ``dtype`` is not a floating-point ``torch.dtype``, or
            ``hidden`` is not an int.
        ValueError: ``hidden < 0``.

    Example::

        >>> task = sine()
        >>> task.name, task.hidden, task.batch_size, task.shuffle, task.batches_per_epoch
        ('sine', 8, 10, True, 15)
        >>> task.epochs, task.steps, sine(hidden=10).hidden
        (40, 600, 10)
    """
    inputs, targets = sine_data(dtype=dtype, device=device)
    return Task("sine", inputs, targets, batch_size=10, shuffle=True, epochs=40, hidden=hidden,
                iterations=3)


#: The paper's tasks by name: ``TASKS["xor"]()``, ``TASKS["sine"]()``.
TASKS: dict[str, Callable[..., Task]] = {"xor": xor, "sine": sine}


def get_task(name: str, **changes: Any) -> Task:
    """The task called ``name`` (``"xor"`` or ``"sine"``), with ``changes`` to its fields.

    ``get_task(name, **changes)`` is ``TASKS[name]().replace(**changes)``
    (see :data:`TASKS`, :meth:`Task.replace`); the changed task is checked
    like any :class:`Task`.

    Args:
        name: ``"xor"`` or ``"sine"``.
        **changes: new values of :class:`Task` fields, e.g. ``hidden=10``,
            ``epochs=5``, ``batch_size=30``, ``shuffle=False``.

    Returns:
        A :class:`Task`.

    Raises:
        ValueError: an unknown ``name``, or a field value out of range.
        TypeError: an unknown field, or a field value of the wrong type.

    Example::

        >>> get_task("sine", hidden=10).hidden
        10
        >>> task = get_task("xor", epochs=10)
        >>> task.name, task.steps
        ('xor', 10)
    """
    if name not in TASKS:
        raise ValueError(f"name must be one of {tuple(TASKS)}, got {name!r}")
    task = TASKS[name]()
    return task.replace(**changes) if changes else task
