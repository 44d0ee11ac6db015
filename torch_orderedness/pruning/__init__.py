r"""The paper's five pruning schemes as :mod:`torch.nn.utils.prune` methods.

========================  ======  ===========================  =================================
class                     name    paper's parameter            mask
========================  ======  ===========================  =================================
:class:`RandomPrune`      random  ``p``: probability pruned    Bernoulli: entry zero w.p. ``p``
:class:`TopK`             topk    ``k``: fraction KEPT         keep the ``floor(k*n)`` largest
:class:`DynamicTopK`      dyn_    ``k``, ``progress``          Top-K with ``k(x)`` (Eq. 4)
                          topk
:class:`TrilDamp`         tril    ``f``: damping factor        ``1 - f`` strictly below the
                                                               diagonal
:class:`DynamicTrilDamp`  dyn_    ``f``, ``progress``          Tril-damp with ``f(x)`` (Eq. 6)
                          tril
========================  ======  ===========================  =================================

Each class carries its registry facts as class attributes: ``SCHEME`` (the
short name above, the key of :data:`PRUNING_SCHEMES`), ``PARAMETER`` (the
paper's symbol) and ``DYNAMIC``.

**torch's** ``amount``: every scheme also accepts ``amount`` instead of the
paper's symbol (giving both is an error), with torch's meaning where one
exists: for Random and Top-K the fraction (float) or number (int) of entries
**pruned**, counted as torch counts it (``TopK(amount=0.2)`` prunes exactly the
entries of ``prune.l1_unstructured(amount=0.2)``); for the Tril-damps the
damping ``f``.  So the classes work wherever torch or Lightning pass ``amount``:
``prune.global_unstructured(params, pruning_method=TopK, amount=0.2)`` and
Lightning's ``ModelPruning(pruning_fn=TopK, amount=0.2)``.

The schemes can be used in two ways:

* **torch's reparametrised way** (mask applied in the forward pass): every
  class is a :class:`~torch.nn.utils.prune.BasePruningMethod` with
  ``PRUNING_TYPE = "unstructured"``, so ``TopK.apply(module, "weight", k=0.5)``,
  the functional helpers (:func:`topk_prune`, :func:`tril_damp`, ...) and
  ``prune.global_unstructured(params, pruning_method=TopK, k=0.5)`` work, and
  ``prune.remove`` makes the pruning permanent.
* **the paper's in-place way**: :class:`~torch_orderedness.InPlacePruner`
  applies a scheme to the weight itself after every optimiser step, so damping
  compounds and pruned weights can regrow through later gradient steps;
  Random's mask is drawn once.

Repeated application through torch (a ``PruningContainer``): torch hands a
method only the entries whose mask is exactly 1 (``mask == 1``), as a flat
vector.  Consequences, all tested:

* Top-K and Random act on the still-unpruned entries only, so amounts compound
  (``TopK(0.5)`` twice keeps 25 %), as with torch's own methods.
* Dynamic Top-K does not compound: Eq. 4 schedules the sparsity of the whole
  weight, so it keeps ``floor(k(x) n)`` of all ``n`` entries, reading ``n``
  from the torch call that handed it the unpruned ones.
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

Example::

    >>> sorted(PRUNING_SCHEMES), TopK.PARAMETER, DynamicTopK.DYNAMIC
    (['dyn_topk', 'dyn_tril', 'random', 'topk', 'tril'], 'k', True)
"""

from __future__ import annotations

from torch.nn.utils import prune

from torch_orderedness.pruning._base import sparsity
from torch_orderedness.pruning.damping import (
    DynamicTrilDamp,
    TrilDamp,
    dynamic_tril_damp,
    tril_damp,
)
from torch_orderedness.pruning.schedules import (
    SCHEDULES,
    dynamic_damping_factor,
    dynamic_keep_fraction,
    ramp,
)
from torch_orderedness.pruning.selection import (
    DynamicTopK,
    RandomPrune,
    TopK,
    dynamic_topk_prune,
    random_prune,
    topk_prune,
)

__all__ = [
    "PRUNING_SCHEMES",
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
    "sparsity",
]

def __getattr__(name: str) -> object:
    """``torch_orderedness.pruning.InPlacePruner``: deprecated alias (it moved to training)."""
    if name == "InPlacePruner":
        import warnings

        from torch_orderedness.training.pruner import InPlacePruner

        warnings.warn("torch_orderedness.pruning.InPlacePruner moved; import it from "
                      "torch_orderedness (the alias goes in 0.3.0)", DeprecationWarning,
                      stacklevel=2)
        return InPlacePruner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The five schemes by their short names (each class's ``SCHEME``): ``"random"``,
#: ``"topk"``, ``"dyn_topk"``, ``"tril"``, ``"dyn_tril"``.
PRUNING_SCHEMES: dict[str, type[prune.BasePruningMethod]] = {
    cls.SCHEME: cls for cls in (RandomPrune, TopK, DynamicTopK, TrilDamp, DynamicTrilDamp)
}
