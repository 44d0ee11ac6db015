"""Experiment 3: from MLP to complete layer, and how orderedness and accuracy move.

For every seed:

1. An MLP ``784-h1-...-10`` with sigmoid units and sigmoid outputs (default
   ``784-128-128-10``) trains for ``mlp_epochs`` (Adam, BCE against one-hot
   labels, batch 128).
2. :meth:`torch_orderedness.CompletePerceptron.from_mlp` embeds it (the
   paper's Figure 1(a)): every weight strictly above the diagonal, so the
   orderedness is exactly 1; run for as many iterations as the MLP has
   layers, the layer computes the MLP (checked: the largest output
   difference is recorded).
3. From that same embedded layer, fine-tune ``finetune_epochs`` as a complete
   layer (all ``(O+H) x (O+H+I)`` weights free, back connections included,
   which start at zero), once with each scheme applied in place after every
   optimiser step (as in experiment 2) and once without pruning; the MLP
   itself also trains on for the same epochs, as the reference.
4. Test accuracy, orderedness with its certified bounds after every epoch,
   sparsity, and the null models at the end.

Adam moves every weight that receives a gradient by about ``lr`` per step,
whatever its size, so without pruning the zero back connections grow at once:
the question is how far orderedness falls, what each scheme keeps of it, and
what that costs in accuracy.

Example::

    >>> EmbeddingConfig().check().hidden_units()
    256
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks.mnist.complete import (
    SCHEMES,
    CompleteConfig,
    bce_on_outputs,
    evaluate_outputs,
    one_hot,
    ordering_fields,
    train_complete,
)
from benchmarks.mnist.data import MNISTData
from benchmarks.mnist.models import parse_sizes
from torch_orderedness import CompletePerceptron, ordering, train

__all__ = ["EmbeddingConfig", "sigmoid_mlp", "run_embedding"]


@dataclass
class EmbeddingConfig:
    """Settings of experiment 3 (stored in the results JSON)."""

    arch: str = "784-128-128-10"
    schemes: list[str] = field(default_factory=lambda: list(SCHEMES))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    mlp_epochs: int = 5
    finetune_epochs: int = 2
    batch_size: int = 128
    lr: float = 1e-3
    finetune_lr: float = 1e-3
    keep: float = 0.5
    damping: float = 0.8
    null_samples: int = 5
    metric_time_limit: float = 3.0
    tensorboard: bool = True

    def check(self) -> EmbeddingConfig:
        """Validate the settings; returns ``self``."""
        sizes = parse_sizes(self.arch)
        if len(sizes) < 3:
            raise ValueError(f"arch needs at least one hidden layer, got {self.arch!r}")
        for s in self.schemes:
            if s not in SCHEMES:
                raise ValueError(f"schemes must be among {SCHEMES}, got {s!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and not empty, got {self.seeds}")
        if self.mlp_epochs < 1 or self.finetune_epochs < 1 or self.batch_size < 1:
            raise ValueError("mlp_epochs, finetune_epochs and batch_size must be >= 1")
        if not (self.lr > 0 and self.finetune_lr > 0):
            raise ValueError("lr and finetune_lr must be > 0")
        for name in ("keep", "damping"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.null_samples < 0:
            raise ValueError(f"null_samples must be >= 0, got {self.null_samples}")
        return self

    def sizes(self) -> list[int]:
        """The MLP's widths, inputs first."""
        return parse_sizes(self.arch)

    def hidden_units(self) -> int:
        """Hidden neurons of the embedded complete layer (all hidden layers together)."""
        return sum(self.sizes()[1:-1])

    def runs(self) -> int:
        """Training runs: the MLP, its continuation, one fine-tuning per scheme; per seed."""
        return len(self.seeds) * (2 + len(self.schemes))

    def finetune_config(self) -> CompleteConfig:
        """The experiment-2 settings that :func:`~.complete.train_complete` fine-tunes with."""
        return CompleteConfig(
            hidden=[self.hidden_units()], iterations=[len(self.sizes()) - 1],
            schemes=list(self.schemes), seeds=list(self.seeds), epochs=self.finetune_epochs,
            batch_size=self.batch_size, lr=self.finetune_lr, keep=self.keep,
            damping=self.damping, null_samples=self.null_samples, mlps=False,
            metric_time_limit=self.metric_time_limit,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sigmoid_mlp(sizes: list[int], seed: int) -> nn.Sequential:
    """``nn.Linear`` + ``nn.Sigmoid`` after every layer (the output layer too), seeded.

    Exactly what :meth:`~torch_orderedness.CompletePerceptron.from_mlp` embeds.

    Example::

        >>> sigmoid_mlp([4, 3, 2], seed=0)
        Sequential(
          (0): Linear(in_features=4, out_features=3, bias=True)
          (1): Sigmoid()
          (2): Linear(in_features=3, out_features=2, bias=True)
          (3): Sigmoid()
        )
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)  # only what the fork restores
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.Sigmoid()]
        return nn.Sequential(*layers)


def _train_mlp(model: nn.Module, data: MNISTData, cfg: EmbeddingConfig, seed: int, epochs: int,
               lr: float) -> float:
    result = train(
        model, (data.train_x, one_hot(data.train_y).to(data.train_x.device)), seed=seed,
        epochs=epochs, batch_size=cfg.batch_size, shuffle=True, loss=bce_on_outputs,
        optimizer=lambda p: torch.optim.Adam(p, lr=lr), measure_orderedness=False,
        progress_bar=False,
    )
    return float(result.final_loss)


def _mlp_orderedness(net: nn.Module, cfg: EmbeddingConfig) -> dict[str, Any]:
    """The MLP's own orderedness (its neuron graph, ``from_mlp`` layout): 1 for any MLP."""
    r = ordering([m for m in net if isinstance(m, nn.Linear)], time_limit=cfg.metric_time_limit)
    return ordering_fields("end", r)


def run_embedding(
    data: MNISTData,
    cfg: EmbeddingConfig,
    *,
    device: torch.device | str = "cpu",
    progress: Callable[[str], None] | None = None,
    tensorboard_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run experiment 3: per seed, one row for the MLP, its continuation and each fine-tuning.

    Rows of ``model="mlp"`` have ``stage`` ``"trained"`` (after ``mlp_epochs``)
    or ``"continued"`` (after ``finetune_epochs`` more); rows of
    ``model="complete"`` are fine-tunings (fields of
    :func:`~.complete.train_complete`), whose ``start`` is the embedded MLP's
    orderedness (1.0).
    """
    cfg.check()
    sizes = cfg.sizes()
    if sizes[0] != data.in_features or sizes[-1] != data.num_classes:
        raise ValueError(
            f"arch {cfg.arch!r} must start with {data.in_features} inputs and end with "
            f"{data.num_classes} outputs"
        )
    data.to(device)
    fine = cfg.finetune_config()
    rows: list[dict[str, Any]] = []
    for seed in cfg.seeds:
        net = sigmoid_mlp(sizes, seed).to(device)
        started = time.perf_counter()
        train_loss = _train_mlp(net, data, cfg, seed, cfg.mlp_epochs, cfg.lr)
        acc, loss = evaluate_outputs(net, data.test_x, data.test_y, bce_on_outputs)
        rows.append({"model": "mlp", "stage": "trained", "seed": seed, "arch": cfg.arch,
                     "test_accuracy": acc, "test_loss": loss, "train_loss": train_loss,
                     "epochs": cfg.mlp_epochs, "train_seconds": time.perf_counter() - started,
                     **_mlp_orderedness(net, cfg)})
        embedded = CompletePerceptron.from_mlp(net)
        with torch.no_grad():
            gap = float((embedded(data.test_x[:2000]) - net(data.test_x[:2000])).abs().max())
        start = ordering(embedded, time_limit=cfg.metric_time_limit)
        if progress is not None:
            progress(f"MLP {cfg.arch} seed {seed}")
        # the MLP trains on as the reference (a copy: every fine-tuning starts from `embedded`)
        more = copy.deepcopy(net)
        started = time.perf_counter()
        train_loss = _train_mlp(more, data, cfg, seed + 1_000_003, cfg.finetune_epochs,
                                cfg.finetune_lr)
        acc, loss = evaluate_outputs(more, data.test_x, data.test_y, bce_on_outputs)
        rows.append({"model": "mlp", "stage": "continued", "seed": seed, "arch": cfg.arch,
                     "test_accuracy": acc, "test_loss": loss, "train_loss": train_loss,
                     "epochs": cfg.mlp_epochs + cfg.finetune_epochs,
                     "train_seconds": time.perf_counter() - started,
                     **_mlp_orderedness(more, cfg)})
        for scheme in cfg.schemes:
            layer = copy.deepcopy(embedded)
            log_dir = None if tensorboard_dir is None else tensorboard_dir / scheme / f"seed_{seed}"
            _, row = train_complete(
                data, fine, hidden=layer.hidden_features, iterations=layer.iterations,
                scheme=scheme, seed=seed + 1_000_003, device=device, log_dir=log_dir,
                model=layer,
            )
            row.update(seed=seed, embedding_max_abs_difference=gap, embedded_exact=start.exact,
                       embedded_orderedness=start.value)
            rows.append(row)
            if progress is not None:
                progress(f"fine-tune {scheme} seed {seed}")
    return rows
