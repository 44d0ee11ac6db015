r"""Appendix D: training loss of the pruned complete layer against MLP baselines.

The complete layer uses the defaults of each task with Dynamic Top-K
(k = 0.5): XOR with H = 5, Sine with the first of ``config.sine_hidden``;
T = 3, no bias.  The baselines are MLPs with one hidden layer (XOR: 2-2-1,
Sine: 2-10-1), sigmoid after every layer, bias, and early stopping once the
training loss falls below ``config.early_stop`` (the paper does not give its
threshold; we use 1e-3 by default).  Both use Adam (lr 0.01), MSE and the
task's batch size and number of steps.

Example (synthetic runs)::

    >>> from paper_repro.config import Config
    >>> from paper_repro.parts import run_part
    >>> from paper_repro.testing import fake_trainer
    >>> cfg = Config.quick(appendix_d_seeds=2)
    >>> curves = build(run_part("appendix_d", cfg, trainer=fake_trainer), cfg)
    >>> sorted(curves["xor"])
    ['complete', 'mlp']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paper_repro import paper_numbers as paper
from paper_repro.config import Config
from paper_repro.report import fmt, fmt_pm, markdown_table
from paper_repro.runner import Run, Setting

__all__ = ["TASKS", "LossCurves", "settings", "build", "markdown", "figure"]

TASKS: tuple[str, ...] = ("xor", "sine")


def settings(config: Config) -> list[Setting]:
    """The pruned complete layer and the MLP baseline for each task."""
    mlp_hidden: dict[str, int] = paper.APPENDIX_D["mlp_hidden"]  # type: ignore[assignment]
    out = []
    for task in TASKS:
        steps = config.xor_steps if task == "xor" else config.sine_steps
        hidden = 5 if task == "xor" else config.sine_hidden[0]
        out.append(Setting(task, "default", "dyn_topk", 0.5, hidden, 3, steps,
                           record_loss=True))
        out.append(Setting(task, "default", "none", None, mlp_hidden[task], 2, steps,
                           model="mlp", early_stop=config.early_stop, record_loss=True))
    return out



@dataclass(frozen=True)
class LossCurves:
    """Per-seed loss curves of one model on one task, padded with NaN after an early stop.

    Attributes:
        curves: ``(seeds, steps)``; NaN after a seed stopped early.
        stopped_at: steps each seed trained (``steps`` when it never stopped).
        final: last recorded loss per seed.
    """

    task: str
    model: str
    hidden: int
    curves: np.ndarray
    stopped_at: np.ndarray
    final: np.ndarray


def build(runs: Sequence[Run], config: Config) -> dict[str, dict[str, LossCurves]]:
    """``curves[task][model]`` from the runs alone."""
    out: dict[str, dict[str, LossCurves]] = {t: {} for t in TASKS}
    for r in runs:
        s = r.setting
        if s.task not in out or r.loss_curve is None:
            continue
        longest = max(len(c) for c in r.loss_curve)
        curves = np.full((len(r.loss_curve), longest), np.nan)
        for i, c in enumerate(r.loss_curve):
            curves[i, : len(c)] = c
        out[s.task][s.model] = LossCurves(
            s.task, s.model, s.hidden, curves,
            np.array([len(c) for c in r.loss_curve]),
            np.array([c[-1] for c in r.loss_curve]),
        )
    for task, models in out.items():
        if set(models) != {"complete", "mlp"}:
            raise KeyError(f"appendix D needs the complete layer and the MLP on {task}")
    return out


def _name(lc: LossCurves) -> str:
    if lc.model == "mlp":
        return f"MLP 2-{lc.hidden}-1 (bias, early stop)"
    return f"complete layer H={lc.hidden}, Dyn. Top-K k=0.5"


def markdown(curves: dict[str, dict[str, LossCurves]], config: Config) -> str:
    """``appendix_d.md``: final losses and early-stopping steps."""
    lines = ["# Appendix D: training loss, pruned complete layer vs MLP", "",
             f"{config.appendix_d_seeds} seeds; Adam lr 0.01, MSE, the task's batch size; MLP "
             f"early stop once the loss is below {config.early_stop:g}.", ""]
    body = []
    for task, models in curves.items():
        for lc in models.values():
            stopped = lc.stopped_at < lc.curves.shape[1] if lc.model == "mlp" else None
            body.append([task.upper() if task == "xor" else task.capitalize(), _name(lc),
                         fmt_pm(float(np.mean(lc.final)), float(np.std(lc.final, ddof=1)), 4),
                         fmt(float(np.median(lc.final)), 4),
                         "-" if stopped is None else f"{int(stopped.sum())}/{len(stopped)}",
                         fmt(float(np.mean(lc.stopped_at)), 0)])
    lines += [markdown_table(["task", "model", "final loss (mean ± std)", "median",
                              "stopped early", "steps trained (mean)"], body), ""]
    return "\n".join(lines)


def figure(curves: dict[str, dict[str, LossCurves]], path: str, early_stop: float = 1e-3) -> str:
    """Loss curves (log scale): median and inter-quartile band per model, one panel per task."""
    import warnings

    from paper_repro.report import new_figure, save_figure

    fig, axes = new_figure(1, len(curves), figsize=(5.5 * len(curves), 3.8), squeeze=False)
    for ax, (task, models) in zip(axes[0], curves.items(), strict=True):
        for k, lc in enumerate(models.values()):
            x = np.arange(1, lc.curves.shape[1] + 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns after stops
                med = np.nanmedian(lc.curves, axis=0)
                lo, hi = np.nanpercentile(lc.curves, [25, 75], axis=0)
            for c in lc.curves:
                ax.plot(x, c, color=f"C{k}", lw=0.4, alpha=0.25)
            ax.plot(x, med, color=f"C{k}", lw=1.8, label=_name(lc))
            ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.15)
        if "mlp" in models:
            ax.axhline(early_stop, color="grey", ls="--", lw=0.8,
                       label=f"MLP early stop ({early_stop:g})")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (MSE)")
        ax.set_title(task.upper() if task == "xor" else task.capitalize())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return str(save_figure(fig, path))
