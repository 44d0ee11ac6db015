"""Experiment 4: what a complete layer costs to train, against MLPs, in one run on one machine.

For every hidden size ``H`` the same data (the same batches, from the same
seeded :class:`~torch.utils.data.DataLoader`) trains:

- ``mlp-same-hidden``: the MLP ``784-H-10`` (sigmoid hidden units);
- ``mlp-same-params``: the MLP ``784-h-10`` whose parameter count is closest to
  the complete layer's (:func:`~benchmarks.mnist.models.same_weight_hidden`);
- ``complete``: ``CompletePerceptron(784, H, 10, iterations=T)`` for every
  ``T`` and every weight initialisation asked for (``scaled``: ``N(0, 1/fan_in)``;
  ``normal``: the paper's ``N(0, 1)``);
- ``data-only``: the loader alone (the part of every epoch time that is not
  training).

One training step = ``zero_grad``, forward, cross-entropy on the outputs
(for the complete layer its sigmoid outputs serve as scores: this is a cost
measurement, not a recipe), ``backward``, ``Adam.step``.  Epochs are timed
round-robin (every model once per round, ``repeats`` rounds after
``warmup_epochs`` untimed ones), so a change of machine load hits all models
alike; the ratio to ``mlp-same-hidden`` is taken within each round and its
median reported.

Memory, per model:

- ``state_bytes``: parameters plus the optimiser's state (exact tensor sizes);
- ``step_peak_bytes``: the peak of memory allocated *during* a training step
  on top of what was allocated before it (gradients, activations saved for
  backward, temporaries). On CUDA: ``torch.cuda.max_memory_allocated()``
  minus ``torch.cuda.memory_allocated()`` before the steps (after
  ``reset_peak_memory_stats``); on CPU: the torch profiler
  (``profile_memory=True``): the peak of the running sum of its CPU allocator
  events (allocations +, frees -) over ``memory_steps`` steps, which counts
  what is allocated while profiling, like the CUDA difference.  Gradients are
  set to ``None`` first, so they count as step memory on both devices.
  Python's ``tracemalloc`` does not see torch's allocator and the process RSS
  high-water mark cannot be reset between models, so neither is used.

Example::

    >>> CostConfig().models_per_hidden()
    8
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.mnist.data import MNISTData, make_loader
from benchmarks.mnist.models import (
    COMPLETE_INITS,
    complete_layer,
    count_parameters,
    mlp,
    same_weight_hidden,
)

__all__ = ["CostConfig", "training_step", "time_epoch", "step_memory", "state_bytes", "run_cost"]


@dataclass
class CostConfig:
    """Settings of experiment 4 (stored in the results JSON)."""

    hidden: list[int] = field(default_factory=lambda: [64, 128, 256])
    iterations: list[int] = field(default_factory=lambda: [2, 3, 4])
    inits: list[str] = field(default_factory=lambda: ["scaled", "normal"])
    batch_size: int = 128
    repeats: int = 5
    warmup_epochs: int = 1
    memory_steps: int = 3
    lr: float = 1e-3
    flush_denormal: bool = False

    def check(self) -> CostConfig:
        """Validate the settings; returns ``self``."""
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must list sizes >= 1, got {self.hidden}")
        if not self.iterations or min(self.iterations) < 1:
            raise ValueError(f"iterations must list counts >= 1, got {self.iterations}")
        for init in self.inits:
            if init not in COMPLETE_INITS:
                raise ValueError(f"inits must be among {COMPLETE_INITS}, got {init!r}")
        if self.repeats < 1 or self.warmup_epochs < 0 or self.memory_steps < 1:
            raise ValueError(
                "repeats and memory_steps must be >= 1 and warmup_epochs >= 0, got "
                f"{self.repeats}, {self.memory_steps}, {self.warmup_epochs}"
            )
        return self

    def models_per_hidden(self) -> int:
        """How many models are timed per hidden size (two MLPs + complete layers)."""
        return 2 + len(self.iterations) * len(self.inits)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def training_step(
    model: nn.Module, optimizer: torch.optim.Optimizer
) -> Callable[[torch.Tensor, torch.Tensor], None]:
    """A function ``step(x, y)``: zero_grad, forward, cross-entropy, backward, optimiser step."""

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_epoch(
    step: Callable[[torch.Tensor, torch.Tensor], None] | None,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
) -> float:
    """Seconds for one pass over ``loader`` (``step=None``: the loader alone)."""
    _sync(device)
    start = time.perf_counter()
    for xb, yb in loader:
        if step is not None:
            step(xb, yb)
    _sync(device)
    return time.perf_counter() - start


def state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the parameters plus every tensor in the optimiser's state."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    for per_param in optimizer.state.values():
        for value in per_param.values():
            if isinstance(value, torch.Tensor):
                total += value.numel() * value.element_size()
    return total


def _cpu_step_peak(run: Callable[[], None]) -> int:
    os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # quieter profiler (no GPU probe errors)
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f).get("traceEvents", [])
    memory = sorted(
        (e for e in events if e.get("name") == "[memory]" and "Bytes" in e.get("args", {})),
        key=lambda e: (e["ts"], e["args"].get("Ev Idx", 0)),
    )
    if not memory:
        raise RuntimeError("the torch profiler recorded no memory events")
    # running sum of allocations (+) and frees (-) within this session; the profiler's own
    # "Total Allocated" counter carries over from earlier sessions, so it is not used
    live = peak = 0
    for e in memory:
        live += int(e["args"]["Bytes"])
        peak = max(peak, live)
    return peak


def step_memory(
    step: Callable[[torch.Tensor, torch.Tensor], None],
    batch: tuple[torch.Tensor, torch.Tensor],
    device: torch.device,
    steps: int = 3,
    optimizer: torch.optim.Optimizer | None = None,
) -> tuple[int, str]:
    """Peak bytes allocated during ``steps`` training steps beyond what was allocated before.

    ``optimizer.zero_grad(set_to_none=True)`` is called first (when given), so
    gradients count as memory of the step, on both devices.  Returns
    ``(bytes, how)``; ``how`` names the instrument (see the module docstring).
    """
    if optimizer is not None:
        optimizer.zero_grad(set_to_none=True)

    def run() -> None:
        for _ in range(steps):
            step(*batch)

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        run()
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        return int(peak), "torch.cuda.max_memory_allocated() - memory_allocated() before"
    return _cpu_step_peak(run), "torch.profiler(profile_memory=True), CPU allocator events"


def _models(cfg: CostConfig, hidden: int, in_features: int, classes: int,
            device: torch.device) -> list[tuple[dict[str, Any], nn.Module | None]]:
    h_same = same_weight_hidden(hidden, in_features, classes)
    out: list[tuple[dict[str, Any], nn.Module | None]] = [
        ({"model": "data-only", "arch": "loader only"}, None),
        ({"model": "mlp-same-hidden", "arch": f"{in_features}-{hidden}-{classes}"},
         mlp([in_features, hidden, classes], "sigmoid", generator_seed=0).to(device)),
        ({"model": "mlp-same-params", "arch": f"{in_features}-{h_same}-{classes}"},
         mlp([in_features, h_same, classes], "sigmoid", generator_seed=0).to(device)),
    ]
    for init in cfg.inits:
        for t in cfg.iterations:
            layer = complete_layer(hidden, t, in_features=in_features, out_features=classes,
                                   init=init, seed=0, device=device)
            out.append(({"model": "complete", "arch": f"complete H={hidden} T={t}",
                         "iterations": t, "init": init}, layer))
    return out


def run_cost(
    data: MNISTData,
    cfg: CostConfig,
    *,
    device: torch.device | str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run experiment 4; one row per (hidden size, model).

    Returns rows with ``hidden``, ``model``, ``arch``, (``iterations``,
    ``init`` for complete layers), ``parameters``, ``epoch_seconds`` (every
    timed round), ``epoch_seconds_median``, ``step_ms`` (median epoch time per
    batch), ``samples_per_second``, ``ratio_vs_same_hidden`` (median of the
    per-round ratios; ``None`` for ``data-only``), ``state_bytes``,
    ``step_peak_bytes``, ``peak_bytes`` (state + step peak) and
    ``memory_method``.
    """
    cfg.check()
    device = torch.device(device)
    data.to(device)
    n_samples = int(data.train_x.shape[0])
    n_batches = -(-n_samples // cfg.batch_size)
    if cfg.flush_denormal and not torch.set_flush_denormal(True):
        raise RuntimeError("flush_denormal: this CPU cannot flush subnormal numbers to zero")
    rows: list[dict[str, Any]] = []
    try:
        for hidden in cfg.hidden:
            entries = _models(cfg, hidden, data.in_features, data.num_classes, device)
            steps = []
            for _info, model in entries:
                if model is None:
                    steps.append(None)
                    continue
                optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
                steps.append((model, optimizer, training_step(model, optimizer)))

            def loader() -> Any:
                return make_loader(data.train_x, data.train_y, cfg.batch_size, seed=0)

            for _ in range(cfg.warmup_epochs):
                for s in steps:
                    time_epoch(None if s is None else s[2], loader(), device)
            times: list[list[float]] = [[] for _ in entries]
            for _ in range(cfg.repeats):
                for i, s in enumerate(steps):
                    times[i].append(time_epoch(None if s is None else s[2], loader(), device))
            reference = times[1]  # mlp-same-hidden
            first_batch = next(iter(loader()))
            for (info, model), s, ts in zip(entries, steps, times, strict=True):
                median = statistics.median(ts)
                row: dict[str, Any] = {"hidden": hidden, **info}
                row.update(
                    parameters=count_parameters(model) if model is not None else 0,
                    epoch_seconds=ts,
                    epoch_seconds_median=median,
                    step_ms=median / n_batches * 1e3,
                    samples_per_second=n_samples / median,
                    ratio_vs_same_hidden=(
                        statistics.median(a / b for a, b in zip(ts, reference, strict=True))
                        if model is not None else None
                    ),
                )
                if s is not None:
                    model_, optimizer, step = s
                    peak, how = step_memory(step, first_batch, device, cfg.memory_steps,
                                            optimizer)
                    state = state_bytes(model_, optimizer)
                    row.update(state_bytes=state, step_peak_bytes=peak,
                               peak_bytes=state + peak, memory_method=how)
                rows.append(row)
                if progress is not None:
                    progress(f"H={hidden} {info['arch']}")
    finally:
        if cfg.flush_denormal:
            torch.set_flush_denormal(False)
    return rows
