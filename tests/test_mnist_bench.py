"""Smoke tests of the MNIST study (benchmarks/mnist) on tiny synthetic IDX files.

The real data sets are never needed: the files are written here, byte by byte
after the IDX format (big-endian magic ``0x0000080n``, then the dimensions, then
uint8 data), in MNIST's raw layout, and read back through torchvision.
"""

from __future__ import annotations

import gzip
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from benchmarks.mnist import data as data_mod
from benchmarks.mnist.__main__ import main
from benchmarks.mnist.baselines import BaselineConfig, run_baselines
from benchmarks.mnist.cost import CostConfig, run_cost
from benchmarks.mnist.models import complete_layer, count_parameters, mlp, same_weight_hidden
from benchmarks.mnist.report import cost_markdown, load_json
from torch_orderedness import dynamic_damping_factor, dynamic_keep_fraction

FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
NAME = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    """An IDX file: 0x00 0x00, type 0x08 (ubyte), number of dims, dims as big-endian uint32."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def synthetic(n_train: int = 40, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_all(folder: Path, arrays: dict[str, np.ndarray], compress: bool = False) -> None:
    for name, array in arrays.items():
        write_idx(folder / name, array, compress)


@pytest.fixture()
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download attempt fails the test (the loader must not try one here)."""

    def refuse(self: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", refuse)


# --------------------------------------------------------------------------- data


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_idx_round_trip_through_torchvision(tmp_path, dataset, no_download):
    arrays = synthetic()
    write_all(tmp_path / FOLDER[dataset] / "raw", arrays)
    data = data_mod.load_data(dataset, tmp_path, download=False, system_dirs=())
    assert data.name == NAME[dataset] and data.key == dataset
    pixels = arrays["train-images-idx3-ubyte"].reshape(40, 784).astype(np.float64) / 255.0
    mean, std = pixels.mean(), pixels.std(ddof=1)
    assert data.mean == pytest.approx(mean, rel=1e-5) and data.std == pytest.approx(std, rel=1e-5)
    np.testing.assert_allclose(data.train_x.numpy(), (pixels - mean) / std, rtol=1e-4, atol=1e-5)
    test_pixels = arrays["t10k-images-idx3-ubyte"].reshape(20, 784) / 255.0
    np.testing.assert_allclose(data.test_x.numpy(), (test_pixels - mean) / std, atol=1e-4)
    assert data.train_y.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert data.test_y.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert data.train_y.dtype == torch.int64 and data.train_x.dtype == torch.float32


@pytest.mark.parametrize("where", ["idx_dir", "system_dir"])
def test_gz_files_are_decompressed_into_the_torchvision_layout(tmp_path, where, no_download):
    arrays = synthetic(seed=1)
    source = tmp_path / "source"
    write_all(source, arrays, compress=True)
    before = sorted(p.name for p in source.iterdir())
    root = tmp_path / "root"
    kwargs = {"idx_dir": source} if where == "idx_dir" else {"system_dirs": (str(source),)}
    data = data_mod.load_data("fashion-mnist", root, download=False,
                              **({"system_dirs": ()} | kwargs))
    raw = root / "FashionMNIST" / "raw"
    for name, array in arrays.items():  # uncompressed copies, byte for byte
        assert (raw / name).read_bytes()[-array.size:] == array.tobytes()
    assert sorted(p.name for p in source.iterdir()) == before  # the source is only read
    assert data.source == str(source)
    assert data.train_y.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    # a second load reads the prepared copies and still names the origin
    again = data_mod.load_data("fashion-mnist", root, download=False, system_dirs=())
    assert again.source == str(source)


def test_subset_is_seeded_and_of_the_asked_size(tmp_path, no_download):
    write_all(tmp_path / "MNIST" / "raw", synthetic(n_train=50, n_test=30))
    a = data_mod.load_data("mnist", tmp_path, download=False, train_size=10, test_size=7,
                           subset_seed=3, system_dirs=())
    b = data_mod.load_data("mnist", tmp_path, download=False, train_size=10, test_size=7,
                           subset_seed=3, system_dirs=())
    assert a.train_x.shape == (10, 784) and a.test_x.shape == (7, 784)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert a.describe()["subset_seed"] == 3


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_missing_data_says_what_to_do_and_never_falls_back(tmp_path, dataset, no_download):
    with pytest.raises(data_mod.DataNotFoundError) as info:
        data_mod.load_data(dataset, tmp_path, download=False, system_dirs=())
    msg = str(info.value)
    raw = tmp_path / FOLDER[dataset] / "raw"
    assert msg.startswith(f"{NAME[dataset]} not found.")
    for name in data_mod.IDX_FILES:
        assert name in msg
    assert f"into {raw}/" in msg and "no download was tried (--no-download)" in msg
    assert "Nothing else is used instead" in msg
    if dataset == "fashion-mnist":
        assert "`apt-get install dataset-fashion-mnist`" in msg
    assert not raw.exists() or not any(raw.iterdir())  # nothing was made up


def test_failed_download_is_reported(tmp_path, monkeypatch):
    # an unreachable mirror (file:// to a missing folder) stands in for "offline"
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [f"file://{tmp_path}/nowhere/"])
    with pytest.raises(data_mod.DataNotFoundError, match="the download failed"):
        data_mod.load_data("mnist", tmp_path / "root", download=True, system_dirs=())


