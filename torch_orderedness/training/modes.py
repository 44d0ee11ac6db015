r"""Apply a list of :class:`PruneSpec` to a model: the paper's in-place way or torch's.

:class:`SpecPruning` is what :func:`~torch_orderedness.train` and the Lightning
callback use: built once before the first step, then ``step(progress)`` after
every optimiser step, returning each pruned parameter's mask.

- ``"in_place"``: one :class:`~torch_orderedness.InPlacePruner` per spec, in
  list order; Random's masks are drawn once, per seed, from each seed's
  ``prune`` generator (or given by the spec's fixed mask).
- ``"reparametrize"``: the masks are set up from the initial weight with
  :func:`torch.nn.utils.prune.custom_from_mask` and multiply the weight in
  every forward pass; the dynamic schemes are re-applied at every step
  (Dynamic Top-K among the entries still unpruned, Dynamic Tril-damp's soft
  mask replaced by the one at ``f(x)``).  Several specs on one parameter
  multiply their masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import prune

from torch_orderedness._weights import named_weight_in_use, owner
from torch_orderedness.pruning import DynamicTopK, RandomPrune
from torch_orderedness.training.pruner import InPlacePruner
from torch_orderedness.training.spec import PruneSpec

__all__ = ["MODES", "SpecPruning"]

#: How schemes are applied: the paper's ``"in_place"`` or torch's ``"reparametrize"``.
MODES: tuple[str, ...] = ("in_place", "reparametrize")


class SpecPruning:
    """The specs applied to ``model`` in ``mode``, one ``step(progress)`` per optimiser step.

    Args:
        model: the model (for ``members``, a batched model whose parameters
            have a leading seed dimension).
        specs: the specs, applied in order.
        mode: ``"in_place"`` or ``"reparametrize"``.
        members: ``None`` for one model, else the number of seeds stacked.
        generators: each seed's ``prune`` generator (or ``None``) for Random's draws.
        first_progress: the progress of the first step (reparametrize: the
            dynamic schemes' first masks).

    Building it changes the model in ``"reparametrize"`` mode (the masks are
    registered); in ``"in_place"`` mode it changes nothing until :meth:`step`.
    """

    def __init__(self, model: nn.Module, specs: Sequence[PruneSpec], mode: str,
                 members: int | None, generators: Sequence[torch.Generator | None],
                 first_progress: float = 0.0) -> None:
        self.model, self.specs, self.mode, self.members = model, tuple(specs), mode, members
        self.bd = 0 if members is None else 1
        with torch.no_grad():
            fixed = {j: self._random_mask(spec, generators)
                     for j, spec in enumerate(self.specs) if issubclass(spec.method, RandomPrune)}
            if mode == "in_place":
                self.pruners = [self._in_place(j, spec, fixed) for j, spec in enumerate(self.specs)]
            else:
                self.masks = {
                    j: fixed[j] if j in fixed else self._initial_mask(spec, first_progress)
                    for j, spec in enumerate(self.specs)}
                for name in self.names:
                    module, attr = owner(model, name)
                    prune.custom_from_mask(module, attr, self._combined(name))

    @property
    def names(self) -> tuple[str, ...]:
        """The pruned parameters, in order of first appearance."""
        return tuple(dict.fromkeys(spec.name for spec in self.specs))

    def _random_mask(self, spec: PruneSpec, generators: Sequence[torch.Generator | None]
                     ) -> Tensor:
        """Random's mask: the spec's fixed one (every seed), or one draw per seed."""
        w = named_weight_in_use(self.model, spec.name)
        if spec.mask is not None:
            mask = spec.mask.to(device=w.device, dtype=w.dtype)
            return mask if self.members is None else mask.expand_as(w).clone()
        rows = [w] if self.members is None else list(w.unbind(0))
        masks = [spec.method_at(generator=g).compute_mask(r, torch.ones_like(r))
                 for r, g in zip(rows, generators, strict=True)]
        return masks[0] if self.members is None else torch.stack(masks)

    def _in_place(self, j: int, spec: PruneSpec, fixed: dict[int, Tensor]) -> InPlacePruner:
        module, attr = owner(self.model, spec.name)
        pruner = InPlacePruner(module, attr, spec.method, **spec.params, batch_dims=self.bd)
        pruner.mask = fixed.get(j)
        return pruner

    def _initial_mask(self, spec: PruneSpec, progress: float) -> Tensor:
        w = named_weight_in_use(self.model, spec.name)
        return spec.method_at(progress, batch_dims=self.bd).compute_mask(w, torch.ones_like(w))

    def _combined(self, name: str) -> Tensor:
        masks = [self.masks[j] for j, spec in enumerate(self.specs) if spec.name == name]
        out = masks[0]
        for m in masks[1:]:
            out = out * m
        return out

    @torch.no_grad()
    def step(self, progress: float) -> dict[str, Tensor]:
        """Apply the schemes after an optimiser step; returns the mask of each pruned parameter."""
        if self.mode == "in_place":
            masks: dict[str, Tensor] = {}
            for spec, pruner in zip(self.specs, self.pruners, strict=True):
                mask = pruner.step(progress if spec.dynamic else None)
                masks[spec.name] = mask if spec.name not in masks else masks[spec.name] * mask
            return masks
        changed = {self._redo(j, spec, progress) for j, spec in enumerate(self.specs)
                   if spec.dynamic}
        out = {}
        for name in self.names:
            module, attr = owner(self.model, name)
            buffer = getattr(module, attr + "_mask")
            if name in changed:
                buffer.copy_(self._combined(name))
            out[name] = buffer
        return out

    def _redo(self, j: int, spec: PruneSpec, progress: float) -> str:
        """Recompute a dynamic spec's mask at ``progress`` (reparametrize mode)."""
        module, attr = owner(self.model, spec.name)
        orig = getattr(module, attr + "_orig").detach()
        method = spec.method_at(progress, batch_dims=self.bd)
        if issubclass(spec.method, DynamicTopK):  # gradual: pruned entries stay pruned
            self.masks[j] = method.compute_mask(orig, self.masks[j])
        else:  # Dynamic Tril-damp: the soft mask at f(x), replacing the last one
            self.masks[j] = method.compute_mask(orig, torch.ones_like(orig))
        return spec.name

    def state_dict(self) -> dict[str, Any]:
        """In place: each pruner's state; reparametrize: each spec's current mask."""
        if self.mode == "in_place":
            return {"pruners": [p.state_dict() for p in self.pruners]}
        return {"masks": [self.masks[j] for j in range(len(self.specs))]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the specs and mode must be the same)."""
        if self.mode == "in_place":
            for pruner, s in zip(self.pruners, state["pruners"], strict=True):
                pruner.load_state_dict(s)
            return
        with torch.no_grad():
            for j, mask in enumerate(state["masks"]):
                self.masks[j] = mask.to(self.masks[j].device)
            for name in self.names:
                module, attr = owner(self.model, name)
                getattr(module, attr + "_mask").copy_(self._combined(name))
