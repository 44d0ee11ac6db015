r"""The training loop of :func:`~torch_orderedness.train`, built from the public pieces.

One step ``k = 1 .. steps`` (step ``k`` uses batch ``k`` of the epoch order)::

    loss = loss_fn(model(x_k), y_k)          # recorded as loss[k-1]
    loss.backward(); optimizer.step()        # skipped with update=False
    masks = pruning.step(x_k)                # every scheme, in list order
    recorder.after_step(k, loss, masks)      # records, NaN check, early stop
    monitor.step(k)                          # orderedness every `orderedness_every` steps

A user's own loop is the same lines with :class:`~torch_orderedness.InPlacePruner`
(and a :class:`~torch_orderedness.PruningScheduler`) and
:class:`~torch_orderedness.OrderednessMonitor`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torch_orderedness._weights import named_weight_in_use
from torch_orderedness.logging import TrainingLogger, _format_postfix
from torch_orderedness.metric import Ordering
from torch_orderedness.training.data import LoaderData, TensorData
from torch_orderedness.training.modes import SpecPruning
from torch_orderedness.training.monitor import OrderednessMonitor, as_loggers
from torch_orderedness.training.plan import Plan, make_optimizer, model_dtype
from torch_orderedness.training.pruner import reparametrized_names
from torch_orderedness.training.results import TrainResult, _mean_defined, _nan_if_none
from torch_orderedness.training.seeds import SeedGenerators

__all__ = ["Prepared", "prepare", "run"]

_NEVER = 2**62  # a monitor cadence that never comes (measurements are asked for explicitly)


@dataclass
class Prepared:
    """One model ready to train: data on its device, the start measurement, the optimiser."""

    model: nn.Module
    members: int | None
    data: TensorData | LoaderData
    device: torch.device
    dtype: torch.dtype
    pruned: tuple[str, ...]
    param_names: tuple[str, ...]
    start: tuple[Ordering | None, ...]
    start_params: list[dict[str, Tensor]]
    optimizer: torch.optim.Optimizer | None
    monitor: OrderednessMonitor


def _param_names(model: nn.Module) -> tuple[str, ...]:
    """Parameter names, with torch's ``<name>_orig`` read as ``<name>`` (the masked weight)."""
    masked = reparametrized_names(model)
    return tuple(name[: -len("_orig")] if name[: -len("_orig")] in masked else name
                 for name, _ in model.named_parameters())


def snapshot(model: nn.Module, names: Sequence[str], members: int | None
             ) -> list[dict[str, Tensor]]:
    """The parameters in use, on the CPU, per seed."""
    current = {name: named_weight_in_use(model, name).cpu().clone() for name in names}
    if members is None:
        return [current]
    return [{name: t[s].clone() for name, t in current.items()} for s in range(members)]


def _monitor(plan: Plan, model: nn.Module, seeds: Sequence[int | None],
             members: int | None) -> OrderednessMonitor:
    monitor = OrderednessMonitor(model, every=plan.orderedness_every or _NEVER,
                                 options=plan.orderedness_options)
    if len(monitor.labels) == len(seeds):
        monitor.labels = tuple(f"seed {s}" for s in seeds)
    elif plan.measure:
        raise TypeError(f"the orderedness of a {type(model).__name__} is {len(monitor.labels)} "
                        "numbers, not one per seed; pass measure_orderedness=False")
    return monitor


def _start(plan: Plan, monitor: OrderednessMonitor, count: int) -> tuple[Ordering | None, ...]:
    if not plan.measure:
        return (None,) * count
    try:
        return monitor.evaluate()
    except TypeError as e:
        raise TypeError(f"{e}; or pass measure_orderedness=False") from None


def prepare(plan: Plan, model: nn.Module, members: int | None,
            seeds: Sequence[int | None]) -> Prepared:
    """The start measurement, the snapshot and the optimiser of a checked model
    (:func:`~torch_orderedness.training.plan.check_model` first).

    Changes nothing in the model (the data are moved to the model's device).
    """
    dtype, device = model_dtype(model)
    data = plan.data.to(device, dtype) if isinstance(plan.data, TensorData) else plan.data
    monitor = _monitor(plan, model, seeds, members)
    start = _start(plan, monitor, members or 1)
    names = _param_names(model)
    pruned = tuple(dict.fromkeys(spec.name for spec in plan.specs))
    return Prepared(model, members, data, device, dtype, pruned, names, start,
                    snapshot(model, names, members), make_optimizer(plan, model), monitor)


# --------------------------------------------------------------------------- the steps


