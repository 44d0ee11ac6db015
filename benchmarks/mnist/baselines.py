"""Experiment 1: dense and pruned MLP baselines on MNIST / Fashion-MNIST.

For every architecture (default ``784-256-10`` and ``784-256-256-10``) and seed:

1. Train the dense MLP for ``train_epochs`` (Adam, cross-entropy).
2. From that same trained state, for every one-shot method and target
   sparsity ``s``: prune all ``nn.Linear`` weights (biases are not pruned) once
   through :mod:`torch.nn.utils.prune`, fine-tune ``finetune_epochs`` with the
   mask in place, ``prune.remove`` and evaluate.  The dense row continues
   training for the same ``finetune_epochs`` without pruning, so every row
   has the same number of epochs.
3. ``dynamic-topk`` trains a fresh model (same initialisation and batch order)
   for ``train_epochs``; at the end of epoch ``e`` (``e = 1..train_epochs``) it
   calls ``prune.remove`` and re-applies ``prune.global_unstructured(params,
   pruning_method=DynamicTopK, k=1-s, progress=e/train_epochs)``, i.e. the
   mask is recomputed from the current weights with the fraction kept of the
   paper's Eq. 4 (``sin^4`` ramp), reaching ``s`` at the end of the training
   phase; then it is fine-tuned with the final mask like the others.
   (Re-applying without ``prune.remove`` would compound: torch hands a second
   method only the still-unpruned entries.)

=================  ===========================================================================
method             call (``params`` = every ``(linear, "weight")``; ``s`` = target sparsity)
=================  ===========================================================================
``l1-layer``       ``prune.l1_unstructured(linear, "weight", amount=s)`` per layer
``l1-global``      ``prune.global_unstructured(params, pruning_method=prune.L1Unstructured,
                   amount=s)``
``topk``           ``prune.global_unstructured(params, pruning_method=TopK, k=1-s)``
``dynamic-topk``   ``prune.global_unstructured(params, pruning_method=DynamicTopK, k=1-s,
                   progress=x)``, re-applied each epoch (above)
``random``         ``prune.global_unstructured(params, pruning_method=RandomPrune, p=s,
                   generator=...)``
=================  ===========================================================================

The reported sparsity is measured, not assumed: the share of exact zeros
among all pruned weights after ``prune.remove``.  (``TopK`` keeps
``floor(k n)``, torch's L1 prunes ``round(s n)``, ``RandomPrune`` prunes ``s``
only in expectation.)

Example::

    >>> PRUNING_METHODS
    ('l1-layer', 'l1-global', 'topk', 'dynamic-topk', 'random')
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import prune

from benchmarks.mnist.data import MNISTData, make_loader
from benchmarks.mnist.models import linear_weights, mlp
from torch_orderedness import DynamicTopK, RandomPrune, TopK

__all__ = [
    "PRUNING_METHODS",
    "BaselineConfig",
    "prune_model",
    "make_permanent",
    "weight_sparsity",
    "train_epoch",
    "evaluate",
    "run_baselines",
]

#: The pruning methods of experiment 1, in table order.
PRUNING_METHODS: tuple[str, ...] = ("l1-layer", "l1-global", "topk", "dynamic-topk", "random")


@dataclass
class BaselineConfig:
    """Settings of experiment 1 (stored in the results JSON)."""

    archs: list[str] = field(default_factory=lambda: ["784-256-10", "784-256-256-10"])
    methods: list[str] = field(default_factory=lambda: list(PRUNING_METHODS))
    sparsities: list[float] = field(default_factory=lambda: [0.5, 0.9])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    train_epochs: int = 8
    finetune_epochs: int = 2
    batch_size: int = 128
    lr: float = 1e-3
    activation: str = "relu"
    schedule: str = "sin4"

    def check(self) -> BaselineConfig:
        """Validate the settings; returns ``self``."""
        for m in self.methods:
            if m not in PRUNING_METHODS:
                raise ValueError(f"methods must be among {PRUNING_METHODS}, got {m!r}")
        for s in self.sparsities:
            if not 0.0 <= s < 1.0:
                raise ValueError(f"sparsities must be in [0, 1), got {s}")
        if self.train_epochs < 1 or self.finetune_epochs < 0:
            raise ValueError(
                f"train_epochs must be >= 1 and finetune_epochs >= 0, got "
                f"{self.train_epochs} and {self.finetune_epochs}"
            )
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prune_model(
    model: nn.Module,
    method: str,
    sparsity: float,
    *,
    progress: float = 1.0,
    schedule: str = "sin4",
    generator: torch.Generator | None = None,
) -> None:
    """Prune every ``nn.Linear`` weight of ``model`` with ``method`` to ``sparsity``.

    Through torch's reparametrisation (``weight_orig``, ``weight_mask``); see the
    module docstring for the exact call per method.  ``progress`` and
    ``schedule`` are used by ``dynamic-topk`` only, ``generator`` by ``random``.

    Example::

        >>> model = nn.Sequential(nn.Linear(10, 10))
        >>> prune_model(model, "topk", 0.3)
        >>> int((model[0].weight == 0).sum())
        30
    """
    params = linear_weights(model)
    if method == "l1-layer":
        for module, name in params:
            prune.l1_unstructured(module, name, amount=sparsity)
    elif method == "l1-global":
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=sparsity)
    elif method == "topk":
        prune.global_unstructured(params, pruning_method=TopK, k=1.0 - sparsity)
    elif method == "dynamic-topk":
        prune.global_unstructured(
            params, pruning_method=DynamicTopK, k=1.0 - sparsity, progress=progress,
            schedule=schedule,
        )
    elif method == "random":
        prune.global_unstructured(
            params, pruning_method=RandomPrune, p=sparsity, generator=generator
        )
    else:
        raise ValueError(f"method must be one of {PRUNING_METHODS}, got {method!r}")


def make_permanent(model: nn.Module) -> None:
    """``prune.remove`` on every pruned ``nn.Linear`` weight (masked entries become zeros)."""
    for module, name in linear_weights(model):
        if prune.is_pruned(module) and hasattr(module, name + "_orig"):
            prune.remove(module, name)


def weight_sparsity(model: nn.Module) -> tuple[float, list[float], int]:
    """Share of exact zeros over all ``nn.Linear`` weights, per layer, and the nonzero count.

    Reads ``module.weight`` (the masked weight while pruning is in place).
    """
    zeros = total = 0
    per_layer = []
    for module, name in linear_weights(model):
        w = getattr(module, name).detach()
        z = int((w == 0).sum())
        zeros += z
        total += w.numel()
        per_layer.append(z / w.numel())
    return zeros / total, per_layer, total - zeros


def train_epoch(
    model: nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
) -> float:
    """One epoch of cross-entropy training; returns the mean training loss."""
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(yb)
        count += len(yb)
    return total / max(count, 1)


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2000
) -> tuple[float, float]:
    """``(accuracy, mean cross-entropy)`` of ``model`` on ``(x, y)``."""
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(y), batch_size):
        out = model(x[i : i + batch_size])
        target = y[i : i + batch_size]
        loss += float(F.cross_entropy(out, target, reduction="sum"))
        correct += int((out.argmax(dim=1) == target).sum())
    return correct / len(y), loss / len(y)


def _epoch_loader(data: MNISTData, cfg: BaselineConfig, seed: int, epoch: int) -> Any:
    # every variant sees the same batches in the same epoch of the same seed
    return make_loader(
        data.train_x, data.train_y, cfg.batch_size, shuffle=True, seed=seed * 100_003 + epoch
    )


def _train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: MNISTData,
    cfg: BaselineConfig,
    seed: int,
    epochs: range,
    after_epoch: Callable[[int], None] | None = None,
) -> float | None:
    loss = None
    for epoch in epochs:
        loss = train_epoch(model, _epoch_loader(data, cfg, seed, epoch), optimizer)
        if after_epoch is not None:
            after_epoch(epoch)
    return loss


def _finish(
    model: nn.Module,
    data: MNISTData,
    row: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    make_permanent(model)
    acc, loss = evaluate(model, data.test_x, data.test_y)
    sparsity, per_layer, nonzero = weight_sparsity(model)
    row.update(
        test_accuracy=acc,
        test_loss=loss,
        sparsity=sparsity,
        layer_sparsity=per_layer,
        nonzero_weights=nonzero,
        seconds=time.perf_counter() - started,
    )
    return row


def _variants(cfg: BaselineConfig) -> list[tuple[str, float]]:
    out = [("dense", 0.0)]
    out += [(m, s) for m in cfg.methods for s in cfg.sparsities]
    return out


def run_baselines(
    data: MNISTData,
    cfg: BaselineConfig,
    *,
    device: torch.device | str = "cpu",
    progress: Callable[[str], None] | None = None,
    keep_models: bool = False,
) -> list[dict[str, Any]]:
    """Run experiment 1; one result row per (architecture, method, sparsity, seed).

    Args:
        data: the data set (moved to ``device`` by the caller or here).
        cfg: the settings.
        device: where to train.
        progress: called with a short label after every finished row (tqdm glue).
        keep_models: put the final (pruning made permanent) model in each row
            under ``"_model"`` (tests; keys starting with ``_`` stay out of the JSON).

    Returns:
        Rows with ``arch``, ``method``, ``target_sparsity``, ``seed``,
        ``test_accuracy``, ``test_loss``, ``accuracy_after_pruning`` (before
        fine-tuning; the dense accuracy at that point for ``dense``),
        ``sparsity`` (measured share of exact zeros of all pruned weights),
        ``layer_sparsity``, ``nonzero_weights``, ``train_loss``, ``seconds``.
    """
    cfg.check()
    data.to(device)
    rows: list[dict[str, Any]] = []
    for arch in cfg.archs:
        sizes = [int(s) for s in arch.split("-")]
        if sizes[0] != data.in_features or sizes[-1] != data.num_classes:
            raise ValueError(
                f"arch {arch!r} must start with {data.in_features} inputs and end with "
                f"{data.num_classes} outputs"
            )
        for seed in cfg.seeds:
            torch.manual_seed(seed)
            model = mlp(sizes, cfg.activation, generator_seed=seed).to(device)
            init_state = copy.deepcopy(model.state_dict())
            optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
            started = time.perf_counter()
            _train(model, optimizer, data, cfg, seed, range(cfg.train_epochs))
            dense_seconds = time.perf_counter() - started
            dense_acc, _ = evaluate(model, data.test_x, data.test_y)
            trained = copy.deepcopy(model.state_dict())
            trained_opt = copy.deepcopy(optimizer.state_dict())
            finetune = range(cfg.train_epochs, cfg.train_epochs + cfg.finetune_epochs)
            for method, sparsity in _variants(cfg):
                base = {"arch": arch, "method": method, "target_sparsity": sparsity,
                        "seed": seed}
                row = dict(base)
                started = time.perf_counter()
                model = mlp(sizes, cfg.activation).to(device)
                optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
                if method == "dynamic-topk":
                    model.load_state_dict(init_state)

                    def reprune(epoch: int, model: nn.Module = model, s: float = sparsity) -> None:
                        make_permanent(model)
                        prune_model(model, "dynamic-topk", s,
                                    progress=(epoch + 1) / cfg.train_epochs,
                                    schedule=cfg.schedule)

                    _train(model, optimizer, data, cfg, seed, range(cfg.train_epochs), reprune)
                    row["accuracy_after_pruning"] = evaluate(model, data.test_x, data.test_y)[0]
                else:
                    model.load_state_dict(trained)
                    # a copy: Optimizer.load_state_dict keeps same-device tensors as they are,
                    # and Adam would then update the saved state in place for the next variant
                    optimizer.load_state_dict(copy.deepcopy(trained_opt))
                    if method != "dense":
                        generator = torch.Generator().manual_seed(seed)
                        prune_model(model, method, sparsity, generator=generator,
                                    schedule=cfg.schedule)
                        row["accuracy_after_pruning"] = evaluate(
                            model, data.test_x, data.test_y)[0]
                    else:
                        row["accuracy_after_pruning"] = dense_acc
                row["train_loss"] = _train(model, optimizer, data, cfg, seed, finetune)
                _finish(model, data, row, started)
                if method != "dynamic-topk":
                    row["seconds"] += dense_seconds  # the shared dense training phase
                if keep_models:
                    row["_model"] = model
                rows.append(row)
                if progress is not None:
                    label = f"{arch} {method}" + (f" {sparsity:g}" if method != "dense" else "")
                    progress(f"{label} seed {seed}")
    return rows
