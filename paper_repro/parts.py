"""The four parts of the reproduction (Table 1, Figures 2 and 3, Appendix D): train and render.

Each part module (:mod:`.table1`, :mod:`.figure2`, :mod:`.figure3`,
:mod:`.appendix_d`) says *what* to train (``settings(config)``) and how to
turn runs into tables and figures (``build``, ``markdown``, ``figure``);
:func:`run_part` is the one loop that trains a part's settings for its
seeds (:meth:`Config.seeds_for <paper_repro.config.Config.seeds_for>`)
through a trainer, and :func:`render` writes every table and figure.

Example (synthetic runs, no training)::

    >>> from paper_repro.config import Config
    >>> from paper_repro.testing import fake_trainer
    >>> runs = run_part("figure2", Config.quick(figure2_seeds=2), trainer=fake_trainer)
    >>> len(runs), runs[0].seeds
    (56, [3141592, 3141593])
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from paper_repro import appendix_d, figure2, figure3, table1
from paper_repro._adapter import train_setting
from paper_repro.config import Config
from paper_repro.runner import Run, Setting, Sweep, Trainer, run_settings

__all__ = ["MODULES", "run_part", "run_parts", "render", "progress_bar"]

#: The part modules, by the names of ``Config.PARTS``.
MODULES: dict[str, ModuleType] = {"table1": table1, "figure2": figure2, "figure3": figure3,
                                  "appendix_d": appendix_d}

Progress = Callable[[Sequence[Setting]], Iterable[Setting]]


def progress_bar(desc: str, enabled: bool) -> Progress:
    """A tqdm bar over the settings, shown only on a terminal (``enabled`` and a tty)."""

    def wrap(items: Sequence[Any]) -> Iterable[Any]:
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, unit="setting", leave=False,
                    disable=not (enabled and sys.stderr.isatty()))

    return wrap


def run_part(
    part: str, config: Config, trainer: Trainer = train_setting,
    progress: Progress | None = None, sweep: Sweep | None = None,
) -> list[Run]:
    """Train every setting of ``part`` for ``config.seeds_for(part)``: one run per setting
    (as the jobs of ``sweep`` when given: written as they finish, resumable, in worker
    processes or on Ray)."""
    if part not in MODULES:
        raise ValueError(f"part must be one of {tuple(MODULES)}, got {part!r}")
    return run_settings(MODULES[part].settings(config), config.seeds_for(part), trainer,
                        progress, sweep)


def run_parts(
    config: Config, trainer: Trainer = train_setting, progress: bool = True, log=print,
    sweep: Sweep | None = None,
) -> tuple[dict[str, list[Run]], dict[str, float]]:
    """Train every part in ``config.parts``; returns ``(runs, seconds per part)``.

    With ``sweep``, each part's runs go to ``<sweep.folder>/<part>/``.
    """
    runs: dict[str, list[Run]] = {}
    timings: dict[str, float] = {}
    for part in config.parts:
        t0 = time.perf_counter()
        own = None if sweep is None else replace(sweep, folder=Path(sweep.folder) / part,
                                                 progress=progress)
        runs[part] = run_part(part, config, trainer, progress_bar(part, progress), own)
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
             f"{list(config.sine_hidden)}; base seed {config.base_seed}; Random masks: "
             f"{config.random_mask.replace('_', ' ')}.", ""]
    if timings:
        lines += ["| part | wall time (s) |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
        lines.append("")
    lines += ["Files:", ""] + [f"- `{p.name}`" for p in written] + ["- `results.json`", ""]
    write("index.md", "\n".join(lines))
    return written
