"""Writing the MNIST study's results: JSON (every number), Markdown tables, PNG figures.

Tables and figures are computed from the JSON document alone, so
``python -m benchmarks.mnist report <file.json>`` remakes them without training.

- :func:`results_document` / :func:`save_json` / :func:`load_json`: the JSON file
  (format :data:`FORMAT`: experiment, data set name, settings, exact command
  line, environment, elapsed time, one row per seed and variant).
- :func:`baselines_markdown`, :func:`cost_markdown`: the tables.
- :func:`baselines_figure`, :func:`cost_figure`: PNG files (matplotlib, Agg).
- :func:`write_outputs`: all three files for one document.

Table helpers (:func:`markdown_table`, :func:`fmt_values`), figures and Holm's
correction (:func:`holm`) are paper_repro's (:mod:`paper_repro.report`,
:mod:`paper_repro.stats`), shared by both reports.

Example::

    >>> print(markdown_table(["a", "b"], [[1, "x"]]))
    | a | b |
    |---|---|
    | 1 | x |
"""

from __future__ import annotations

import json
import math
import platform
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from paper_repro.report import environment as paper_environment
from paper_repro.report import fmt_values, markdown_table, new_figure, save_figure
from paper_repro.stats import holm

__all__ = [
    "FORMAT",
    "EXPERIMENTS",
    "holm",
    "complete_markdown",
    "complete_figure",
    "embedding_markdown",
    "embedding_figure",
    "COST_GOAL",
    "markdown_table",
    "fmt_values",
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

#: The experiments, in the order ``all`` runs them.
EXPERIMENTS: tuple[str, ...] = ("baselines", "complete", "from-mlp", "cost")

#: Goal of experiment 4: a complete-layer training step costs at most this many times the
#: step of the MLP with the same number of hidden units.
COST_GOAL = 2.5


def environment() -> dict[str, Any]:
    """Versions, machine and torch threads, stored with the results.

    paper_repro's :func:`~paper_repro.report.environment` plus the processor,
    torch's threads, the CUDA device and torchvision's version.
    """
    import torch

    env: dict[str, Any] = paper_environment() | {
        "processor": platform.processor(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
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
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {experiment!r}")
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
        "rows": [_json_safe({k: v for k, v in row.items() if not k.startswith("_")})
                 for row in rows],
    }


def _json_safe(x: Any) -> Any:
    """NaN and infinities (undefined orderedness, say) become ``None`` (JSON ``null``)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


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
            fmt_values(g["sparsity"], 4),
            fmt_values(g["test_accuracy"], 4),
            fmt_values(g["accuracy_after_pruning"], 4) if g["method"] != "dense" else "",
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
    fig, axes = new_figure(1, len(archs), figsize=(5.5 * len(archs), 4.2), squeeze=False)
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
    return save_figure(fig, path, dpi=90)


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
    lines += ["", _quick_goal_line(doc) if doc["quick"] else _goal_line(rows)]
    return "\n".join(lines) + "\n"


def _quick_goal_line(doc: dict[str, Any]) -> str:
    """Experiment 4's goal, not judged: a quick run's epochs are too short to time."""
    s = doc["settings"]
    steps = math.ceil(doc["data"]["train_size"] / s["batch_size"])
    return (f"Goal: a complete-layer training step at most {COST_GOAL}x the step of the MLP "
            f"with the same hidden units; not judged in a quick run (epochs of {steps} steps, "
            f"{s['repeats']} timed rounds: too few and too short to time reliably); the full "
            f"run (`python -m benchmarks.mnist cost --dataset {doc['data']['dataset_key']}`) "
            "judges it.")


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
    fig, (ax_t, ax_m) = new_figure(1, 2, figsize=(12, 4.2))
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
    return save_figure(fig, path, dpi=90)


def _cost_label(r: dict[str, Any]) -> str:
    if r["model"] == "complete":
        return f"complete T={r['iterations']} ({r['init']})"
    return r["model"]


# --------------------------------------------------------------------------- statistics


def _defined(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _p_greater_than_zero(values: Sequence[float]) -> float | None:
    """One-sided one-sample t-test of mean > 0 (``None`` below 2 values or no spread)."""
    from scipy import stats

    vals = _defined(values)
    if len(vals) < 2 or statistics.pstdev(vals) == 0.0:
        return None
    return float(stats.ttest_1samp(vals, 0.0, alternative="greater").pvalue)


def _p_greater(a: Sequence[float], b: Sequence[float]) -> float | None:
    """One-sided Welch test of mean(a) > mean(b) (``None`` below 2 values each)."""
    from scipy import stats

    a, b = _defined(a), _defined(b)
    if len(a) < 2 or len(b) < 2 or (statistics.pstdev(a) == 0.0 and statistics.pstdev(b) == 0.0):
        return None
    return float(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)


def _fmt_p(p: float | None, adjusted: float | None) -> str:
    if p is None:
        return ""
    mark = " *" if adjusted is not None and adjusted < 0.05 else ""
    return (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}") + mark


def _mean(values: Iterable[Any]) -> float:
    vals = _defined(values)
    return statistics.mean(vals) if vals else float("nan")


def _fmt_ordering(rows: Sequence[dict[str, Any]], key: str = "end") -> str:
    """``mean ± std [mean upper]`` of an orderedness and its certified upper bound."""
    text = fmt_values(_defined(r[key] for r in rows), 3)
    uppers = _defined(r.get(f"{key}_upper") for r in rows)
    exact = all(r.get(f"{key}_exact") for r in rows)
    if exact:
        return text + " (exact)"
    return text + (f" [≤ {statistics.mean(uppers):.3f}]" if uppers else "")


# --------------------------------------------------------------------------- complete layer


_SCHEME_LABELS = {
    "none": "none (dense)",
    "random": "Random",
    "topk": "Top-K",
    "dyn_topk": "Dyn. Top-K",
    "tril": "Tril-damp",
    "dyn_tril": "Dyn. Tril-damp",
}


def _scheme_label(scheme: str, settings: dict[str, Any]) -> str:
    keep, damping = settings.get("keep"), settings.get("damping")
    extra = {"random": f" (p={1 - keep:g})" if keep is not None else "",
             "topk": f" (k={keep:g})" if keep is not None else "",
             "dyn_topk": f" (k={keep:g})" if keep is not None else "",
             "tril": f" (f={damping:g})" if damping is not None else "",
             "dyn_tril": f" (f={damping:g})" if damping is not None else ""}.get(scheme, "")
    return _SCHEME_LABELS.get(scheme, scheme) + extra


def _pattern_order(r: dict[str, Any]) -> float | None:
    """How much more ordered the weight's own sparsity pattern is than a random one of the
    same sparsity: the pattern null's mean minus the all-positions null's mean."""
    a, b = r.get("null_pattern_mean"), r.get("null_all_mean")
    return None if a is None or b is None else a - b


def _ordering_tests(groups: list[tuple[Any, list[dict[str, Any]]]],
                    reference: Any) -> list[dict[str, Any]]:
    """Per group: p-values of excess > 0 (pattern null), of pattern order > 0 and of change >
    the reference's change, each Holm-adjusted across the groups."""
    p_excess = [_p_greater_than_zero([r.get("excess_pattern") for r in rows])
                for _, rows in groups]
    p_pattern = [_p_greater_than_zero([_pattern_order(r) for r in rows]) for _, rows in groups]
    p_change = []
    for key, rows in groups:
        ref = reference(key)
        if ref is None or ref is rows:
            p_change.append(None)
        else:
            p_change.append(_p_greater([r["change"] for r in rows], [r["change"] for r in ref]))
    a_excess, a_change, a_pattern = holm(p_excess), holm(p_change), holm(p_pattern)
    return [{"p_excess": pe, "adj_excess": ae, "p_change": pc, "adj_change": ac,
             "p_pattern": pp, "adj_pattern": ap}
            for pe, ae, pc, ac, pp, ap in zip(p_excess, a_excess, p_change, a_change, p_pattern,
                                             a_pattern, strict=True)]


def _accuracy_cells(rs: Sequence[dict[str, Any]]) -> list[str]:
    """Test accuracy, and sparsity with the mean mask value, over seeds."""
    return [fmt_values([r["test_accuracy"] for r in rs], 4),
            f"{_mean(r['sparsity'] for r in rs):.3f} ({_mean(r['mask_mean'] for r in rs):.3f})"]


def _test_cells(rs: Sequence[dict[str, Any]], t: dict[str, Any]) -> list[str]:
    """p of Δ > none, the excesses over both nulls and the pattern order, with their p."""
    return [_fmt_p(t["p_change"], t["adj_change"]),
            fmt_values(_defined(r.get("excess_pattern") for r in rs), 4),
            _fmt_p(t["p_excess"], t["adj_excess"]),
            fmt_values(_defined(r.get("excess_all") for r in rs), 4),
            fmt_values(_defined(_pattern_order(r) for r in rs), 4),
            _fmt_p(t["p_pattern"], t["adj_pattern"])]


def _complete_groups(rows: Sequence[dict[str, Any]]) -> list[tuple[tuple[int, int, str],
                                                                    list[dict[str, Any]]]]:
    groups: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["model"] == "complete":
            groups.setdefault((r["hidden"], r["iterations"], r["scheme"]), []).append(r)
    return list(groups.items())


def _mlp_groups(rows: Sequence[dict[str, Any]]) -> list[tuple[tuple[int, str, str, str],
                                                               list[dict[str, Any]]]]:
    groups: dict[tuple[int, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["model"] == "mlp":
            groups.setdefault((r["hidden"], r["role"], r["recipe"], r["arch"]), []).append(r)
    return list(groups.items())


def complete_markdown(doc: dict[str, Any]) -> str:
    """The tables of experiment 2, the tests against the null model and the accuracy goals."""
    s = doc["settings"]
    rows = doc["rows"]
    lines = _header(doc, "The complete layer trained with each pruning scheme")
    lines += [
        f"`CompletePerceptron(784, H, 10, T)`, weights `{s['init']}`, Adam (lr {s['lr']}), "
        f"batch {s['batch_size']}, {s['epochs']} epoch(s), BCE of the sigmoid outputs against "
        "one-hot labels; each scheme applied in place after every optimiser step (the "
        "paper's way), dynamic schemes with progress = step / steps. Seeds: "
        f"{s['seeds']}. Orderedness: the paper's metric (outputs fixed first, inputs "
        "dropped), with the certified upper bound in brackets (each measurement limited to "
        f"{s.get('metric_time_limit', 'no')} s). Null models: {s['null_samples']} shuffles per "
        "seed of the same weights over the same nonzero positions (*pattern*) or over all "
        "positions (*all*); excess = orderedness - null mean.",
        "",
        "p-values: one-sided t-tests over seeds; *excess > 0*: is the trained, pruned layer "
        "more ordered than its own weights placed at random on its own sparsity pattern? "
        "*pattern order* = pattern-null mean - all-null mean: is the set of connections the "
        "scheme kept more ordered than a random set of the same sparsity (0 for random "
        "pruning, by construction)? *Δ > none*: did the scheme raise orderedness more than "
        "training without pruning (Welch)? `*` = significant at 5 % after Holm's correction "
        "over all rows of the table.",
        "",
    ]
    lines += [_exactness(rows), ""]
    groups = _complete_groups(rows)
    lookup = {key: rs for key, rs in groups}
    tests = _ordering_tests(groups, lambda key: lookup.get((key[0], key[1], "none")))
    headers = ["H", "T", "scheme", "test accuracy", "sparsity (mask mean)",
               "orderedness start [upper bound]", "orderedness end [upper bound]",
               "Δ orderedness",
               "p: Δ > none", "excess (pattern null)", "p: excess > 0", "excess (all null)",
               "pattern order", "p: pattern order > 0"]
    table = []
    for ((H, T, scheme), rs), t in zip(groups, tests, strict=True):
        table.append([
            H, T, _scheme_label(scheme, s),
            *_accuracy_cells(rs),
            _fmt_ordering(rs, "start"),
            _fmt_ordering(rs),
            fmt_values(_defined(r["change"] for r in rs), 3),
            *_test_cells(rs, t),
        ])
    lines.append(markdown_table(headers, table))
    mlps = _mlp_groups(rows)
    if mlps:
        lines += ["", "### The MLP references (same data, batches and epochs)", ""]
        table = [[H, f"{arch} ({role})", recipe, rs[0]["parameters"],
                  fmt_values([r["test_accuracy"] for r in rs], 4)]
                 for (H, role, recipe, arch), rs in mlps]
        lines.append(markdown_table(["H", "MLP", "recipe", "parameters", "test accuracy"],
                                    table))
    goals = _quick_complete_goals(doc) if doc["quick"] else _complete_goals(groups, mlps)
    lines += ["", "### Goals", ""] + goals
    lines += ["", _null_summary(groups, tests, s)]
    return "\n".join(lines) + "\n"


def _exactness(rows: Sequence[dict[str, Any]]) -> str:
    """How many orderedness measurements are proven optimal, and the largest gap left."""
    parts = []
    for key in ("start", "end"):
        measured = [r for r in rows if r.get(key) is not None and f"{key}_exact" in r]
        proven = sum(bool(r[f"{key}_exact"]) for r in measured)
        gaps = _defined(r[f"{key}_upper"] - r[key] for r in measured
                        if r.get(f"{key}_upper") is not None)
        gap = f"{max(gaps):.4f}" if gaps else "none"
        parts.append(f"{key}: {proven} of {len(measured)} proven optimal, largest gap "
                     f"`upper - value` left {gap}")
    return "Exactness of the metric (per trained layer): " + "; ".join(parts) + "."


def _quick_complete_goals(doc: dict[str, Any]) -> list[str]:
    """Experiment 2's goals, not judged: a quick run trains far too briefly to reach them."""
    s = doc["settings"]
    steps = math.ceil(doc["data"]["train_size"] / s["batch_size"]) * s["epochs"]
    return [f"Not judged: a quick run ({steps} training steps per layer on "
            f"{doc['data']['train_size']} images) is a smoke test, far too short for the goals, "
            "which are set for the full run (`python -m benchmarks.mnist complete --dataset "
            f"{doc['data']['dataset_key']}`): Top-K and Dynamic Top-K at most 1 point below the "
            "dense complete layer and at most 2 points below the equal-parameter MLP."]


def _complete_goals(groups: list[tuple[tuple[int, int, str], list[dict[str, Any]]]],
                    mlps: list[tuple[tuple[int, str, str, str], list[dict[str, Any]]]]
                    ) -> list[str]:
    lookup = {key: rs for key, rs in groups}
    mlp = {(H, role, recipe): rs for (H, role, recipe, _), rs in mlps}
    out = []
    for (H, T, scheme), rs in groups:
        if scheme not in ("topk", "dyn_topk"):
            continue
        acc = _mean(r["test_accuracy"] for r in rs)
        dense = lookup.get((H, T, "none"))
        parts = []
        if dense:
            gap = 100 * (_mean(r["test_accuracy"] for r in dense) - acc)
            parts.append(f"{_points(gap)} the dense complete layer (goal: at most 1 below: "
                         f"{'met' if gap <= 1.0 else 'missed'})")
        for recipe in ("sigmoid", "relu"):
            ref = mlp.get((H, "same-params", recipe))
            if ref:
                gap = 100 * (_mean(r["test_accuracy"] for r in ref) - acc)
                parts.append(f"{_points(gap)} the equal-parameter MLP, {recipe} recipe (goal: "
                             f"at most 2 below: {'met' if gap <= 2.0 else 'missed'})")
        if parts:
            out.append(f"- H={H}, T={T}, {_SCHEME_LABELS[scheme]} (accuracy {acc:.4f}): "
                       + "; ".join(parts) + ".")
    return out or ["- (no Top-K rows in this run)"]


def _points(gap: float) -> str:
    """``gap`` accuracy points of a reference minus ours, in words."""
    return f"{abs(gap):.2f} points {'below' if gap > 0 else 'above'}"


def _null_summary(groups: list[tuple[tuple[int, int, str], list[dict[str, Any]]]],
                  tests: list[dict[str, Any]], settings: dict[str, Any]) -> str:
    def count(key: str) -> str:
        parts = []
        for scheme in dict.fromkeys(k[2] for k, _ in groups):
            mine = [t for (k, _), t in zip(groups, tests, strict=True) if k[2] == scheme]
            tested = [t for t in mine if t[key] is not None]
            raised = [t for t in tested if t[key] < 0.05]
            if tested:  # no zeros (dense, Tril-damp): both nulls coincide, nothing to test
                parts.append(f"{_scheme_label(scheme, settings)}: {len(raised)} of "
                             f"{len(tested)}")
        return "; ".join(parts) or "none tested"

    return ("Settings per scheme where the layer is more ordered than its weights shuffled "
            "over its own pattern (excess > 0, Holm-adjusted p < 0.05): "
            + count("adj_excess") + ". Where the kept connections are more ordered than a "
            "random pattern of the same sparsity (pattern order > 0): "
            + count("adj_pattern") + ".")


def complete_figure(doc: dict[str, Any], path: str | Path) -> Path:
    """Per H: test accuracy and end orderedness (with the pattern null's mean) per scheme and T."""
    groups = _complete_groups(doc["rows"])
    hidden = list(dict.fromkeys(key[0] for key, _ in groups))
    schemes = list(dict.fromkeys(key[2] for key, _ in groups))
    iters = list(dict.fromkeys(key[1] for key, _ in groups))
    lookup = {key: rs for key, rs in groups}
    fig, axes = new_figure(2, len(hidden), figsize=(5.5 * len(hidden), 7.5), squeeze=False)
    width = 0.8 / max(len(schemes), 1)
    for col, H in enumerate(hidden):
        ax_a, ax_o = axes[0][col], axes[1][col]
        for j, scheme in enumerate(schemes):
            xs, acc, acc_e, end, end_e, null = [], [], [], [], [], []
            for i, T in enumerate(iters):
                rs = lookup.get((H, T, scheme))
                if not rs:
                    continue
                xs.append(i + (j - (len(schemes) - 1) / 2) * width)
                a = [r["test_accuracy"] for r in rs]
                o = _defined(r["end"] for r in rs)
                acc.append(statistics.mean(a))
                acc_e.append(statistics.stdev(a) if len(a) > 1 else 0.0)
                end.append(statistics.mean(o) if o else float("nan"))
                end_e.append(statistics.stdev(o) if len(o) > 1 else 0.0)
                null.append(_mean(r.get("null_pattern_mean") for r in rs))
            label = _SCHEME_LABELS.get(scheme, scheme)
            ax_a.bar(xs, acc, width, yerr=acc_e, capsize=2, label=label)
            ax_o.bar(xs, end, width, yerr=end_e, capsize=2, label=label)
            ax_o.plot(xs, null, "k_", markersize=10)
        for ax, ylabel in ((ax_a, "test accuracy"), (ax_o, "end orderedness (— null mean)")):
            ax.set_xticks(range(len(iters)), [f"T={T}" for T in iters])
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3, axis="y")
        lo = min((_mean(r["test_accuracy"] for r in rs) for _, rs in groups), default=0.0)
        ax_a.set_ylim(max(0.0, lo - 0.05), 1.0)
        ax_o.set_ylim(0.4, 1.02)
        ax_a.set_title(f"H={H} on {doc['dataset']}")
    axes[0][0].legend(fontsize=7)
    if doc["quick"]:
        fig.suptitle("quick run (small subset)", fontsize=9)
    return save_figure(fig, path, dpi=90)


# --------------------------------------------------------------------------- from MLP


def embedding_markdown(doc: dict[str, Any]) -> str:
    """The table of experiment 3: how orderedness and accuracy move from an embedded MLP."""
    s = doc["settings"]
    rows = doc["rows"]
    lines = _header(doc, "From MLP to complete layer")
    complete = [r for r in rows if r["model"] == "complete"]
    gap = max((r["embedding_max_abs_difference"] for r in complete), default=float("nan"))
    exact = all(r["embedded_exact"] for r in complete)
    start = _defined(r["embedded_orderedness"] for r in complete)
    lines += [
        f"MLP `{s['arch']}` (sigmoid units and outputs, BCE, Adam lr {s['lr']}, batch "
        f"{s['batch_size']}) trained {s['mlp_epochs']} epoch(s), embedded with "
        "`CompletePerceptron.from_mlp` (every weight above the diagonal; largest output "
        f"difference from the MLP on 2000 test images: {gap:.1e}; orderedness "
        f"{min(start, default=float('nan')):.3f}{' (exact)' if exact else ''}), then "
        f"fine-tuned {s['finetune_epochs']} epoch(s) as a complete layer (Adam lr "
        f"{s['finetune_lr']}; every weight free, back connections included) with each scheme "
        "applied in place after every optimiser step. The MLP also trains on for the same "
        f"epochs as the reference. Seeds: {s['seeds']}. Excess, pattern order and p as in "
        "experiment 2 (`*`: Holm-adjusted p < 0.05 over the rows).",
        "",
    ]
    table = []
    for stage in ("trained", "continued"):
        rs = [r for r in rows if r["model"] == "mlp" and r["stage"] == stage]
        if rs:
            table.append([f"MLP, {stage} ({rs[0]['epochs']} epochs)", "",
                          fmt_values([r["test_accuracy"] for r in rs], 4), "", _fmt_ordering(rs),
                          "", "", "", "", "", ""])
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in complete:
        groups.setdefault(r["scheme"], []).append(r)
    items = list(groups.items())
    tests = _ordering_tests([((None, None, k), v) for k, v in items],
                            lambda key: groups.get("none"))
    for (scheme, rs), t in zip(items, tests, strict=True):
        table.append([
            "complete layer, fine-tuned", _scheme_label(scheme, s),
            *_accuracy_cells(rs),
            _fmt_ordering(rs),
            *_test_cells(rs, t),
        ])
    headers = ["model", "scheme", "test accuracy", "sparsity (mask mean)",
               "orderedness end [upper bound]", "p: Δ > none", "excess (pattern null)",
               "p: excess > 0", "excess (all null)", "pattern order", "p: pattern order > 0"]
    lines.append(markdown_table(headers, table))
    lines += ["", "Orderedness after each fine-tuning epoch (mean over seeds; epoch 0 = the "
              "embedded MLP):", ""]
    epochs = max((len(r["curve"]) for r in complete), default=0)
    curve_rows = []
    for scheme, rs in items:
        curve_rows.append([_scheme_label(scheme, s)] + [
            f"{_mean(r['curve'][e] for r in rs if e < len(r['curve'])):.3f}"
            for e in range(epochs)])
    lines.append(markdown_table(["scheme"] + [f"epoch {e}" for e in range(epochs)], curve_rows))
    return "\n".join(lines) + "\n"


def embedding_figure(doc: dict[str, Any], path: str | Path) -> Path:
    """Orderedness per fine-tuning epoch, and test accuracy, per scheme."""
    complete = [r for r in doc["rows"] if r["model"] == "complete"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in complete:
        groups.setdefault(r["scheme"], []).append(r)
    fig, (ax_o, ax_a) = new_figure(1, 2, figsize=(11, 4.2))
    for scheme, rs in groups.items():
        epochs = max(len(r["curve"]) for r in rs)
        mean = [_mean(r["curve"][e] for r in rs if e < len(r["curve"])) for e in range(epochs)]
        ax_o.plot(range(epochs), mean, "o-", label=_SCHEME_LABELS.get(scheme, scheme))
    epochs = max((len(r["curve"]) for r in complete), default=1)
    ax_o.set_xticks(range(epochs))
    ax_o.set_xlabel("fine-tuning epoch (0 = embedded MLP)")
    ax_o.set_ylabel("orderedness")
    ax_o.grid(alpha=0.3)
    ax_o.legend(fontsize=7)
    labels, accs, errs = [], [], []
    for stage in ("trained", "continued"):
        rs = [r["test_accuracy"] for r in doc["rows"] if r["model"] == "mlp"
              and r["stage"] == stage]
        if rs:
            labels.append(f"MLP {stage}")
            accs.append(statistics.mean(rs))
            errs.append(statistics.stdev(rs) if len(rs) > 1 else 0.0)
    for scheme, rs in groups.items():
        a = [r["test_accuracy"] for r in rs]
        labels.append(_SCHEME_LABELS.get(scheme, scheme))
        accs.append(statistics.mean(a))
        errs.append(statistics.stdev(a) if len(a) > 1 else 0.0)
    ax_a.bar(range(len(labels)), accs, yerr=errs, capsize=3)
    ax_a.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax_a.set_ylim(max(0.0, min(accs, default=0.0) - 0.05), 1.0)
    ax_a.set_ylabel("test accuracy")
    ax_a.grid(alpha=0.3, axis="y")
    ax_o.set_title(f"{doc['settings']['arch']} embedded, on {doc['dataset']}")
    if doc["quick"]:
        fig.suptitle("quick run (small subset)", fontsize=9)
    return save_figure(fig, path, dpi=90)


# --------------------------------------------------------------------------- files


def write_outputs(
    doc: dict[str, Any], out_dir: str | Path, *, write_json: bool = True
) -> dict[str, Path]:
    """Write ``<stem>.json`` (unless ``write_json=False``), ``<stem>.md`` and ``<stem>.png``."""
    out_dir = Path(out_dir)
    stem = output_stem(doc["experiment"], doc["data"]["dataset_key"], doc["quick"])
    paths = {"json": save_json(doc, out_dir / f"{stem}.json")} if write_json else {}
    markdown, figure = {
        "baselines": (baselines_markdown, baselines_figure),
        "cost": (cost_markdown, cost_figure),
        "complete": (complete_markdown, complete_figure),
        "from-mlp": (embedding_markdown, embedding_figure),
    }[doc["experiment"]]
    paths["md"] = out_dir / f"{stem}.md"
    paths["md"].write_text(markdown(doc))
    paths["png"] = figure(doc, out_dir / f"{stem}.png")
    return paths
