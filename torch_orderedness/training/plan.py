"""Everything :func:`~torch_orderedness.train` checks before it touches the model.

:func:`make_plan` checks the arguments that do not need the model (data,
length, schedule, specs, loss, optimiser, intervals, options);
:func:`check_model` those that do (parameter names, shapes, the scheme on
each parameter, a dry run of the model and the loss on the first batch), on
the model where it is, without changing it.  Only then is the model moved,
pruned or trained, and are log files written.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torch_orderedness import _checks
from torch_orderedness.training.data import LoaderData, TensorData, resolve_data
from torch_orderedness.training.modes import MODES
from torch_orderedness.training.monitor import check_ordering_options
from torch_orderedness.training.pruner import progress_values
from torch_orderedness.training.spec import PruneSpec

__all__ = ["LOSSES", "Plan", "make_plan", "check_model", "default_optimizer"]

#: Losses by name (a callable ``loss(prediction, target) -> scalar`` is accepted too).
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"mse": F.mse_loss}


def default_optimizer(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """Adam with lr 0.01 (the paper's); ``eps`` raised to the dtype's smallest normal number
    where Adam's 1e-8 would underflow to 0 (float16), which turns 0 / 0 into NaN."""
    params = list(params)
    dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
    return torch.optim.Adam(params, lr=0.01, eps=max(1e-8, torch.finfo(dtype).tiny))


@dataclass
class Plan:
    """A run's checked arguments (everything that does not depend on the model)."""

    data: TensorData | LoaderData
    steps: int
    epochs: int
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


def _length(data: TensorData | LoaderData, steps: object, epochs: object) -> tuple[int, int]:
    per_epoch = data.batches_per_epoch
    steps = None if steps is None else _checks.count("steps", steps, 1)
    epochs = None if epochs is None else _checks.count("epochs", epochs, 1)
    if steps is None and epochs is None:
        if data.task is None:
            raise ValueError("give steps or epochs (data without a Task has no default length)")
        epochs = data.task.epochs
    if steps is None:
        return epochs * per_epoch, epochs  # type: ignore[operator]
    if epochs is None:
        return steps, math.ceil(steps / per_epoch)
    if steps != epochs * per_epoch:
        raise ValueError(
            f"steps={steps} and epochs={epochs} disagree: {epochs} epochs of {per_epoch} "
            f"batches are {epochs * per_epoch} steps; give one of them"
        )
    return steps, epochs


def _specs(pruning: object) -> tuple[PruneSpec, ...]:
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
    return specs


def _loss(loss: object) -> tuple[str, Callable[[Tensor, Tensor], Tensor]]:
    if isinstance(loss, str):
        return _checks.choice("loss", loss, LOSSES), LOSSES[loss]
    if callable(loss):
        return getattr(loss, "__name__", type(loss).__name__), loss  # type: ignore[return-value]
    raise TypeError(f"loss must be one of {tuple(LOSSES)} or a callable, got {loss!r}")


def _optimizer(optimizer: object) -> Callable[..., torch.optim.Optimizer]:
    if optimizer is None:
        return default_optimizer
    if not callable(optimizer):
        raise TypeError(
            "optimizer must be a factory params -> Optimizer, e.g. "
            f"functools.partial(torch.optim.Adam, lr=0.01); got {optimizer!r}"
        )
    return optimizer  # type: ignore[return-value]


def make_plan(data: object, *, steps: object, epochs: object, batch_size: object,
              shuffle: object, loss: object, optimizer: object, pruning: object, mode: object,
              progress: object, update: object, orderedness_every: object,
              measure_orderedness: object, orderedness_options: object, log_every: object,
              stop_loss: object, hparams: object) -> Plan:
    """Check every argument of a run that does not depend on the model."""
    resolved = resolve_data(data, batch_size, shuffle)
    total, n_epochs = _length(resolved, steps, epochs)
    values, progress_name = progress_values(progress, total, resolved.batches_per_epoch)
    if hparams is not None and not isinstance(hparams, Mapping):
        raise TypeError(f"hparams must be a mapping or None, got {type(hparams).__name__}")
    loss_name, loss_fn = _loss(loss)
    return Plan(
        data=resolved, steps=total, epochs=n_epochs, progress=values,
        progress_name=progress_name, specs=_specs(pruning),
        mode=_checks.choice("mode", mode, MODES), loss_name=loss_name, loss_fn=loss_fn,
        optimizer=_optimizer(optimizer), update=_checks.flag("update", update),
        orderedness_every=None if orderedness_every is None else _checks.count(
            "orderedness_every", orderedness_every, 1),
        measure=_checks.flag("measure_orderedness", measure_orderedness),
        orderedness_options=check_ordering_options(orderedness_options, "orderedness_options"),
        log_every=_checks.count("log_every", log_every, 1),
        stop_loss=None if stop_loss is None else _checks.real("stop_loss", stop_loss,
                                                              positive=True),
        hparams=dict(hparams or {}),
    )


# --------------------------------------------------------------------------- model checks


def _check_widths(plan: Plan, model: nn.Module) -> None:
    if not isinstance(plan.data, TensorData):
        return
    in_w, out_w = plan.data.inputs.shape[1], plan.data.targets.shape[1]
    if hasattr(model, "in_features") and int(model.in_features) != in_w:
        raise ValueError(
            f"data inputs have width {in_w} but the model's in_features is {model.in_features}"
        )
    if hasattr(model, "out_features") and int(model.out_features) != out_w:
        raise ValueError(
            f"data targets have width {out_w} but the model's out_features is {model.out_features}"
        )


def check_specs(specs: Sequence[PruneSpec], model: nn.Module, members: int | None = None
                ) -> None:
    """Each spec names a plain parameter of ``model`` that its scheme can prune."""
    params = dict(model.named_parameters())
    for k, spec in enumerate(specs):
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
        weight = params[spec.name].detach()
        try:
            spec.method_at(0.0, batch_dims=0 if members is None else 1)._check_tensor(weight)
        except ValueError as e:
            raise ValueError(f"pruning[{k}] ({spec.label}): {e}") from None
        own = weight.shape if members is None else weight.shape[1:]
        if spec.mask is not None and spec.mask.shape != own:
            raise ValueError(f"pruning[{k}] ({spec.label}): the fixed mask has shape "
                             f"{tuple(spec.mask.shape)}, the parameter {tuple(own)}")


def model_dtype(model: nn.Module, fallback: torch.dtype | None = None
                ) -> tuple[torch.dtype, torch.device]:
    """The dtype and device of the model's first floating-point tensor (else the fallback,
    torch's default dtype, on the CPU): where its data must go."""
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            return t.dtype, t.device
    return fallback or torch.get_default_dtype(), torch.device("cpu")


def _dry_run(plan: Plan, model: nn.Module, members: int | None) -> None:
    """The model and the loss on the first batch, in eval mode and without gradients."""
    if not isinstance(plan.data, TensorData):
        return  # a loader's first batch is read by the first step (its order is the loader's)
    dtype, device = model_dtype(model, plan.data.inputs.dtype)
    x, y = plan.data.first_batch()
    x, y = x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)
    if members is not None:
        x, y = x.expand(members, *x.shape), y.expand(members, *y.shape)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()  # the dry run must not change running statistics (batch norm) or draw dropout
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            pred = _predict(model, x, x.shape[-1])
            _check_prediction(plan, pred, y, members)
    finally:
        for m, training in modes:
            m.training = training