def test_cli_exits_2_with_the_message_when_data_is_missing(tmp_path, capsys, no_download):
    status = main(["data", "--dataset", "mnist", "--data-root", str(tmp_path), "--no-download"])
    assert status == 2
    assert "MNIST not found" in capsys.readouterr().err


def test_make_loader_visits_every_sample_once_in_a_seeded_order():
    x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)

    def order(seed: int) -> list[int]:
        loader = data_mod.make_loader(x, y, batch_size=4, seed=seed)
        return [int(v) for _, yb in loader for v in yb]

    assert sorted(order(0)) == list(range(10))
    assert order(0) == order(0)
    assert order(0) != order(1)


# --------------------------------------------------------------------------- models


def test_same_weight_hidden_is_the_closest_parameter_count():
    with torch.device("meta"):  # counts only: no memory, no initialisation
        counts = {h: count_parameters(mlp([784, h, 10])) for h in range(1, 400)}
    for hidden in (1, 7, 64, 128, 256):
        target = count_parameters(complete_layer(hidden, 2))
        brute = min(counts, key=lambda h: abs(counts[h] - target))
        assert same_weight_hidden(hidden) == brute


# --------------------------------------------------------------------------- experiment 1


def _synthetic_data(tmp_path: Path) -> data_mod.MNISTData:
    write_all(tmp_path / "MNIST" / "raw", synthetic(n_train=64, n_test=32, seed=2))
    return data_mod.load_data("mnist", tmp_path, download=False, system_dirs=())


def test_baselines_report_the_measured_share_of_zeros(tmp_path, no_download):
    data = _synthetic_data(tmp_path)
    cfg = BaselineConfig(archs=["784-16-10"], sparsities=[0.5, 0.9], seeds=[0],
                         train_epochs=2, finetune_epochs=1, batch_size=32)
    rows = run_baselines(data, cfg, keep_models=True)
    assert [(r["method"], r["target_sparsity"]) for r in rows] == [("dense", 0.0)] + [
        (m, s) for m in cfg.methods for s in cfg.sparsities]
    for row in rows:
        weights = [m.weight for m in row["_model"].modules() if isinstance(m, torch.nn.Linear)]
        zeros = sum(int((w == 0).sum()) for w in weights)
        total = sum(w.numel() for w in weights)
        assert row["sparsity"] == zeros / total
        assert row["nonzero_weights"] == total - zeros
        assert all(not hasattr(m, "weight_orig") for m in row["_model"].modules())
        s = row["target_sparsity"]
        if row["method"] in ("topk", "dynamic-topk"):  # keeps floor(k n) of all weights
            assert total - zeros == math.floor(round((1 - s) * total, 9))
        elif row["method"] == "l1-global":  # torch prunes round(s n)
            assert zeros == round(s * total)
        elif row["method"] == "l1-layer":
            assert row["layer_sparsity"] == [round(s * w.numel()) / w.numel() for w in weights]
        elif row["method"] == "random":
            assert abs(row["sparsity"] - s) < 0.03
        else:
            assert zeros == 0
        assert 0.0 <= row["test_accuracy"] <= 1.0 and row["seconds"] > 0


def test_every_variant_starts_from_the_same_trained_state(tmp_path, no_download):
    # the same method twice must give the same weights: nothing (such as Adam's state)
    # may carry over from one variant's fine-tuning into the next
    data = _synthetic_data(tmp_path)
    cfg = BaselineConfig(archs=["784-8-10"], methods=["topk", "topk", "random", "random"],
                         sparsities=[0.5], seeds=[0], train_epochs=1, finetune_epochs=2,
                         batch_size=16)
    rows = run_baselines(data, cfg, keep_models=True)
    for a, b in ((rows[1], rows[2]), (rows[3], rows[4])):
        assert a["method"] == b["method"] and a["test_loss"] == b["test_loss"]
        for p, q in zip(a["_model"].parameters(), b["_model"].parameters(), strict=True):
            assert torch.equal(p, q)


