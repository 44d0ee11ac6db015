"""Markdown tables from pytest-benchmark JSON files (the speed suites' results).

Usage::

    .venv/bin/python -m pytest benchmarks/bench_metric_exact.py --benchmark-only \\
        --benchmark-json=benchmarks/reference_results/bench_metric_exact.json
    .venv/bin/python -m benchmarks.bench_report benchmarks/reference_results/*.json \\
        --out benchmarks/reference_results/speed.md

One table per JSON file: every benchmark with its group, minimum and median
time, rounds and the ``extra_info`` it recorded (speed ratios, gaps, bounds),
under a header naming the machine, the versions and the command.

Example::

    >>> print(seconds(0.00123), seconds(2.5), seconds(75.0))
    1.23 ms 2.50 s 75.0 s
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["seconds", "table", "provenance", "main"]


def seconds(t: float) -> str:
    """A duration in readable units."""
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1.0:
        return f"{t * 1e3:.2f} ms"
    if t < 60.0:
        return f"{t:.2f} s"
    return f"{t:.1f} s"


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def table(doc: dict[str, Any], source: str) -> str:
    """The Markdown section of one pytest-benchmark JSON document."""
    info = doc.get("machine_info", {})
    commit = doc.get("commit_info", {})
    lines = [
        f"### `{source}`",
        "",
        f"- Machine: {info.get('node', '?')}, {info.get('cpu', {}).get('brand_raw', '?')}, "
        f"Python {info.get('python_version', '?')}; {doc.get('datetime', '?')}; commit "
        f"{commit.get('id', '?')[:10]}{' (dirty)' if commit.get('dirty') else ''}.",
        "",
        "| group | benchmark | min | median | rounds | recorded |",
        "|---|---|---|---|---|---|",
    ]
    for b in doc.get("benchmarks", []):
        stats = b["stats"]
        extra = ", ".join(f"{k}={v}" for k, v in b.get("extra_info", {}).items())
        lines.append("| " + " | ".join(_cell(x) for x in (
            b.get("group") or "", b["name"], seconds(stats["min"]), seconds(stats["median"]),
            stats["rounds"], extra)) + " |")
    return "\n".join(lines) + "\n"


def provenance(module: str, argv: Sequence[str] | None) -> tuple[str, str]:
    """``(command, machine)`` for a benchmark script's results: ``python -m <module>`` with
    its arguments (``argv``, or this process's), and the machine's name, processor and Python.
    """
    command = f"python -m {module} " + " ".join(sys.argv[1:] if argv is None else argv)
    machine = (f"{platform.node()}, {platform.processor() or platform.machine()}, "
               f"Python {platform.python_version()}")
    return command, machine


def main(argv: Sequence[str] | None = None) -> int:
    """Write the tables of the given JSON files to ``--out`` (or print them)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path, nargs="+", help="pytest-benchmark JSON files")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file (default: stdout)")
    parser.add_argument("--title", default="Speed benchmarks", help="the page's heading")
    args = parser.parse_args(argv)
    parts = [f"# {args.title}", "",
             "Made by `python -m benchmarks.bench_report " + " ".join(
                 str(p) for p in args.json) + "` from the files pytest-benchmark wrote.", ""]
    for path in args.json:
        parts.append(table(json.loads(path.read_text()), str(path)))
    text = "\n".join(parts)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
