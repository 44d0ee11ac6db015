r"""Figure 2: change in orderedness under Dynamic Top-K (k=0.5) over hidden units x iterations.

For each task (XOR, Sine), every grid point ``(H, T)`` with ``H`` in
``config.figure2_hidden`` ({1, 3, 5, 7}) and ``T`` in
``config.figure2_iterations`` (1..10) is trained for ``config.figure2_seeds``
seeds with Dyn. Top-K (k=0.5); the figure shows the mean and the std of the
change in orderedness as heatmaps (rows H, columns T), as the paper does.

Beyond the paper: the feature the paper points out, a spike at T = 2 on XOR,
is tested for every H with Welch's t-test of T = 2 against the best other T,
and over all H by counting the rows where T = 2 is highest (binomial test).

Example (synthetic runs)::

    >>> from paper_repro.config import Config
    >>> from paper_repro.parts import run_part
    >>> from paper_repro.testing import fake_trainer
    >>> cfg = Config.quick(figure2_hidden=(1, 3), figure2_iterations=(1, 2, 3), figure2_seeds=2)
    >>> grid = build(run_part("figure2", cfg, trainer=fake_trainer), cfg)
    >>> grid["xor"].mean.shape
    (2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from paper_repro import stats
from paper_repro.config import Config
from paper_repro.report import fmt, fmt_p, fmt_pm, markdown_table
from paper_repro.runner import Run, Setting, finite

__all__ = ["TASKS", "Grid", "settings", "build", "markdown", "figure"]

#: The tasks of Figure 2.
TASKS: tuple[str, ...] = ("xor", "sine")
_SCHEME, _AMOUNT = "dyn_topk", 0.5


def settings(config: Config) -> list[Setting]:
    """One setting per task, hidden size and iteration count."""
    steps = {"xor": config.xor_steps, "sine": config.sine_steps}
    return [Setting(task, "default", _SCHEME, _AMOUNT, h, t, steps[task])
            for task in TASKS for h in config.figure2_hidden for t in config.figure2_iterations]



@dataclass(frozen=True)
class Grid:
    """Mean and std (over seeds) of the change, shape ``(len(hidden), len(iterations))``."""

    task: str
    hidden: tuple[int, ...]
    iterations: tuple[int, ...]
    mean: np.ndarray
    std: np.ndarray
    values: dict[tuple[int, int], tuple[float, ...]]


def build(runs: Sequence[Run], config: Config) -> dict[str, Grid]:
    """The mean and std grids per task, from the runs alone."""
    out = {}
    hs, ts = tuple(config.figure2_hidden), tuple(config.figure2_iterations)
    for task in TASKS:
        mean = np.full((len(hs), len(ts)), np.nan)
        std = np.full_like(mean, np.nan)
        values: dict[tuple[int, int], tuple[float, ...]] = {}
        for r in runs:
            s = r.setting
            if s.task != task or s.hidden not in hs or s.iterations not in ts:
                continue
            i, j = hs.index(s.hidden), ts.index(s.iterations)
            change = finite(r.change)
            summary = stats.summarize(change)
            mean[i, j], std[i, j] = summary.mean, summary.std
            values[(s.hidden, s.iterations)] = tuple(change)
        if np.isnan(mean).any():
            raise KeyError(f"figure 2 runs are missing grid points for {task}")
        out[task] = Grid(task, hs, ts, mean, std, values)
    return out


def spike_tests(grid: Grid) -> list[tuple[int, float, int, float, stats.TestResult]]:
    """Per ``H``: T = 2's mean change against the best other ``T``, Welch's test.

    Returns ``(H, mean at T=2, best other T, its mean, test)`` per hidden
    size; empty if T = 2 is not in the grid.
    """
    if 2 not in grid.iterations or len(grid.iterations) < 2:
        return []
    j2 = grid.iterations.index(2)
    out = []
    for i, h in enumerate(grid.hidden):
        others = [j for j in range(len(grid.iterations)) if j != j2]
        jb = max(others, key=lambda j: grid.mean[i, j])
        tb = grid.iterations[jb]
        test = stats.welch_test(grid.values[(h, 2)], grid.values[(h, tb)])
        out.append((h, float(grid.mean[i, j2]), tb, float(grid.mean[i, jb]), test))
    return out


def spike_count_test(grid: Grid) -> tuple[int, float]:
    """In how many rows (H) is T = 2 the highest mean, and the binomial p of that many.

    Under the null that no iteration count is special, each of the
    ``len(iterations)`` columns is the row maximum with chance ``1 / len(iterations)``,
    independently across rows (different H are trained separately).
    """
    if 2 not in grid.iterations:
        return 0, 1.0
    j2 = grid.iterations.index(2)
    wins = int(sum(int(np.argmax(grid.mean[i])) == j2 for i in range(len(grid.hidden))))
    p = binomtest(wins, len(grid.hidden), 1.0 / len(grid.iterations),
                  alternative="greater").pvalue
    return wins, float(p)


def markdown(grids: dict[str, Grid], config: Config) -> str:
    """``figure2.md``: the grids as tables and the T = 2 spike test."""
    lines = ["# Figure 2: change in orderedness, Dyn. Top-K (k=0.5), hidden units x iterations",
             "", f"Mean ± std over {config.figure2_seeds} seeds; rows H, columns T.", ""]
    for task, grid in grids.items():
        lines += [f"## {task.upper() if task == 'xor' else task.capitalize()}", ""]
        headers = ["H \\ T"] + [str(t) for t in grid.iterations]
        body = [[str(h)] + [fmt_pm(grid.mean[i, j], grid.std[i, j])
                            for j in range(len(grid.iterations))]
                for i, h in enumerate(grid.hidden)]
        lines += [markdown_table(headers, body), ""]
        spikes = spike_tests(grid)
        if spikes:
            lines += ["Spike at T = 2 (the paper's observation on XOR): T = 2 against the best "
                      "other T, Welch's t-test.", ""]
            body = [[str(h), fmt(m2), str(tb), fmt(mb),
                     "yes" if m2 > mb else "no", fmt_p(t.p_value)]
                    for h, m2, tb, mb, t in spikes]
            lines += [markdown_table(["H", "T=2 mean", "best other T", "its mean",
                                      "T=2 highest", "Welch p"], body), ""]
            wins, p = spike_count_test(grid)
            lines += [f"T = 2 has the highest mean in {wins} of {len(grid.hidden)} hidden sizes; "
                      f"if no T were special each of the {len(grid.iterations)} would be highest "
                      f"with chance 1/{len(grid.iterations)}, so at least {wins} wins has "
                      f"p = {fmt_p(p)} (binomial test, one-sided).", ""]
    return "\n".join(lines)


def figure(grids: dict[str, Grid], path: str) -> str:
    """Mean and std heatmaps per task (2 x 2 panels), annotated with the values."""
    from paper_repro.report import new_figure, save_figure

    fig, axes = new_figure(len(grids), 2, figsize=(11, 3.2 * len(grids)), squeeze=False)
    for row, (task, grid) in enumerate(grids.items()):
        for col, (what, data, cmap) in enumerate((("mean", grid.mean, "viridis"),
                                                  ("std", grid.std, "magma"))):
            ax = axes[row][col]
            im = ax.imshow(data, cmap=cmap, aspect="auto", origin="lower")
            ax.set_xticks(range(len(grid.iterations)), [str(t) for t in grid.iterations])
            ax.set_yticks(range(len(grid.hidden)), [str(h) for h in grid.hidden])
            ax.set_xlabel("iterations T")
            ax.set_ylabel("hidden units H")
            ax.set_title(f"{task.upper() if task == 'xor' else task.capitalize()}: {what} "
                         "of change in orderedness")
            for i in range(data.shape[0]):
                for j in range(data.shape[1]):
                    ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if data[i, j] < np.nanmean(data) else "black")
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return str(save_figure(fig, path))
