"""Writing results: Markdown tables, the JSON file of every per-seed number, PNG figures.

- :func:`markdown_table`: a GitHub Markdown table from headers and rows.
- :func:`fmt`, :func:`fmt_pm`, :func:`fmt_values`, :func:`fmt_p`: number
  formatting used in every table (also by ``benchmarks/mnist/report.py``).
- :func:`save_results` / :func:`load_results`: the JSON file (settings,
  timings and every :class:`~paper_repro.runner.Run`), from which
  ``python -m paper_repro --from-json`` remakes all tables and figures.
- :func:`new_figure` / :func:`save_figure`: matplotlib with the Agg backend
  (no display needed); matplotlib is imported only when a figure is drawn.

Example::

    >>> print(markdown_table(["a", "b"], [[1, "x"]]))
    | a | b |
    |---|---|
    | 1 | x |
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from paper_repro import paper_numbers as paper
from paper_repro.runner import Run

__all__ = [
    "FORMAT",
    "markdown_table",
    "table1_halves",
    "fmt",
    "fmt_pm",
    "fmt_values",
    "fmt_p",
    "environment",
    "save_results",
    "load_results",
    "new_figure",
    "save_figure",
]

#: Identifies the JSON layout written by :func:`save_results`.
FORMAT = "paper_repro/1"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; ``|`` inside cells is escaped."""

    def cell(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        row = list(row)
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells for {len(headers)} headers")
        lines.append("| " + " | ".join(cell(x) for x in row) + " |")
    return "\n".join(lines)


def table1_halves(columns: Sequence[tuple[str, str]],
                  cell: Callable[[str, str, str], str]) -> list[str]:
    """Table 1's two halves as Markdown tables (a row per initialisation or scheme, a
    column per ``(key, label)`` of ``columns``), each followed by a blank line;
    ``cell(half, row, key)`` gives a cell's text.

    Example::

        >>> lines = table1_halves([("xor", "XOR")], lambda half, row, key: f"{half}/{row}")
        >>> lines[0].splitlines()[:3]
        ['| Initialisation | XOR |', '|---|---|', '| Default (N(0,1)) | init/default |']
    """
    lines: list[str] = []
    for half, rows, title in (("init", paper.INIT_ROWS, "Initialisation"),
                              ("pruning", paper.PRUNING_ROWS, "Pruning (on W)")):
        body = [[paper.ROW_LABELS[row], *(cell(half, row, key) for key, _ in columns)]
                for row in rows]
        lines += [markdown_table([title, *(label for _, label in columns)], body), ""]
    return lines


def fmt(x: float, decimals: int = 3) -> str:
    """``x`` with ``decimals`` decimals; ``-0.000`` is written ``0.000``.

    Example::

        >>> fmt(-0.0001), fmt(0.12345), fmt(float("nan"))
        ('0.000', '0.123', 'nan')
    """
    if not math.isfinite(x):
        return str(x)
    text = f"{x:.{decimals}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text


def fmt_pm(mean: float, std: float, decimals: int = 3) -> str:
    """``mean ± std`` in the paper's style.

    Example::

        >>> fmt_pm(0.0391, 0.0322)
        '0.039 ± 0.032'
    """
    return f"{fmt(mean, decimals)} ± {fmt(std, decimals)}"


def fmt_values(values: Iterable[float], decimals: int = 3, scale: float = 1.0) -> str:
    """:func:`fmt_pm` of per-seed ``values`` (times ``scale``): their mean ± sample std.

    A single value is written alone, no values as ``n/a``.

    Example::

        >>> fmt_values([0.5, 0.7], 4), fmt_values([0.25]), fmt_values([])
        ('0.6000 ± 0.1414', '0.250', 'n/a')
    """
    vals = [float(v) * scale for v in values]
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return fmt(vals[0], decimals)
    return fmt_pm(statistics.mean(vals), statistics.stdev(vals), decimals)


def fmt_p(p: float) -> str:
    """A p-value: 3 significant digits, ``<1e-6`` below that.

    Example::

        >>> fmt_p(0.04567), fmt_p(1e-9), fmt_p(1.0)
        ('0.0457', '<1e-6', '1')
    """
    if not math.isfinite(p):
        return str(p)
    if p < 1e-6:
        return "<1e-6"
    return f"{p:.3g}"


def environment() -> dict[str, str]:
    """Versions and machine, stored with the results."""
    import numpy
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def save_results(
    path: str | Path,
    runs: dict[str, list[Run]],
    settings: dict[str, Any],
    timings: dict[str, float] | None = None,
) -> Path:
    """Write every run (every per-seed number) with the settings to ``path`` (JSON).

    Args:
        path: the file to write (parent folders are created).
        runs: experiment name (``"table1"``, ``"figure2"``, ...) -> its runs.
        settings: the configuration that produced them (plain JSON values).
        timings: seconds per part.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT,
        "settings": settings,
        "timings": timings or {},
        "environment": environment(),
        "runs": {name: [run.to_dict() for run in rs] for name, rs in runs.items()},
    }
    path.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    return path


def load_results(path: str | Path) -> tuple[dict[str, list[Run]], dict[str, Any], dict[str, Any]]:
    """Read a file written by :func:`save_results`: ``(runs, settings, timings)``."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a paper_repro results file (format {FORMAT!r})")
    runs = {name: [Run.from_dict(r) for r in rs] for name, rs in data["runs"].items()}
    return runs, data.get("settings", {}), data.get("timings", {})


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` with the Agg backend (works without a display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, **kwargs)


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save ``fig`` as PNG at ``path`` (``dpi`` dots per inch) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
