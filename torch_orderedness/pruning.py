r"""The paper's five pruning schemes as :mod:`torch.nn.utils.prune` methods.

=====================  =============================  ====================================
class                  paper parameter                mask
=====================  =============================  ====================================
:class:`RandomPrune`   ``p``: probability pruned      Bernoulli: each entry zero w.p. ``p``
:class:`TopK`          ``k``: fraction KEPT           keep the ``floor(k*n)`` largest ``|w|``
:class:`DynamicTopK`   ``k``, ``progress``            Top-K with ``k(x)`` (Eq. 4)
:class:`TrilDamp`      ``f``: damping factor          ``1 - f`` strictly below the diagonal
:class:`DynamicTrilDamp` ``f``, ``progress``          Tril-damp with ``f(x)`` (Eq. 6)
=====================  =============================  ====================================

Relation to torch's ``amount`` (the fraction pruned): ``RandomPrune(p)``
prunes a fraction ``p`` in expectation; ``TopK(k)`` keeps ``floor(k * n)`` of
``n`` entries, i.e. prunes ``n - floor(k * n)`` (torch's ``L1Unstructured``
with float ``amount = 1 - k`` prunes ``round((1 - k) * n)``, which can differ
by one).  Tril-damp has no ``amount``: it scales entries instead of removing
them, so its masks are *soft* (values ``1 - f`` strictly below the diagonal).

The schemes can be used in two ways:

* **torch's reparametrised way** (mask applied in the forward pass): every
  class is a :class:`~torch.nn.utils.prune.BasePruningMethod` with
  ``PRUNING_TYPE = "unstructured"``, so ``TopK.apply(module, "weight", k=0.5)``,
  the functional helpers (:func:`topk_prune`, :func:`tril_damp`, ...) and
  ``prune.global_unstructured(params, pruning_method=TopK, k=0.5)`` work, and
  ``prune.remove`` makes the pruning permanent.
* **the paper's in-place way**: :class:`InPlacePruner` applies a scheme to the
  weight itself after every optimiser step, so damping compounds and pruned
  weights can regrow through later gradient steps; Random's mask is drawn once.

Repeated application through torch (a ``PruningContainer``): torch hands a
method only the entries whose mask is exactly 1 (``mask == 1``), as a flat
vector.  Consequences, all tested:

* Top-K and Random act on the still-unpruned entries only, so amounts compound
  (``TopK(0.5)`` twice keeps 25 %), as with torch's own methods.
* Entries with a soft mask value (``0 < m < 1``) count as pruned for Top-K
  and Random: torch never hands them to a method again, and they keep their
  soft value.
* Tril-damp compounds: ``n`` applications through ``TrilDamp.apply`` /
  :func:`tril_damp` scale the strictly-lower entries by ``(1 - f)^n`` (like
  the paper's repeated in-place damping): on an already pruned tensor the
  full damping mask is multiplied into the existing one.
* ``prune.global_unstructured`` cannot do that: it keeps an old soft value in
  the new mask and multiplies that into the existing mask again, so a damped
  entry would go ``0.2 -> 0.04 -> 0.0016`` (squared, not compounded).  Tril-damp
  therefore refuses, with a ``ValueError``, a ``global_unstructured`` call on
  parameters whose mask already has soft values.
* Tril-damp depends on positions, which a flat vector does not carry.  When
  ``prune.global_unstructured`` calls it, it recovers the position of every
  entry it was handed from the arguments of that torch call (read-only, by
  inspecting the calling frames; all listed parameters must be 2-D).  When it
  cannot (any other flat vector), it raises a ``ValueError`` instead of
  damping entries it cannot place.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import prune

__all__ = [
    "SCHEDULES",
    "ramp",
    "dynamic_keep_fraction",
    "dynamic_damping_factor",
    "RandomPrune",
    "TopK",
    "DynamicTopK",
    "TrilDamp",
    "DynamicTrilDamp",
    "random_prune",
    "topk_prune",
    "dynamic_topk_prune",
    "tril_damp",
    "dynamic_tril_damp",
    "InPlacePruner",
    "sparsity",
]


# --------------------------------------------------------------------------- schedules


def _sin4(x: float) -> float:
    return math.sin(math.pi * x / 2.0) ** 4


def _cubic(x: float) -> float:
    return 1.0 - (1.0 - x) ** 3


#: Ramps ``r(x)`` from 0 at ``x = 0`` to 1 at ``x = 1`` used by the dynamic schemes.
#: ``"sin4"`` is the paper's ``sin(pi x / 2)^4`` (late: half way at ``x = 0.64``);
#: ``"cubic"`` is Zhu & Gupta's gradual pruning ``1 - (1 - x)^3`` (early: half way at
#: ``x = 0.21``).
SCHEDULES: dict[str, Callable[[float], float]] = {"sin4": _sin4, "cubic": _cubic}


def _check_unit(name: str, value: object) -> float:
    """A float in [0, 1], or a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, Tensor) and value.numel() == 1:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a float in [0, 1], got {value!r}")
    value = float(value)
    if not (0.0 <= value <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _check_schedule(schedule: object) -> str:
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {tuple(SCHEDULES)}, got {schedule!r}")
    return schedule  # type: ignore[return-value]


def _check_batch_dims(batch_dims: object) -> int:
    if isinstance(batch_dims, bool) or not isinstance(batch_dims, int) or batch_dims < 0:
        raise ValueError(f"batch_dims must be an int >= 0, got {batch_dims!r}")
    return batch_dims


def ramp(progress: float, schedule: str = "sin4") -> float:
    """The schedule's ramp ``r(x)`` in [0, 1] at training progress ``x`` in [0, 1].

    ``r`` rises from ``r(0) = 0`` to ``r(1) = 1``: ``"sin4"`` is the paper's
    ``r(x) = sin(pi x / 2)^4``, ``"cubic"`` is Zhu & Gupta's
    ``r(x) = 1 - (1 - x)^3`` (see :data:`SCHEDULES`).  The dynamic schemes use
    it as ``k(x) = 1 - (1 - k) r(x)`` (Eq. 4, :func:`dynamic_keep_fraction`)
    and ``f(x) = f r(x)`` (Eq. 6, :func:`dynamic_damping_factor`).

    Args:
        progress: training progress ``x`` in [0, 1] (the paper uses
            ``epoch / n_epochs``); a float, an int or a one-element tensor.
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``.

    Returns:
        ``r(x)``, a float in [0, 1].

    Raises:
        ValueError: ``progress`` outside [0, 1] (or NaN), or an unknown ``schedule``.
        TypeError: ``progress`` is not a number.

    Example::

        >>> round(ramp(0.5), 12)  # sin(pi/4)^4
        0.25
        >>> ramp(0.0), ramp(1.0), ramp(0.5, "cubic")  # 1 - 0.5^3
        (0.0, 1.0, 0.875)
    """
    return SCHEDULES[_check_schedule(schedule)](_check_unit("progress", progress))


def dynamic_keep_fraction(k: float, progress: float, schedule: str = "sin4") -> float:
    """Eq. 4: the fraction kept by Dynamic Top-K, ``k(x) = 1 - (1 - k) * r(x)``.

    ``r`` is the schedule's ramp (:func:`ramp`); with the paper's ``"sin4"``
    schedule ``k(x) = 1 - (1 - k) sin(pi x / 2)^4``.  The fraction falls from
    ``k(0) = 1`` (nothing pruned) to ``k(1) = k``.

    Args:
        k: final fraction kept, in [0, 1].
        progress: training progress ``x`` in [0, 1].
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.

    Returns:
        ``k(x)``, a float in ``[k, 1]``.

    Raises:
        ValueError: ``k`` or ``progress`` outside [0, 1], or an unknown ``schedule``.
        TypeError: ``k`` or ``progress`` is not a number.

    Example::

        >>> dynamic_keep_fraction(0.5, 0.0), dynamic_keep_fraction(0.5, 1.0)
        (1.0, 0.5)
        >>> round(dynamic_keep_fraction(0.2, 0.5), 12)  # 1 - 0.8 * sin(pi/4)^4
        0.8
    """
    return 1.0 - (1.0 - _check_unit("k", k)) * ramp(progress, schedule)


def dynamic_damping_factor(f: float, progress: float, schedule: str = "sin4") -> float:
    """Eq. 6: the damping factor of Dynamic Tril-damp, ``f(x) = f * r(x)``.

    ``r`` is the schedule's ramp (:func:`ramp`); with the paper's ``"sin4"``
    schedule ``f(x) = f sin(pi x / 2)^4``.  The factor rises from ``f(0) = 0``
    (no damping) to ``f(1) = f``.

    Args:
        f: final damping factor, in [0, 1].
        progress: training progress ``x`` in [0, 1].
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.

    Returns:
        ``f(x)``, a float in ``[0, f]``.

    Raises:
        ValueError: ``f`` or ``progress`` outside [0, 1], or an unknown ``schedule``.
        TypeError: ``f`` or ``progress`` is not a number.

    Example::

        >>> dynamic_damping_factor(0.8, 0.0), dynamic_damping_factor(0.8, 1.0)
        (0.0, 0.8)
        >>> round(dynamic_damping_factor(0.8, 0.5), 12)  # 0.8 * sin(pi/4)^4
        0.2
    """
    return _check_unit("f", f) * ramp(progress, schedule)


# --------------------------------------------------------------------------- helpers


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


def _check_finite(t: Tensor, what: str = "the weight") -> None:
    if t.is_floating_point() or t.is_complex():
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{what} has NaN or infinite entries; pruning needs finite values")


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


class _SchemeMixin:
    """Shared argument checking and an ``apply`` that leaves the module intact on error."""

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


# --------------------------------------------------------------------------- Random


class RandomPrune(_SchemeMixin, prune.BasePruningMethod):
    r"""Random pruning: zero each entry independently with probability ``p``.

    Args:
        p: probability that an entry is pruned, in [0, 1] (torch's ``amount``
            in expectation).
        generator: optional :class:`torch.Generator` for the draw (its device
            is used for drawing; the mask is moved to the tensor's device).
        batch_dims: accepted for symmetry with the other schemes (the draw is
            elementwise, so leading batch dimensions need nothing special).

    Used through :class:`InPlacePruner`, the mask is drawn once and re-applied
    unchanged at every step, as in the paper.

    Example::

        >>> layer = nn.Linear(4, 3)
        >>> RandomPrune.apply(layer, "weight", p=0.5, generator=torch.Generator().manual_seed(0))
        ... # doctest: +ELLIPSIS
        <...RandomPrune object at ...>
    """

    def __init__(
        self, p: float, *, generator: torch.Generator | None = None, batch_dims: int = 0
    ) -> None:
        self.p = _check_unit("p", p)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        self.generator = generator
        self.batch_dims = _check_batch_dims(batch_dims)

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Mask of shape ``t.shape``: ``default_mask`` times a Bernoulli(1 - p) draw."""
        self._check_tensor(t)
        device = self.generator.device if self.generator is not None else t.device
        draw = torch.rand(t.shape, generator=self.generator, device=device).to(t.device)
        keep = (draw >= self.p).to(default_mask.dtype)
        return default_mask * keep


def random_prune(
    module: nn.Module,
    name: str,
    p: float,
    *,
    generator: torch.Generator | None = None,
    importance_scores: Tensor | None = None,
) -> nn.Module:
    """Functional form of :class:`RandomPrune`: prune each entry with probability ``p``.

    Like ``prune.random_unstructured``, it reparametrises ``module.<name>``
    as ``<name>_orig * <name>_mask`` with torch's forward pre-hook; unlike it,
    every entry is pruned independently (Bernoulli), so the number pruned is
    ``p * n`` only in expectation.  On an already pruned parameter only the
    entries whose mask is exactly 1 can be pruned (amounts compound).

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"``.
        p: probability that an entry is pruned, in [0, 1].
        generator: optional :class:`torch.Generator` for the draw (seed it for
            a reproducible mask); ``None``: torch's default generator.
        importance_scores: optional tensor of the parameter's shape; the draw
            ignores its values (it is only checked to be finite).

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``p`` outside [0, 1], a parameter (or ``importance_scores``)
            with NaN or inf entries, ``importance_scores`` of another shape.
        TypeError: ``p`` not a number, ``generator`` not a :class:`torch.Generator`.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = random_prune(nn.Linear(10, 10), "weight", p=0.3,
        ...                      generator=torch.Generator().manual_seed(0))
        >>> sorted(name for name, _ in layer.named_buffers())
        ['weight_mask']
        >>> int((layer.weight_mask == 0).sum())  # 30 of the 100 entries in expectation
        35
    """
    RandomPrune.apply(module, name, p=p, generator=generator, importance_scores=importance_scores)
    return module


# --------------------------------------------------------------------------- Top-K


class TopK(_SchemeMixin, prune.BasePruningMethod):
    r"""Top-K pruning: keep the ``floor(k * n)`` entries of largest magnitude, zero the rest.

    Args:
        k: fraction KEPT, in [0, 1] (torch's ``amount`` is ``1 - k``).
        batch_dims: number of leading dimensions that index independent
            tensors (e.g. one weight per seed): the count ``floor(k * n)`` then
            applies to each of them, ``n`` being the size of one.

    Entries already pruned by ``default_mask`` rank last and stay pruned.
    Exactly ``floor(k * n)`` entries survive when at least that many are
    unpruned, ties broken arbitrarily.

    Example::

        >>> w = torch.tensor([[3.0, -1.0], [0.5, -4.0]])
        >>> TopK(k=0.5).compute_mask(w, torch.ones_like(w))
        tensor([[1., 0.],
                [0., 1.]])
    """

    def __init__(self, k: float, *, batch_dims: int = 0) -> None:
        self.k = _check_unit("k", k)
        self.batch_dims = _check_batch_dims(batch_dims)

    def _keep_fraction(self) -> float:
        return self.k

    def _n_keep(self, n: int) -> int:
        """How many of ``n`` entries the mask keeps: ``floor(k * n)`` (decimal-safe)."""
        return _keep_count(self._keep_fraction(), n)

    def _check_tensor(self, t: Tensor) -> None:
        _check_finite(t)
        if self.batch_dims and t.dim() <= self.batch_dims:
            raise ValueError(
                f"{type(self).__name__}(batch_dims={self.batch_dims}) needs a tensor with more "
                f"than {self.batch_dims} dims (batch dims, then the entries ranked together), "
                f"got shape {tuple(t.shape)}; a flat vector from global_unstructured or from a "
                "repeated prune call has lost its batch dims: call prune.remove first or use "
                "InPlacePruner"
            )

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Mask like ``t``: ones at the top ``floor(k * n)`` magnitudes (per batch item)."""
        self._check_tensor(t)
        lead = t.shape[: self.batch_dims]
        scores = t.detach().abs().reshape(math.prod(lead), -1).to(torch.float64)
        alive = default_mask.reshape(scores.shape) != 0
        scores = torch.where(alive, scores, torch.full_like(scores, -1.0))
        n_keep = self._n_keep(scores.shape[1])
        keep = torch.zeros_like(scores, dtype=torch.bool)
        if n_keep > 0:
            index = torch.topk(scores, n_keep, dim=1, sorted=False).indices
            keep.scatter_(1, index, True)
        return default_mask * keep.reshape(t.shape).to(default_mask.dtype)


class DynamicTopK(TopK):
    r"""Dynamic Top-K: Top-K with the fraction kept ``k(x) = 1 - (1 - k) r(x)`` (Eq. 4).

    Args:
        k: final fraction kept, in [0, 1].
        progress: training progress ``x`` in [0, 1] (the paper uses
            ``epoch / n_epochs``).
        schedule: ``"sin4"`` (the paper's ``r(x) = sin(pi x / 2)^4``) or
            ``"cubic"`` (``1 - (1 - x)^3``, Zhu & Gupta); see :data:`SCHEDULES`.
        batch_dims: as for :class:`TopK`.

    It keeps exactly ``floor(k(x) * n)`` entries, with no rounding of
    ``k(x) * n`` first (the paper's reference implementation's rule: at XOR's
    first epoch ``k(x) * 48 = 48 - 1.46e-10`` keeps 47); the static
    :class:`TopK` rounds ``k * n`` to 9 decimals before the floor, because
    its ``k`` is a decimal typed by a user (``k = 0.57`` of 100 keeps 57).

    One call through torch (``DynamicTopK.apply``, :func:`dynamic_topk_prune`,
    ``prune.global_unstructured``) prunes once, to ``k(x)`` at the given
    progress.  Calling it again on the already pruned tensor (once per epoch
    with a growing ``progress``, say) does **not** follow Eq. 4: torch hands
    the method only the still-unpruned entries, so the fractions compound
    (``k = 0.5`` over 11 calls at ``x = 0, 0.1, ..., 1`` keeps the product of
    the 11 fractions, about 6.7 % (6.5 % of a 20 x 20 weight after rounding
    down), not 50 %).  To follow the schedule, call ``prune.remove`` before each call
    (every entry is ranked again; pruned ones are zero and rank last), use
    :class:`InPlacePruner` (the paper's way), or train with
    :func:`~torch_orderedness.training.train`.

    Example::

        >>> DynamicTopK(k=0.5, progress=0.0).current_k  # nothing pruned at the start
        1.0
        >>> layer = nn.Linear(10, 10)
        >>> for x in (0.5, 1.0):  # the schedule through torch: remove, then prune again
        ...     if prune.is_pruned(layer):
        ...         _ = prune.remove(layer, "weight")
        ...     _ = dynamic_topk_prune(layer, "weight", k=0.5, progress=x)
        >>> int((layer.weight != 0).sum())  # k(1) = 0.5 of all 100 entries
        50
    """

    def __init__(
        self, k: float, progress: float = 1.0, *, schedule: str = "sin4", batch_dims: int = 0
    ) -> None:
        super().__init__(k, batch_dims=batch_dims)
        self.progress = _check_unit("progress", progress)
        self.schedule = _check_schedule(schedule)

    @property
    def current_k(self) -> float:
        """The fraction kept at this progress, ``k(x)``."""
        return dynamic_keep_fraction(self.k, self.progress, self.schedule)

    def _keep_fraction(self) -> float:
        return self.current_k

    def _n_keep(self, n: int) -> int:
        """``floor(k(x) * n)`` exactly, as the paper's reference implementation keeps."""
        return _exact_keep_count(self.current_k, n)


def topk_prune(
    module: nn.Module, name: str, k: float, *, importance_scores: Tensor | None = None
) -> nn.Module:
    """Functional form of :class:`TopK`: keep the ``floor(k * n)`` largest ``|w|``.

    Like ``prune.l1_unstructured`` (with ``amount = 1 - k``, up to rounding),
    it reparametrises ``module.<name>`` as ``<name>_orig * <name>_mask`` with
    torch's forward pre-hook.  ``k`` is the fraction of the ``n`` entries KEPT,
    ranked over the whole tensor.  On an already pruned parameter it keeps
    ``floor(k * m)`` of the ``m`` entries still unpruned (amounts compound).

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"``.
        k: fraction of entries kept, in [0, 1].
        importance_scores: optional tensor of the parameter's shape, ranked by
            its absolute values instead of the parameter's.

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``k`` outside [0, 1], a parameter (or ``importance_scores``)
            with NaN or inf entries, ``importance_scores`` of another shape.
        TypeError: ``k`` not a number.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = topk_prune(nn.Linear(10, 10), "weight", k=0.3)
        >>> int((layer.weight != 0).sum())
        30
    """
    TopK.apply(module, name, k=k, importance_scores=importance_scores)
    return module


def dynamic_topk_prune(
    module: nn.Module,
    name: str,
    k: float,
    progress: float,
    *,
    schedule: str = "sin4",
    importance_scores: Tensor | None = None,
) -> nn.Module:
    """Functional form of :class:`DynamicTopK`: Top-K at the fraction ``k(x)`` of Eq. 4.

    Keeps the ``floor(k(x) * n)`` largest ``|w|`` with
    ``k(x) = 1 - (1 - k) r(x)`` (:func:`dynamic_keep_fraction`), by torch's
    reparametrisation.  One call prunes once; to follow the schedule over
    training, call ``prune.remove`` before each call (repeated calls on a
    pruned tensor compound, see :class:`DynamicTopK`) or use
    :class:`InPlacePruner`.

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"``.
        k: final fraction kept, in [0, 1].
        progress: training progress ``x`` in [0, 1].
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.
        importance_scores: optional tensor of the parameter's shape, ranked by
            its absolute values instead of the parameter's.

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``k`` or ``progress`` outside [0, 1], an unknown
            ``schedule``, NaN or inf entries, ``importance_scores`` of another shape.
        TypeError: ``k`` or ``progress`` not a number.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = dynamic_topk_prune(nn.Linear(10, 10), "weight", k=0.2, progress=0.5)
        >>> int((layer.weight != 0).sum())  # k(0.5) = 1 - 0.8 * 0.25 = 0.8 of 100 entries
        80
    """
    DynamicTopK.apply(
        module, name, k=k, progress=progress, schedule=schedule, importance_scores=importance_scores
    )
    return module


# --------------------------------------------------------------------------- Tril-damp


def _calling_frames() -> tuple[Any, Any]:
    """The frames of torch's ``PruningContainer`` mask combination and ``global_unstructured``.

    Read-only: used by the Tril-damp schemes to place the entries of a flat
    vector that torch handed them.
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


_FUNCTIONAL = {"TrilDamp": "tril_damp", "DynamicTrilDamp": "dynamic_tril_damp"}

_FLAT_HELP = (
    "{cls} needs the positions of the entries it damps, and torch handed it a flat vector of "
    "{n} entries whose positions could not be recovered. Apply it to a 2-D weight directly "
    "(`{cls}.apply(module, 'weight', ...)` on an unpruned weight, or `{cls}(...).prune(weight)`), "
    "use `InPlacePruner` for the paper's in-place damping, or call `prune.remove` first."
)


class TrilDamp(_SchemeMixin, prune.BasePruningMethod):
    r"""Tril-damp: scale the strictly-lower-triangular entries by ``1 - f`` (Eq. 5).

    ``W <- W - f * tril(W, -1)`` on the rectangular weight ``(O+H, O+H+I)``;
    only its square part has entries below the diagonal.  The mask is soft:
    ``1 - f`` strictly below the diagonal, 1 elsewhere (times ``default_mask``).

    Args:
        f: damping factor in [0, 1]; ``f = 1`` zeroes the lower triangle.
        batch_dims: number of leading dimensions that index independent
            matrices (e.g. one weight per seed); the triangle is taken over the
            last two dimensions.

    Works on a 2-D tensor, and on the flat vector that
    ``prune.global_unstructured`` hands it (positions recovered from that
    call's parameter list, see the module docstring); any other flat vector
    raises ``ValueError``.  ``global_unstructured`` over several parameters damps the
    strictly-lower triangle of each (all must be 2-D).

    Example::

        >>> TrilDamp(f=0.8).prune(torch.ones(3, 4))
        tensor([[1.0000, 1.0000, 1.0000, 1.0000],
                [0.2000, 1.0000, 1.0000, 1.0000],
                [0.2000, 0.2000, 1.0000, 1.0000]])
    """

    def __init__(self, f: float, *, batch_dims: int = 0) -> None:
        self.f = _check_unit("f", f)
        self.batch_dims = _check_batch_dims(batch_dims)

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
        if t.dim() != self.batch_dims + 2:
            raise ValueError(
                f"{type(self).__name__} needs a 2-D weight (plus batch_dims={self.batch_dims} "
                f"leading dims), got a tensor of shape {tuple(t.shape)}"
            )

    def _lower_positions(self, t: Tensor) -> Tensor:
        """Boolean tensor like ``t``: True where the entry is strictly below the diagonal."""
        if t.dim() == self.batch_dims + 2:
            return _strictly_lower(t.shape, t.device)
        if t.dim() != 1:
            raise ValueError(
                f"{type(self).__name__} needs a 2-D weight, got a tensor of shape {tuple(t.shape)}"
            )
        combine, glob = _calling_frames()
        help_text = _FLAT_HELP.format(cls=type(self).__name__, n=t.numel())
        if combine is None or combine.f_locals.get("method") is not self:
            raise ValueError(help_text)
        full, full_mask = combine.f_locals.get("t"), combine.f_locals.get("mask")
        if not isinstance(full, Tensor) or not isinstance(full_mask, Tensor):
            raise ValueError(help_text)
        if full.dim() == 1 and glob is not None:  # global_unstructured
            pieces = []
            listed = list(glob.f_locals.get("parameters", ()))
            if len({(id(m), n) for m, n in listed}) != len(listed):
                raise ValueError(
                    f"{type(self).__name__} in global_unstructured: a parameter is listed more "
                    "than once, which would damp it once per listing; list each once"
                )
            for module, name in listed:
                param = getattr(module, name)
                if param.dim() != self.batch_dims + 2:
                    raise ValueError(
                        f"{type(self).__name__} in global_unstructured needs 2-D weights; "
                        f"{type(module).__name__}.{name} has shape {tuple(param.shape)}"
                    )
                pieces.append(_strictly_lower(param.shape, t.device).reshape(-1))
            lower = torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.bool)
            if lower.numel() != full.numel():
                raise ValueError(help_text)
            if bool(((full_mask > 0) & (full_mask < 1)).any()):
                raise ValueError(
                    f"{type(self).__name__} in global_unstructured: a listed parameter already "
                    "has soft mask values, which torch would multiply by themselves (0.2 -> "
                    "0.04 -> 0.0016) instead of damping them once more. Use "
                    f"`{_FUNCTIONAL[type(self).__name__]}(module, name, ...)` per parameter "
                    "(damping compounds as (1 - f)^n) or `InPlacePruner`."
                )
        else:
            raise ValueError(help_text)
        picked = lower.reshape(-1)[(full_mask == 1).reshape(-1).to(t.device)]
        if picked.numel() != t.numel():
            raise ValueError(help_text)
        return picked

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Soft mask like ``t``: ``default_mask * (1 - f)`` strictly below the diagonal."""
        _check_finite(t)
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
        progress: training progress ``x`` in [0, 1].
        schedule: ``"sin4"`` (the paper's) or ``"cubic"``; see :data:`SCHEDULES`.
        batch_dims: as for :class:`TrilDamp`.

    Example::

        >>> DynamicTrilDamp(f=0.8, progress=1.0).current_f
        0.8
    """

    def __init__(
        self, f: float, progress: float = 1.0, *, schedule: str = "sin4", batch_dims: int = 0
    ) -> None:
        super().__init__(f, batch_dims=batch_dims)
        self.progress = _check_unit("progress", progress)
        self.schedule = _check_schedule(schedule)

    @property
    def current_f(self) -> float:
        """The damping factor at this progress, ``f(x)``."""
        return dynamic_damping_factor(self.f, self.progress, self.schedule)

    def _factor(self) -> float:
        return self.current_f


def tril_damp(
    module: nn.Module, name: str, f: float, *, importance_scores: Tensor | None = None
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
        importance_scores: optional tensor of the parameter's shape; the mask
            depends on positions only, so its values are only checked to be finite.

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``f`` outside [0, 1], a parameter that is not 2-D, NaN or
            inf entries, ``importance_scores`` of another shape.
        TypeError: ``f`` not a number.
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
    TrilDamp.apply(module, name, f=f, importance_scores=importance_scores)
    return module


def dynamic_tril_damp(
    module: nn.Module,
    name: str,
    f: float,
    progress: float,
    *,
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
        progress: training progress ``x`` in [0, 1].
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.
        importance_scores: optional tensor of the parameter's shape, only
            checked (the mask depends on positions only).

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``f`` or ``progress`` outside [0, 1], an unknown
            ``schedule``, a parameter that is not 2-D, NaN or inf entries.
        TypeError: ``f`` or ``progress`` not a number.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = dynamic_tril_damp(nn.Linear(3, 3, bias=False), "weight", f=0.8, progress=0.5)
        >>> round(layer.weight_mask[2, 0].item(), 6)  # 1 - 0.8 * sin(pi/4)^4
        0.8
    """
    DynamicTrilDamp.apply(
        module, name, f=f, progress=progress, schedule=schedule, importance_scores=importance_scores
    )
    return module


# --------------------------------------------------------------------------- in place


_SCHEMES = (RandomPrune, TopK, DynamicTopK, TrilDamp, DynamicTrilDamp)


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
        method: one of :class:`RandomPrune`, :class:`TopK`,
            :class:`DynamicTopK`, :class:`TrilDamp`, :class:`DynamicTrilDamp`
            (the class, not an instance).
        **params: the scheme's parameters (``p``, ``k`` or ``f``, and
            ``schedule``, ``generator``, ``batch_dims`` where they apply);
            ``progress`` is given to each :meth:`step` instead.

    Random's mask is drawn at the first step and re-applied unchanged at every
    later one.  Dynamic schemes need ``progress`` at every step.

    Example::

        >>> layer = nn.Linear(4, 4, bias=False)
        >>> pruner = InPlacePruner(layer, "weight", DynamicTopK, k=0.5)
        >>> mask = pruner.step(progress=1.0)  # after optimiser.step()
        >>> int((layer.weight != 0).sum())
        8
    """

    def __init__(
        self, module: nn.Module, name: str, method: type[prune.BasePruningMethod], **params: Any
    ) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        if not (isinstance(method, type) and issubclass(method, _SCHEMES)):
            names = ", ".join(s.__name__ for s in _SCHEMES)
            raise TypeError(f"method must be one of the classes {names}; got {method!r}")
        param = _in_place_parameter(module, name)
        if "progress" in params:
            raise TypeError("pass progress to step(), not to InPlacePruner")
        self.dynamic = issubclass(method, (DynamicTopK, DynamicTrilDamp))
        probe = method(**params, **({"progress": 0.0} if self.dynamic else {}))
        probe._check_tensor(param.detach())
        self.module = module
        self.name = name
        self.method = method
        self.params = params
        self.mask: Tensor | None = None  # Random's fixed mask

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
            _check_unit("progress", progress)
        return self.method(**self.params)

    @torch.no_grad()
    def step(self, progress: float | None = None) -> Tensor:
        """Apply the scheme to the parameter in place and return the mask it used."""
        weight = self.parameter
        method = self.method_at(progress)
        if isinstance(method, RandomPrune) and self.mask is not None:
            _check_finite(weight)
            mask = self.mask
        else:
            method._check_tensor(weight)
            mask = method.compute_mask(weight.detach(), torch.ones_like(weight))
            if isinstance(method, RandomPrune):
                self.mask = mask
        weight.mul_(mask)
        return mask


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


def sparsity(t: Tensor) -> float:
    """Fraction of entries of ``t`` that are exactly zero.

    ``#{t == 0} / t.numel()``.  For a soft mask, report this together with the
    mean mask value: counting zeros alone says nothing about damped entries.

    Args:
        t: a tensor of any shape, dtype and device, with at least one entry.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: ``t`` is empty.

    Example::

        >>> sparsity(torch.tensor([0.0, 1.0, 0.0, 2.0]))
        0.5
        >>> mask = TrilDamp(f=0.8).prune(torch.ones(3, 3))  # soft: no zeros, 3 entries damped
        >>> sparsity(mask), round(mask.mean().item(), 4)
        (0.0, 0.7333)
    """
    if t.numel() == 0:
        raise ValueError("sparsity of an empty tensor is undefined")
    return float((t == 0).sum().item()) / t.numel()
