r"""Table 1, both halves: initialisation and pruning, ours beside the paper's.

How every cell is defined (the paper's reference implementation; see
``paper_repro/PAPER_NOTES.md``):

- **Top half** (no pruning, three initialisations): "untrained" = the
  orderedness at initialisation (XOR defaults: O=1, H=5, I=2); "XOR" and
  "Sine" = end minus start of the same training run.
- **Bottom half** (default initialisation, six schemes): "untrained" = the
  change after ``untrained_steps`` (10) scheme applications without gradient
  updates; "XOR" and "Sine" = end minus start of the training run.
- Sine uses H = 8 (what produced the paper's numbers); other sizes from
  ``Config.sine_hidden`` get their own column, compared with the same
  paper numbers.

Beyond the paper, every cell gets a 95 % confidence interval and a check
whether the paper's mean lies inside it (with the paper's rounding, +-0.0005);
each row is tested against the reference row (Default / none) with Welch's
t-test and a permutation test (Holm-adjusted over the half-table), and the
end orderedness of every pruned run is compared with the metric's
shuffled-weight null model.

Example (on synthetic runs)::

    >>> from paper_repro.config import Config
    >>> from paper_repro.parts import run_part
    >>> from paper_repro.testing import fake_trainer
    >>> runs = run_part("table1", Config.quick(seeds=3, null_samples=4), trainer=fake_trainer)
    >>> table = build(runs, Config.quick(seeds=3, null_samples=4))
    >>> len(table.cells)   # 3 init rows + 6 pruning rows, 3 columns
    27
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from paper_repro import paper_numbers as paper
from paper_repro import stats
from paper_repro.config import Config
from paper_repro.report import fmt, fmt_p, fmt_pm, markdown_table, table1_halves
from paper_repro.runner import Run, Setting, finite

__all__ = ["Column", "Cell", "Table1", "columns", "settings", "build", "markdown", "figure"]

# the paper's rounding (+-0.0005), plus float slack so a value exactly on the edge counts
_TOLERANCE = 0.5 * 10.0 ** (-paper.PAPER_DECIMALS) + 1e-12


@dataclass(frozen=True)
class Column:
    """A column of Table 1: ``key`` (``"untrained"``, ``"xor"``, ``"sine"``, ``"sine_h10"``...)."""

    key: str
    task: str
    hidden: int
    label: str
    paper_column: str


def columns(config: Config) -> list[Column]:
    """The columns: untrained, XOR, then one Sine column per ``config.sine_hidden``."""
    xor_h = int(paper.TASKS["xor"]["hidden"])  # type: ignore[call-overload]
    cols = [Column("untrained", "untrained", xor_h, "untrained", "untrained"),
            Column("xor", "xor", xor_h, "XOR", "xor")]
    for i, h in enumerate(config.sine_hidden):
        key = "sine" if i == 0 else f"sine_h{h}"
        cols.append(Column(key, "sine", h, f"Sine (H={h})", "sine"))
    return cols


def _steps(task: str, config: Config) -> int:
    return {"untrained": config.untrained_steps, "xor": config.xor_steps,
            "sine": config.sine_steps}[task]


def settings(config: Config) -> list[Setting]:
    """Every setting Table 1 needs (each trained once for all seeds)."""
    iterations = int(paper.TASKS["xor"]["iterations"])  # type: ignore[call-overload]
    out: dict[Setting, None] = {}
    for col in columns(config):
        steps = _steps(col.task, config)
        for init in paper.INIT_ROWS:  # "default" is also the bottom half's "none" row
            null = config.null_samples if init == "default" else 0
            out[Setting(col.task, init, "none", None, col.hidden, iterations, steps,
                        null_samples=null)] = None
        for scheme in paper.PRUNING_ROWS[1:]:
            amount = paper.SCHEMES[scheme][1]
            mask = config.random_mask if scheme == "random" else "per_seed"
            out[Setting(col.task, "default", scheme, amount, col.hidden, iterations, steps,
                        null_samples=config.null_samples, random_mask=mask)] = None
    return list(out)



def _find(runs: Sequence[Run], task: str, init: str, scheme: str, hidden: int) -> Run:
    for r in runs:
        s = r.setting
        if (s.task, s.init, s.scheme, s.hidden, s.model) == (task, init, scheme, hidden,
                                                              "complete"):
            return r
    raise KeyError(f"no run for task={task}, init={init}, scheme={scheme}, H={hidden}")


@dataclass(frozen=True)
class Cell:
    """One cell: our per-seed values summarised, the paper's number, and the tests.

    ``test`` compares the row with the reference row (Default / none) of the
    same half and column (``None`` for the reference row itself and for the
    top half's untrained column, where only the initialisation differs);
    ``holm_p`` is its Welch p-value adjusted over the half-table;
    ``null`` compares the end orderedness with the metric's null models
    (bottom half), one test per shuffle (``"pattern"``, ``"all"``), and
    ``null_mean`` holds the mean null orderedness per shuffle; ``vs_paper``
    is Welch's test of our values against the paper's mean ± std over its
    10 seeds.
    """

    half: str
    row: str
    column: str
    values: tuple[float, ...]
    summary: stats.Summary
    paper: tuple[float, float]
    inside: bool
    welch: stats.TestResult | None = None
    permutation: stats.TestResult | None = None
    holm_p: float | None = None
    null: dict[str, stats.TestResult] | None = None
    null_mean: dict[str, float] | None = None
    end_mean: float | None = None
    sparsity: float | None = None
    vs_paper: stats.TestResult | None = None


@dataclass(frozen=True)
class Table1:
    """All cells of Table 1 plus the columns they belong to."""

    cells: tuple[Cell, ...]
    columns: tuple[Column, ...]
    level: float

    def cell(self, half: str, row: str, column: str) -> Cell:
        for c in self.cells:
            if (c.half, c.row, c.column) == (half, row, column):
                return c
        raise KeyError(f"no cell {half}/{row}/{column}")


def build(runs: Sequence[Run], config: Config) -> Table1:
    """Summaries, confidence intervals and tests of every cell, from the runs alone."""
    cols = columns(config)
    cells: list[Cell] = []
    for half, rows, ref in (("init", paper.INIT_ROWS, "default"),
                            ("pruning", paper.PRUNING_ROWS, "none")):
        half_cells: list[Cell] = []
        for col in cols:
            for row in rows:
                init, scheme = (row, "none") if half == "init" else ("default", row)
                r = _find(runs, col.task, init, scheme, col.hidden)
                at_init = half == "init" and col.task == "untrained"
                values = finite(r.start if at_init else r.change)
                reference = None
                if row != ref and not at_init:
                    rr = _find(runs, col.task, *((ref, "none") if half == "init"
                                                 else ("default", ref)), col.hidden)
                    reference = finite(rr.change)
                table = paper.TABLE1_INIT if half == "init" else paper.TABLE1_PRUNING
                p_mean, p_std = table[row][col.paper_column]
                summary = stats.summarize(values, config.level)
                welch = perm = None
                if reference is not None:
                    welch = stats.welch_test(values, reference)
                    perm = stats.permutation_test(values, reference, seed=0)
                null = null_mean = None
                if r.null and half == "pruning":
                    keep = [i for i, e in enumerate(r.end) if math.isfinite(e)]
                    null, null_mean = {}, {}
                    for shuffle, per_seed in r.null.items():
                        draws = [finite(per_seed[i]) for i in keep]
                        null[shuffle] = stats.null_excess_test([r.end[i] for i in keep], draws)
                        null_mean[shuffle] = _mean([_mean(d) for d in draws])
                vs_paper = (stats.welch_from_stats(summary.mean, summary.std, summary.n,
                                                   p_mean, p_std, paper.PAPER_SEEDS)
                            if summary.n > 1 else None)
                half_cells.append(Cell(
                    half, row, col.key, tuple(values), summary, (p_mean, p_std),
                    stats.inside_ci(p_mean, summary.ci_low, summary.ci_high, _TOLERANCE),
                    welch, perm, None, null, null_mean,
                    _mean(finite(r.end)),
                    None if r.sparsity is None else sum(r.sparsity) / len(r.sparsity),
                    vs_paper,
                ))
        tested = [i for i, c in enumerate(half_cells) if c.welch is not None]
        adjusted = stats.holm([half_cells[i].welch.p_value for i in tested])  # type: ignore[union-attr]
        for i, p in zip(tested, adjusted, strict=True):
            c = half_cells[i]
            half_cells[i] = Cell(**{**c.__dict__, "holm_p": p})
        cells.extend(half_cells)
    return Table1(tuple(cells), tuple(cols), config.level)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _mark(inside: bool) -> str:
    return "yes" if inside else "**no**"


def _row_name(half: str, row: str) -> str:
    return ("init: " if half == "init" else "pruning: ") + paper.ROW_LABELS[row]


def _column_label(table: Table1, key: str) -> str:
    return next(col.label for col in table.columns if col.key == key)


def _intro(table: Table1, config: Config) -> list[str]:
    level = round(100 * table.level)
    masks = ("one mask shared by all seeds of a column, the first seed's (the paper's reference "
             "notebook's protocol)" if config.random_mask == "shared"
             else "a fresh mask per seed")
    return [
        "# Table 1: ours beside the paper's",
        "",
        f"Each cell: **ours** mean ± std (sample std, ddof = 1, n = {config.seeds} seeds) · the "
        f"paper's mean ± std · whether the paper's mean lies inside our {level} % confidence "
        "interval of the mean (Student t; the paper's 3-decimal rounding, ±0.0005, is allowed "
        "for).",
        "",
        "Definitions (the paper's reference implementation): top half, *untrained* = "
        "orderedness at initialisation, other columns = end minus start of training; bottom "
        "half, every column = change in orderedness (untrained: "
        f"{config.untrained_steps} scheme steps without gradient updates). XOR: H=5, T=3, "
        f"{config.xor_steps} steps; Sine: T=3, {config.sine_steps} steps. The paper's Sine "
        "numbers come from H=8 (its text says 10); every Sine column is compared with them. "
        f"Random (p=0.5): {masks}.",
        "",
    ]


def _main_tables(table: Table1, config: Config) -> list[str]:
    def text(half: str, row: str, key: str) -> str:
        c = table.cell(half, row, key)
        n = "" if c.summary.n == config.seeds else f" (n={c.summary.n})"
        return (f"**{fmt_pm(c.summary.mean, c.summary.std)}**{n} · paper {fmt_pm(*c.paper)} · "
                f"{_mark(c.inside)}")

    lines = table1_halves([(col.key, col.label) for col in table.columns], text)
    inside = [c.inside for c in table.cells]
    return lines + [f"The paper's mean lies inside our {round(100 * table.level)} % interval in "
                    f"{sum(inside)} of {len(inside)} cells.", ""]


def _per_row(table: Table1, text: Callable[[Cell], str]) -> list[str]:
    """One table row per Table 1 row, one column per column: ``text(cell)``."""
    body = []
    for half, rows in (("init", paper.INIT_ROWS), ("pruning", paper.PRUNING_ROWS)):
        for row in rows:
            body.append([_row_name(half, row)] +
                        [text(table.cell(half, row, col.key)) for col in table.columns])
    return [markdown_table(["Row"] + [c.label for c in table.columns], body), ""]


def _vs_paper(table: Table1) -> list[str]:
    def text(c: Cell) -> str:
        if c.vs_paper is None:
            return "-"
        out = f"{fmt(c.vs_paper.difference)} (p {fmt_p(c.vs_paper.p_value)})"
        return f"**{out}**" if c.vs_paper.p_value < 0.05 else out

    lines = [
        "## Ours against the paper's numbers, with the paper's own sampling error",
        "",
        "Our CI only covers our sampling error; the paper's numbers are themselves means of 10 "
        "seeds. Welch's t-test of our seeds against the paper's mean ± std (n = 10; the std "
        "taken as reported) tells whether the two could be the same experiment. p < 0.05 "
        "marked **bold**; Holm-adjusted over all cells in the last line.",
        "",
        *_per_row(table, text),
    ]
    tested = [c for c in table.cells if c.vs_paper is not None]
    if tested:
        adjusted = stats.holm([c.vs_paper.p_value for c in tested])  # type: ignore[union-attr]
        differ = [c for c, p in zip(tested, adjusted, strict=True) if p < 0.05]  # type: ignore[operator]
        names = ", ".join(f"{paper.ROW_LABELS[c.row]} / {c.column}" for c in differ) or "none"
        raw = sum(c.vs_paper.p_value < 0.05 for c in tested)  # type: ignore[union-attr]
        lines += [f"Cells shown as ours - paper (p). {raw}"
                  f" of {len(tested)} cells differ at p < 0.05; after Holm's correction over "
                  f"the {len(tested)} cells: {len(differ)} ({names}).", ""]
    return lines


def _intervals(table: Table1) -> list[str]:
    return [f"## {round(100 * table.level)} % confidence intervals", "",
            *_per_row(table, lambda c: f"[{fmt(c.summary.ci_low)}, {fmt(c.summary.ci_high)}]")]


def _against_reference_row(table: Table1) -> list[str]:
    body = [[paper.ROW_LABELS[c.row], _column_label(table, c.column), fmt(c.welch.difference),
             fmt_p(c.welch.p_value), fmt_p(c.permutation.p_value),  # type: ignore[union-attr]
             fmt_p(c.holm_p)]  # type: ignore[arg-type]
            for c in table.cells if c.welch is not None]
    return [
        "## Is the change different from the reference row?",
        "",
        "Each row against Default (top half) or none (bottom half), same column: difference of "
        "mean changes, Welch's t-test p, a permutation test p (difference of means), and the "
        "Welch p Holm-adjusted over the half-table (family-wise). The top half's untrained "
        "column (orderedness at init) is not tested.",
        "",
        markdown_table(["Row", "Column", "Δ vs reference", "Welch p", "permutation p",
                        "Holm p"], body),
        "",
    ]


def _null_model(table: Table1, config: Config) -> list[str]:
    null_cells = [c for c in table.cells if c.null]
    if not null_cells:
        return []
    shuffles = list(null_cells[0].null)  # type: ignore[arg-type]
    headers = ["Row", "Column", "sparsity", "end O"]
    for sh in shuffles:
        headers += [f"null O ({sh})", f"excess ({sh})", f"p ({sh})"]
    body = []
    for c in null_cells:
        line = [paper.ROW_LABELS[c.row], _column_label(table, c.column),
                "-" if c.sparsity is None else fmt(c.sparsity, 2), fmt(c.end_mean)]  # type: ignore[arg-type]
        for sh in shuffles:
            test = c.null[sh]  # type: ignore[index]
            line += [fmt(c.null_mean[sh]), fmt(test.difference), fmt_p(test.p_value)]  # type: ignore[index]
        body.append(line)
    return [
        "## Is the order more than the weights' values and sparsity? (the metric's null model)",
        "",
        "End orderedness of each run against shuffled copies of the same final weight "
        "(`orderedness_null`; the diagonal stays in place). *pattern*: the nonzero "
        "magnitudes are shuffled over the nonzero positions (sparsity pattern kept: is the "
        "order in where the large values sit?); *all*: shuffled over all positions (a random "
        "pattern of the same sparsity: is the order more than what random pruning to this "
        "sparsity gives?). Excess = end minus mean null orderedness; p = one-sided t-test "
        f"over seeds that the excess is > 0 ({config.null_samples} draws per seed and "
        "shuffle). The untrained *none* row is a check: shuffling an N(0,1) weight changes "
        "nothing in distribution, so its excess must be near 0.",
        "",
        markdown_table(headers, body),
        "",
    ]


def _topk_checks(table: Table1) -> list[str]:
    lines = ["## Top-K: pruning or training?", ""]
    for col in table.columns:
        if col.task == "untrained":
            continue
        for row in ("topk", "dyn_topk"):
            trained = table.cell("pruning", row, col.key)
            untrained = table.cell("pruning", row, "untrained")
            rnd = table.cell("pruning", "random", col.key)
            vs_untrained = stats.welch_test(trained.values, untrained.values)
            vs_random = stats.welch_test(trained.values, rnd.values)
            lines.append(
                f"- {paper.ROW_LABELS[row]}, {col.label}: change {fmt(trained.summary.mean)} vs "
                f"{fmt(untrained.summary.mean)} untrained (Welch p = {fmt_p(vs_untrained.p_value)}"
                f"); vs Random (p=0.5) {fmt(rnd.summary.mean)} (Welch p = "
                f"{fmt_p(vs_random.p_value)})."
            )
    return lines + [""]


def markdown(table: Table1, config: Config, timings: dict[str, float] | None = None) -> str:
    """``table1.md``: ours vs the paper's per cell, then the significance tables."""
    lines = [*_intro(table, config), *_main_tables(table, config), *_vs_paper(table),
             *_intervals(table), *_against_reference_row(table), *_null_model(table, config),
             *_topk_checks(table)]
    if timings:
        lines += ["## Wall time", "", *[f"- {k}: {v:.1f} s" for k, v in timings.items()], ""]
    return "\n".join(lines)


def figure(table: Table1, path: str) -> str:
    """A dot plot of every cell: our mean with its CI beside the paper's mean ± std."""
    from paper_repro.report import new_figure, save_figure

    cols = table.columns
    fig, axes = new_figure(1, len(cols), figsize=(3.2 * len(cols), 4.8), sharey=True)
    rows = [("init", r) for r in paper.INIT_ROWS] + [("pruning", r) for r in paper.PRUNING_ROWS]
    ys = list(range(len(rows)))[::-1]
    for ax, col in zip(axes, cols, strict=True):
        for y, (half, row) in zip(ys, rows, strict=True):
            c = table.cell(half, row, col.key)
            s = c.summary
            ax.errorbar(s.mean, y + 0.12, xerr=[[s.mean - s.ci_low], [s.ci_high - s.mean]],
                        fmt="o", color="C0", ms=4, label="ours (95% CI)" if y == ys[0] else None)
            ax.errorbar(c.paper[0], y - 0.12, xerr=c.paper[1], fmt="s", color="C3", ms=4,
                        alpha=0.8, label="paper (± std)" if y == ys[0] else None)
        ax.axhline(len(paper.PRUNING_ROWS) - 0.5, color="grey", lw=0.5)
        ax.set_title(col.label)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(ys)
    axes[0].set_yticklabels([paper.ROW_LABELS[r] for _, r in rows], fontsize=8)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Table 1: orderedness (top 3 rows: init, untrained = value) / change")
    return str(save_figure(fig, path))
