"""The metric's benchmark scripts (benchmarks/bench_metric_mnist.py, bench_metric_portfolio.py):
what they store and read back, and what their tables say."""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pytest
import torch

from benchmarks import bench_metric_mnist as mnist_bench
from torch_orderedness import ordering


@pytest.mark.parametrize("name", ["benchmarks.bench_metric_mnist",
                                  "benchmarks.bench_metric_portfolio"])
def test_docstring_examples(name):
    """benchmarks/ is outside pytest's doctest paths; its examples are checked here."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def _layers(folder, rng):
    """Two complete-layer weights as --save-weights writes them: (O+H, O+H+784) float32."""
    weights = {}
    for name, hidden in (("H3-T2-none-seed0", 3), ("H4-T2-dyn_tril-seed1", 4)):
        n = 10 + hidden
        w = torch.from_numpy(rng.standard_normal((n, n + 784)).astype(np.float32))
        torch.save(w, folder / f"{name}.pt")
        weights[name] = w
    return weights


def test_saved_square_parts_measure_as_the_full_weights(tmp_path):
    # the metric drops the input columns: the stored square part, read back with zero input
    # columns, gives the full weight's orderedness
    weights = _layers(tmp_path, np.random.default_rng(0))
    names = mnist_bench.save_weights(tmp_path, tmp_path / "w.npz")
    assert sorted(names) == sorted(weights)
    loaded = mnist_bench.load_weights(tmp_path / "w.npz")
    for name, w in weights.items():
        n = w.shape[0]
        assert loaded[name].shape == tuple(w.shape)
        assert np.array_equal(loaded[name][:, :n], w[:, :n].numpy())
        assert not loaded[name][:, n:].any()
        row = mnist_bench.measure(name, loaded[name], time_limit=5.0)
        expected = ordering(w, outputs=10, inputs=784)
        assert row["value"] == pytest.approx(expected.value, rel=1e-12)
        assert row["exact"] and row["gap"] == 0.0


def test_main_writes_the_table_and_the_summary(tmp_path):
    _layers(tmp_path, np.random.default_rng(1))
    out = tmp_path / "res" / "metric-mnist"
    assert mnist_bench.main(["--from-dir", str(tmp_path), "--time-limit", "5",
                             "--out", str(out)]) == 0
    doc = json.loads(out.with_suffix(".json").read_text())
    assert [(r["hidden"], r["scheme"], r["seed"]) for r in doc["rows"]] == [
        (3, "none", 0), (4, "dyn_tril", 1)]
    assert doc["summary"] == "2 of 2 layers proven optimal within 5 s; none left open."
    md = out.with_suffix(".md").read_text()
    assert "| 3 | none | 1/1 | 0 |" in md and "python -m benchmarks.bench_metric_mnist" in md
