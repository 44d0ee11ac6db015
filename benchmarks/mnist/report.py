"""Writing the MNIST study's results: JSON (every number), Markdown tables, PNG figures.

Tables and figures are computed from the JSON document alone, so
``python -m benchmarks.mnist report <file.json>`` remakes them without training.

- :func:`results_document` / :func:`save_json` / :func:`load_json`: the JSON file
  (format :data:`FORMAT`: experiment, data set name, settings, exact command
  line, environment, elapsed time, one row per seed and variant).
- :func:`baselines_markdown`, :func:`cost_markdown`: the tables.
- :func:`baselines_figure`, :func:`cost_figure`: PNG files (matplotlib, Agg).
- :func:`write_outputs`: all three files for one document.

Example::

    >>> print(markdown_table(["a", "b"], [[1, "x"]]))
    | a | b |
    |---|---|
    | 1 | x |
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT",
    "COST_GOAL",
    "markdown_table",
    "fmt_pm",
    "environment",
    "results_document",
    "save_json",
    "load_json",
    "summarise_baselines",
    "baselines_markdown",
    "cost_markdown",
    "baselines_figure",
    "cost_figure",
    "write_outputs",
    "output_stem",
]

#: Identifies the JSON layout written here.
FORMAT = "benchmarks.mnist/1"

#: Goal of experiment 4: a complete-layer training step costs at most this many times the
#: step of the MLP with the same number of hidden units.
COST_GOAL = 2.5


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub Markdown table; ``|`` in cells is escaped."""

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


def fmt_pm(values: Sequence[float], decimals: int = 4, scale: float = 1.0) -> str:
    """``mean ± std`` (sample std) of ``values``; a single value is written alone.

    Example::

        >>> fmt_pm([0.5, 0.7]), fmt_pm([0.25])
        ('0.6000 ± 0.1414', '0.2500')
    """
    vals = [v * scale for v in values]
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return f"{vals[0]:.{decimals}f}"
    return f"{statistics.mean(vals):.{decimals}f} ± {statistics.stdev(vals):.{decimals}f}"


def environment() -> dict[str, Any]:
    """Versions, machine and torch threads, stored with the results."""
    import numpy
    import torch

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        import torchvision

        env["torchvision"] = torchvision.__version__
    except ImportError:  # pragma: no cover - torchvision is needed to load the data anyway
        pass
    return env


def results_document(
    experiment: str,
    data: dict[str, Any],
    settings: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    command: str,
    quick: bool,
    device: str,
    elapsed_seconds: float,
) -> dict[str, Any]:
    """The JSON document of one experiment (see the module docstring)."""
    if experiment not in ("baselines", "cost"):
        raise ValueError(f"experiment must be 'baselines' or 'cost', got {experiment!r}")
    return {
        "format": FORMAT,
        "experiment": experiment,
        "dataset": data["dataset"],
        "data": data,
        "quick": quick,
        "command": command,
        "device": device,
        "settings": settings,
        "environment": environment(),
        "elapsed_seconds": elapsed_seconds,
        "rows": [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows],
    }


def save_json(doc: dict[str, Any], path: str | Path) -> Path:
    """Write ``doc`` to ``path`` (parents created; NaN refused)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return path


def load_json(path: str | Path) -> dict[str, Any]:
    """Read a document written by :func:`save_json`."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path} is not a benchmarks.mnist results file (format {FORMAT!r})")
    return doc


def output_stem(experiment: str, dataset_key: str, quick: bool) -> str:
    """File name stem, e.g. ``baselines-fashion-mnist-quick``."""
    return f"{experiment}-{dataset_key}" + ("-quick" if quick else "")


# --------------------------------------------------------------------------- baselines


_METHOD_LABELS = {
    "dense": "dense",
    "l1-layer": "torch L1, per layer",
    "l1-global": "torch L1, global",
    "topk": "TopK, global",
    "dynamic-topk": "DynamicTopK, global, per epoch",
    "random": "RandomPrune, global",
}


