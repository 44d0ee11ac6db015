r"""The schemes that damp entries: Tril-damp and Dynamic Tril-damp (Appendix B, Eq. 5-6).

``W <- W - f * tril(W, -1)``: the entries strictly below the diagonal are
scaled by ``1 - f``.  The masks are *soft* (``1 - f`` below the diagonal, 1
elsewhere), so they damp instead of removing.  ``amount`` (torch's and
Lightning's name) is the damping ``f``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import prune

from torch_orderedness import _checks
from torch_orderedness.pruning._base import (
    _already_pruned,
    _calling_frames,
    _check_finite,
    _check_importance_scores,
    _one_of,
    _Scheme,
    _strictly_lower,
)
from torch_orderedness.pruning.schedules import _check_schedule, dynamic_damping_factor

__all__ = ["TrilDamp", "DynamicTrilDamp", "tril_damp", "dynamic_tril_damp"]

_FLAT_HELP = (
    "{cls} needs the positions of the entries it damps, and torch handed it a flat vector of "
    "{n} entries whose positions could not be recovered. Apply it to a 2-D weight directly "
    "(`{cls}.apply(module, 'weight', ...)` on an unpruned weight, or `{cls}(...).prune(weight)`), "
    "use `InPlacePruner` for the paper's in-place damping, or call `prune.remove` first."
)


class TrilDamp(_Scheme, prune.BasePruningMethod):
    r"""Tril-damp: scale the strictly-lower-triangular entries by ``1 - f`` (Eq. 5).

    ``W <- W - f * tril(W, -1)`` on the rectangular weight ``(O+H, O+H+I)``;
    only its square part has entries below the diagonal.  The mask is soft:
    ``1 - f`` strictly below the diagonal, 1 elsewhere (times ``default_mask``).

    Args:
        f: damping factor in [0, 1]; ``f = 1`` zeroes the lower triangle.
        amount: torch's and Lightning's name for the same number (give one of
            ``f`` and ``amount``).
        batch_dims: number of leading dimensions that index independent
            matrices (e.g. one weight per seed); the triangle is taken over the
            last two dimensions.

    Works on a floating-point 2-D tensor (an integer one cannot hold damped
    values: ``TypeError``), and on the flat vector that
    ``prune.global_unstructured`` hands it (positions recovered from that
    call's parameter list, see the package docstring); any other flat vector
    raises ``ValueError``.  ``global_unstructured`` over several parameters
    damps the strictly-lower triangle of each (all must be 2-D).  A second
    ``global_unstructured`` call on parameters it already damped (Lightning's
    ``ModelPruning`` pruning every epoch, say) is refused with a ``ValueError``:
    torch would multiply the soft mask by itself instead of damping once more.

    Example::

        >>> TrilDamp(f=0.8).prune(torch.ones(3, 4))
        tensor([[1.0000, 1.0000, 1.0000, 1.0000],
                [0.2000, 1.0000, 1.0000, 1.0000],
                [0.2000, 0.2000, 1.0000, 1.0000]])
    """

    SCHEME = "tril"
    PARAMETER = "f"
    #: the functional helper of this scheme, named in messages
    FUNCTIONAL = "tril_damp"

    def __init__(self, f: float | None = None, *, amount: float | None = None,
                 batch_dims: int = 0) -> None:
        _one_of(type(self), "f", f, amount)
        self.f = _checks.fraction("f" if amount is None else "amount", f if amount is None
                                  else amount)
        self.batch_dims = _checks.count("batch_dims", batch_dims, 0)

    @property
    def amount(self) -> float:
        """torch's name for the damping factor ``f``."""
        return self.f

    def _factor(self) -> float:
        return self.f

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: nn.Module,
        name: str,
        *args: Any,
        importance_scores: Tensor | None = None,
        **kwargs: Any,
    ) -> prune.BasePruningMethod:
        """Damp ``module.<name>``; on an already pruned tensor the damping compounds.

        The first application registers this method as torch's pruning hook.
        On a tensor that is already pruned, torch would hand the method only
        the entries whose mask is exactly 1 and leave soft entries as they
        are; instead the full damping mask is multiplied into the existing one
        through ``prune.CustomFromMask``, so ``n`` applications scale the
        strictly-lower entries by ``(1 - f)^n``, like the paper's repeated
        in-place damping.  Entries that are already zero stay zero.
        """
        if not _already_pruned(module, name):
            return super().apply(module, name, *args, importance_scores=importance_scores, **kwargs)
        method = cls(*args, **kwargs)
        orig = getattr(module, name + "_orig")
        _check_importance_scores(importance_scores, orig)
        scores = orig if importance_scores is None else importance_scores
        method._check_tensor(scores)
        damp = method.compute_mask(scores.detach(), torch.ones_like(orig))
        return prune.CustomFromMask.apply(module, name, mask=damp)

    def _check_tensor(self, t: Tensor) -> None:
        _check_finite(t)
        self._check_float(t)
        if t.dim() != self.batch_dims + 2:
            raise ValueError(
                f"{type(self).__name__} needs a 2-D weight (plus batch_dims={self.batch_dims} "
                f"leading dims), got a tensor of shape {tuple(t.shape)}"
            )

    def _check_float(self, t: Tensor) -> None:
        if not (t.is_floating_point() or t.is_complex()):
            raise TypeError(
                f"{type(self).__name__} scales entries by 1 - f, which a {t.dtype} tensor cannot "
                "hold; convert it to a floating-point dtype first"
            )

    def _lower_positions(self, t: Tensor) -> Tensor:
        """Boolean tensor like ``t``: True where the entry is strictly below the diagonal."""
        if t.dim() == self.batch_dims + 2:
            return _strictly_lower(t.shape, t.device)
        help_text = _FLAT_HELP.format(cls=type(self).__name__, n=t.numel())
        if t.dim() != 1:
            raise ValueError(
                f"{type(self).__name__} needs a 2-D weight, got a tensor of shape {tuple(t.shape)}"
            )
        combine, glob = _calling_frames()
        if combine is None or combine.f_locals.get("method") is not self or glob is None:
            raise ValueError(help_text)
        full, full_mask = combine.f_locals.get("t"), combine.f_locals.get("mask")
        if not isinstance(full, Tensor) or not isinstance(full_mask, Tensor) or full.dim() != 1:
            raise ValueError(help_text)
        lower = self._global_lower(list(glob.f_locals.get("parameters", ())), t.device)
        if lower.numel() != full.numel():
            raise ValueError(help_text)
        self._refuse_soft(full_mask)
        picked = lower[(full_mask == 1).reshape(-1).to(t.device)]
        if picked.numel() != t.numel():
            raise ValueError(help_text)
        return picked

    def _global_lower(self, listed: list[tuple[nn.Module, str]], device: torch.device) -> Tensor:
        """The strictly-lower positions of every parameter ``global_unstructured`` lists, flat."""
        if len({(id(m), n) for m, n in listed}) != len(listed):
            raise ValueError(
                f"{type(self).__name__} in global_unstructured: a parameter is listed more "
                "than once, which would damp it once per listing; list each once"
            )
        pieces = []
        for module, name in listed:
            param = getattr(module, name)
            if param.dim() != self.batch_dims + 2:
                raise ValueError(
                    f"{type(self).__name__} in global_unstructured needs 2-D weights; "
                    f"{type(module).__name__}.{name} has shape {tuple(param.shape)}"
                )
            pieces.append(_strictly_lower(param.shape, device).reshape(-1))
        return torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.bool, device=device)

    def _refuse_soft(self, full_mask: Tensor) -> None:
        """A second global call would square the soft values: refuse it, saying what to do."""
        if full_mask.device.type == "meta" or not bool(
                ((full_mask > 0) & (full_mask < 1)).any()):
            return
        raise ValueError(
            f"{type(self).__name__} in global_unstructured: a listed parameter already has soft "
            "mask values, which torch would multiply by themselves (0.2 -> 0.04 -> 0.0016) "
            f"instead of damping them once more. Use `{self.FUNCTIONAL}(module, name, ...)` per "
            "parameter (damping compounds as (1 - f)^n), prune once (with Lightning's "
            "ModelPruning: apply_pruning=lambda epoch: epoch == last_epoch), or apply it in place "
            "(`InPlacePruner`, or the callback torch_orderedness.lightning.InPlacePruning)."
        )

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Soft mask like ``t``: ``default_mask * (1 - f)`` strictly below the diagonal."""
        _check_finite(t)
        self._check_float(t)
        lower = self._lower_positions(t)
        damp = torch.where(
            lower,
            torch.full_like(default_mask, 1.0 - self._factor()),
            torch.ones_like(default_mask),
        )
        return default_mask * damp


class DynamicTrilDamp(TrilDamp):
    r"""Dynamic Tril-damp: Tril-damp with factor ``f(x) = f r(x)`` (Eq. 6).

    Args:
        f: final damping factor in [0, 1].
        progress: training progress ``x`` in [0, 1]; default 1, the final factor.
        amount: torch's and Lightning's name for ``f`` (give one of the two).
        schedule: ``"sin4"`` (the paper's) or ``"cubic"``; see :data:`SCHEDULES`.
        batch_dims: as for :class:`TrilDamp`.

    Example::

        >>> DynamicTrilDamp(f=0.8, progress=1.0).current_f
        0.8
        >>> round(DynamicTrilDamp(amount=0.8, progress=0.5).current_f, 12)  # 0.8 sin(pi/4)^4
        0.2
    """

    SCHEME = "dyn_tril"
    DYNAMIC = True
    FUNCTIONAL = "dynamic_tril_damp"

    def __init__(self, f: float | None = None, progress: float = 1.0, *,
                 amount: float | None = None, schedule: str = "sin4",
                 batch_dims: int = 0) -> None:
        super().__init__(f, amount=amount, batch_dims=batch_dims)
        self.progress = _checks.fraction("progress", progress)
        self.schedule = _check_schedule(schedule)

    @property
    def current_f(self) -> float:
        """The damping factor at this progress, ``f(x)``."""
        return dynamic_damping_factor(self.f, self.progress, self.schedule)

    def _factor(self) -> float:
        return self.current_f


def tril_damp(
    module: nn.Module, name: str, f: float | None = None, *, amount: float | None = None,
    importance_scores: Tensor | None = None,
) -> nn.Module:
    """Functional form of :class:`TrilDamp`: scale the strictly-lower triangle by ``1 - f``.

    Reparametrises the 2-D ``module.<name>`` as ``<name>_orig * <name>_mask``
    with the soft mask ``1 - f`` strictly below the diagonal and 1 elsewhere
    (``W <- W - f * tril(W, -1)`` in the forward pass).  Repeated calls
    compound: ``n`` calls scale the strictly-lower entries by ``(1 - f)^n``.

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"``; a 2-D ``(rows, columns)``
            tensor such as a complete layer's ``(O+H, O+H+I)`` weight.
        f: damping factor in [0, 1]; ``f = 1`` zeroes the strict lower triangle.
        amount: torch's name for ``f`` (give one of the two).
        importance_scores: optional tensor of the parameter's shape; the mask
            depends on positions only, so its values are only checked to be finite.

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``f`` outside [0, 1], a parameter that is not 2-D, NaN or
            inf entries, ``importance_scores`` of another shape.
        TypeError: ``f`` not a number, both or neither of ``f`` and ``amount``, or an
            integer parameter (it cannot hold damped values).
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = tril_damp(nn.Linear(3, 3, bias=False), "weight", f=1.0)
        >>> bool((layer.weight.tril(-1) == 0).all())
        True
        >>> layer = tril_damp(nn.Linear(3, 3, bias=False), "weight", f=0.5)
        >>> once = layer.weight_mask[1, 0].item()
        >>> once, tril_damp(layer, "weight", f=0.5).weight_mask[1, 0].item()  # compounds
        (0.5, 0.25)
    """
    TrilDamp.apply(module, name, f=f, amount=amount, importance_scores=importance_scores)
    return module


def dynamic_tril_damp(
    module: nn.Module,
    name: str,
    f: float | None = None,
    progress: float = 1.0,
    *,
    amount: float | None = None,
    schedule: str = "sin4",
    importance_scores: Tensor | None = None,
) -> nn.Module:
    """Functional form of :class:`DynamicTrilDamp`: Tril-damp with the factor ``f(x)`` of Eq. 6.

    Reparametrises the 2-D ``module.<name>`` with the soft mask
    ``1 - f(x)`` strictly below the diagonal, ``f(x) = f r(x)``
    (:func:`dynamic_damping_factor`).  Like :func:`tril_damp`, repeated calls
    multiply their masks into the existing one (damping compounds).

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"`` (a 2-D tensor).
        f: final damping factor, in [0, 1].
        progress: training progress ``x`` in [0, 1] (default 1).
        amount: torch's name for ``f`` (give one of the two).
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.
        importance_scores: optional tensor of the parameter's shape, only
            checked (the mask depends on positions only).

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``f`` or ``progress`` outside [0, 1], an unknown
            ``schedule``, a parameter that is not 2-D, NaN or inf entries.
        TypeError: ``f`` or ``progress`` not a number, both or neither of ``f``
            and ``amount``, or an integer parameter.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = dynamic_tril_damp(nn.Linear(3, 3, bias=False), "weight", f=0.8, progress=0.5)
        >>> round(layer.weight_mask[2, 0].item(), 6)  # 1 - 0.8 * sin(pi/4)^4
        0.8
    """
    DynamicTrilDamp.apply(module, name, f=f, progress=progress, amount=amount,
                          schedule=schedule, importance_scores=importance_scores)
    return module
