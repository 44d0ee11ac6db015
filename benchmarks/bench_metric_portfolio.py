"""The solver portfolio: every exact method of the metric against ``auto``, H = 10..50.

Run::

    .venv/bin/python -m benchmarks.bench_metric_portfolio \\
        --out benchmarks/reference_results/portfolio

For each hidden size ``H`` (10, 16, 20, 24, 30, 36, 40, and 50 with a time
limit), each matrix family and each seed, the hidden block ``A`` (fixed
seeds; zero diagonal) is solved by

- ``dp``: ``ordering(A, method="exact")`` (the subset DP; up to H = 24),
- ``milp``: ``method="milp"`` (LP with triangle cuts, the DP pruned by its
  reduced costs, HiGHS's branch and cut),
- ``search+bound``: ``method="heuristic"`` (exact only where the bound meets),
- ``auto``: the default portfolio,
- ``igraph``: python-igraph's exact feedback arc set (``method="ip"``), the
  outside anchor, up to H = 20 (if installed).

Families: ``dense`` iid ``|N(0, 1)|``, ``uniform`` iid ``U(0, 1)``, ``sparse``
dense with its 50 % smallest entries zeroed, ``near`` a trained-like,
near-ordered block (``triu(|N(0,1)|, 1) + 0.1 |N(0,1)|``, shuffled).

Each cell is the median time over the seeds (and the largest), whether every
run was proven exact, and the largest gap ``upper - value`` left. ``auto``'s
ratio is its median time over the fastest exact method's median time in the
same cell (the goal: at most 1.5). Every call gets ``--time-limit`` seconds
(60 by default); an unproven result shows its gap.

Writes ``<out>.json`` (every run) and ``<out>.md`` (the table, the machine and
the command).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.bench_report import provenance
from torch_orderedness.metric import ordering

__all__ = ["FAMILIES", "SIZES", "matrix", "main"]

FAMILIES = ("dense", "uniform", "sparse", "near")
SIZES = (10, 16, 20, 24, 30, 36, 40, 50)
_METHODS = ("dp", "milp", "search+bound", "auto", "igraph")


def matrix(family: str, n: int, seed: int) -> np.ndarray:
    """A hidden block of the family (zero diagonal).

    Example::

        >>> matrix("sparse", 6, 0).shape, float(np.diag(matrix("dense", 4, 1)).sum())
        ((6, 6), 0.0)
    """
    rng = np.random.default_rng(1000 * n + seed)
    if family in ("dense", "sparse"):
        A = np.abs(rng.standard_normal((n, n)))
        if family == "sparse":
            A = np.where(A >= np.median(A), A, 0.0)
    elif family == "uniform":
        A = rng.random((n, n))
    elif family == "near":
        A = np.triu(np.abs(rng.standard_normal((n, n))), 1)
        A += 0.1 * np.abs(rng.standard_normal((n, n)))
        p = rng.permutation(n)
        A = A[np.ix_(p, p)]
    else:
        raise ValueError(family)
    np.fill_diagonal(A, 0.0)
    return A


def _igraph(A: np.ndarray) -> tuple[float, bool, float]:
    import igraph

    g = igraph.Graph.Weighted_Adjacency(A.tolist(), mode="directed")
    started = time.perf_counter()
    g.feedback_arc_set(weights="weight", method="ip")
    return time.perf_counter() - started, True, 0.0


def _run(method: str, A: np.ndarray, limit: float) -> tuple[float, bool, float]:
    """``(seconds, exact, gap)`` of one solve."""
    if method == "igraph":
        return _igraph(A)
    name = {"dp": "exact", "search+bound": "heuristic"}.get(method, method)
    started = time.perf_counter()
    r = ordering(A, method=name, time_limit=limit)
    return time.perf_counter() - started, r.exact, r.upper - r.value


def _applies(method: str, n: int, has_igraph: bool) -> bool:
    if method == "dp":
        return n <= 24
    if method == "igraph":
        return has_igraph and n <= 20
    return True


def _cell(runs: list[dict]) -> str:
    times = [r["seconds"] for r in runs]
    text = f"{statistics.median(times):.3g} s"
    if len(times) > 1:
        text += f" (max {max(times):.3g})"
    if not all(r["exact"] for r in runs):
        proven = sum(r["exact"] for r in runs)
        text += f", {proven}/{len(runs)} proven, gap ≤ {max(r['gap'] for r in runs):.2g}"
    return text


def _table(results: list[dict], sizes: Sequence[int], families: Sequence[str]) -> list[str]:
    lines = ["| family | H | DP | MILP | search + bound | auto | auto / fastest | igraph (ip) |",
             "|---|---|---|---|---|---|---|---|"]
    for family in families:
        for n in sizes:
            cells, medians = {}, {}
            for method in _METHODS:
                runs = [r for r in results
                        if r["family"] == family and r["n"] == n and r["method"] == method]
                cells[method] = _cell(runs) if runs else "—"
                if runs and all(r["exact"] for r in runs) and method not in ("auto", "igraph"):
                    medians[method] = statistics.median(r["seconds"] for r in runs)
            auto = [r["seconds"] for r in results
                    if r["family"] == family and r["n"] == n and r["method"] == "auto"]
            ratio = (f"{statistics.median(auto) / min(medians.values()):.2f}"
                     if auto and medians else "—")
            lines.append(f"| {family} | {n} | {cells['dp']} | {cells['milp']} | "
                         f"{cells['search+bound']} | {cells['auto']} | {ratio} | "
                         f"{cells['igraph']} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the portfolio and write ``<out>.json`` and ``<out>.md``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_metric_portfolio",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/portfolio"))
    args = parser.parse_args(argv)
    try:
        import igraph  # noqa: F401

        has_igraph = True
    except ImportError:
        has_igraph = False
    results = []
    for n in args.sizes:
        for family in args.families:
            for seed in range(args.seeds):
                A = matrix(family, n, seed)
                for method in _METHODS:
                    if not _applies(method, n, has_igraph):
                        continue
                    seconds, exact, gap = _run(method, A, args.time_limit)
                    results.append({"family": family, "n": n, "seed": seed, "method": method,
                                    "seconds": seconds, "exact": bool(exact), "gap": gap})
                    print(f"{family:8s} H={n:3d} seed={seed} {method:13s} {seconds:8.3f} s "
                          f"exact={exact} gap={gap:.2g}", flush=True)
    command, machine = provenance("benchmarks.bench_metric_portfolio", argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(
        {"command": command, "machine": machine, "time_limit": args.time_limit,
         "seeds": args.seeds, "results": results}, indent=1))
    md = ["# Solver portfolio of the orderedness metric", "",
          f"Made by `{command}` on {machine} ({time.strftime('%Y-%m-%d')}); "
          f"{args.seeds} seeds per cell, median (max) seconds per solve, time limit "
          f"{args.time_limit:g} s per call. A cell that is not all proven says how many "
          "were and the largest gap `upper - value` left.", ""]
    md += _table(results, args.sizes, args.families)
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
