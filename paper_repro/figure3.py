r"""Figure 3: change in orderedness against sparsity for the five schemes.

For sparsity ``s`` in ``config.figure3_sparsities`` (0.0, 0.1, ..., 0.9):
Random with ``p = s``, Top-K and Dyn. Top-K with ``k = 1 - s``, Tril-damp and
Dyn. Tril-damp with ``f = s``; columns untrained (XOR defaults, 10 scheme
steps without gradient), XOR, and Sine (the first of ``config.sine_hidden``).
At ``s = 0`` every scheme does nothing, so that point is the unpruned run
(trained once per column and shared by the five curves).

Beyond the paper: for each scheme and task the least-squares slope of the
change against sparsity (over all seeds, with its 95 % interval), and
whether it is steeper than the untrained control's slope (z-test): the
paper's "orderedness increases with sparsity for Top-K methods on top of
the untrained control, but the variance is too large to conclude" made a
measured statement.

Example (synthetic runs)::

    >>> from paper_repro.config import Config
    >>> from paper_repro.parts import run_part
    >>> from paper_repro.testing import fake_trainer
    >>> cfg = Config.quick(figure3_sparsities=(0.0, 0.5), figure3_seeds=2)
    >>> curves = build(run_part("figure3", cfg, trainer=fake_trainer), cfg)
    >>> sorted(curves)[:2], curves["xor"]["topk"].mean.shape
    (['sine', 'untrained'], (2,))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paper_repro import paper_numbers as paper
from paper_repro import stats
from paper_repro.config import Config
from paper_repro.report import fmt, fmt_p, fmt_pm, markdown_table
from paper_repro.runner import Run, Setting, finite

__all__ = ["COLUMNS", "amount_for", "Curve", "settings", "build", "markdown", "figure"]

#: Columns (panels) of Figure 3.
COLUMNS: tuple[str, ...] = ("untrained", "xor", "sine")


def amount_for(scheme: str, s: float) -> float:
    """The scheme's parameter giving sparsity ``s``: ``p = s``, ``k = 1 - s`` or ``f = s``.

    Example::

        >>> amount_for("topk", 0.3), amount_for("random", 0.3), amount_for("dyn_tril", 0.3)
        (0.7, 0.3, 0.3)
    """
    if scheme in ("topk", "dyn_topk"):
        return round(1.0 - s, 10)
    if scheme in ("random", "tril", "dyn_tril"):
        return float(s)
    raise ValueError(f"scheme must be one of {paper.FIGURE3_SCHEMES}, got {scheme!r}")


def _shape(column: str, config: Config) -> tuple[str, int, int, int]:
    """``(task, hidden, iterations, steps)`` of a column."""
    if column == "untrained":
        return "untrained", 5, 3, config.untrained_steps
    if column == "xor":
        return "xor", 5, 3, config.xor_steps
    return "sine", config.sine_hidden[0], 3, config.sine_steps


def _setting(column: str, scheme: str, s: float, config: Config) -> Setting:
    task, h, t, steps = _shape(column, config)
    if s == 0.0:
        return Setting(task, "default", "none", None, h, t, steps)
    return Setting(task, "default", scheme, amount_for(scheme, s), h, t, steps)


def settings(config: Config) -> list[Setting]:
    """Every distinct setting (the ``s = 0`` point once per column)."""
    out: dict[Setting, None] = {}
    for column in COLUMNS:
        for scheme in paper.FIGURE3_SCHEMES:
            for s in config.figure3_sparsities:
                out[_setting(column, scheme, s, config)] = None
    return list(out)



@dataclass(frozen=True)
class Curve:
    """One scheme in one column: mean/std of the change per sparsity, and the trend."""

    column: str
    scheme: str
    sparsities: tuple[float, ...]
    mean: np.ndarray
    std: np.ndarray
    values: tuple[tuple[float, ...], ...]
    measured_sparsity: np.ndarray
    trend: stats.Trend | None


def build(runs: Sequence[Run], config: Config) -> dict[str, dict[str, Curve]]:
    """``curves[column][scheme]`` from the runs alone."""
    index = {r.setting: r for r in runs}
    out: dict[str, dict[str, Curve]] = {}
    for column in COLUMNS:
        out[column] = {}
        for scheme in paper.FIGURE3_SCHEMES:
            vals, measured = [], []
            for s in config.figure3_sparsities:
                setting = _setting(column, scheme, s, config)
                r = index.get(setting)
                if r is None:
                    raise KeyError(f"figure 3 has no run for {setting.label}")
                vals.append(tuple(finite(r.change)))
                measured.append(np.nan if r.sparsity is None else float(np.mean(r.sparsity)))
            xs = [s for s, v in zip(config.figure3_sparsities, vals, strict=True) for _ in v]
            ys = [y for v in vals for y in v]
            trend = (stats.linear_trend(xs, ys, config.level)
                     if len(set(config.figure3_sparsities)) > 1 and len(ys) >= 3 else None)
            out[column][scheme] = Curve(
                column, scheme, tuple(config.figure3_sparsities),
                np.array([np.mean(v) for v in vals]),
                np.array([np.std(v, ddof=1) if len(v) > 1 else 0.0 for v in vals]),
                tuple(vals), np.array(measured), trend,
            )
    return out


def _n(n: int, seeds: int) -> str:
    """`` (n=k)`` when seeds were dropped (undefined orderedness: all-zero square part)."""
    return "" if n == seeds else f" (n={n})"


def _title(column: str, config: Config) -> str:
    return {"untrained": "untrained", "xor": "XOR",
            "sine": f"Sine (H={config.sine_hidden[0]})"}[column]


def markdown(curves: dict[str, dict[str, Curve]], config: Config) -> str:
    """``figure3.md``: the curves as tables, their slopes, and trained-vs-untrained slopes."""
    lines = ["# Figure 3: change in orderedness against sparsity", "",
             f"Mean ± std over {config.figure3_seeds} seeds. Random p = s, Top-K and "
             "Dyn. Top-K k = 1 - s, Tril-damp and Dyn. Tril-damp f = s. (n=k): only k seeds "
             "had a defined orderedness at the end (at high sparsity the whole square part of "
             "the weight can be pruned, leaving only input weights).", ""]
    sp = config.figure3_sparsities
    for column, by_scheme in curves.items():
        lines += [f"## {_title(column, config)}", ""]
        body = [[paper.ROW_LABELS[sc].split(" (")[0]] +
                [fmt_pm(c.mean[i], c.std[i]) + _n(len(c.values[i]), config.figure3_seeds)
                 for i in range(len(sp))]
                for sc, c in by_scheme.items()]
        lines += [markdown_table(["scheme \\ s"] + [f"{s:g}" for s in sp], body), ""]
    lines += ["## Slopes: change in orderedness per unit sparsity", "",
              f"Least-squares slope over all seeds and sparsities, {round(100 * config.level)} % "
              "interval and p (slope = 0); for the trained columns, the z-test p that the slope "
              "differs from the untrained control's slope of the same scheme.", ""]
    body = []
    for column, by_scheme in curves.items():
        for scheme, c in by_scheme.items():
            if c.trend is None:
                continue
            row = [_title(column, config), paper.ROW_LABELS[scheme].split(" (")[0],
                   fmt(c.trend.slope), f"[{fmt(c.trend.ci_low)}, {fmt(c.trend.ci_high)}]",
                   fmt_p(c.trend.p_value)]
            control = curves.get("untrained", {}).get(scheme)
            if column != "untrained" and control is not None and control.trend is not None:
                d = stats.slope_difference_test(c.trend, control.trend)
                row += [fmt(d.difference), fmt_p(d.p_value)]
            else:
                row += ["-", "-"]
            body.append(row)
    lines += [markdown_table(["column", "scheme", "slope", "interval", "p", "slope - untrained",
                              "p (differs)"], body), ""]
    return "\n".join(lines)


def figure(curves: dict[str, dict[str, Curve]], config: Config, path: str) -> str:
    """Three panels (untrained, XOR, Sine): mean change ± std against sparsity per scheme."""
    from paper_repro.report import new_figure, save_figure

    fig, axes = new_figure(1, len(curves), figsize=(5 * len(curves), 4), sharey=True,
                           squeeze=False)
    for ax, (column, by_scheme) in zip(axes[0], curves.items(), strict=True):
        for k, (scheme, c) in enumerate(by_scheme.items()):
            x = np.array(c.sparsities)
            ax.plot(x, c.mean, "o-", color=f"C{k}", ms=3,
                    label=paper.ROW_LABELS[scheme].split(" (")[0])
            ax.fill_between(x, c.mean - c.std, c.mean + c.std, color=f"C{k}", alpha=0.12)
        ax.axhline(0.0, color="grey", lw=0.5)
        ax.set_title(_title(column, config))
        ax.set_xlabel("sparsity s")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("change in orderedness")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return str(save_figure(fig, path))