def test_baselines_cli_writes_named_json_markdown_and_png(tmp_path, no_download):
    _synthetic_data(tmp_path)
    out = tmp_path / "out"
    argv = ["baselines", "--dataset", "mnist", "--data-root", str(tmp_path), "--no-download",
            "--quick", "--archs", "784-8-10", "--methods", "topk", "random",
            "--sparsities", "0.5", "--seeds", "0", "--train-epochs", "1", "--out", str(out)]
    assert main(argv) == 0
    doc = load_json(out / "baselines-mnist-quick.json")
    assert doc["dataset"] == "MNIST" and doc["quick"] is True
    assert doc["command"] == "python -m benchmarks.mnist " + " ".join(argv)
    assert len(doc["rows"]) == 3 and doc["settings"]["finetune_epochs"] == 1  # quick's
    md = (out / "baselines-mnist-quick.md").read_text()
    assert md.startswith("# MLP baselines, dense and pruned on MNIST\n")
    assert (out / "baselines-mnist-quick.png").read_bytes()[:4] == b"\x89PNG"


# --------------------------------------------------------------------------- experiment 4


def test_cost_rows_have_the_right_structure_and_positive_numbers(tmp_path, no_download):
    data = _synthetic_data(tmp_path)
    cfg = CostConfig(hidden=[4], iterations=[2, 3], inits=["scaled"], batch_size=16, repeats=2,
                     warmup_epochs=0, memory_steps=2)
    rows = run_cost(data, cfg)
    assert [r["model"] for r in rows] == ["data-only", "mlp-same-hidden", "mlp-same-params",
                                          "complete", "complete"]
    assert [r.get("iterations") for r in rows[3:]] == [2, 3]
    assert rows[1]["arch"] == "784-4-10" and rows[2]["arch"] == f"784-{same_weight_hidden(4)}-10"
    assert rows[1]["ratio_vs_same_hidden"] == 1.0 and rows[0]["ratio_vs_same_hidden"] is None
    for r in rows:
        assert len(r["epoch_seconds"]) == 2 and min(r["epoch_seconds"]) > 0
        assert r["samples_per_second"] == pytest.approx(64 / r["epoch_seconds_median"])
        assert r["step_ms"] == pytest.approx(r["epoch_seconds_median"] / 4 * 1e3)
    for r in rows[1:]:
        # Adam: parameter + exp_avg + exp_avg_sq (float32) + one float32 step count per tensor
        tensors = 4 if r["model"] != "complete" else 2
        assert r["state_bytes"] == 3 * 4 * r["parameters"] + 4 * tensors
        assert r["step_peak_bytes"] >= 4 * r["parameters"]  # at least the gradients
        assert r["peak_bytes"] == r["state_bytes"] + r["step_peak_bytes"]
        assert r["ratio_vs_same_hidden"] > 0
    doc = {"format": "benchmarks.mnist/1", "experiment": "cost", "dataset": "MNIST",
           "data": data.describe(), "quick": True, "command": "x", "device": "cpu",
           "settings": cfg.to_dict(), "environment": {"torch": "t", "torch_threads": 1},
           "elapsed_seconds": 1.0, "rows": rows}
    md = cost_markdown(json.loads(json.dumps(doc)))
    assert "on MNIST" in md and "| 4 | complete H=4 T=3 | scaled |" in md


# --------------------------------------------------------------------------- experiments 2 and 3


