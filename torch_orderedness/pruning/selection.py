r"""The schemes that zero entries: Random, Top-K and Dynamic Top-K (Appendix B, Eq. 4).

Each takes the paper's parameter or torch's ``amount`` (one of the two):

=====================  ==========================  =========================================
class                  paper's parameter           torch's ``amount`` (entries **pruned**)
=====================  ==========================  =========================================
:class:`RandomPrune`   ``p``: each entry pruned    exactly ``round(amount * n)`` (float) or
                       with probability ``p``      ``amount`` (int) entries, drawn at random
:class:`TopK`          ``k``: keep the             the ``round(amount * n)`` (or ``amount``)
                       ``floor(k * n)`` largest    smallest ``|w|``: the entries of torch's
                       ``|w|``                     ``l1_unstructured(amount=...)``
:class:`DynamicTopK`   ``k``: keep                 ``round(amount * r(x) * n)`` (or
                       ``floor(k(x) * n)``         ``round(amount * r(x))``) smallest ``|w|``
=====================  ==========================  =========================================

with ``k(x) = 1 - (1 - k) r(x)`` and the ramp ``r`` of :mod:`.schedules`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils import prune

from torch_orderedness import _checks
from torch_orderedness.pruning._base import (
    _check_amount,
    _check_finite,
    _container_mask,
    _exact_keep_count,
    _keep_count,
    _one_of,
    _prune_count,
    _Scheme,
)
from torch_orderedness.pruning.schedules import _check_schedule, dynamic_keep_fraction, ramp

__all__ = [
    "RandomPrune",
    "TopK",
    "DynamicTopK",
    "random_prune",
    "topk_prune",
    "dynamic_topk_prune",
]


def _rows(t: Tensor, batch_dims: int) -> Tensor:
    """``t`` as ``(batch items, entries)``."""
    return t.reshape(math.prod(t.shape[:batch_dims]), -1)


def _zero_smallest(scores: Tensor, count: int) -> Tensor:
    """Per row of ``scores`` ``(B, n)``: a 0/1 keep mask with the ``count`` smallest zeroed,
    chosen like torch's ``l1_unstructured`` (``torch.topk(..., largest=False)``)."""
    keep = torch.ones_like(scores, dtype=torch.bool)
    if count > 0:
        index = torch.topk(scores, count, dim=1, largest=False).indices
        keep.scatter_(1, index, False)
    return keep


