"""What the five schemes share: argument checks, torch's calling context, counting rules.

- :class:`_Scheme`: the mixin every scheme derives from.  It carries the
  scheme's registry facts as class attributes (``SCHEME``, the short name;
  ``PARAMETER``, the paper's symbol; ``DYNAMIC``), resolves the paper's symbol
  against torch's ``amount``, and gives an ``apply`` that leaves the module
  exactly as it was when anything fails.
- :func:`_container_mask`: the whole default mask behind the flat vector that
  torch's ``PruningContainer`` hands a method (read from the calling frames).
- The counting rules: ``floor(k * n)`` for a typed fraction, the exact floor for
  a computed one, torch's ``round(amount * n)`` for ``amount``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn.utils import prune

from torch_orderedness import _checks

__all__ = ["sparsity"]


# --------------------------------------------------------------------------- checks


def _check_amount(amount: object) -> int | float:
    """torch's ``amount``: an int >= 0 (a number of entries) or a float in [0, 1] (a fraction)."""
    value = _checks.as_number(amount)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return _checks.count("amount", value, 0)
    return _checks.fraction("amount", value)


def _one_of(cls: type, symbol: str, value: object, amount: object) -> None:
    """Exactly one of the paper's symbol and torch's ``amount`` must be given."""
    if value is None and amount is None:
        raise TypeError(f"{cls.__name__} needs {symbol} (the paper's) or amount (torch's)")
    if value is not None and amount is not None:
        raise TypeError(
            f"{cls.__name__} takes {symbol} (the paper's) or amount (torch's), not both; got "
            f"{symbol}={value!r} and amount={amount!r}"
        )


def _check_importance_scores(scores: object, tensor: Tensor) -> None:
    if scores is None:
        return
    if not isinstance(scores, Tensor):
        raise TypeError(
            f"importance_scores must be a tensor like the parameter or None, got "
            f"{type(scores).__name__}"
        )
    if scores.shape != tensor.shape:
        raise ValueError(
            f"importance_scores must have the parameter's shape {tuple(tensor.shape)}, got "
            f"{tuple(scores.shape)}"
        )


def _check_finite(t: Tensor, what: str = "the weight") -> None:
    """NaN or inf entries are an error (meta tensors hold no values and pass)."""
    if t.device.type == "meta":
        return
    if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{what} has NaN or infinite entries; pruning needs finite values")


@contextlib.contextmanager
def _restored_on_error(module: nn.Module) -> Iterator[None]:
    """On an exception, put back the module's pruning hooks and its parameter/buffer order.

    torch's own ``apply`` drops an existing pruning hook before computing the
    mask and, on a first application, re-registers the parameter at the end of
    ``_parameters`` when the mask fails.
    """
    hooks = OrderedDict(module._forward_pre_hooks)
    params = list(module._parameters)
    buffers = list(module._buffers)
    try:
        yield
    except Exception:
        module._forward_pre_hooks.clear()
        module._forward_pre_hooks.update(hooks)
        for store, order in ((module._parameters, params), (module._buffers, buffers)):
            if set(store) == set(order):
                items = [(key, store[key]) for key in order]
                store.clear()
                store.update(items)
        raise


# --------------------------------------------------------------------------- counting


def _keep_count(k: float, n: int) -> int:
    """``floor(k * n)`` for a fraction given by the user, robust to its decimal rounding.

    ``0.29 * 100`` is ``28.999999999999996`` in floating point; a user who asks
    for ``k = 0.29`` of 100 entries means 29, so ``k * n`` is rounded to 9
    decimals before the floor.
    """
    return min(n, int(math.floor(round(k * n, 9))))


def _exact_keep_count(k: float, n: int) -> int:
    """``floor(k * n)`` with no rounding first: Dynamic Top-K's rule (paper and reference).

    ``k(x)`` is computed, not typed by a user, and the reference keeps exactly
    ``floor(k(x) * n)``: at XOR's epoch 1, ``k(x) * 48 = 48 - 1.46e-10`` keeps 47.
    """
    return min(n, int(math.floor(k * n)))


def _prune_count(amount: int | float, n: int) -> int:
    """torch's count of entries pruned: ``amount`` (an int <= ``n``) or ``round(amount n)``."""
    if isinstance(amount, int):
        if amount > n:
            raise ValueError(f"amount={amount} is more than the {n} entries there are to prune")
        return amount
    return round(amount * n)


# --------------------------------------------------------------------------- torch's context


def _calling_frames() -> tuple[Any, Any]:
    """The frames of torch's ``PruningContainer`` mask combination and ``global_unstructured``.

    Read-only: used by schemes that need more than the flat vector torch
    handed them (Tril-damp the positions, Dynamic Top-K the whole tensor's size).
    """
    combine = glob = None
    frame = inspect.currentframe()
    try:
        frame = frame.f_back if frame is not None else None
        while frame is not None:
            code = frame.f_code
            parent = frame.f_back
            if (
                combine is None
                and code.co_name == "_combine_masks"
                and parent is not None
                and parent.f_code is prune.PruningContainer.compute_mask.__code__
            ):
                combine = frame
            if code is prune.global_unstructured.__code__:
                glob = frame
                break
            frame = parent
        return combine, glob
    finally:
        del frame