def _predict(model: nn.Module, x: Tensor, width: int) -> Tensor:
    try:
        return model(x)
    except Exception as e:
        raise ValueError(f"the model cannot run on the data's inputs of width {width}: {e}") from e


def _check_prediction(plan: Plan, pred: object, y: Tensor, members: int | None) -> None:
    if not isinstance(pred, Tensor) or pred.shape != y.shape:
        raise ValueError(
            f"the model's output has shape {tuple(getattr(pred, 'shape', ()))} for a batch "
            f"whose targets have shape {tuple(y.shape)}: the data's width does not fit the model"
        )
    single = plan.loss_fn(pred if members is None else pred[0], y if members is None else y[0])
    if not isinstance(single, Tensor) or single.numel() != 1:
        raise ValueError(
            f"loss must return a scalar tensor, got {type(single).__name__} of shape "
            f"{tuple(getattr(single, 'shape', ()))}"
        )


def check_model(plan: Plan, model: object, members: int | None) -> None:
    """Every check that needs the model; changes nothing in it (nor torch's global RNG)."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be an nn.Module or a factory of one, got {type(model).__name__}"
        )
    _check_widths(plan, model)
    check_specs(plan.specs, model, members)
    _dry_run(plan, model, members)


def needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer.step`` has a required ``closure`` argument (e.g. LBFGS)."""
    try:
        param = inspect.signature(optimizer.step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is inspect.Parameter.empty


def make_optimizer(plan: Plan, model: nn.Module) -> torch.optim.Optimizer | None:
    """The run's optimiser over ``model``'s parameters (``None`` with ``update=False``)."""
    if not plan.update:
        return None
    optimizer = plan.optimizer(model.parameters())
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer factory must return a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if needs_closure(optimizer):
        raise TypeError(
            f"{type(optimizer).__name__}.step needs a closure, and training calls "
            "optimizer.step() after one backward pass; use an optimizer such as Adam or SGD"
        )
    return optimizer