class RandomPrune(_Scheme, prune.BasePruningMethod):
    r"""Random pruning: zero each entry with probability ``p`` (or exactly ``amount`` entries).

    Args:
        p: probability that an entry is pruned, in [0, 1] (the paper's; the
            number pruned is ``p * n`` in expectation).
        amount: torch's ``amount`` instead of ``p``: a float in [0, 1] prunes
            exactly ``round(amount * n)`` entries, an int exactly ``amount``,
            chosen uniformly at random (as ``prune.random_unstructured``).
        generator: optional :class:`torch.Generator` for the draw (its device
            is used for drawing; the mask is moved to the tensor's device).
        batch_dims: leading dimensions that index independent tensors (one
            weight per seed, say): ``amount`` then counts per item.

    Used through :class:`~torch_orderedness.InPlacePruner`, the mask is drawn
    once and re-applied unchanged at every step, as in the paper.

    Example::

        >>> layer = nn.Linear(4, 3)
        >>> RandomPrune.apply(layer, "weight", p=0.5, generator=torch.Generator().manual_seed(0))
        ... # doctest: +ELLIPSIS
        <...RandomPrune object at ...>
        >>> mask = RandomPrune(amount=5).compute_mask(torch.ones(4, 3), torch.ones(4, 3))
        >>> int((mask == 0).sum())
        5
    """

    SCHEME = "random"
    PARAMETER = "p"

    def __init__(self, p: float | None = None, *, amount: int | float | None = None,
                 generator: torch.Generator | None = None, batch_dims: int = 0) -> None:
        _one_of(type(self), "p", p, amount)
        self.p = None if p is None else _checks.fraction("p", p)
        self.amount = None if amount is None else _check_amount(amount)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        self.generator = generator
        self.batch_dims = _checks.count("batch_dims", batch_dims, 0)

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Mask of shape ``t.shape``: ``default_mask`` times a random 0/1 draw."""
        self._check_tensor(t)
        device = self.generator.device if self.generator is not None else t.device
        draw = torch.rand(t.shape, generator=self.generator, device=device).to(t.device)
        if self.amount is None:
            keep = draw >= self.p
        else:  # exactly round(amount * n) per item: the largest draws, like torch's
            rows = _rows(draw, self.batch_dims)
            count = _prune_count(self.amount, rows.shape[1])
            keep = _zero_smallest(-rows, count).reshape(t.shape)
        return default_mask * keep.to(default_mask.dtype)


class TopK(_Scheme, prune.BasePruningMethod):
    r"""Top-K pruning: keep the ``floor(k * n)`` entries of largest magnitude, zero the rest.

    Args:
        k: fraction KEPT, in [0, 1] (the paper's).
        amount: torch's ``amount`` instead of ``k``: the fraction (float) or
            number (int) of entries PRUNED, counted as torch counts it
            (``round(amount * n)``), so ``TopK(amount=a)`` prunes exactly the
            entries of ``prune.l1_unstructured(amount=a)``.
        batch_dims: number of leading dimensions that index independent
            tensors (e.g. one weight per seed): the count then applies to each
            of them, ``n`` being the size of one.

    With ``k``, entries already pruned by ``default_mask`` rank last and stay
    pruned, and exactly ``floor(k * n)`` entries survive when at least that
    many are unpruned (``k * n`` is rounded to 9 decimals before the floor, so
    ``k = 0.57`` of 100 keeps 57), ties broken arbitrarily.  Applied again
    through torch on a pruned tensor, ``k`` (like torch's ``amount``) counts
    against the entries still unpruned: ``TopK(k=0.5)`` twice keeps 25 %.

    Example::

        >>> w = torch.tensor([[3.0, -1.0], [0.5, -4.0]])
        >>> TopK(k=0.5).compute_mask(w, torch.ones_like(w))
        tensor([[1., 0.],
                [0., 1.]])
        >>> torch.equal(TopK(amount=1).compute_mask(w, torch.ones_like(w)),
        ...             prune.L1Unstructured(amount=1).compute_mask(w, torch.ones_like(w)))
        True
    """

    SCHEME = "topk"
    PARAMETER = "k"

    def __init__(self, k: float | None = None, *, amount: int | float | None = None,
                 batch_dims: int = 0) -> None:
        _one_of(type(self), "k", k, amount)
        self.k = None if k is None else _checks.fraction("k", k)
        self.amount = None if amount is None else _check_amount(amount)
        self.batch_dims = _checks.count("batch_dims", batch_dims, 0)

    def _n_keep(self, n: int) -> int:
        """How many of ``n`` entries the mask keeps."""
        if self.amount is not None:
            return n - _prune_count(self.amount, n)
        return _keep_count(self.k, n)  # type: ignore[arg-type]

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
        """Mask like ``t``: ones at the kept magnitudes (per batch item), times ``default_mask``."""
        self._check_tensor(t)
        return self._mask(t, default_mask)

    def _mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """:meth:`compute_mask` of a checked tensor."""
        scores = _rows(t.detach().abs(), self.batch_dims)
        if self.amount is not None and not self.DYNAMIC:  # torch's own rule and tie-breaking
            keep = _zero_smallest(scores, _prune_count(self.amount, scores.shape[1]))
            return default_mask * keep.reshape(t.shape).to(default_mask.dtype)
        n_keep = self._n_keep(scores.shape[1])
        alive = _rows(default_mask, self.batch_dims) != 0
        return default_mask * self._keep_largest(scores, alive, n_keep).reshape(t.shape).to(
            default_mask.dtype)

    @staticmethod
    def _keep_largest(scores: Tensor, alive: Tensor, n_keep: int) -> Tensor:
        """Per row: True at the ``n_keep`` largest scores, dead entries ranked last."""
        ranked = torch.where(alive, scores.to(torch.float64), torch.full_like(scores, -1.0,
                                                                               dtype=torch.float64))
        keep = torch.zeros_like(ranked, dtype=torch.bool)
        if n_keep > 0:
            keep.scatter_(1, torch.topk(ranked, n_keep, dim=1, sorted=False).indices, True)
        return keep


class DynamicTopK(TopK):
    r"""Dynamic Top-K: Top-K with the fraction kept ``k(x) = 1 - (1 - k) r(x)`` (Eq. 4).

    Args:
        k: final fraction kept, in [0, 1] (the paper's).
        progress: training progress ``x`` in [0, 1] (the paper uses
            ``epoch / n_epochs``); default 1, the final fraction.
        amount: torch's ``amount`` instead of ``k``: the final fraction (float)
            or number (int) of entries PRUNED; at progress ``x``,
            ``round(amount * r(x) * n)`` (or ``round(amount * r(x))``) are pruned.
        schedule: ``"sin4"`` (the paper's ``r(x) = sin(pi x / 2)^4``) or
            ``"cubic"`` (``1 - (1 - x)^3``, Zhu & Gupta); see :data:`SCHEDULES`.
        batch_dims: as for :class:`TopK`.

    With ``k`` it keeps exactly ``floor(k(x) * n)`` entries, with no rounding
    of ``k(x) * n`` first (the paper's reference implementation's rule: at
    XOR's first epoch ``k(x) * 48 = 48 - 1.46e-10`` keeps 47); the static
    :class:`TopK` rounds ``k * n`` to 9 decimals before the floor, because
    its ``k`` is a decimal typed by a user.

    Eq. 4 schedules the sparsity of the **whole** weight, so unlike
    :class:`TopK` the count never compounds: applied again through torch on an
    already pruned tensor (a later epoch, ``prune.global_unstructured`` or
    Lightning's ``ModelPruning`` pruning every epoch), it prunes until
    ``floor(k(x) * n)`` of all ``n`` entries are left, and entries already
    pruned stay pruned (gradual magnitude pruning).  It reads ``n`` from the
    torch call that handed it the unpruned entries (see the package docstring).
    :class:`~torch_orderedness.InPlacePruner` is the paper's way instead
    (every entry ranked again at every step, so pruned ones may regrow).

    Example::

        >>> DynamicTopK(k=0.5, progress=0.0).current_k  # nothing pruned at the start
        1.0
        >>> layer = nn.Linear(10, 10)
        >>> for x in (0.5, 1.0):  # the schedule through torch, once per "epoch"
        ...     _ = dynamic_topk_prune(layer, "weight", k=0.5, progress=x)
        >>> int((layer.weight != 0).sum())  # k(1) = 0.5 of all 100 entries
        50
    """

    SCHEME = "dyn_topk"
    DYNAMIC = True

    def __init__(self, k: float | None = None, progress: float = 1.0, *,
                 amount: int | float | None = None, schedule: str = "sin4",
                 batch_dims: int = 0) -> None:
        super().__init__(k, amount=amount, batch_dims=batch_dims)
        self.progress = _checks.fraction("progress", progress)
        self.schedule = _check_schedule(schedule)

    @property
    def current_k(self) -> float:
        """The fraction kept at this progress, ``k(x)`` (with ``amount``: of a float amount)."""
        if self.k is None:
            if isinstance(self.amount, int):
                raise ValueError("current_k is undefined for an int amount: it depends on n")
            return 1.0 - self.amount * ramp(self.progress, self.schedule)  # type: ignore[operator]
        return dynamic_keep_fraction(self.k, self.progress, self.schedule)

    def _n_keep(self, n: int) -> int:
        """``floor(k(x) * n)`` exactly (the reference's rule), or ``n`` minus torch's count."""
        if self.amount is None:
            return _exact_keep_count(self.current_k, n)
        r = ramp(self.progress, self.schedule)
        pruned = round(self.amount * r) if isinstance(self.amount, int) else round(
            self.amount * r * n)
        return n - min(n, pruned)

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Mask like ``t`` keeping the top ``floor(k(x) n)`` of the whole tensor (see above)."""
        self._check_tensor(t)
        whole = _container_mask(self, t)
        if whole is None:
            return self._mask(t, default_mask)
        # t holds the entries whose mask is exactly 1; soft entries (0 < m < 1) count as kept
        soft = int(((whole > 0) & (whole < 1)).sum())
        n_keep = min(t.numel(), max(0, self._n_keep(whole.numel()) - soft))
        scores = t.detach().abs().reshape(1, -1)
        alive = default_mask.reshape(1, -1) != 0
        return default_mask * self._keep_largest(scores, alive, n_keep).reshape(t.shape).to(
            default_mask.dtype)


def random_prune(
    module: nn.Module,
    name: str,
    p: float | None = None,
    *,
    amount: int | float | None = None,
    generator: torch.Generator | None = None,
    importance_scores: Tensor | None = None,
) -> nn.Module:
    """Functional form of :class:`RandomPrune`: prune each entry with probability ``p``.

    Like ``prune.random_unstructured``, it reparametrises ``module.<name>``
    as ``<name>_orig * <name>_mask`` with torch's forward pre-hook.  With ``p``
    every entry is pruned independently (Bernoulli), so the number pruned is
    ``p * n`` only in expectation; with ``amount`` exactly that many are pruned.
    On an already pruned parameter only the entries whose mask is exactly 1
    can be pruned (amounts compound, as torch's do).

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"``.
        p: probability that an entry is pruned, in [0, 1].
        amount: instead of ``p``, torch's fraction (float) or number (int) pruned.
        generator: optional :class:`torch.Generator` for the draw (seed it for
            a reproducible mask); ``None``: torch's default generator.
        importance_scores: optional tensor of the parameter's shape; the draw
            ignores its values (it is only checked to be finite).

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``p`` or ``amount`` out of range, a parameter (or
            ``importance_scores``) with NaN or inf entries, ``importance_scores``
            of another shape.
        TypeError: ``p`` not a number, both or neither of ``p`` and ``amount``,
            ``generator`` not a :class:`torch.Generator`.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = random_prune(nn.Linear(10, 10), "weight", p=0.3,
        ...                      generator=torch.Generator().manual_seed(0))
        >>> sorted(name for name, _ in layer.named_buffers())
        ['weight_mask']
        >>> int((layer.weight_mask == 0).sum())  # 30 of the 100 entries in expectation
        35
    """
    RandomPrune.apply(module, name, p=p, amount=amount, generator=generator,
                      importance_scores=importance_scores)
    return module


def topk_prune(
    module: nn.Module, name: str, k: float | None = None, *, amount: int | float | None = None,
    importance_scores: Tensor | None = None,
) -> nn.Module:
    """Functional form of :class:`TopK`: keep the ``floor(k * n)`` largest ``|w|``.

    Like ``prune.l1_unstructured`` (with ``amount``, exactly it), it
    reparametrises ``module.<name>`` as ``<name>_orig * <name>_mask`` with
    torch's forward pre-hook.  ``k`` is the fraction of the ``n`` entries KEPT,
    ranked over the whole tensor.  On an already pruned parameter it keeps
    ``floor(k * m)`` of the ``m`` entries still unpruned (amounts compound).

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"``.
        k: fraction of entries kept, in [0, 1].
        amount: instead of ``k``, torch's fraction (float) or number (int) pruned.
        importance_scores: optional tensor of the parameter's shape, ranked by
            its absolute values instead of the parameter's.

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``k`` or ``amount`` out of range, a parameter (or
            ``importance_scores``) with NaN or inf entries, ``importance_scores``
            of another shape.
        TypeError: ``k`` not a number, or both or neither of ``k`` and ``amount``.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = topk_prune(nn.Linear(10, 10), "weight", k=0.3)
        >>> int((layer.weight != 0).sum())
        30
    """
    TopK.apply(module, name, k=k, amount=amount, importance_scores=importance_scores)
    return module


def dynamic_topk_prune(
    module: nn.Module,
    name: str,
    k: float | None = None,
    progress: float = 1.0,
    *,
    amount: int | float | None = None,
    schedule: str = "sin4",
    importance_scores: Tensor | None = None,
) -> nn.Module:
    """Functional form of :class:`DynamicTopK`: Top-K at the fraction ``k(x)`` of Eq. 4.

    Keeps the ``floor(k(x) * n)`` largest ``|w|`` with
    ``k(x) = 1 - (1 - k) r(x)`` (:func:`dynamic_keep_fraction`), by torch's
    reparametrisation.  Called again with a later progress (once per epoch,
    say), it follows the schedule of the whole tensor: entries already pruned
    stay pruned and the count does not compound (see :class:`DynamicTopK`).

    Args:
        module: the module holding the parameter.
        name: the parameter's name, e.g. ``"weight"``.
        k: final fraction kept, in [0, 1].
        progress: training progress ``x`` in [0, 1] (default 1).
        amount: instead of ``k``, torch's final fraction (float) or number (int) pruned.
        schedule: ``"sin4"`` (default, the paper's) or ``"cubic"``; see :data:`SCHEDULES`.
        importance_scores: optional tensor of the parameter's shape, ranked by
            its absolute values instead of the parameter's.

    Returns:
        ``module``, pruned.

    Raises:
        ValueError: ``k``, ``amount`` or ``progress`` out of range, an unknown
            ``schedule``, NaN or inf entries, ``importance_scores`` of another shape.
        TypeError: ``k`` or ``progress`` not a number, or both or neither of
            ``k`` and ``amount``.
        AttributeError: ``module`` has no parameter ``name``.

    Example::

        >>> layer = dynamic_topk_prune(nn.Linear(10, 10), "weight", k=0.2, progress=0.5)
        >>> int((layer.weight != 0).sum())  # k(0.5) = 1 - 0.8 * 0.25 = 0.8 of 100 entries
        80
    """
    DynamicTopK.apply(module, name, k=k, progress=progress, amount=amount, schedule=schedule,
                      importance_scores=importance_scores)
    return module
