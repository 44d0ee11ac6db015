"""``python -m paper_repro``: every table and figure of the paper with one command.

Usage::

    python -m paper_repro                      # = --quick: Table 1 (10 seeds) + thinner figures
    python -m paper_repro --full               # the paper's grids, Sine with H = 8 and H = 10
    python -m paper_repro --full --parts table1 --seeds 100
    python -m paper_repro --from-json paper_repro/results/results.json   # no training

Writes to ``--out`` (default ``paper_repro/results/``): ``results.json``
(every per-seed number and the settings), ``table1.md``/``.png``,
``figure2.md``/``.png``, ``figure3.md``/``.png``, ``appendix_d.md``/``.png``
and ``index.md`` (what ran, how long each part took).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paper_repro import appendix_d, figure2, figure3, table1
from paper_repro.config import Config
from paper_repro.report import load_results, save_results
from paper_repro.runner import Run, Trainer, train_setting

__all__ = ["main", "parse_args", "run_parts", "render", "DEFAULT_OUT"]

#: Where results go unless ``--out`` says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parent / "results"

_MODULES = {"table1": table1, "figure2": figure2, "figure3": figure3, "appendix_d": appendix_d}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m paper_repro",
        description="Reproduce Table 1, Figures 2-3 and Appendix D of 'Pruning Increases "
                    "Orderedness in Weight-Tied Recurrent Computation', ours beside the paper's.",
    )
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
    p.add_argument("--from-json", type=Path, default=None,
                   help="remake tables and figures from a results.json without training")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the models are tiny, and more threads "
                        "only contend; on a shared 2-core machine 2 threads ran 10x slower)")
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> Config:
    """The :class:`Config` the command line asks for."""
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
    return Config.full(**changes) if args.full else Config.quick(**changes)


def _progress(desc: str, enabled: bool):  # noqa: ANN202
    def wrap(items: Sequence[Any]) -> Sequence[Any]:
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, unit="setting", leave=False,
                    disable=not (enabled and sys.stderr.isatty()))

    return wrap


def run_parts(
    config: Config, trainer: Trainer = train_setting, progress: bool = True, log=print
) -> tuple[dict[str, list[Run]], dict[str, float]]:
    """Train every part in ``config.parts``; returns ``(runs, seconds per part)``."""
    runs: dict[str, list[Run]] = {}
    timings: dict[str, float] = {}
    for part in config.parts:
        t0 = time.perf_counter()
        runs[part] = _MODULES[part].run(config, trainer=trainer,
                                        progress=_progress(part, progress))
        timings[part] = time.perf_counter() - t0
        null_s = sum(float(r.extra.get("null_s", 0.0)) for r in runs[part])
        note = ""
        if null_s > 0:
            timings[f"{part}: of which null model"] = null_s
            note = f" (training {timings[part] - null_s:.1f} s, null model {null_s:.1f} s)"
        log(f"{part}: {len(runs[part])} settings in {timings[part]:.1f} s{note}")
    return runs, timings


def render(
    runs: dict[str, list[Run]], config: Config, out: Path, timings: dict[str, float] | None = None
) -> list[Path]:
    """Write every table (Markdown) and figure (PNG) the runs allow; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, text: str) -> None:
        path = out / name
        path.write_text(text + "\n")
        written.append(path)

    if "table1" in runs:
        t = table1.build(runs["table1"], config)
        write("table1.md", table1.markdown(t, config, timings))
        written.append(Path(table1.figure(t, str(out / "table1.png"))))
    if "figure2" in runs:
        g = figure2.build(runs["figure2"], config)
        write("figure2.md", figure2.markdown(g, config))
        written.append(Path(figure2.figure(g, str(out / "figure2.png"))))
    if "figure3" in runs:
        c = figure3.build(runs["figure3"], config)
        write("figure3.md", figure3.markdown(c, config))
        written.append(Path(figure3.figure(c, config, str(out / "figure3.png"))))
    if "appendix_d" in runs:
        d = appendix_d.build(runs["appendix_d"], config)
        write("appendix_d.md", appendix_d.markdown(d, config))
        written.append(Path(appendix_d.figure(d, str(out / "appendix_d.png"),
                                              config.early_stop)))
    lines = ["# paper_repro results", "",
             f"Mode: {config.mode}; Table 1 seeds: {config.seeds}; Sine hidden sizes: "
             f"{list(config.sine_hidden)}; base seed {config.base_seed}.", ""]
    if timings:
        lines += ["| part | wall time (s) |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
        lines.append("")
    lines += ["Files:", ""] + [f"- `{p.name}`" for p in written] + ["- `results.json`", ""]
    write("index.md", "\n".join(lines))
    return written


def main(argv: Sequence[str] | None = None, trainer: Trainer = train_setting) -> int:
    args = parse_args(argv)
    if args.from_json is not None:
        runs, settings, timings = load_results(args.from_json)
        config = Config.from_dict(settings)
        out = args.out if args.out is not None else args.from_json.resolve().parent
        t0 = time.perf_counter()
        paths = render(runs, config, out, timings)
        print(f"remade {len(paths)} files in {out} from {args.from_json} "
              f"in {time.perf_counter() - t0:.1f} s (no training)")
        return 0
    try:
        config = config_from_args(args)
    except ValueError as err:
        print(f"python -m paper_repro: error: {err}", file=sys.stderr)
        return 2
    if args.threads < 1:
        print(f"python -m paper_repro: error: --threads must be >= 1, got {args.threads}",
              file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    out = args.out if args.out is not None else DEFAULT_OUT
    print(f"paper_repro ({config.mode}): parts {', '.join(config.parts)}; Table 1 with "
          f"{config.seeds} seeds, Sine H = {list(config.sine_hidden)}; writing to {out}")
    t0 = time.perf_counter()
    runs, timings = run_parts(config, trainer=trainer, progress=not args.no_progress)
    timings["total training"] = time.perf_counter() - t0
    save_results(out / "results.json", runs, config.to_dict(), timings)
    t1 = time.perf_counter()
    paths = render(runs, config, out, timings)
    print(f"tables and figures: {len(paths)} files in {time.perf_counter() - t1:.1f} s")
    print(f"total: {time.perf_counter() - t0:.1f} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
