r"""Why the paper's Random (p=0.5) row is what it is: one shared mask, measured.

``python -m paper_repro.random_row`` measures the numbers behind the Random
row's explanation in ``paper_repro/README.md``:

1. **The reference's mask** (from the recorded runs): how many entries it
   zeroes, and how many of the entries that are backward in every order
   (``W[1:, 0]``, from the output into the hidden neurons).
2. **What one fixed mask does on average**: the untrained change (10
   applications without gradient updates, Table 1's untrained column) of
   ``--samples`` seeds of N(0,1) weights, all pruned by the reference's XOR
   mask, against the same seeds each with a fresh mask of their own.
3. **How much a 10-seed mean depends on which mask is shared**: ``--groups``
   disjoint groups of 10 seeds, each group with one shared mask (its first
   seed's, :data:`paper_repro.runner.RANDOM_MASKS`) and, for contrast, with a
   mask per seed; the spread of the groups' 10-seed means.
4. **100 seeds, both protocols**: the Random row of Table 1 (untrained, XOR,
   Sine H=8) with per-seed masks and with one shared mask.

Everything is trained by :func:`torch_orderedness.train_seeds` (through
:func:`paper_repro._adapter.train_setting` where a :class:`Setting` says it).

Example (the mask's anatomy needs no training)::

    >>> a = mask_anatomy(reference.load())
    >>> a["xor"]["zeroed"], a["xor"]["always_backward_zeroed"], a["xor"]["same_as_untrained"]
    ('30 of 48', '4 of 5', True)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paper_repro import reference
from paper_repro._adapter import train_setting
from paper_repro.report import fmt, fmt_pm, markdown_table
from paper_repro.runner import Setting, seed_list

__all__ = ["mask_anatomy", "fixed_mask_change", "group_means", "hundred_seeds", "main"]

_BASE_SEED = 3141592
_COLUMNS = {"untrained": ("untrained", 5, 10), "xor": ("xor", 5, 1000), "sine": ("sine", 8, 600)}


def mask_anatomy(runs: reference.ReferenceRuns) -> dict[str, dict[str, Any]]:
    """Per column: the recorded Random mask's zeroed entries, and whether all trials share it."""
    out: dict[str, dict[str, Any]] = {}
    first = np.array(runs.cell("random", "untrained").trial(1).random_keep_mask)
    for column in reference.COLUMNS:
        cell = runs.cell("random", column)
        masks = [np.array(t.random_keep_mask) for t in cell.trials]
        m = masks[0]
        n = m.shape[0]
        out[column] = {
            "shape": list(m.shape),
            "zeroed": f"{int((m == 0).sum())} of {m.size}",
            "square_zeroed": f"{int((m[:, :n] == 0).sum())} of {n * n}",
            "always_backward_zeroed": f"{int((m[1:, 0] == 0).sum())} of {n - 1}",
            "same_in_all_trials": all(np.array_equal(m, x) for x in masks),
            "same_as_untrained": bool(m.shape == first.shape and np.array_equal(m, first)),
        }
    return out


def fixed_mask_change(mask: Any, samples: int, base_seed: int = _BASE_SEED) -> dict[str, Any]:
    """Untrained change of ``samples`` N(0,1) seeds: all pruned by ``mask``, or each by its own."""
    import torch

    from torch_orderedness import PruneSpec, train_seeds, xor

    seeds = seed_list(samples, base_seed)
    out: dict[str, Any] = {}
    for name, spec in (("fixed", PruneSpec("random", p=0.5, mask=torch.as_tensor(mask).float())),
                       ("fresh", PruneSpec("random", p=0.5))):
        runs = train_seeds(None, xor(), seeds, steps=10, update=False, pruning=[spec],
                           progress_bar=False)
        change = runs.change
        out[name] = {"mean": float(change.mean()), "std": float(change.std(ddof=1)),
                     "sem": float(change.std(ddof=1) / np.sqrt(change.size)), "n": samples}
    return out


def _setting(column: str, random_mask: str) -> Setting:
    task, hidden, steps = _COLUMNS[column]
    return Setting(task, "default", "random", 0.5, hidden, 3, steps, random_mask=random_mask)


