"""Quick modes of the MNIST study (``python -m benchmarks.mnist <experiment> --quick``).

A quick run is a smoke run on a small subset: its tables must not judge the
goals set for the full runs, and what it trains must still mean something.
Data: synthetic IDX files in MNIST's raw layout (the real data sets are never
needed here).
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torchvision

from benchmarks.mnist.__main__ import main
from benchmarks.mnist.report import COST_GOAL, complete_markdown, cost_markdown, load_json

VERDICT = re.compile(r"\b(met|missed)\b")


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file: 0x00 0x00, type 0x08 (ubyte), number of dims, dims as big-endian uint32."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())


def write_mnist(root: Path, n_train: int, n_test: int, noise: float = 1.0) -> None:
    """Images ``(1 - noise) * prototype[label] + noise * uniform noise``: ``noise=1`` is pure
    noise; below 1 every class has its own mean image (a linear classifier separates them)."""
    prototypes = np.random.default_rng(123).integers(0, 256, (10, 784)).astype(np.float64)
    raw = root / "MNIST" / "raw"
    for split, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 10, n)
        images = (1 - noise) * prototypes[labels] + noise * rng.integers(0, 256, (n, 784))
        write_idx(raw / f"{split}-images-idx3-ubyte", images.reshape(n, 28, 28))
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)


@pytest.fixture()
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", refuse)


def _data_args(root: Path, out: Path) -> list[str]:
    return ["--dataset", "mnist", "--data-root", str(root), "--no-download", "--out", str(out),
            "--no-progress"]


def test_quick_complete_run_does_not_judge_the_goals(tmp_path, no_download):
    write_mnist(tmp_path, n_train=64, n_test=32)
    out = tmp_path / "out"
    argv = ["complete", "--quick", *_data_args(tmp_path, out), "--hidden", "3",
            "--iterations", "2", "--seeds", "0", "1", "--schemes", "none", "topk",
            "--null-samples", "0", "--batch-size", "16", "--no-tensorboard"]
    assert main(argv) == 0
    md = (out / "complete-mnist-quick.md").read_text()
    goals = md.split("### Goals", 1)[1]
    assert not VERDICT.search(goals), goals
    steps = math.ceil(64 / 16) * 1  # quick: one epoch of 64 images in batches of 16
    assert f"Not judged: a quick run ({steps} training steps per layer" in goals
    assert "python -m benchmarks.mnist complete --dataset mnist" in goals
    # the same numbers as a full run are judged, against the rows' own accuracies
    doc = load_json(out / "complete-mnist-quick.json")
    full = complete_markdown(doc | {"quick": False}).split("### Goals", 1)[1]
    acc = {s: np.mean([r["test_accuracy"] for r in doc["rows"]
                       if r["model"] == "complete" and r["scheme"] == s])
           for s in ("none", "topk")}
    expected = "met" if 100 * (acc["none"] - acc["topk"]) <= 1.0 else "missed"
    assert f"dense complete layer (goal: at most 1 below: {expected})" in full
    assert "Not judged" not in full
    # how many measurements are proven, and the largest gap, counted from the rows
    layers = [r for r in doc["rows"] if r["model"] == "complete"]
    proven = sum(r["end_exact"] for r in layers)
    gap = max(r["end_upper"] - r["end"] for r in layers)
    assert f"end: {proven} of {len(layers)} proven optimal, largest gap `upper - value` left " \
           f"{gap:.4f}" in md
    # one layer left unproven with a gap of 0.25: counted and reported
    was_proven = layers[0]["end_exact"]
    layers[0] |= {"end_exact": False, "end_upper": layers[0]["end"] + 0.25}
    assert f"end: {proven - was_proven} of {len(layers)} proven optimal, largest gap " \
           "`upper - value` left 0.2500" in complete_markdown(doc)


def test_quick_cost_run_does_not_judge_the_goal(tmp_path, no_download):
    write_mnist(tmp_path, n_train=64, n_test=32)
    out = tmp_path / "out"
    argv = ["cost", "--quick", *_data_args(tmp_path, out), "--hidden", "4", "--iterations", "2",
            "--inits", "scaled", "--repeats", "2", "--warmup-epochs", "0",
            "--cost-batch-size", "16"]
    assert main(argv) == 0
    md = (out / "cost-mnist-quick.md").read_text()
    goal = md.split("\nGoal", 1)[1]
    assert not VERDICT.search(goal) and "settings within" not in goal, goal
    assert "not judged in a quick run (epochs of 4 steps, 2 timed rounds" in goal
    assert f"{COST_GOAL}x" in goal
    doc = load_json(out / "cost-mnist-quick.json")
    full = cost_markdown(doc | {"quick": False}).split("\nGoal", 1)[1]
    ratio = next(r["ratio_vs_same_hidden"] for r in doc["rows"] if r["model"] == "complete")
    assert f"{1 if ratio <= COST_GOAL else 0} of 1 settings within {COST_GOAL}x" in full


def test_quick_from_mlp_embeds_an_mlp_well_above_chance(tmp_path, no_download):
    # ten classes with their own mean image under 90 % noise: learnable (a linear classifier
    # separates the class means), but not within a few dozen steps of sigmoid units and BCE
    write_mnist(tmp_path, n_train=5000, n_test=1000, noise=0.9)
    out = tmp_path / "out"
    argv = ["from-mlp", "--quick", *_data_args(tmp_path, out), "--schemes", "none",
            "--seeds", "0", "--null-samples", "0", "--metric-time-limit", "0.5",
            "--no-tensorboard"]
    assert main(argv) == 0
    doc = load_json(out / "from-mlp-mnist-quick.json")
    trained = next(r for r in doc["rows"] if r.get("stage") == "trained")
    chance = 0.1
    assert trained["test_accuracy"] > 5 * chance, trained["test_accuracy"]
