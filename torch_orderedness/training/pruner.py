r"""Pruning inside a training loop: the paper's in-place pruner and the progress scheduler.

Modelled on :mod:`torch.ao.pruning`, where a sparsifier and a scheduler are
separate objects that each checkpoint with ``state_dict()``:

- :class:`InPlacePruner` (the sparsifier): applies one scheme to one
  parameter in place, the paper's way, at every :meth:`~InPlacePruner.step`;
  its state is Random's mask and the number of steps applied;
- :class:`PruningScheduler` (the scheduler): feeds the training progress ``x``
  to one or several pruners, one :meth:`~PruningScheduler.step` per optimiser
  step; its state is its position in the schedule.

A plain PyTorch loop needs one line after ``optimizer.step()``::

    >>> from torch_orderedness import CompletePerceptron, DynamicTopK
    >>> layer = CompletePerceptron(2, 5, 1)
    >>> pruner = InPlacePruner(layer, "weight", DynamicTopK, k=0.5)
    >>> scheduler = PruningScheduler(pruner, total_steps=40, steps_per_epoch=4)
    >>> for _ in range(40):
    ...     # loss.backward(); optimizer.step()
    ...     masks = scheduler.step()          # x = epoch / epochs, the paper's progress
    >>> scheduler.last_step, round(float((layer.weight != 0).float().mean()), 2)
    (40, 0.52)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils import prune

from torch_orderedness import _checks
from torch_orderedness._weights import is_reparametrized
from torch_orderedness.pruning import PRUNING_SCHEMES, RandomPrune
from torch_orderedness.pruning._base import _check_finite

__all__ = ["InPlacePruner", "PruningScheduler", "PROGRESS", "progress_values"]

#: The built-in definitions of training progress (a callable is accepted too): ``"epoch"``
#: (the paper's ``epoch / epochs``), ``"step"`` (``(k - 1) / steps`` at step ``k``) and
#: ``"done"`` (``k / steps``: the share done after the step, so the last step applies the
#: dynamic schemes' final target).
PROGRESS: tuple[str, ...] = ("epoch", "step", "done")

_SCHEME_CLASSES = tuple(PRUNING_SCHEMES.values())


def _in_place_parameter(module: nn.Module, name: str) -> nn.Parameter:
    """``module.<name>`` if it is a plain parameter that in-place pruning can change."""
    if hasattr(module, name + "_orig"):
        raise ValueError(
            f"{type(module).__name__}.{name} is reparametrised by torch's pruning, so pruning "
            f"it in place would be undone by the mask's hook; call prune.remove(module, "
            f"{name!r}) first or use torch's way only"
        )
    param = getattr(module, name, None)
    if not isinstance(param, nn.Parameter):
        raise AttributeError(f"{type(module).__name__} has no parameter named {name!r}")
    return param


def check_scheme_class(method: object) -> type[prune.BasePruningMethod]:
    """``method`` if it is one of the five scheme classes (or a subclass), else ``TypeError``."""
    if not (isinstance(method, type) and issubclass(method, _SCHEME_CLASSES)):
        names = ", ".join(s.__name__ for s in _SCHEME_CLASSES)
        raise TypeError(
            f"method must be one of the classes {names} (or a subclass); got {method!r}")
    return method


class InPlacePruner:
    r"""Apply a scheme to a parameter in place, the paper's way, once per call to :meth:`step`.

    The paper applies its scheme to the weight itself after every optimiser
    step: damping compounds step after step, and a pruned weight can grow
    back through later gradient steps until it is pruned again.  This differs
    from torch's reparametrisation, where a fixed mask multiplies the weight in
    every forward pass and masked entries receive no effective update.

    Args:
        module: the module holding the parameter.
        name: the parameter's name (e.g. ``"weight"``); it must not be
            reparametrised by torch's pruning (call ``prune.remove`` first).
        method: one of :class:`~torch_orderedness.RandomPrune`,
            :class:`~torch_orderedness.TopK`, :class:`~torch_orderedness.DynamicTopK`,
            :class:`~torch_orderedness.TrilDamp`,
            :class:`~torch_orderedness.DynamicTrilDamp` (the class, not an instance).
        **params: the scheme's parameters (``p``, ``k`` or ``f`` or torch's
            ``amount``, and ``schedule``, ``generator``, ``batch_dims`` where
            they apply); ``progress`` is given to each :meth:`step` instead.

    Random's mask is drawn at the first step (or set by :meth:`load_state_dict`)
    and re-applied unchanged at every later one.  Dynamic schemes need
    ``progress`` at every step (a :class:`PruningScheduler` gives it).

    **Checkpoints**: :meth:`state_dict` holds Random's mask and the number of
    steps applied; save it beside the model's and the optimiser's, and
    :meth:`load_state_dict` it into a new pruner to resume the same run.

    Example::

        >>> from torch_orderedness import DynamicTopK
        >>> layer = nn.Linear(4, 4, bias=False)
        >>> pruner = InPlacePruner(layer, "weight", DynamicTopK, k=0.5)
        >>> mask = pruner.step(progress=1.0)  # after optimiser.step()
        >>> int((layer.weight != 0).sum()), pruner.steps
        (8, 1)
    """

    def __init__(
        self, module: nn.Module, name: str, method: type[prune.BasePruningMethod], **params: Any
    ) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        method = check_scheme_class(method)
        param = _in_place_parameter(module, name)
        if "progress" in params:
            raise TypeError("pass progress to step(), not to InPlacePruner")
        self.dynamic = bool(method.DYNAMIC)  # type: ignore[attr-defined]
        probe = method(**params, **({"progress": 0.0} if self.dynamic else {}))
        probe._check_tensor(param.detach())
        self.module = module
        self.name = name
        self.method = method
        self.params = params
        self.mask: Tensor | None = None  # Random's fixed mask
        self.steps = 0

    @property
    def parameter(self) -> nn.Parameter:
        """The parameter being pruned (checked: still a plain, unreparametrised parameter)."""
        return _in_place_parameter(self.module, self.name)

    def method_at(self, progress: float | None = None) -> prune.BasePruningMethod:
        """The scheme instance used at ``progress``."""
        if self.dynamic:
            if progress is None:
                raise ValueError(f"{self.method.__name__} needs progress in [0, 1] at every step")
            return self.method(**self.params, progress=progress)
        if progress is not None:
            _checks.fraction("progress", progress)
        return self.method(**self.params)

    @torch.no_grad()
    def step(self, progress: float | None = None) -> Tensor:
        """Apply the scheme to the parameter in place and return the mask it used."""
        weight = self.parameter
        method = self.method_at(progress)
        if isinstance(method, RandomPrune) and self.mask is not None:
            _check_finite(weight)
            mask = self.mask
        else:  # compute_mask checks the weight (finite, its shape for the scheme)
            mask = method.compute_mask(weight.detach(), torch.ones_like(weight))
            if isinstance(method, RandomPrune):
                self.mask = mask
        weight.mul_(mask)
        self.steps += 1
        return mask

    def state_dict(self) -> dict[str, Any]:
        """``{"mask": Random's mask or None, "steps": steps applied}`` (tensors, not copies)."""
        return {"mask": self.mask, "steps": self.steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s ``mask`` (moved to the parameter's device) and ``steps``.

        Raises:
            KeyError: a key is missing.
            ValueError: a mask for a scheme other than Random, or of the wrong shape.
            TypeError: a mask that is not a tensor, or steps that are not an int.
        """
        mask, steps = state["mask"], _checks.count("steps", state["steps"], 0)
        if mask is not None:
            if not isinstance(mask, Tensor):
                raise TypeError(f"mask must be a tensor or None, got {type(mask).__name__}")
            weight = self.parameter
            if not issubclass(self.method, RandomPrune):
                raise ValueError(f"{self.method.__name__} keeps no mask between steps")
            if mask.shape != weight.shape:
                raise ValueError(
                    f"mask has shape {tuple(mask.shape)}, the parameter {tuple(weight.shape)}"
                )
            mask = mask.to(device=weight.device, dtype=weight.dtype)
        self.mask, self.steps = mask, steps

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"InPlacePruner({type(self.module).__name__}.{self.name}, {self.method.__name__}" \
               f"({args}), steps={self.steps})"


def progress_values(progress: object, total_steps: int, steps_per_epoch: int | None = None
                    ) -> tuple[np.ndarray, str]:
    """The progress ``x`` fed to the dynamic schemes at each step, and its name.

    Args:
        progress: ``"epoch"`` (the paper's ``epoch / epochs``, constant within
            an epoch; needs ``steps_per_epoch`` dividing ``total_steps``),
            ``"step"`` (``step_index / total_steps``), ``"done"``
            (``(step_index + 1) / total_steps``: the last step reaches 1) or a callable
            ``f(step_index, total_steps) -> float`` in ``[0, 1]`` (0-based index).
        total_steps: the run's optimiser steps.
        steps_per_epoch: batches per epoch (for ``"epoch"``).

    Returns:
        ``(values (total_steps,), name)``.

    Raises:
        ValueError, TypeError: an unknown ``progress``, an epoch count that is
            not whole, or a callable returning something outside ``[0, 1]``.
    """
    index = np.arange(total_steps)
    if isinstance(progress, str):
        _checks.choice("progress", progress, PROGRESS)
        if progress == "step":
            return index / total_steps, "step"
        if progress == "done":
            return (index + 1) / total_steps, "done"
        if steps_per_epoch is None or total_steps % steps_per_epoch:
            raise ValueError(
                f"progress='epoch' (epoch / epochs) needs whole epochs, but {total_steps} steps "
                f"are not a multiple of the {steps_per_epoch} batches per epoch; give "
                "epochs=... or use progress='step'"
            )
        return (index // steps_per_epoch) / (total_steps // steps_per_epoch), "epoch"
    if callable(progress):
        values = np.array([_progress_at(progress, i, total_steps) for i in range(total_steps)])
        return values, getattr(progress, "__name__", "callable")
    raise ValueError(f"progress must be one of {PROGRESS} or a callable, got {progress!r}")


def _progress_at(progress: Callable[[int, int], object], i: int, steps: int) -> float:
    x = progress(i, steps)
    try:
        return _checks.fraction(f"progress({i}, {steps})", x)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{e} (the value the progress callable returned)") from None


class PruningScheduler:
    r"""Feeds the training progress to pruners, one :meth:`step` per optimiser step.

    Args:
        pruners: an object with ``step(progress) -> mask`` (an
            :class:`InPlacePruner`) or a sequence of them, applied in order.
        total_steps: optimiser steps of the whole run.
        steps_per_epoch: batches per epoch; needed by ``progress="epoch"``.
        progress: ``"epoch"`` (default when ``steps_per_epoch`` is given: the
            paper's ``x = epoch / epochs``), ``"step"`` (``x = step / total_steps``,
            the default otherwise) or ``f(step_index, total_steps) -> float``.

    Attributes:
        last_step: the steps done so far (0 before the first).

    The progress of step ``k`` (0-based) is that of the batch it follows, so
    on the paper's XOR (one batch per epoch) both definitions agree.  A step
    past ``total_steps`` keeps the last progress.  :meth:`state_dict` holds the
    position (``last_step``); restore it with :meth:`load_state_dict` to resume.

    Example::

        >>> from torch_orderedness import TrilDamp
        >>> w = nn.Linear(3, 3, bias=False)
        >>> s = PruningScheduler(InPlacePruner(w, "weight", TrilDamp, f=0.5), total_steps=2)
        >>> _ = s.step(); _ = s.step(); s.state_dict()
        {'last_step': 2}
    """

    def __init__(self, pruners: Any, total_steps: int, *, steps_per_epoch: int | None = None,
                 progress: str | Callable[[int, int], float] | None = None) -> None:
        self.pruners = list(pruners) if isinstance(pruners, Sequence) else [pruners]
        if not self.pruners or not all(callable(getattr(p, "step", None)) for p in self.pruners):
            raise TypeError("pruners must be an InPlacePruner (anything with step(progress)) "
                            "or a non-empty list of them")
        self.total_steps = _checks.count("total_steps", total_steps, 1)
        if steps_per_epoch is not None:
            steps_per_epoch = _checks.count("steps_per_epoch", steps_per_epoch, 1)
        if progress is None:
            progress = "step" if steps_per_epoch is None else "epoch"
        self.values, self.progress_name = progress_values(progress, self.total_steps,
                                                          steps_per_epoch)
        self.last_step = 0

    @property
    def progress(self) -> float:
        """The progress ``x`` the next :meth:`step` applies."""
        return float(self.values[min(self.last_step, self.total_steps - 1)])

    def step(self) -> list[Tensor]:
        """Apply every pruner at the current progress, then advance; returns their masks."""
        x = self.progress
        masks = [p.step(x) for p in self.pruners]
        self.last_step += 1
        return masks

    def state_dict(self) -> dict[str, int]:
        """``{"last_step": steps done}``."""
        return {"last_step": self.last_step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the position saved by :meth:`state_dict`."""
        self.last_step = _checks.count("last_step", state["last_step"], 0)


def reparametrized_names(model: nn.Module) -> set[str]:
    """Names ``<name>`` of the parameters torch's pruning reparametrised in ``model``."""
    out = set()
    for full, _ in model.named_parameters():
        if full.endswith("_orig"):
            prefix, _, attr = full[: -len("_orig")].rpartition(".")
            module = model.get_submodule(prefix) if prefix else model
            if is_reparametrized(module, attr):
                out.add(full[: -len("_orig")])
    return out
