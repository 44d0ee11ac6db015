"""The metric at MNIST scale: trained complete layers of the MNIST study, solved within 10 s each.

Run (from saved weights; the committed ones are the quick Fashion-MNIST study's)::

    .venv/bin/python -m benchmarks.bench_metric_mnist \\
        --weights benchmarks/reference_results/metric-mnist-weights.npz \\
        --out benchmarks/reference_results/metric-mnist

The weights come from the study itself::

    .venv/bin/python -m benchmarks.mnist complete --quick --dataset fashion-mnist \\
        --hidden 64 128 --save-weights --out <folder>
    .venv/bin/python -m benchmarks.bench_metric_mnist \\
        --from-dir <folder>/weights/complete-fashion-mnist-quick \\
        --save benchmarks/reference_results/metric-mnist-weights.npz --out ...

(every scheme, ``H = 64`` and ``128``, ``T = 2``, seeds 0-2: 36 layers).  Only
the square part ``W[:, :O+H]`` of each weight is stored: the metric drops the
input columns (paper, Eq. 3), so it is read back with 784 zero input columns
and measured as the study measures it, ``ordering(w, outputs=10, inputs=784,
time_limit=T)``.  For each layer: seconds, whether the value is proven
optimal, the gap ``upper - value`` left, and which bound gave it.

Writes ``<out>.json`` (every layer) and ``<out>.md`` (per ``H`` and scheme:
proven / layers, largest gap, median and largest seconds; the machine and the
command).
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

__all__ = ["INPUTS", "OUTPUTS", "load_weights", "main", "measure", "save_weights"]

#: The study's layers: 10 outputs (the classes), 784 inputs (28 x 28 pixels).
OUTPUTS = 10
INPUTS = 784


def save_weights(folder: Path, path: Path) -> list[str]:
    """Write the square parts of the ``.pt`` weights in ``folder`` (``--save-weights``'s
    files, named ``H<H>-T<T>-<scheme>-seed<seed>.pt``) to one compressed ``.npz``; returns
    the names."""
    import torch

    square = {}
    for f in sorted(Path(folder).glob("*.pt")):
        w = torch.load(f).detach().to("cpu", torch.float32).numpy()
        square[f.stem] = w[:, : w.shape[0]]
    if not square:
        raise FileNotFoundError(f"no .pt weights in {folder}")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **square)
    return list(square)


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """The layers of an ``.npz`` of :func:`save_weights`, each with its 784 input columns
    back as zeros (``(O+H, O+H+784)``).

    Example::

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     np.savez_compressed(f"{d}/w.npz", **{"H2-T2-none-seed0": np.ones((12, 12))})
        ...     load_weights(Path(d) / "w.npz")["H2-T2-none-seed0"].shape
        (12, 796)
    """
    with np.load(path) as data:
        return {name: np.concatenate([data[name], np.zeros((data[name].shape[0], INPUTS),
                                                           dtype=data[name].dtype)], axis=1)
                for name in data.files}


def _parse(name: str) -> dict:
    hidden, iterations, *scheme, seed = name.split("-")
    return {"hidden": int(hidden[1:]), "iterations": int(iterations[1:]),
            "scheme": "-".join(scheme), "seed": int(seed.removeprefix("seed"))}


def measure(name: str, w: np.ndarray, time_limit: float) -> dict:
    """One layer: ``ordering(w, outputs=10, inputs=784, time_limit=time_limit)``, timed."""
    started = time.perf_counter()
    r = ordering(w, outputs=OUTPUTS, inputs=INPUTS, time_limit=time_limit)
    seconds = time.perf_counter() - started
    return {"name": name, **_parse(name), "seconds": seconds, "exact": bool(r.exact),
            "gap": r.upper - r.value, "value": r.value, "upper": r.upper, "bound": r.bound,
            "method": r.method}


def _table(rows: list[dict]) -> list[str]:
    lines = ["| H | scheme | proven | largest gap | median s | max s |",
             "|---|---|---|---|---|---|"]
    for hidden in sorted({r["hidden"] for r in rows}):
        for scheme in sorted({r["scheme"] for r in rows if r["hidden"] == hidden}):
            cell = [r for r in rows if r["hidden"] == hidden and r["scheme"] == scheme]
            times = [r["seconds"] for r in cell]
            lines.append(f"| {hidden} | {scheme} | {sum(r['exact'] for r in cell)}/{len(cell)} "
                         f"| {max(r['gap'] for r in cell):.2g} | {statistics.median(times):.2f} "
                         f"| {max(times):.2f} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every layer and write ``<out>.json`` and ``<out>.md``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_metric_mnist",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path,
                        default=Path("benchmarks/reference_results/metric-mnist-weights.npz"))
    parser.add_argument("--from-dir", type=Path, default=None,
                        help="read the .pt files of `benchmarks.mnist complete --save-weights`")
    parser.add_argument("--save", type=Path, default=None,
                        help="with --from-dir: write their square parts to this .npz first")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/metric-mnist"))
    args = parser.parse_args(argv)
    source = args.weights
    if args.from_dir is not None:
        source = args.save or args.out.with_name(args.out.name + "-weights.npz")
        save_weights(args.from_dir, source)
    rows = []
    for name, w in load_weights(source).items():
        row = measure(name, w, args.time_limit)
        rows.append(row)
        print(f"{name:28s} {row['seconds']:6.2f} s exact={row['exact']} gap={row['gap']:.2g} "
              f"({row['bound']})", flush=True)
    command, machine = provenance("benchmarks.bench_metric_mnist", argv)
    proven = sum(r["exact"] for r in rows)
    open_gaps = [r["gap"] for r in rows if not r["exact"]]
    summary = (f"{proven} of {len(rows)} layers proven optimal within {args.time_limit:g} s; "
               + (f"largest gap left {max(open_gaps):.3g}." if open_gaps else "none left open."))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(
        {"command": command, "machine": machine, "time_limit": args.time_limit,
         "weights": str(source), "summary": summary, "rows": rows}, indent=1))
    md = ["# The orderedness metric on trained complete layers (Fashion-MNIST, quick study)", "",
          f"Made by `{command}` on {machine} ({time.strftime('%Y-%m-%d')}): "
          f"`ordering(w, outputs={OUTPUTS}, inputs={INPUTS}, time_limit={args.time_limit:g})` "
          "per layer. Weights: the quick Fashion-MNIST study's complete layers "
          "(`python -m benchmarks.mnist complete --quick --dataset fashion-mnist --hidden 64 "
          "128 --save-weights`), T = 2, seeds 0-2. Gap = `upper - value`.", "", summary, ""]
    md += _table(rows)
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
