"""Facts about weights that every part of the library shares.

- :func:`weight_in_use`: the tensor a module computes with, ``<name>_orig *
  <name>_mask`` for a parameter reparametrised by :mod:`torch.nn.utils.prune`
  (whose ``<name>`` attribute is refreshed only by the next forward pass);
- :func:`is_reparametrized`: whether a parameter is reparametrised that way;
- :func:`parse_mlp` and :class:`MLPLayout`: the one reading of an MLP (its
  ``nn.Linear`` layers, the parameter-free modules around them, and where
  each layer's neurons sit in the complete layer's ``[outputs | hidden |
  inputs]`` order), used by ``CompletePerceptron.from_mlp``, the metric and
  the orderedness monitor.

Example::

    >>> from torch import nn
    >>> layout = parse_mlp(nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    >>> layout.sizes, layout.starts, [type(m).__name__ for m in layout.before]
    ([4, 3, 2], [5, 2, 0], ['Flatten'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = [
    "weight_in_use",
    "named_weight_in_use",
    "is_reparametrized",
    "owner",
    "MLPLayout",
    "parse_mlp",
    "mlp_weight",
]


def is_reparametrized(module: nn.Module, name: str) -> bool:
    """Whether ``module.<name>`` is ``<name>_orig * <name>_mask`` (torch's pruning)."""
    return isinstance(getattr(module, name + "_orig", None), Tensor) and isinstance(
        getattr(module, name + "_mask", None), Tensor
    )


def weight_in_use(module: nn.Module, name: str = "weight") -> Tensor:
    """The tensor ``module`` computes with in its next forward pass (not detached).

    ``<name>_orig * <name>_mask`` for a parameter pruned by torch (a new
    tensor carrying gradients to ``<name>_orig``), else ``getattr(module, name)``.

    Raises:
        TypeError: ``module`` has no tensor ``name``.
    """
    if is_reparametrized(module, name):
        return getattr(module, name + "_orig") * getattr(module, name + "_mask")
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise TypeError(f"{type(module).__name__} has no tensor {name!r}")
    return weight


@dataclass(frozen=True)
class MLPLayout:
    """An MLP read as a stack of ``nn.Linear`` layers.

    Attributes:
        linears: the ``nn.Linear`` layers, first to last.
        before: parameter-free modules before the first ``nn.Linear`` (e.g. ``nn.Flatten``).
        after: for each ``nn.Linear``, the parameter-free modules after it, up
            to the next one (its activation) or the end.
        sizes: neurons per layer, inputs first: ``[I, H_1, ..., H_m, O]``.
        starts: where each layer's neurons start in the ``[outputs | hidden |
            inputs]`` order (outputs, last hidden layer, ..., first hidden
            layer, inputs), aligned with :attr:`sizes`.
    """

    linears: tuple[nn.Linear, ...]
    before: tuple[nn.Module, ...]
    after: tuple[tuple[nn.Module, ...], ...]
    sizes: list[int]
    starts: list[int]

    @property
    def neurons(self) -> int:
        """All neurons, inputs included: the complete weight's column count."""
        return sum(self.sizes)


def _modules_of(layers: object) -> list[nn.Module]:
    if isinstance(layers, nn.Linear):
        return [layers]
    if isinstance(layers, nn.Sequential) or (
        isinstance(layers, (list, tuple)) and all(isinstance(m, nn.Module) for m in layers)
    ):
        return list(layers)
    raise TypeError(
        "an MLP must be an nn.Sequential, a list or tuple of modules, or one nn.Linear; got "
        f"{type(layers).__name__}"
    )


def _neuron_starts(sizes: Sequence[int]) -> list[int]:
    starts = [0] * len(sizes)
    position = 0
    for depth in range(len(sizes) - 1, -1, -1):  # outputs first, inputs last
        starts[depth] = position
        position += sizes[depth]
    return starts


def parse_mlp(layers: object) -> MLPLayout:
    """Read an MLP: its ``nn.Linear`` layers and the parameter-free modules around them.

    Args:
        layers: an ``nn.Sequential``, a list or tuple of modules, or one
            ``nn.Linear``; besides ``nn.Linear`` it may hold parameter-free
            modules only (activations, ``nn.Flatten``, dropout, ...).

    Raises:
        TypeError: ``layers`` is none of those, or holds a module with
            parameters that is not ``nn.Linear``.
        ValueError: no ``nn.Linear``, or layers that do not chain.
    """
    linears: list[nn.Linear] = []
    before: list[nn.Module] = []
    after: list[list[nn.Module]] = []
    for k, module in enumerate(_modules_of(layers)):
        if isinstance(module, nn.Linear):
            linears.append(module)
            after.append([])
        elif next(module.parameters(), None) is None:
            (after[-1] if linears else before).append(module)
        else:
            raise TypeError(
                "an MLP may hold nn.Linear layers and parameter-free modules only; "
                f"layer {k} is {type(module).__name__}"
            )
    if not linears:
        raise ValueError("the MLP holds no nn.Linear layer")
    for a, b in zip(linears[:-1], linears[1:], strict=True):
        if b.in_features != a.out_features:
            raise ValueError(
                f"the MLP's layers do not chain: out_features={a.out_features} is followed by "
                f"in_features={b.in_features}"
            )
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    return MLPLayout(tuple(linears), tuple(before), tuple(tuple(a) for a in after), sizes,
                     _neuron_starts(sizes))


def mlp_weight(layout: MLPLayout) -> Tensor:
    """The complete-layer weight ``(O+H, O+H+I)`` of an MLP (detached), zeros elsewhere.

    The weight of the layer from block ``a`` to block ``b`` sits at rows ``b``,
    columns ``a``, strictly above the diagonal; pruned layers are read as
    ``weight_orig * weight_mask``.
    """
    sizes, starts = layout.sizes, layout.starts
    first = weight_in_use(layout.linears[0])
    out = torch.zeros(layout.neurons - sizes[0], layout.neurons, dtype=first.dtype,
                      device=first.device)
    with torch.no_grad():
        for depth, lin in enumerate(layout.linears):
            r, c = starts[depth + 1], starts[depth]
            out[r: r + sizes[depth + 1], c: c + sizes[depth]] = weight_in_use(lin).detach()
    return out


def owner(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The submodule holding the parameter ``name`` (``"0.weight"`` -> ``(model[0], "weight")``)."""
    prefix, _, attr = name.rpartition(".")
    return (model.get_submodule(prefix) if prefix else model), attr


def named_weight_in_use(model: nn.Module, name: str) -> Tensor:
    """:func:`weight_in_use` of ``model``'s parameter ``name`` (a dotted path), detached."""
    module, attr = owner(model, name)
    return weight_in_use(module, attr).detach()