def test_complete_layer_runs_record_what_the_model_shows(tmp_path, no_download):
    from benchmarks.mnist.complete import SCHEMES, CompleteConfig, run_complete, train_complete
    from torch_orderedness import ordering

    data = _synthetic_data(tmp_path)
    cfg = CompleteConfig(hidden=[4], iterations=[2], seeds=[0, 1], epochs=1, batch_size=16,
                         null_samples=2)
    rows = run_complete(data, cfg, tensorboard_dir=tmp_path / "tb")
    complete = [r for r in rows if r["model"] == "complete"]
    mlps = [r for r in rows if r["model"] == "mlp"]
    assert [(r["seed"], r["scheme"]) for r in complete] == [(s, k) for s in (0, 1)
                                                           for k in SCHEMES]
    assert len(mlps) == 2 * 4 and {r["arch"] for r in mlps} == {"784-4-10",
                                                                f"784-{same_weight_hidden(4)}-10"}
    for r in mlps:
        assert r["parameters"] == count_parameters(mlp([int(x) for x in r["arch"].split("-")]))
    n = 14 * (14 + 784)  # entries of the (O+H, O+H+I) weight
    lower = 14 * 13 // 2  # entries strictly below its diagonal
    for r in complete:
        assert 0.0 <= r["test_accuracy"] <= 1.0
        assert r["start_upper"] >= r["start"] and r["end_upper"] >= r["end"]
        assert r["change"] == r["end"] - r["start"]
        assert r["excess_pattern"] == pytest.approx(r["end"] - np.mean(r["null_pattern"]))
        assert r["excess_all"] == pytest.approx(r["end"] - np.mean(r["null_all"]))
        assert r["curve"][0] == r["start"] and r["curve"][-1] == r["end"]
        if r["scheme"] == "topk":  # the last step keeps floor(k n) of n
            assert r["sparsity"] == (n - math.floor(0.5 * n)) / n
        if r["scheme"] == "dyn_topk":  # k(x) at the last step's progress x = (steps - 1) / steps
            steps = math.ceil(len(data.train_y) / 16)
            kept = math.floor(dynamic_keep_fraction(0.5, (steps - 1) / steps) * n)
            assert r["sparsity"] == (n - kept) / n
        if r["scheme"] == "tril":  # soft mask: 1 - f below the diagonal
            assert r["mask_mean"] == pytest.approx(1 - 0.8 * lower / n)
        if r["scheme"] == "dyn_tril":  # with f(x) at the last step's progress
            steps = math.ceil(len(data.train_y) / 16)
            f = dynamic_damping_factor(0.8, (steps - 1) / steps)
            assert r["mask_mean"] == pytest.approx(1 - f * lower / n)
        if r["scheme"] == "none":
            assert r["sparsity"] == 0.0 and r["mask_mean"] == 1.0
            # no zeros: both nulls shuffle the same entries with the same draws
            assert r["null_pattern"] == r["null_all"]
        assert (tmp_path / "tb" / "H4-T2" / r["scheme"] / f"seed_{r['seed']}").is_dir()
    # every seed starts from the same initial layer, whatever the scheme
    for seed in (0, 1):
        starts = {r["start"] for r in complete if r["seed"] == seed}
        assert len(starts) == 1
        initial = complete_layer(4, 2, seed=seed)
        assert starts.pop() == ordering(initial, time_limit=3.0).value
    # the row's numbers are those of the trained model
    model, row = train_complete(data, cfg, hidden=4, iterations=2, scheme="topk", seed=0)
    assert row["end"] == ordering(model, time_limit=3.0).value
    with torch.no_grad():
        predicted = model(data.test_x).argmax(dim=1)
    assert row["test_accuracy"] == float((predicted == data.test_y).float().mean())
    assert row == next(r for r in complete if r["scheme"] == "topk" and r["seed"] == 0) | {
        "train_seconds": row["train_seconds"], "metric_seconds": row["metric_seconds"]}


def test_embedded_mlp_starts_ordered_and_fine_tuning_moves_it(tmp_path, no_download):
    from benchmarks.mnist.embedding import EmbeddingConfig, run_embedding, sigmoid_mlp
    from torch_orderedness import CompletePerceptron, ordering

    data = _synthetic_data(tmp_path)
    cfg = EmbeddingConfig(arch="784-6-5-10", schemes=["none", "tril"], seeds=[0],
                          mlp_epochs=1, finetune_epochs=1, batch_size=16, null_samples=2)
    rows = run_embedding(data, cfg)
    assert [(r["model"], r.get("stage", r.get("scheme"))) for r in rows] == [
        ("mlp", "trained"), ("mlp", "continued"), ("complete", "none"), ("complete", "tril")]
    assert rows[0]["end"] == rows[1]["end"] == 1.0  # an MLP is perfectly ordered
    none, tril = rows[2], rows[3]
    for r in (none, tril):
        assert r["embedded_orderedness"] == 1.0 and r["embedded_exact"]
        assert r["embedding_max_abs_difference"] < 1e-5
        assert r["start"] == r["curve"][0] == 1.0
    # Adam grows the zero back connections at once; damping keeps them small
    assert none["end"] < 1.0 and tril["end"] > none["end"]
    # the embedding is CompletePerceptron.from_mlp of the sigmoid MLP
    net = sigmoid_mlp([784, 6, 5, 10], seed=0)
    layer = CompletePerceptron.from_mlp(net)
    assert layer.iterations == 3 and layer.hidden_features == 11
    assert ordering(layer).value == 1.0


