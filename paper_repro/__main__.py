"""``python -m paper_repro``: every table and figure of the paper with one command.

Usage::

    python -m paper_repro                      # = --quick: Table 1 (10 seeds) + thinner figures
    python -m paper_repro --full               # the paper's grids, Sine with H = 8 and H = 10
    python -m paper_repro --full --parts table1 --seeds 100
    python -m paper_repro --parts table1 --random-mask shared   # the paper's shared Random mask
    python -m paper_repro --protocol reference # Table 1 replayed from the paper's own runs
    python -m paper_repro --from-json paper_repro/results/results.json   # no training

Writes to ``--out`` (default ``paper_repro/results/``; the reference protocol
``paper_repro/results/reference/``): ``results.json`` (every per-seed or
per-trial number), ``table1.md``/``.png``, ``figure2.md``/``.png``,
``figure3.md``/``.png``, ``appendix_d.md``/``.png`` and ``index.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paper_repro import reference
from paper_repro._adapter import train_setting
from paper_repro.config import Config
from paper_repro.parts import render, run_parts
from paper_repro.report import load_results, save_results
from paper_repro.runner import Sweep, SweepFailed, Trainer
from paper_repro.sweep import add_sweep_arguments

__all__ = ["main", "parse_args", "config_from_args", "DEFAULT_OUT"]

#: Where results go unless ``--out`` says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parent / "results"

_ROW_KEYS = tuple(row for _, row in reference.ROWS.values())
# options of one protocol only (argparse dest -> its flag)
_SEEDS_ONLY = {"quick": "--quick", "full": "--full", "seeds": "--seeds",
               "figure_seeds": "--figure-seeds", "sine_hidden": "--sine-hidden",
               "null_samples": "--null-samples", "base_seed": "--base-seed",
               "early_stop": "--early-stop", "random_mask": "--random-mask"}
_REFERENCE_ONLY = {"reference_json": "--reference-json", "rows": "--rows",
                   "columns": "--columns", "trials": "--trials"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m paper_repro",
        description="Reproduce Table 1, Figures 2-3 and Appendix D of 'Pruning Increases "
                    "Orderedness in Weight-Tied Recurrent Computation', ours beside the paper's.",
    )
    p.add_argument("--protocol", choices=("seeds", "reference"), default="seeds",
                   help="seeds (default): train our own seeds, fresh inputs, intervals and "
                        "tests; reference: replay every recorded trial of the paper's reference "
                        "runs (Table 1 only) and compare cell for cell")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="Table 1 in full (10 seeds, Sine H=8), thinner figure grids with 5 "
                           "seeds (the default)")
    mode.add_argument("--full", action="store_true",
                      help="the paper's grids with 10 seeds; Sine with H=8 and H=10")
    p.add_argument("--out", type=Path, default=None, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--seeds", type=int, default=None, help="seeds per Table 1 setting")
    p.add_argument("--figure-seeds", type=int, default=None,
                   help="seeds per setting of Figures 2, 3 and Appendix D")
    p.add_argument("--sine-hidden", type=int, nargs="+", default=None,
                   help="Sine hidden sizes for Table 1 (first = main; e.g. 8 10)")
    p.add_argument("--parts", nargs="+", choices=Config.PARTS, default=None,
                   help="which parts to run (default all)")
    p.add_argument("--null-samples", type=int, default=None,
                   help="shuffled-weight null draws per seed (0: no null-model test)")
    p.add_argument("--base-seed", type=int, default=None, help="first seed (default 3141592)")
    p.add_argument("--early-stop", type=float, default=None,
                   help="Appendix D's MLP early-stopping loss threshold (default 1e-3)")
    p.add_argument("--random-mask", choices=("per-seed", "shared"), default=None,
                   help="Table 1's Random row: every seed draws its own mask (per-seed, the "
                        "default) or all seeds use the first seed's (shared, as the paper's "
                        "reference notebook did)")
    p.add_argument("--reference-json", type=Path, default=None,
                   help="reference runs to replay (.json, .json.gz or .json.xz; default the "
                        "repository's copy, paper_repro/data/reference_runs.json.xz)")
    p.add_argument("--rows", nargs="+", choices=_ROW_KEYS, default=None,
                   help="reference protocol: replay only these rows")
    p.add_argument("--columns", nargs="+", choices=reference.COLUMNS, default=None,
                   help="reference protocol: replay only these columns")
    p.add_argument("--trials", type=int, nargs="+", default=None,
                   help="reference protocol: replay only these trials (1..10)")
    p.add_argument("--from-json", type=Path, default=None,
                   help="remake tables and figures from a results.json without training")
    g = p.add_argument_group("sweeps (the seeds protocol: each setting with its seeds is a job)")
    add_sweep_arguments(g, "settings")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the models are tiny, and more threads "
                        "only contend; on a shared 2-core machine 2 threads ran 10x slower)")
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> Config:
    """The :class:`Config` the command line asks for (the seeds protocol)."""
    changes: dict[str, Any] = {}
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    if args.figure_seeds is not None:
        changes.update(figure2_seeds=args.figure_seeds, figure3_seeds=args.figure_seeds,
                       appendix_d_seeds=args.figure_seeds)
    if args.sine_hidden is not None:
        changes["sine_hidden"] = tuple(args.sine_hidden)
    if args.parts is not None:
        changes["parts"] = tuple(p for p in Config.PARTS if p in args.parts)
    if args.null_samples is not None:
        changes["null_samples"] = args.null_samples
    if args.base_seed is not None:
        changes["base_seed"] = args.base_seed
    if args.early_stop is not None:
        changes["early_stop"] = args.early_stop
    if args.random_mask is not None:
        changes["random_mask"] = args.random_mask.replace("-", "_")
    return Config.full(**changes) if args.full else Config.quick(**changes)


def _misplaced(args: argparse.Namespace) -> str | None:
    """An error message for options that do not belong to the chosen protocol."""
    other = _SEEDS_ONLY if args.protocol == "reference" else _REFERENCE_ONLY
    given = [flag for dest, flag in other.items() if getattr(args, dest) not in (None, False)]
    if args.protocol == "reference" and args.parts not in (None, ["table1"]):
        given.append("--parts")
    if args.trials is not None and not all(1 <= t <= 10 for t in args.trials):
        return f"--trials must lie in 1..10, got {args.trials}"
    if given:
        return f"{', '.join(given)} cannot be used with --protocol {args.protocol}"
    return None


def _error(message: str) -> int:
    print(f"python -m paper_repro: error: {message}", file=sys.stderr)
    return 2


def _remake(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None else args.from_json.resolve().parent
    t0 = time.perf_counter()
    if reference.is_replay_file(args.from_json):
        replays, doc = reference.load_replays(args.from_json)
        out.mkdir(parents=True, exist_ok=True)
        text = reference.markdown(reference.build(replays), doc["source"], doc["sha256"],
                                  doc.get("timings"))
        (out / "table1.md").write_text(text + "\n")
        n = 1
    else:
        runs, settings, timings = load_results(args.from_json)
        n = len(render(runs, Config.from_dict(settings), out, timings))
    print(f"remade {n} files in {out} from {args.from_json} "
          f"in {time.perf_counter() - t0:.1f} s (no training)")
    return 0


def _run_reference(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None else DEFAULT_OUT / "reference"
    try:
        runs = reference.load(args.reference_json)
    except (OSError, ValueError) as err:
        return _error(str(err))
    print(f"paper_repro (reference protocol): replaying {runs.source} into {out}")
    t0 = time.perf_counter()
    sweep = Sweep(out / "jobs" / "reference", workers=args.workers, address=args.ray_address,
                  resume=args.resume, progress=not args.no_progress, executor=args.executor)
    try:
        replays = reference.replay(runs, args.rows, args.columns, args.trials, log=print,
                                   sweep=sweep, path=args.reference_json)
    except SweepFailed as err:
        print(f"python -m paper_repro: error: {err}", file=sys.stderr)
        return 1
    timings = {"replay": time.perf_counter() - t0}
    reference.save_replays(out / "results.json", replays, runs, timings)
    cells = reference.build(replays)
    (out / "table1.md").write_text(reference.markdown(cells, runs.source, runs.sha256,
                                                      timings) + "\n")
    full = [c for c in cells if c.agrees is not None]
    print(f"{len(replays)} trials in {timings['replay']:.1f} s; cells agreeing with the paper "
          f"to 3 decimals: {sum(bool(c.agrees) for c in full)} of {len(full)}; trials within "
          f"{reference.TOLERANCE:g} of their recordings: {sum(c.within for c in cells)} of "
          f"{len(replays)}; results in {out}")
    return 0


def main(argv: Sequence[str] | None = None, trainer: Trainer = train_setting) -> int:
    args = parse_args(argv)
    if args.from_json is not None:
        return _remake(args)
    message = _misplaced(args)
    if message is not None:
        return _error(message)
    if args.threads < 1:
        return _error(f"--threads must be >= 1, got {args.threads}")
    if args.workers < 1:
        return _error(f"--workers must be >= 1, got {args.workers}")
    try:
        config = config_from_args(args) if args.protocol == "seeds" else None
    except ValueError as err:
        return _error(str(err))
    import torch

    torch.set_num_threads(args.threads)
    if config is None:
        return _run_reference(args)
    out = args.out if args.out is not None else DEFAULT_OUT
    sweep = Sweep(out / "jobs", workers=args.workers, address=args.ray_address,
                  resume=args.resume, executor=args.executor)
    print(f"paper_repro ({config.mode}): parts {', '.join(config.parts)}; Table 1 with "
          f"{config.seeds} seeds, Sine H = {list(config.sine_hidden)}, Random masks "
          f"{config.random_mask.replace('_', ' ')}; writing to {out}")
    t0 = time.perf_counter()
    try:
        runs, timings = run_parts(config, trainer=trainer, progress=not args.no_progress,
                                  sweep=sweep)
    except SweepFailed as err:
        print(f"python -m paper_repro: error: {err}", file=sys.stderr)
        return 1
    timings["total training"] = time.perf_counter() - t0
    save_results(out / "results.json", runs, config.to_dict(), timings)
    t1 = time.perf_counter()
    paths = render(runs, config, out, timings)
    print(f"tables and figures: {len(paths)} files in {time.perf_counter() - t1:.1f} s")
    print(f"total: {time.perf_counter() - t0:.1f} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