def summarise_baselines(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group per-seed rows by (arch, method, target sparsity), in first-seen order."""
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["arch"], row["method"], row["target_sparsity"]), []).append(row)
    out = []
    for (arch, method, target), rs in groups.items():
        out.append({
            "arch": arch,
            "method": method,
            "target_sparsity": target,
            "seeds": [r["seed"] for r in rs],
            "sparsity": [r["sparsity"] for r in rs],
            "test_accuracy": [r["test_accuracy"] for r in rs],
            "accuracy_after_pruning": [r["accuracy_after_pruning"] for r in rs],
            "nonzero_weights": [r["nonzero_weights"] for r in rs],
            "seconds": [r["seconds"] for r in rs],
        })
    return out


def _header(doc: dict[str, Any], title: str) -> list[str]:
    data, env = doc["data"], doc["environment"]
    mode = "quick run (`--quick`, small subset)" if doc["quick"] else "full run"
    return [
        f"# {title} on {doc['dataset']}",
        "",
        f"- Data set: **{doc['dataset']}** ({data['train_size']} training / "
        f"{data['test_size']} test images; files from `{data['source']}`).",
        f"- {mode}; device `{doc['device']}`, torch {env['torch']}, "
        f"{env['torch_threads']} threads; took {doc['elapsed_seconds']:.0f} s.",
        f"- Command: `{doc['command']}`",
        "",
    ]


def baselines_markdown(doc: dict[str, Any]) -> str:
    """The Markdown table of experiment 1 (mean ± std over seeds)."""
    s = doc["settings"]
    lines = _header(doc, "MLP baselines, dense and pruned")
    lines += [
        f"Adam (lr {s['lr']}), batch {s['batch_size']}, {s['activation']} hidden units; "
        f"{s['train_epochs']} epochs dense (or with DynamicTopK's {s['schedule']} schedule, "
        f"re-applied after every epoch), then pruning, then {s['finetune_epochs']} epochs of "
        "fine-tuning with the mask; the dense row trains for the same total. "
        f"Seeds: {s['seeds']}. Sparsity = measured share of exact zeros among all "
        "`nn.Linear` weights after `prune.remove` (biases not pruned).",
        "",
    ]
    headers = ["architecture", "method", "target sparsity", "measured sparsity",
               "test accuracy", "accuracy right after pruning", "nonzero weights"]
    table = []
    for g in summarise_baselines(doc["rows"]):
        table.append([
            g["arch"],
            _METHOD_LABELS.get(g["method"], g["method"]),
            f"{g['target_sparsity']:.0%}" if g["method"] != "dense" else "0%",
            fmt_pm(g["sparsity"], 4),
            fmt_pm(g["test_accuracy"], 4),
            fmt_pm(g["accuracy_after_pruning"], 4) if g["method"] != "dense" else "",
            f"{statistics.mean(g['nonzero_weights']):.0f}",
        ])
    lines.append(markdown_table(headers, table))
    lines += ["", f"Mean ± sample standard deviation over {len(s['seeds'])} seed(s); "
              "per-seed numbers in the JSON file. \"Right after pruning\" is before "
              "fine-tuning (for DynamicTopK: at the end of its training phase)."]
    return "\n".join(lines) + "\n"


def baselines_figure(doc: dict[str, Any], path: str | Path) -> Path:
    """Test accuracy against measured sparsity, one panel per architecture."""
    groups = summarise_baselines(doc["rows"])
    archs = list(dict.fromkeys(g["arch"] for g in groups))
    fig, axes = _subplots(1, len(archs), figsize=(5.5 * len(archs), 4.2), squeeze=False)
    styles = ["o-", "s--", "^-.", "v:", "D-", "x--"]
    for ax, arch in zip(axes[0], archs, strict=True):
        mine = [g for g in groups if g["arch"] == arch]
        for j, method in enumerate(dict.fromkeys(g["method"] for g in mine)):
            gs = sorted((g for g in mine if g["method"] == method),
                        key=lambda g: g["target_sparsity"])
            xs = [statistics.mean(g["sparsity"]) for g in gs]
            ys = [statistics.mean(g["test_accuracy"]) for g in gs]
            es = [statistics.stdev(g["test_accuracy"]) if len(g["test_accuracy"]) > 1 else 0.0
                  for g in gs]
            if method == "dense":
                ax.axhline(ys[0], color="black", linestyle="--", linewidth=1, label="dense")
                continue
            ax.errorbar(xs, ys, yerr=es, fmt=styles[j % len(styles)], capsize=3, alpha=0.85,
                        label=_METHOD_LABELS.get(method, method))
        ax.set_title(f"{arch} on {doc['dataset']}")
        ax.set_xlabel("measured sparsity (share of zero weights)")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if doc["quick"]:
        fig.suptitle("quick run (small subset)", fontsize=9)
    return _save(fig, path)


# --------------------------------------------------------------------------- cost


def _kib(x: float | None) -> str:
    return "" if x is None else f"{x / 1024:.0f}"


def cost_markdown(doc: dict[str, Any]) -> str:
    """The Markdown table of experiment 4 and whether the 2.5x goal is met."""
    s = doc["settings"]
    rows = doc["rows"]
    method = next((r["memory_method"] for r in rows if "memory_method" in r), "n/a")
    lines = _header(doc, "Cost of a complete layer against MLPs")
    lines += [
        f"Batch {s['batch_size']}, Adam; one epoch = one pass of the seeded DataLoader over the "
        f"training images; {s['warmup_epochs']} untimed warm-up epoch(s), then {s['repeats']} "
        "timed rounds (every model once per round); medians. `ratio` = median over rounds of "
        "(epoch time / epoch time of the MLP with the same hidden units). Complete-layer "
        "weights: `scaled` = N(0, 1/fan_in), `normal` = the paper's N(0, 1). "
        f"flush_denormal: {s['flush_denormal']}.",
        f"Memory: `state` = parameters + Adam state; `step peak` = peak allocated during a "
        f"training step on top of that ({method}); `total` = state + step peak.",
        "",
    ]
    headers = ["H", "model", "init", "parameters", "ms / step", "samples / s",
               "ratio", "state KiB", "step peak KiB", "total KiB"]
    table = []
    for r in rows:
        table.append([
            r["hidden"],
            r["arch"],
            r.get("init", ""),
            r["parameters"] if r["model"] != "data-only" else "",
            f"{r['step_ms']:.3f}",
            f"{r['samples_per_second']:.0f}",
            f"{r['ratio_vs_same_hidden']:.2f}" if r["ratio_vs_same_hidden"] is not None else "",
            _kib(r.get("state_bytes")),
            _kib(r.get("step_peak_bytes")),
            _kib(r.get("peak_bytes")),
        ])
    lines.append(markdown_table(headers, table))
    lines += ["", _goal_line(rows)]
    return "\n".join(lines) + "\n"


def _goal_line(rows: Sequence[dict[str, Any]]) -> str:
    parts = []
    for init in dict.fromkeys(r.get("init") for r in rows if r["model"] == "complete"):
        mine = [r for r in rows if r["model"] == "complete" and r.get("init") == init]
        met = [r for r in mine if r["ratio_vs_same_hidden"] <= COST_GOAL]
        worst = max(mine, key=lambda r: r["ratio_vs_same_hidden"])
        parts.append(
            f"init `{init}`: {len(met)} of {len(mine)} settings within {COST_GOAL}x "
            f"(largest ratio {worst['ratio_vs_same_hidden']:.2f} at H={worst['hidden']}, "
            f"T={worst['iterations']})"
        )
    return (f"Goal: a complete-layer training step at most {COST_GOAL}x the step of the MLP "
            "with the same hidden units. " + "; ".join(parts) + ".")


def cost_figure(doc: dict[str, Any], path: str | Path) -> Path:
    """Two panels: time ratio to the same-hidden MLP, and total peak memory, per H."""
    rows = [r for r in doc["rows"] if r["model"] != "data-only"]
    hidden = list(dict.fromkeys(r["hidden"] for r in rows))
    labels = list(dict.fromkeys(_cost_label(r) for r in rows))
    fig, (ax_t, ax_m) = _subplots(1, 2, figsize=(12, 4.2))
    width = 0.8 / max(len(labels), 1)
    for j, label in enumerate(labels):
        xs, ratios, mems = [], [], []
        for i, h in enumerate(hidden):
            r = next((r for r in rows if r["hidden"] == h and _cost_label(r) == label), None)
            if r is None:
                continue
            xs.append(i + (j - (len(labels) - 1) / 2) * width)
            ratios.append(r["ratio_vs_same_hidden"])
            mems.append(r["peak_bytes"] / 2**20)
        ax_t.bar(xs, ratios, width, label=label)
        ax_m.bar(xs, mems, width, label=label)
    ax_t.axhline(COST_GOAL, color="red", linestyle="--", linewidth=1, label=f"goal {COST_GOAL}x")
    for ax, ylabel in ((ax_t, "epoch time / MLP with same hidden units"),
                       (ax_m, "params + Adam state + step peak (MiB)")):
        ax.set_xticks(range(len(hidden)), [f"H={h}" for h in hidden])
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
    ax_t.legend(fontsize=6, ncol=2)
    ax_t.set_title(f"training time on {doc['dataset']} ({doc['device']})")
    ax_m.set_title("peak memory")
    return _save(fig, path)


def _cost_label(r: dict[str, Any]) -> str:
    if r["model"] == "complete":
        return f"complete T={r['iterations']} ({r['init']})"
    return r["model"]


# --------------------------------------------------------------------------- files


def _subplots(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def write_outputs(
    doc: dict[str, Any], out_dir: str | Path, *, write_json: bool = True
) -> dict[str, Path]:
    """Write ``<stem>.json`` (unless ``write_json=False``), ``<stem>.md`` and ``<stem>.png``."""
    out_dir = Path(out_dir)
    stem = output_stem(doc["experiment"], doc["data"]["dataset_key"], doc["quick"])
    paths = {"json": save_json(doc, out_dir / f"{stem}.json")} if write_json else {}
    markdown, figure = (
        (baselines_markdown, baselines_figure) if doc["experiment"] == "baselines"
        else (cost_markdown, cost_figure)
    )
    paths["md"] = out_dir / f"{stem}.md"
    paths["md"].write_text(markdown(doc))
    paths["png"] = figure(doc, out_dir / f"{stem}.png")
    return paths
