"""``PruneSpec``: one pruning scheme, its parameters and the parameter it prunes.

The scheme's facts (short name, the paper's parameter, whether it follows the
training progress) come from the scheme classes themselves (``SCHEME``,
``PARAMETER``, ``DYNAMIC``; see :mod:`torch_orderedness.pruning`).

Example::

    >>> PruneSpec("dyn_topk", k=0.5).dynamic, PruneSpec("tril", amount=0.8).label
    (True, 'tril(amount=0.8)@weight')
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn.utils import prune

from torch_orderedness.pruning import PRUNING_SCHEMES, RandomPrune
from torch_orderedness.training.pruner import check_scheme_class

__all__ = ["PruneSpec"]

_MANAGED = ("progress", "batch_dims", "generator")


def _resolve_scheme(scheme: object) -> type[prune.BasePruningMethod]:
    if isinstance(scheme, str):
        if scheme not in PRUNING_SCHEMES:
            raise ValueError(
                f"scheme must be one of {tuple(PRUNING_SCHEMES)} or a scheme class, got {scheme!r}"
            )
        return PRUNING_SCHEMES[scheme]
    try:
        return check_scheme_class(scheme)
    except TypeError:
        raise TypeError(
            f"scheme must be one of {tuple(PRUNING_SCHEMES)} or one of the classes "
            f"{', '.join(c.__name__ for c in PRUNING_SCHEMES.values())}; got {scheme!r}"
        ) from None


def _check_params(method: type, params: dict[str, Any]) -> None:
    managed = sorted(set(params) & set(_MANAGED))
    if managed:
        raise TypeError(
            f"PruneSpec takes no {', '.join(managed)}: the training loop sets "
            f"progress (see train(progress=...)), batch_dims and Random's generator"
        )
    allowed = {method.PARAMETER, "amount"} | ({"schedule"} if method.DYNAMIC else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise TypeError(
            f"{method.__name__} takes the parameter(s) {', '.join(sorted(allowed))}; got "
            f"unexpected {unknown}"
        )
    if method.PARAMETER not in params and "amount" not in params:
        raise TypeError(f"{method.__name__} needs its parameter {method.PARAMETER!r} (or amount)")


def _check_mask(method: type, mask: object) -> Tensor | None:
    if mask is None:
        return None
    if not issubclass(method, RandomPrune):
        raise TypeError(f"only Random takes a fixed mask; {method.__name__} computes its own")
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a tensor of 0s and 1s, got {type(mask).__name__}")
    if mask.device.type != "meta" and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must hold only 0s and 1s")
    return mask.detach().clone()


class PruneSpec:
    """One pruning scheme, its parameters and the parameter it prunes.

    Args:
        scheme: ``"random"``, ``"topk"``, ``"dyn_topk"``, ``"tril"``,
            ``"dyn_tril"`` (see :data:`~torch_orderedness.PRUNING_SCHEMES`) or
            one of the classes :class:`~torch_orderedness.RandomPrune`, ...
            (a subclass too).
        name: the parameter to prune, as in ``model.named_parameters()``
            (default ``"weight"``; ``"0.weight"`` for a submodule's).
        mask: Random only: a fixed mask of 0s and 1s with the parameter's shape,
            used instead of a draw, the same for every seed (the paper's
            reference notebook shares one Random mask among all trials).
        **params: the scheme's parameter (``p`` for Random, ``k`` for Top-K
            and Dynamic Top-K, ``f`` for the Tril-damps) or torch's ``amount``
            instead, and, for the dynamic schemes, ``schedule`` (``"sin4"`` or
            ``"cubic"``).  ``progress``, ``batch_dims`` and ``generator`` are
            set by the training loop.

    Raises:
        ValueError, TypeError: an unknown scheme, a missing, unknown or
            out-of-range parameter (checked now, by building the scheme), a
            mask for a scheme other than Random or with values other than 0, 1.

    Example::

        >>> PruneSpec("dyn_topk", k=0.5)
        PruneSpec('dyn_topk', name='weight', k=0.5)
        >>> PruneSpec("tril", f=0.8).label, PruneSpec("random", p=0.5).method.__name__
        ('tril(f=0.8)@weight', 'RandomPrune')
    """

    __slots__ = ("_method", "_name", "_params", "_mask")

    def __init__(self, scheme: str | type[prune.BasePruningMethod], /, name: str = "weight", *,
                 mask: Tensor | None = None, **params: Any) -> None:
        method = _resolve_scheme(scheme)
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty parameter name, got {name!r}")
        _check_params(method, params)
        self._method = method
        self._name = name
        self._params = dict(params)
        self._mask = _check_mask(method, mask)
        self.method_at(0.0)  # validates the values

    @property
    def method(self) -> type[prune.BasePruningMethod]:
        """The scheme's class."""
        return self._method

    @property
    def scheme(self) -> str:
        """The scheme's short name (its class's ``SCHEME``)."""
        return self._method.SCHEME  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        """The parameter it prunes."""
        return self._name

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the scheme's parameters."""
        return dict(self._params)

    @property
    def mask(self) -> Tensor | None:
        """Random's fixed mask, or ``None`` (drawn per seed)."""
        return self._mask

    @property
    def dynamic(self) -> bool:
        """``True`` for the schemes that follow the training progress."""
        return bool(self._method.DYNAMIC)  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        """A short text such as ``"dyn_topk(k=0.5)@weight"``."""
        args = ",".join(f"{k}={v}" for k, v in self._params.items())
        fixed = ",fixed mask" if self._mask is not None else ""
        return f"{self.scheme}({args}{fixed})@{self._name}"

    def method_at(self, progress: float | None = None, *, batch_dims: int = 0,
                  generator: torch.Generator | None = None) -> prune.BasePruningMethod:
        """The scheme instance at ``progress`` (ignored by the static schemes)."""
        extra: dict[str, Any] = {"batch_dims": batch_dims}
        if self.dynamic:
            extra["progress"] = 0.0 if progress is None else progress
        if issubclass(self._method, RandomPrune):
            extra["generator"] = generator
        return self._method(**self._params, **extra)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self._params.items())
        fixed = ", mask=<fixed>" if self._mask is not None else ""
        return f"PruneSpec({self.scheme!r}, name={self._name!r}{args}{fixed})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PruneSpec):
            return NotImplemented
        same_mask = (self._mask is None and other._mask is None) or (
            self._mask is not None and other._mask is not None
            and torch.equal(self._mask, other._mask))
        return (self._method, self._name, self._params) == (
            other._method, other._name, other._params) and same_mask

    def __hash__(self) -> int:
        return hash((self._method, self._name, tuple(sorted(self._params.items()))))
