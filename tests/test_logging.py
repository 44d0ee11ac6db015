"""TensorBoard files read back and compared with what training computed; tqdm bars."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import torch

from torch_orderedness.logging import (
    TensorBoardLogger,
    TrainingLogger,
    progress_bar,
    use_progress_bar,
    weight_image,
)
from torch_orderedness.tasks import xor
from torch_orderedness.training import PruneSpec, train, train_seeds

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
EventAccumulator = event_accumulator.EventAccumulator
PIL = pytest.importorskip("PIL.Image")
plugin_data_pb2 = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")


def _events(path) -> EventAccumulator:
    ea = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0,
                                                    "histograms": 0, "tensors": 0})
    ea.Reload()
    return ea


def _scalars(ea: EventAccumulator, tag: str) -> tuple[list[int], np.ndarray]:
    events = ea.Scalars(tag)
    return [e.step for e in events], np.array([e.value for e in events])


def test_weight_image_is_the_permuted_normalised_square_part() -> None:
    w = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    perm = (0, 3, 1, 2)
    image = weight_image(w, perm)
    assert image.shape == (1, 4, 4) and image.dtype == torch.float32
    top = max(abs(w[i, j].item()) for i in range(4) for j in range(4))
    for a in range(4):
        for b in range(4):
            expected = abs(w[perm[a], perm[b]].item()) / top
            assert image[0, a, b].item() == pytest.approx(expected, rel=1e-6)
    assert weight_image(torch.zeros(2, 3), (0, 1)).abs().sum() == 0
    with pytest.raises(ValueError, match="permutation"):
        weight_image(w, (0, 1, 1, 2))
    with pytest.raises(ValueError, match="2-D"):
        weight_image(w[0], (0,))


def test_logged_values_equal_the_run(tmp_path) -> None:
    log_dir = tmp_path / "runs" / "xor"
    r = train(None, xor(), seed=2, steps=12, orderedness_every=5, log_dir=log_dir,
              pruning=[PruneSpec("dyn_topk", k=0.5), PruneSpec("tril", f=0.5)],
              hparams={"note": "test"})
    ea = _events(log_dir)
    steps, loss = _scalars(ea, "loss")
    assert steps == list(range(1, 13))
    np.testing.assert_allclose(loss, r.loss, rtol=1e-6)  # float32 in the event file
    for tag, expected in [("sparsity/weight", r.sparsity["weight"]),
                          ("mask_mean/weight", r.mask_mean["weight"]),
                          ("progress", r.progress)]:
        steps, values = _scalars(ea, tag)
        assert steps == list(range(1, 13))
        np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-7)
    for tag, expected in [("orderedness/value", r.orderedness),
                          ("orderedness/lower", r.orderedness_lower),
                          ("orderedness/upper", r.orderedness_upper)]:
        steps, values = _scalars(ea, tag)
        assert steps == r.orderedness_steps.tolist() == [0, 5, 10, 12]
        np.testing.assert_allclose(values, expected, rtol=1e-6)
    # histograms of every parameter at every measurement
    for name in ("weight", "initial_state"):
        hist = ea.Histograms(f"params/{name}")
        assert [h.step for h in hist] == [0, 5, 10, 12]
        assert hist[-1].histogram_value.num == r.end_params[name].numel()
        assert hist[-1].histogram_value.sum == pytest.approx(
            r.end_params[name].sum().item(), rel=1e-5, abs=1e-6)
    # the ordered weight as an image, decoded and compared with weight_image
    images = ea.Images("weight/ordered")
    assert [im.step for im in images] == [0, 5, 10, 12]
    last = images[-1]
    assert (last.width, last.height) == (6, 6)
    pixels = np.asarray(PIL.open(io.BytesIO(last.encoded_image_string)), dtype=np.float64)
    expected = weight_image(r.end_params["weight"], r.end.permutation)[0].numpy() * 255
    pixels = pixels.reshape(6, 6, -1)  # torch writes a 1-channel image as grey RGB
    for channel in range(pixels.shape[2]):
        np.testing.assert_allclose(pixels[:, :, channel], expected, atol=1.0)
    # hyperparameters and final metrics
    content = ea.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    logged = start.session_start_info.hparams
    assert logged["seed"].number_value == 2 and logged["lr"].number_value == pytest.approx(0.01)
    assert logged["pruning"].string_value == r.hparams["pruning"]
    assert logged["note"].string_value == "test" and logged["task"].string_value == "xor"
    _, change = _scalars(ea, "hparam/orderedness_change")
    assert change[-1] == pytest.approx(r.change, abs=1e-6)
    _, final = _scalars(ea, "hparam/final_loss")
    assert final[-1] == pytest.approx(r.final_loss, rel=1e-6)
    assert r.hparams["note"] == "test" and r.hparams["pruning"] == (
        "dyn_topk(k=0.5)@weight; tril(f=0.5)@weight")
    assert not [p for p in log_dir.iterdir() if p.is_dir() and p.name != "."]


def test_log_every_and_seed_directories(tmp_path) -> None:
    runs = train_seeds(None, xor(), [3, 4], steps=10, log_every=4, log_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed_3", "seed_4"]
    for run in runs:
        ea = _events(tmp_path / f"seed_{run.seed}")
        steps, loss = _scalars(ea, "loss")
        assert steps == [4, 8, 10]  # every 4 steps and the last
        np.testing.assert_allclose(loss, run.loss[[3, 7, 9]], rtol=1e-6)
        steps, values = _scalars(ea, "orderedness/value")
        assert steps == [0, 10]
        np.testing.assert_allclose(values, [run.start_orderedness, run.end_orderedness],
                                   rtol=1e-6)


class _Recorder:
    """A TrainingLogger keeping every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def log_scalars(self, step, values):
        self.calls.append(("scalars", step, dict(values)))

    def log_parameters(self, step, params):
        self.calls.append(("params", step, sorted(params)))

    def log_ordering(self, step, weight, permutation):
        self.calls.append(("ordering", step, tuple(permutation)))

    def log_hparams(self, hparams, metrics):
        self.calls.append(("hparams", dict(hparams), dict(metrics)))

    def close(self):
        self.calls.append(("close",))


