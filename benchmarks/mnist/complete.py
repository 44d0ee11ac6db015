"""Experiment 2: the complete layer trained on MNIST / Fashion-MNIST with each pruning scheme.

For every hidden size ``H``, iteration count ``T``, scheme and seed:

1. ``CompletePerceptron(784, H, 10, iterations=T)`` (weights ``N(0, 1/fan_in)``,
   initial state ``N(0, 1)``; see :func:`~benchmarks.mnist.models.complete_layer`)
   is trained with :func:`torch_orderedness.train`: Adam, batch 128, the
   binary cross-entropy of its sigmoid outputs against one-hot labels, the
   scheme applied **in place after every optimiser step** (the paper's way:
   Tril-damp compounds, pruned weights may regrow before the next pruning,
   Random's mask is drawn once).  The dynamic schemes are fed
   ``progress = step / steps`` (``progress="step"``): with a few epochs, the
   paper's ``epoch / epochs`` would never reach its final sparsity.
2. The orderedness (the paper's metric: outputs fixed first, inputs dropped)
   is measured at the start and after every epoch by
   :func:`torch_orderedness.ordering`, with its certified bounds (exact where
   they meet, which happens for strongly ordered layers), each measurement
   limited to ``metric_time_limit`` seconds (the value then is the best order
   found and the bounds say how far from optimal it can be).
3. At the end, test accuracy (arg-max of the 10 outputs) and the metric's
   null model (:func:`torch_orderedness.orderedness_null`): the orderedness
   of the same weights shuffled over the same nonzero positions
   (``pattern``) and over all positions (``all``); ``excess = value - null mean``.

For every ``H`` and seed, two MLPs train on the same batches for the same
epochs, as the accuracy reference: ``784-H-10`` (same hidden units) and
``784-h-10`` with about the complete layer's parameter count
(:func:`~benchmarks.mnist.models.same_weight_hidden`), each with two recipes:
``sigmoid`` (sigmoid units, BCE on sigmoid outputs: the complete layer's
recipe) and ``relu`` (ReLU units, cross-entropy on logits: the usual one).

Example::

    >>> cfg = CompleteConfig(hidden=[8], iterations=[2], schemes=["none", "topk"], seeds=[0])
    >>> [spec.label for spec in prune_specs("topk", cfg)]
    ['topk(k=0.5)@weight']
    >>> cfg.runs()  # two complete layers and four MLP references (2 sizes x 2 recipes)
    6
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmarks.mnist.data import MNISTData, load_data
from benchmarks.mnist.models import COMPLETE_INITS, complete_layer, mlp, same_weight_hidden
from torch_orderedness import PruneSpec, orderedness_null, ordering, train

__all__ = [
    "SCHEMES",
    "MLP_RECIPES",
    "CompleteConfig",
    "prune_specs",
    "one_hot",
    "bce_on_outputs",
    "evaluate_outputs",
    "measure",
    "ordering_fields",
    "train_complete",
    "train_mlp",
    "complete_jobs",
    "run_job",
    "sweep_job",
    "run_complete",
    "save_weight",
]

#: The variants of experiment 2 in table order: no pruning, then the paper's five schemes
#: (names of :data:`torch_orderedness.training.PRUNING_SCHEMES`).
SCHEMES: tuple[str, ...] = ("none", "random", "topk", "dyn_topk", "tril", "dyn_tril")

#: MLP reference recipes: ``sigmoid`` = the complete layer's (sigmoid units, BCE on sigmoid
#: outputs); ``relu`` = the usual one (ReLU units, cross-entropy on logits).
MLP_RECIPES: tuple[str, ...] = ("sigmoid", "relu")


@dataclass
class CompleteConfig:
    """Settings of experiment 2 (stored in the results JSON)."""

    hidden: list[int] = field(default_factory=lambda: [64, 128, 256])
    iterations: list[int] = field(default_factory=lambda: [2, 3, 4])
    schemes: list[str] = field(default_factory=lambda: list(SCHEMES))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    epochs: int = 3
    batch_size: int = 128
    lr: float = 1e-3
    keep: float = 0.5
    damping: float = 0.8
    init: str = "scaled"
    null_samples: int = 5
    metric_time_limit: float = 3.0
    mlps: bool = True
    tensorboard: bool = True
    #: folder for the trained weights (``None``: not saved); see :func:`save_weight`
    weights_dir: str | None = None

    def check(self) -> CompleteConfig:
        """Validate the settings; returns ``self``."""
        for s in self.schemes:
            if s not in SCHEMES:
                raise ValueError(f"schemes must be among {SCHEMES}, got {s!r}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must list sizes >= 1, got {self.hidden}")
        if not self.iterations or min(self.iterations) < 1:
            raise ValueError(f"iterations must list counts >= 1, got {self.iterations}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and not empty, got {self.seeds}")
        if self.epochs < 1 or self.batch_size < 1 or self.null_samples < 0:
            raise ValueError(
                "epochs and batch_size must be >= 1 and null_samples >= 0, got "
                f"{self.epochs}, {self.batch_size}, {self.null_samples}"
            )
        if not (self.lr > 0 and self.metric_time_limit > 0):
            raise ValueError(
                f"lr and metric_time_limit must be > 0, got {self.lr}, {self.metric_time_limit}"
            )
        for name in ("keep", "damping"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.init not in COMPLETE_INITS:
            raise ValueError(f"init must be one of {COMPLETE_INITS}, got {self.init!r}")
        return self

    def runs(self) -> int:
        """Number of training runs (complete layers and MLPs)."""
        complete = len(self.hidden) * len(self.iterations) * len(self.schemes) * len(self.seeds)
        mlps = len(self.hidden) * len(self.seeds) * 2 * len(MLP_RECIPES) if self.mlps else 0
        return complete + mlps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prune_specs(scheme: str, cfg: CompleteConfig) -> list[PruneSpec]:
    """The :class:`~torch_orderedness.PruneSpec` list of ``scheme`` (empty for ``"none"``).

    Random prunes with ``p = 1 - keep`` (the same expected sparsity as Top-K's
    ``k = keep``); the Tril-damps use ``f = damping``.
    """
    if scheme == "none":
        return []
    if scheme in ("topk", "dyn_topk"):
        return [PruneSpec(scheme, k=cfg.keep)]
    if scheme == "random":
        return [PruneSpec(scheme, p=1.0 - cfg.keep)]
    if scheme in ("tril", "dyn_tril"):
        return [PruneSpec(scheme, f=cfg.damping)]
    raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def one_hot(labels: Tensor, classes: int = 10) -> Tensor:
    """Float one-hot targets ``(n, classes)`` for the library's trainer."""
    return F.one_hot(labels, classes).to(torch.float32)