def _container_mask(method: prune.BasePruningMethod, t: Tensor) -> Tensor | None:
    """The whole default mask behind ``t`` when torch's ``PruningContainer`` handed ``method``
    only the entries whose mask is exactly 1, as the flat vector ``t``; ``None`` otherwise."""
    if t.dim() != 1:
        return None
    combine, _ = _calling_frames()
    if combine is None or combine.f_locals.get("method") is not method:
        return None
    mask = combine.f_locals.get("mask")
    if not isinstance(mask, Tensor) or int((mask == 1).sum()) != t.numel():
        return None
    return mask


def _strictly_lower(shape: torch.Size | tuple[int, ...], device: torch.device) -> Tensor:
    """Boolean tensor of ``shape`` (``..., R, C``), True strictly below the diagonal."""
    rows, cols = shape[-2], shape[-1]
    lower = torch.ones(rows, cols, dtype=torch.bool, device=device).tril(-1)
    return lower.expand(shape)


def _already_pruned(module: nn.Module, name: str) -> bool:
    return any(
        isinstance(hook, prune.BasePruningMethod) and hook._tensor_name == name
        for hook in getattr(module, "_forward_pre_hooks", {}).values()
    )


# --------------------------------------------------------------------------- the mixin


class _Scheme:
    """Registry facts, shared argument checking and an ``apply`` that leaves the module intact.

    Class attributes (the registry: training, ``PruneSpec`` and the scripts read them):
    ``SCHEME`` (short name, e.g. ``"topk"``), ``PARAMETER`` (the paper's symbol,
    ``"p"``, ``"k"`` or ``"f"``), ``DYNAMIC`` (follows the training progress).
    ``PRUNING_TYPE`` is ``"unstructured"``, which ``prune.global_unstructured``
    and Lightning's ``ModelPruning`` require.
    """

    SCHEME: ClassVar[str]
    PARAMETER: ClassVar[str]
    DYNAMIC: ClassVar[bool] = False
    PRUNING_TYPE = "unstructured"
    batch_dims: int = 0

    def _check_tensor(self, t: Tensor) -> None:
        _check_finite(t)

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: nn.Module,
        name: str,
        *args: Any,
        importance_scores: Tensor | None = None,
        **kwargs: Any,
    ) -> prune.BasePruningMethod:
        """Prune ``module.<name>`` with this scheme, the way ``BasePruningMethod.apply`` does.

        Arguments are checked, and the tensor (or ``importance_scores``) is
        checked for NaN/inf, before anything is changed: on any error the module
        is left exactly as it was (torch's own ``apply`` would already have
        dropped an existing pruning hook).
        """
        method = cls(*args, **kwargs)  # validates the scheme's parameters
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        tensor = getattr(module, name + "_orig", None)
        if tensor is None:
            tensor = getattr(module, name, None)
        if not isinstance(tensor, Tensor):
            raise AttributeError(f"{type(module).__name__} has no parameter named {name!r}")
        _check_importance_scores(importance_scores, tensor)
        method._check_tensor(tensor if importance_scores is None else importance_scores)
        with _restored_on_error(module):
            return super().apply(  # type: ignore[misc]
                module, name, *args, importance_scores=importance_scores, **kwargs
            )


# --------------------------------------------------------------------------- sparsity


def sparsity(t: object) -> float:
    """Fraction of entries of ``t`` that are exactly zero.

    ``#{t == 0} / numel``.  For a soft mask, report this together with the
    mean mask value: counting zeros alone says nothing about damped entries.

    Args:
        t: a tensor of any shape, dtype and device, a NumPy array, or a
            (nested) list of numbers, with at least one entry.

    Returns:
        A float in [0, 1].

    Raises:
        TypeError: ``t`` is not a tensor, an array or a list of numbers.
        ValueError: ``t`` is empty, or a meta tensor (it holds no values).

    Example::

        >>> sparsity(torch.tensor([0.0, 1.0, 0.0, 2.0])), sparsity([0.0, 1.0])
        (0.5, 0.5)
        >>> from torch_orderedness import TrilDamp
        >>> mask = TrilDamp(f=0.8).prune(torch.ones(3, 3))  # soft: no zeros, 3 entries damped
        >>> sparsity(mask), round(mask.mean().item(), 4)
        (0.0, 0.7333)
    """
    if not isinstance(t, Tensor):
        try:
            t = torch.as_tensor(t)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"sparsity needs a tensor, an array or a list of numbers, got {type(t).__name__}"
            ) from None
    if t.device.type == "meta":
        raise ValueError("sparsity of a tensor on the meta device is unknown: it holds no values")
    if t.numel() == 0:
        raise ValueError("sparsity of an empty tensor is undefined")
    return float((t == 0).sum().item()) / t.numel()