def test_complete_and_from_mlp_cli_write_their_files_and_reports_remake_them(tmp_path,
                                                                             no_download):
    _synthetic_data(tmp_path)
    out = tmp_path / "out"
    common = ["--dataset", "mnist", "--data-root", str(tmp_path), "--no-download", "--quick",
              "--seeds", "0", "1", "--null-samples", "2", "--schemes", "none", "topk",
              "--out", str(out)]
    assert main(["complete", *common, "--hidden", "3", "--iterations", "2", "--no-mlps"]) == 0
    assert main(["from-mlp", *common, "--arch", "784-4-3-10"]) == 0
    for stem, title in (("complete-mnist-quick",
                         "# The complete layer trained with each pruning scheme on MNIST"),
                        ("from-mlp-mnist-quick", "# From MLP to complete layer on MNIST")):
        doc = load_json(out / f"{stem}.json")
        assert doc["dataset"] == "MNIST" and doc["settings"]["seeds"] == [0, 1]
        md = (out / f"{stem}.md").read_text()
        assert md.startswith(title + "\n") and "Top-K (k=0.5)" in md
        assert (out / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert any((out / "tensorboard" / stem).rglob("events.out.tfevents.*"))
        (out / f"{stem}.md").unlink()
        assert main(["report", str(out / f"{stem}.json")]) == 0
        assert (out / f"{stem}.md").read_text() == md  # tables come from the JSON alone
    doc = load_json(out / "complete-mnist-quick.json")
    assert [r["hidden"] for r in doc["rows"]] == [3] * 4 and doc["settings"]["mlps"] is False


def test_complete_save_weights_writes_each_trained_layer(tmp_path, no_download):
    # the saved weights reproduce the end orderedness the run measured and recorded
    from torch_orderedness import ordering

    _synthetic_data(tmp_path)
    out = tmp_path / "out"
    assert main(["complete", "--dataset", "mnist", "--data-root", str(tmp_path),
                 "--no-download", "--quick", "--seeds", "0", "--null-samples", "0",
                 "--schemes", "none", "tril", "--hidden", "3", "--iterations", "2",
                 "--no-mlps", "--no-tensorboard", "--save-weights", "--out", str(out)]) == 0
    folder = out / "weights" / "complete-mnist-quick"
    assert sorted(p.name for p in folder.iterdir()) == ["H3-T2-none-seed0.pt",
                                                         "H3-T2-tril-seed0.pt"]
    doc = load_json(out / "complete-mnist-quick.json")
    for row in doc["rows"]:
        w = torch.load(folder / f"H3-T2-{row['scheme']}-seed0.pt")
        assert w.shape == (13, 797) and w.dtype == torch.float32
        r = ordering(w, outputs=10, inputs=784)
        assert r.value == pytest.approx(row["end"], abs=1e-6)


def test_significance_helpers_against_the_t_distribution():
    from scipy import stats

    from benchmarks.mnist.report import _p_greater, _p_greater_than_zero, holm

    x = [0.03, 0.01, 0.02, 0.05, -0.01]
    n, mean, sd = len(x), float(np.mean(x)), float(np.std(x, ddof=1))
    assert _p_greater_than_zero(x) == pytest.approx(stats.t.sf(mean / (sd / math.sqrt(n)), n - 1))
    a, b = [0.3, 0.35, 0.28], [0.1, 0.12, 0.2, 0.15]
    va, vb = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 4
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)  # Welch-Satterthwaite
    assert _p_greater(a, b) == pytest.approx(stats.t.sf(t, dof))
    assert _p_greater_than_zero([0.1]) is None and _p_greater_than_zero([0.2, 0.2]) is None
    # Holm: sorted p times (m - rank), running maximum, capped at 1
    assert holm([0.04, 0.001, 0.03, 0.5]) == [0.09, 0.004, 0.09, 0.5]


@pytest.mark.parametrize(
    "name",
    ["benchmarks.mnist.complete", "benchmarks.mnist.embedding", "benchmarks.mnist.report",
     "benchmarks.mnist.models", "benchmarks.mnist.baselines", "benchmarks.mnist.cost",
     "benchmarks.mnist.data", "benchmarks.bench_report"],
)
def test_docstring_examples(name):
    """benchmarks/ is outside pytest's doctest paths; its examples are checked here."""
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