def bce_on_outputs(prediction: Tensor, target: Tensor) -> Tensor:
    """Binary cross-entropy of sigmoid outputs in ``(0, 1)`` against one-hot targets."""
    return F.binary_cross_entropy(prediction, target)


def _bce_with_logits(prediction: Tensor, target: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(prediction, target)


def _cross_entropy(prediction: Tensor, target: Tensor) -> Tensor:
    return F.cross_entropy(prediction, target)


@torch.no_grad()
def evaluate_outputs(
    model: nn.Module, x: Tensor, y: Tensor, loss: Callable[[Tensor, Tensor], Tensor],
    batch_size: int = 2000,
) -> tuple[float, float]:
    """``(accuracy, mean loss)``: arg-max of the outputs against the labels ``y``."""
    was_training = model.training
    model.eval()
    correct, total = 0, 0.0
    for i in range(0, len(y), batch_size):
        out = model(x[i: i + batch_size])
        target = y[i: i + batch_size]
        total += float(loss(out, one_hot(target).to(out.dtype))) * len(target)
        correct += int((out.argmax(dim=1) == target).sum())
    model.train(was_training)
    return correct / len(y), total / len(y)


def ordering_fields(prefix: str, r: Any) -> dict[str, Any]:
    """``{prefix, prefix_lower, prefix_upper, prefix_exact}`` of an
    :class:`~torch_orderedness.Ordering` (``None``, an undefined orderedness: NaN and no bounds).
    """
    if r is None:
        return {prefix: float("nan"), f"{prefix}_lower": None, f"{prefix}_upper": None,
                f"{prefix}_exact": False}
    return {prefix: r.value, f"{prefix}_lower": r.lower, f"{prefix}_upper": r.upper,
            f"{prefix}_exact": bool(r.exact)}


def measure(weight: Tensor, *, outputs: int, inputs: int, samples: int, seed: int,
            end: Any = None, time_limit: float | None = None) -> dict[str, Any]:
    """The end orderedness with its bounds and both null models of a complete-layer weight.

    Args:
        weight: the layer's weight ``(O+H, O+H+I)``.
        outputs, inputs: ``O`` and ``I``.
        samples: null draws per shuffle (0: no null model).
        seed: seed of the null draws' generator.
        end: the weight's :class:`~torch_orderedness.Ordering` if already known
            (the training result's), else it is computed.
        time_limit: seconds per :func:`~torch_orderedness.ordering` call.

    Returns ``end``, ``end_lower``, ``end_upper``, ``end_exact`` and, when
    ``samples > 0``, ``null_<shuffle>`` (the samples), ``null_<shuffle>_mean``
    and ``excess_<shuffle>`` for ``shuffle`` in ``pattern``, ``all``.
    """
    if end is None:
        end = ordering(weight, outputs=outputs, inputs=inputs, time_limit=time_limit)
    row = ordering_fields("end", end)
    if samples:
        for shuffle in ("pattern", "all"):
            null = orderedness_null(
                weight, outputs=outputs, inputs=inputs, samples=samples, shuffle=shuffle,
                generator=torch.Generator().manual_seed(seed), time_limit=time_limit,
            )
            row[f"null_{shuffle}"] = list(null.samples)
            row[f"null_{shuffle}_mean"] = null.mean
            row[f"excess_{shuffle}"] = row["end"] - null.mean
    return row


def _log_dir(root: Path | None, *parts: object) -> Path | None:
    return None if root is None else root.joinpath(*(str(p) for p in parts))


def train_complete(
    data: MNISTData,
    cfg: CompleteConfig,
    *,
    hidden: int,
    iterations: int,
    scheme: str,
    seed: int,
    device: torch.device | str = "cpu",
    log_dir: Path | None = None,
    model: nn.Module | None = None,
    epochs: int | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train one complete layer (or go on training ``model``) with ``scheme``; one result row.

    The row holds the per-epoch orderedness (``curve``, with bounds), the start
    and end orderedness, sparsity and mask mean of the weight, test accuracy
    and loss, training time and the null model (:func:`measure`).
    """
    epochs = cfg.epochs if epochs is None else epochs
    if model is None:
        model = complete_layer(hidden, iterations, init=cfg.init, seed=seed,
                               in_features=data.in_features, out_features=data.num_classes,
                               device=device)
    per_epoch = -(-len(data.train_y) // cfg.batch_size)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "orderedness is undefined", RuntimeWarning)
        result = train(
            model, (data.train_x, one_hot(data.train_y).to(data.train_x.device)),
            seed=seed, epochs=epochs, batch_size=cfg.batch_size, shuffle=True,
            loss=bce_on_outputs, optimizer=lambda p: torch.optim.Adam(p, lr=cfg.lr),
            pruning=prune_specs(scheme, cfg), progress="step", orderedness_every=per_epoch,
            orderedness_options={"time_limit": cfg.metric_time_limit}, log_dir=log_dir,
            hparams={"scheme": scheme, "dataset": data.name},
            progress_bar=False,
        )
    seconds = time.perf_counter() - started
    acc, loss = evaluate_outputs(model, data.test_x, data.test_y, bce_on_outputs)
    row: dict[str, Any] = {
        "model": "complete", "hidden": hidden, "iterations": iterations, "scheme": scheme,
        "seed": seed, "test_accuracy": acc, "test_loss": loss,
        "train_loss": float(result.final_loss),
        "sparsity": float(result.final_sparsity.get("weight", _zeros(model))),
        "mask_mean": (float(result.mask_mean["weight"][-1]) if "weight" in result.mask_mean
                      else 1.0),
        **ordering_fields("start", result.start),
        "curve_steps": result.orderedness_steps.tolist(),
        "curve": result.orderedness.tolist(),
        "curve_upper": result.orderedness_upper.tolist(),
        "train_seconds": seconds,
    }
    started = time.perf_counter()
    row.update(measure(model.weight.detach(), outputs=data.num_classes,
                       inputs=data.in_features, samples=cfg.null_samples, seed=seed,
                       end=result.end, time_limit=cfg.metric_time_limit))
    row["change"] = row["end"] - row["start"]
    row["metric_seconds"] = time.perf_counter() - started
    if cfg.weights_dir is not None:
        save_weight(cfg.weights_dir, model.weight, hidden=hidden, iterations=iterations,
                    scheme=scheme, seed=seed)
    return model, row


def save_weight(folder: str | Path, weight: Tensor, *, hidden: int, iterations: int,
                scheme: str, seed: int) -> Path:
    """Write a trained complete layer's weight ``(O+H, O+H+I)`` (float32, on the CPU) to
    ``<folder>/H<H>-T<T>-<scheme>-seed<seed>.pt`` and return the path.

    ``python -m benchmarks.mnist complete --save-weights`` calls it for every run, so the
    metric's benchmarks can measure trained layers without training them again.

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = save_weight(d, torch.ones(3, 5), hidden=2, iterations=2, scheme="none",
        ...                        seed=0)
        ...     path.name, torch.load(path).shape
        ('H2-T2-none-seed0.pt', torch.Size([3, 5]))
    """
    path = Path(folder) / f"H{hidden}-T{iterations}-{scheme}-seed{seed}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weight.detach().to("cpu", torch.float32).clone(), path)
    return path


def _zeros(model: nn.Module) -> float:
    w = model.weight.detach()
    return float((w == 0).to(torch.float64).mean())


def train_mlp(
    data: MNISTData,
    cfg: CompleteConfig,
    *,
    sizes: list[int],
    recipe: str,
    seed: int,
    role: str,
    hidden: int,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Train one reference MLP on the same batches and epochs; one result row."""
    if recipe not in MLP_RECIPES:
        raise ValueError(f"recipe must be one of {MLP_RECIPES}, got {recipe!r}")
    model = mlp(sizes, recipe, generator_seed=seed).to(device)
    loss = _bce_with_logits if recipe == "sigmoid" else _cross_entropy
    started = time.perf_counter()
    result = train(
        model, (data.train_x, one_hot(data.train_y).to(data.train_x.device)),
        seed=seed, epochs=cfg.epochs, batch_size=cfg.batch_size, shuffle=True, loss=loss,
        optimizer=lambda p: torch.optim.Adam(p, lr=cfg.lr), measure_orderedness=False,
        progress_bar=False,
    )
    seconds = time.perf_counter() - started
    acc, test_loss = evaluate_outputs(model, data.test_x, data.test_y, loss)
    return {
        "model": "mlp", "role": role, "recipe": recipe, "arch": "-".join(map(str, sizes)),
        "hidden": hidden, "seed": seed, "parameters": sum(p.numel() for p in model.parameters()),
        "test_accuracy": acc, "test_loss": test_loss, "train_loss": float(result.final_loss),
        "train_seconds": seconds,
    }


def complete_jobs(cfg: CompleteConfig) -> list[tuple[str, str, dict[str, Any]]]:
    """The grid of experiment 2 as independent jobs ``(key, label, params)``, in table order:
    per hidden size and seed, the reference MLPs (one job), then every ``T`` and scheme."""
    jobs = []
    for H in cfg.hidden:
        for seed in cfg.seeds:
            if cfg.mlps:
                jobs.append((f"H{H}-seed{seed}-mlps", f"MLPs for H={H} seed {seed}",
                             {"kind": "mlps", "hidden": H, "seed": seed}))
            for T in cfg.iterations:
                for scheme in cfg.schemes:
                    jobs.append((f"H{H}-T{T}-{scheme}-seed{seed}",
                                 f"H={H} T={T} {scheme} seed {seed}",
                                 {"kind": "complete", "hidden": H, "iterations": T,
                                  "scheme": scheme, "seed": seed}))
    return jobs


def run_job(data: MNISTData, cfg: CompleteConfig, params: dict[str, Any], *,
            device: torch.device | str = "cpu", tensorboard_dir: Path | None = None
            ) -> list[dict[str, Any]]:
    """The rows of one job of :func:`complete_jobs` (seeded by its own parameters only)."""
    H, seed = params["hidden"], params["seed"]
    if params["kind"] == "mlps":
        I, O = data.in_features, data.num_classes
        h = same_weight_hidden(H, I, O)
        return [train_mlp(data, cfg, sizes=sizes, recipe=recipe, seed=seed, role=role,
                          hidden=H, device=device)
                for role, sizes in (("same-hidden", [I, H, O]), ("same-params", [I, h, O]))
                for recipe in MLP_RECIPES]
    T, scheme = params["iterations"], params["scheme"]
    log_dir = _log_dir(tensorboard_dir, f"H{H}-T{T}", scheme, f"seed_{seed}")
    _, row = train_complete(data, cfg, hidden=H, iterations=T, scheme=scheme, seed=seed,
                            device=device, log_dir=log_dir)
    return [row]


#: Data sets loaded by :func:`sweep_job` in this process, by their load arguments: a worker
#: process reads the files once, not once per job (the driver primes it with its own copy).
LOADED: dict[str, MNISTData] = {}


def data_key(load_args: dict[str, Any]) -> str:
    """The cache key of :data:`LOADED` for ``load_data(**load_args)``."""
    return json.dumps(load_args, sort_keys=True, default=str)


def sweep_job(load_args: dict[str, Any], cfg: dict[str, Any], params: dict[str, Any],
              device: str, tensorboard_dir: str | None, threads: int) -> dict[str, Any]:
    """One job of :func:`complete_jobs`, self-contained for a sweep executor (worker
    processes and Ray pickle it by reference): loads the data (once per process), trains,
    returns ``{"rows": [...]}``."""
    key = data_key(load_args)
    if key not in LOADED:
        LOADED[key] = load_data(**load_args).to(device)
    torch.set_num_threads(threads)
    rows = run_job(LOADED[key], CompleteConfig(**cfg).check(), params, device=device,
                   tensorboard_dir=None if tensorboard_dir is None else Path(tensorboard_dir))
    return {"rows": rows}


def run_complete(
    data: MNISTData,
    cfg: CompleteConfig,
    *,
    device: torch.device | str = "cpu",
    progress: Callable[[str], None] | None = None,
    tensorboard_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run experiment 2 here, job after job: one row per complete layer (H, T, scheme, seed)
    and per MLP.

    Args:
        data: the data set (moved to ``device`` here).
        cfg: the settings.
        device: where to train.
        progress: called with a short label after every job (tqdm glue).
        tensorboard_dir: TensorBoard event files of every complete-layer run go
            to ``<dir>/H<H>-T<T>/<scheme>/seed_<seed>`` (``None``: none written).

    ``python -m benchmarks.mnist complete --workers N`` runs the same jobs in N worker
    processes (or on Ray, ``--executor ray``).
    """
    cfg.check()
    data.to(device)
    rows: list[dict[str, Any]] = []
    for _, label, params in complete_jobs(cfg):
        rows.extend(run_job(data, cfg, params, device=device, tensorboard_dir=tensorboard_dir))
        if progress is not None:
            progress(label)
    return rows