def _loss_vector(plan: Plan, pred: Tensor, target: Tensor, members: int | None) -> Tensor:
    if members is None:
        return plan.loss_fn(pred, target).reshape(1)
    if plan.loss_name == "mse" and plan.loss_fn is F.mse_loss:
        return (pred - target).square().mean(dim=tuple(range(1, pred.dim())))
    return torch.stack([plan.loss_fn(pred[s], target[s]).reshape(()) for s in range(members)])


def train_step(plan: Plan, prep: Prepared, x: Tensor, y: Tensor) -> Tensor:
    """One optimiser step on ``(x, y)`` (or only the loss, with ``update=False``);
    returns the per-seed losses before the update."""
    model, optimizer = prep.model, prep.optimizer
    if optimizer is None:
        with torch.no_grad():
            return _loss_vector(plan, model(x), y, prep.members)
    optimizer.zero_grad(set_to_none=True)
    per_seed = _loss_vector(plan, model(x), y, prep.members)
    per_seed.sum().backward()
    optimizer.step()
    return per_seed.detach()


def raise_if_diverged(model: nn.Module, members: int | None, seeds: Sequence[int | None],
                      step: int, cause: Exception | None) -> None:
    """Raise ``FloatingPointError`` naming the seeds whose parameters are no longer finite."""
    bad: set[int] = set()
    with torch.no_grad():
        for t in model.parameters():
            finite = torch.isfinite(t)
            if members is None:
                if not bool(finite.all()):
                    bad.add(0)
            else:
                bad.update(int(s) for s in torch.nonzero(~finite.reshape(members, -1).all(1)))
    if bad:
        names = [seeds[s] for s in sorted(bad)]
        raise FloatingPointError(
            f"training diverged: parameters of seed(s) {names} are NaN or infinite after step "
            f"{step}; lower the learning rate or check the data"
        ) from cause


def _prune(pruning: SpecPruning, progress: float, prep: Prepared, seeds: Sequence[int | None],
           step: int) -> dict[str, Tensor]:
    try:
        return pruning.step(progress)
    except ValueError as e:
        raise_if_diverged(prep.model, prep.members, seeds, step, e)
        raise


class Recorder:
    """Per-step records (loss, sparsity, mask mean), the NaN check and early stopping."""

    def __init__(self, plan: Plan, prep: Prepared, seeds: Sequence[int | None]) -> None:
        self.plan, self.prep, self.seeds = plan, prep, list(seeds)
        self.S = prep.members or 1
        buf = {"dtype": torch.float64, "device": prep.device}
        self.loss = torch.empty(plan.steps, self.S, **buf)
        self.zeros = {n: torch.empty(plan.steps, self.S, **buf) for n in prep.pruned}
        self.means = {n: torch.empty(plan.steps, self.S, **buf) for n in prep.pruned}
        self.stop_at: list[int | None] = [None] * self.S
        self.frozen: dict[int, dict[str, Tensor]] = {}
        self.done = 0

    @property
    def active(self) -> list[int]:
        """Seeds still training."""
        return [s for s in range(self.S) if self.stop_at[s] is None]

    @property
    def finished(self) -> bool:
        return self.done == self.plan.steps or all(s is not None for s in self.stop_at)

    def after_step(self, i: int, per_seed: Tensor, masks: dict[str, Tensor]) -> None:
        """Record step ``i + 1``; raise on a NaN loss; freeze seeds that reached ``stop_loss``."""
        self._restore_frozen()
        self.loss[i] = per_seed
        self._check_finite(i)
        with torch.no_grad():
            for name in self.prep.pruned:
                w = named_weight_in_use(self.prep.model, name).reshape(self.S, -1)
                self.zeros[name][i] = (w == 0).to(torch.float64).mean(dim=1)
                self.means[name][i] = masks[name].reshape(self.S, -1).to(torch.float64).mean(1)
        self.done = i + 1
        if self.plan.stop_loss is not None:
            self._early_stop(i + 1, per_seed.cpu().tolist())

    def _check_finite(self, i: int) -> None:
        row = self.loss[i]
        if bool(torch.isfinite(row).all()):
            return
        s = int(torch.nonzero(~torch.isfinite(row))[0])
        hint = ""
        if self.prep.dtype in (torch.float16, torch.bfloat16):
            hint = (f" (in {self.prep.dtype}, an optimiser eps below "
                    f"{torch.finfo(self.prep.dtype).tiny:.3g} underflows to 0 and turns 0 / 0 "
                    "into NaN; the default optimiser raises it)")
        raise FloatingPointError(
            f"the loss became {float(row[s])} at step {i + 1} (seed {self.seeds[s]}); training "
            f"stopped there{hint}; lower the learning rate or check the data and the loss"
        )

    def _early_stop(self, k: int, values: list[float]) -> None:
        for s in self.active:
            if values[s] < self.plan.stop_loss:  # type: ignore[operator]
                self.stop_at[s] = k
                if self.prep.members is not None:
                    state = _state(self.prep.model)
                    self.frozen[s] = {name: t[s].detach().clone() for name, t in state.items()}

    def _restore_frozen(self) -> None:
        """Seeds stopped by ``stop_loss`` keep the state they stopped with."""
        if not self.frozen:
            return
        with torch.no_grad():
            state = _state(self.prep.model)
            for s, saved in self.frozen.items():
                for name, value in saved.items():
                    state[name][s] = value

    def arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
        d = self.done
        return (self.loss[:d].cpu().numpy(),
                {n: b[:d].cpu().numpy() for n, b in self.zeros.items()},
                {n: b[:d].cpu().numpy() for n, b in self.means.items()})