def test_custom_logger_interface() -> None:
    rec = _Recorder()
    assert isinstance(rec, TrainingLogger)
    r = train(None, xor(), seed=0, steps=3, logger=rec)
    losses = [c[2]["loss"] for c in rec.calls if c[0] == "scalars" and "loss" in c[2]]
    assert losses == pytest.approx(r.loss.tolist())
    orderings = [c for c in rec.calls if c[0] == "ordering"]
    assert [c[1] for c in orderings] == [0, 3]
    assert orderings[-1][2] == r.end.permutation
    assert rec.calls[-1][0] == "hparams"  # a logger passed in is not closed by training
    with pytest.raises(TypeError, match="TrainingLogger"):
        train(None, xor(), steps=2, logger=object())
    with pytest.raises(ValueError, match="not both"):
        train(None, xor(), steps=2, logger=rec, log_dir="runs")


def test_tensorboard_logger_directly(tmp_path) -> None:
    with TensorBoardLogger(tmp_path / "d") as log:
        log.log_scalars(3, {"a": 1.5})
        log.log_parameters(3, {"w": torch.arange(4.0)})
    ea = _events(tmp_path / "d")
    assert _scalars(ea, "a") == ([3], pytest.approx(np.array([1.5])))
    assert ea.Histograms("params/w")[0].histogram_value.num == 4


def test_progress_bar_auto_follows_the_terminal(monkeypatch) -> None:
    class Stream(io.StringIO):
        def __init__(self, tty: bool) -> None:
            super().__init__()
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert use_progress_bar(None) is False
    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert use_progress_bar(None) is True
    assert use_progress_bar(False) is False
    with pytest.raises(TypeError, match="progress_bar"):
        use_progress_bar("yes")
    silent = progress_bar(5, enabled=False)
    silent.update(2)
    assert silent.n == 2


def test_training_bar_shows_loss_and_orderedness(capsys) -> None:
    r = train(None, xor(), seed=0, steps=5, progress_bar=True)
    err = capsys.readouterr().err
    assert "loss=" in err and "orderedness=" in err and "5/5" in err
    # the bar ends on the end orderedness (only the start was measured during the run)
    r = train(None, xor(), seed=0, steps=50, progress_bar=True, pruning=PruneSpec("tril", f=0.8))
    last = capsys.readouterr().err.rsplit("orderedness=", 1)[1]
    assert float(last[:6]) == pytest.approx(r.end_orderedness, abs=6e-4)
    assert r.end_orderedness > r.start_orderedness + 0.1
    train(None, xor(), seed=0, steps=5)  # auto: stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""


def test_reparametrized_run_logs_the_initial_then_the_masked_weight(tmp_path) -> None:
    r = train(None, xor(), seed=1, steps=4, mode="reparametrize",
              pruning=PruneSpec("topk", k=0.5), log_dir=tmp_path)
    hist = _events(tmp_path).Histograms("params/weight")
    assert [h.step for h in hist] == [0, 4]
    assert hist[0].histogram_value.sum == pytest.approx(r.start_params["weight"].sum().item(),
                                                        rel=1e-5)
    assert hist[1].histogram_value.sum == pytest.approx(r.end_params["weight"].sum().item(),
                                                        rel=1e-5)
    assert int((r.end_params["weight"] == 0).sum()) == 24