def group_means(groups: int, columns: Sequence[str] = ("untrained", "xor"),
                base_seed: int = _BASE_SEED) -> dict[str, dict[str, list[float]]]:
    """10-seed mean change of ``groups`` disjoint groups of 10 seeds, per column and protocol.

    Group ``g`` trains seeds ``base_seed + 10 g .. base_seed + 10 g + 9``; with
    ``"shared"`` all ten use the group's first seed's mask.
    """
    seeds = seed_list(10 * groups, base_seed)
    out: dict[str, dict[str, list[float]]] = {}
    for column in columns:
        out[column] = {}
        for protocol in ("shared", "per_seed"):
            if protocol == "per_seed":  # per-seed masks do not depend on the grouping
                change = np.array(train_setting(_setting(column, protocol), seeds).change)
                means = change.reshape(groups, 10).mean(axis=1)
            else:
                means = np.array([np.mean(train_setting(_setting(column, protocol),
                                                        seeds[10 * g: 10 * g + 10]).change)
                                  for g in range(groups)])
            out[column][protocol] = means.tolist()
    return out


def hundred_seeds(n: int = 100, base_seed: int = _BASE_SEED) -> dict[str, dict[str, list[float]]]:
    """Per-seed changes of the Random row (every column) with per-seed and with shared masks."""
    seeds = seed_list(n, base_seed)
    return {column: {protocol: train_setting(_setting(column, protocol), seeds).change
                     for protocol in ("per_seed", "shared")}
            for column in _COLUMNS}


def _summary(values: Sequence[float]) -> str:
    a = np.asarray(values)
    return f"{fmt_pm(float(a.mean()), float(a.std(ddof=1)))} (n = {a.size})"


def markdown(result: dict[str, Any]) -> str:
    """``random_row.md``: the four measurements as tables."""
    anatomy = result["anatomy"]
    lines = ["# The Random (p=0.5) row: one shared mask", "",
             "## 1. The reference's mask (recorded runs)", ""]
    lines += [markdown_table(
        ["column", "shape", "zeroed", "square part zeroed", "W[1:, 0] zeroed (always backward)",
         "same mask in all 10 trials", "same as the untrained column's"],
        [[c, "x".join(map(str, a["shape"])), a["zeroed"], a["square_zeroed"],
          a["always_backward_zeroed"], a["same_in_all_trials"], a["same_as_untrained"]]
         for c, a in anatomy.items()]), ""]
    fixed = result["fixed_mask_change"]
    lines += ["## 2. One fixed mask against a fresh mask per seed (untrained, N(0,1) weights)",
              "", markdown_table(["masks", "mean change ± std", "standard error", "seeds"],
                                 [[k, fmt_pm(v["mean"], v["std"]), fmt(v["sem"], 4), v["n"]]
                                  for k, v in (("the reference's XOR mask for every seed",
                                                fixed["fixed"]),
                                               ("a fresh mask per seed", fixed["fresh"]))]), ""]
    body = []
    for column, by in result["group_means"].items():
        for protocol, means in by.items():
            a = np.asarray(means)
            body.append([column, protocol.replace("_", " "), fmt(float(a.min())),
                         fmt(float(a.max())), fmt(float(a.std(ddof=1)))])
    lines += ["## 3. 10-seed means over disjoint groups of 10 seeds", "",
              f"{len(next(iter(result['group_means'].values()))['shared'])} groups; the "
              "paper's untrained 0.170 and XOR 0.243 are one such 10-trial mean.", "",
              markdown_table(["column", "masks", "lowest mean", "highest mean",
                              "std of the means"], body), ""]
    body = [[column, _summary(by["per_seed"]), _summary(by["shared"])]
            for column, by in result["hundred_seeds"].items()]
    lines += ["## 4. The Random row with 100 seeds (sample std)", "",
              markdown_table(["column", "a mask per seed", "one shared mask (first seed's)"],
                             body), "",
              f"Command: `{result['command']}`; {result['wall_s']:.0f} s.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m paper_repro.random_row",
                                description="Measure the numbers behind the Random row.")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    p.add_argument("--samples", type=int, default=2000,
                   help="seeds for the fixed-mask average (default 2000)")
    p.add_argument("--groups", type=int, default=20, help="groups of 10 seeds (default 20)")
    p.add_argument("--seeds", type=int, default=100, help="seeds of the Random row (default 100)")
    args = p.parse_args(argv)
    if min(args.samples, args.groups, args.seeds) < 2:
        print("python -m paper_repro.random_row: error: --samples, --groups and --seeds must "
              "be >= 2", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    runs = reference.load()
    result: dict[str, Any] = {"anatomy": mask_anatomy(runs)}
    mask = runs.cell("random", "xor").trial(1).random_keep_mask
    result["fixed_mask_change"] = fixed_mask_change(mask, args.samples)
    result["group_means"] = group_means(args.groups)
    result["hundred_seeds"] = hundred_seeds(args.seeds)
    result["wall_s"] = time.perf_counter() - t0
    result["command"] = "python -m paper_repro.random_row " + " ".join(
        sys.argv[1:] if argv is None else argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "random_row.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "random_row.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