def _state(model: nn.Module) -> dict[str, Tensor]:
    return dict(model.named_parameters()) | dict(model.named_buffers())


# --------------------------------------------------------------------------- the loop


class _Run:
    """The state of one call of :func:`run`: the pieces and the per-seed measurements."""

    def __init__(self, plan: Plan, prep: Prepared, seeds: Sequence[int | None],
                 loggers: Sequence[TrainingLogger | None], bar: Any) -> None:
        self.plan, self.prep, self.seeds, self.bar = plan, prep, list(seeds), bar
        self.loggers = list(loggers)
        self.monitor = prep.monitor
        self.monitor.loggers = as_loggers(list(loggers) if any(loggers) else None, len(loggers))
        self.recorder = Recorder(plan, prep, seeds)
        self.measured: list[list[tuple[int, Ordering | None]]] = [[(0, r)] for r in prep.start]
        self.last_orderedness = _mean_defined([_nan_if_none(r) for r in prep.start])
        self.postfix_every = max(1, plan.steps // 100)

    def log_model(self, step: int, results: Sequence[Ordering | None], members: Sequence[int]
                  ) -> None:
        if self.plan.measure:
            self.monitor.add(step, results, members)
        else:
            self.monitor.log_parameters(step, members)

    def measure(self, k: int) -> None:
        """The orderedness every ``orderedness_every`` steps (not at the last: the end does)."""
        every = self.plan.orderedness_every
        if not self.plan.measure or every is None or k % every or self.recorder.finished:
            return
        try:
            results = self.monitor.evaluate()
        except ValueError as e:
            raise_if_diverged(self.prep.model, self.prep.members, self.seeds, k, e)
            raise
        active = self.recorder.active
        for s in active:
            self.measured[s].append((k, results[s]))
        self.log_model(k, results, active)
        self.last_orderedness = _mean_defined([_nan_if_none(results[s]) for s in active])

    def log_scalars(self, i: int) -> None:
        k, rec = i + 1, self.recorder
        due = [s for s in rec.active + [s for s in range(rec.S) if rec.stop_at[s] == k]
               if self.loggers[s] is not None
               and (k % self.plan.log_every == 0 or rec.finished or rec.stop_at[s] == k)]
        if not due:
            return
        loss = rec.loss[i].tolist()
        zeros = {n: b[i].tolist() for n, b in rec.zeros.items()}
        means = {n: b[i].tolist() for n, b in rec.means.items()}
        for s in dict.fromkeys(due):
            values = {"loss": loss[s], "progress": float(self.plan.progress[i])}
            for name in self.prep.pruned:
                values[f"sparsity/{name}"] = zeros[name][s]
                values[f"mask_mean/{name}"] = means[name][s]
            self.loggers[s].log_scalars(k, values)  # type: ignore[union-attr]

    def update_bar(self, i: int) -> None:
        k, rec = i + 1, self.recorder
        self.bar.update(1)
        if k % self.postfix_every == 0 or rec.finished:
            live = [s for s in range(rec.S) if rec.stop_at[s] in (None, k)] or list(range(rec.S))
            loss = float(rec.loss[i, live].mean())
            self.bar.set_postfix(_format_postfix({"loss": loss,
                                                  "orderedness": self.last_orderedness}))


def _end(run: _Run) -> tuple[tuple[Ordering | None, ...], list[int], list[bool]]:
    """The end measurement, recorded (and logged) at each seed's last step."""
    plan, prep, rec = run.plan, run.prep, run.recorder
    raise_if_diverged(prep.model, prep.members, run.seeds, rec.done, None)
    end = run.monitor.evaluate() if plan.measure else (None,) * rec.S
    if plan.measure:  # the bar's last word is the end orderedness, not the last interval's
        loss = float(np.nanmean(rec.loss[rec.done - 1].cpu().numpy()))
        run.bar.set_postfix(_format_postfix(
            {"loss": loss, "orderedness": _mean_defined([_nan_if_none(r) for r in end])}))
    final = [rec.done if rec.stop_at[s] is None else rec.stop_at[s] for s in range(rec.S)]
    appended = [run.measured[s][-1][0] != final[s] for s in range(rec.S)]
    for s in range(rec.S):
        if appended[s]:
            run.measured[s].append((final[s], end[s]))
            run.log_model(final[s], end, [s])
    return end, final, appended  # type: ignore[return-value]


def _results(run: _Run, end: Sequence[Ordering | None], final: list[int],
             hparams: Sequence[dict[str, Any]], wall: float) -> list[TrainResult]:
    plan, prep, rec = run.plan, run.prep, run.recorder
    losses, zeros, means = rec.arrays()
    end_params = snapshot(prep.model, prep.param_names, prep.members)
    out = []
    for s in range(rec.S):
        upto, found = final[s], [r for _, r in run.measured[s]]
        out.append(TrainResult(
            seed=run.seeds[s], steps=upto, loss=losses[:upto, s].copy(),
            progress=np.asarray(plan.progress[:upto], dtype=np.float64).copy(),
            sparsity={n: z[:upto, s].copy() for n, z in zeros.items()},
            mask_mean={n: m[:upto, s].copy() for n, m in means.items()},
            orderedness_steps=np.array([step for step, _ in run.measured[s]], dtype=np.int64),
            orderedness=np.array([_nan_if_none(r) for r in found]),
            orderedness_lower=np.array([np.nan if r is None else r.lower for r in found]),
            orderedness_upper=np.array([np.nan if r is None else r.upper for r in found]),
            start=prep.start[s], end=end[s], start_params=prep.start_params[s],
            end_params=end_params[s],
            stopped_early=rec.stop_at[s] is not None and rec.stop_at[s] < plan.steps,
            hparams=hparams[s], wall_s=wall,
            model=prep.model if prep.members is None else None,
        ))
    return out


def _log_hparams(run: _Run, results: Sequence[TrainResult]) -> None:
    for log, result in zip(run.loggers, results, strict=True):
        if log is None:
            continue
        metrics = {"hparam/final_loss": result.final_loss,
                   "hparam/start_orderedness": result.start_orderedness,
                   "hparam/end_orderedness": result.end_orderedness,
                   "hparam/orderedness_change": result.change}
        for name, value in result.final_sparsity.items():
            metrics[f"hparam/sparsity/{name}"] = value
        log.log_hparams(result.hparams, metrics)


def run(plan: Plan, prep: Prepared, seeds: Sequence[int | None],
        gens: Sequence[SeedGenerators | None], loggers: Sequence[TrainingLogger | None],
        hparams: Sequence[dict[str, Any]], bar: Any, done: list[int] | None = None
        ) -> list[TrainResult]:
    """Train a prepared model (one seed, or ``members`` seeds at once) and record everything.

    ``done``, if given, is a one-element list kept at the number of finished steps.
    """
    t0 = time.perf_counter()
    state = _Run(plan, prep, seeds, loggers, bar)
    state.log_model(0, prep.start, range(state.recorder.S))  # before any pruning
    pruning = SpecPruning(prep.model, plan.specs, plan.mode, prep.members,
                          [None if g is None else g.prune for g in gens],
                          float(plan.progress[0]))  # reparametrize: the model changes here
    batches = prep.data.batches(plan.steps, gens, prep.members, prep.device, prep.dtype)
    for i, (x, y) in enumerate(batches):
        per_seed = train_step(plan, prep, x, y)
        masks = _prune(pruning, float(plan.progress[i]), prep, seeds, i + 1)
        state.recorder.after_step(i, per_seed, masks)
        if done is not None:
            done[0] = i + 1
        state.measure(i + 1)
        state.log_scalars(i)
        state.update_bar(i)
        if state.recorder.finished:
            break
    end, final, _ = _end(state)
    results = _results(state, end, final, hparams, time.perf_counter() - t0)
    _log_hparams(state, results)
    return results
