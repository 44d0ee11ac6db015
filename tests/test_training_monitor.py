"""torch_orderedness.training.monitor: what the monitor measures, remembers and logs."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from torch_orderedness import (
    CompletePerceptron,
    OrderednessMonitor,
    PerceptronEnsemble,
    TensorBoardLogger,
    TopK,
    ordering,
)


def events(path):  # noqa: ANN001, ANN201
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"images": 0, "scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


class ListLogger:
    """A TrainingLogger that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def log_scalars(self, step, values):  # noqa: ANN001, ANN201
        self.calls.append(("scalars", step, dict(values)))

    def log_parameters(self, step, params):  # noqa: ANN001, ANN201
        self.calls.append(("parameters", step, sorted(params)))

    def log_ordering(self, step, weight, permutation):  # noqa: ANN001, ANN201
        self.calls.append(("ordering", step, tuple(permutation)))

    def log_hparams(self, hparams, metrics):  # noqa: ANN001, ANN201
        self.calls.append(("hparams",))

    def close(self) -> None:
        pass


def test_it_measures_every_k_steps_what_ordering_says(tmp_path) -> None:
    layer = CompletePerceptron(2, 6, 1, generator=torch.Generator().manual_seed(0))
    writer = SummaryWriter(str(tmp_path))
    monitor = OrderednessMonitor(layer, writer, every=3)
    expected = {}
    for step in range(1, 10):
        with torch.no_grad():
            layer.weight.mul_(0.9 + 0.2 * torch.rand_like(layer.weight))
        out = monitor.step(step)
        assert (out is None) == (step % 3 != 0)
        if out is not None:
            expected[step] = ordering(layer)
    writer.close()
    assert [s for s, _ in monitor.history] == [3, 6, 9]
    for step, (result,) in monitor.history:
        assert result == expected[step]
    acc = events(tmp_path)
    for tag, attr in (("value", "value"), ("lower", "lower"), ("upper", "upper")):
        logged = {e.step: e.value for e in acc.Scalars(f"orderedness/{tag}")}
        assert logged == pytest.approx({s: getattr(r, attr) for s, r in expected.items()})
    assert [e.step for e in acc.Images("weight/ordered")] == [3, 6, 9]
    assert {"params/weight", "params/initial_state"} <= set(acc.Tags()["histograms"])
    assert monitor.last_value == pytest.approx(expected[9].value)


def test_it_reads_torch_pruned_weights_and_plain_tensors() -> None:
    layer = CompletePerceptron(2, 5, 1, generator=torch.Generator().manual_seed(1))
    TopK.apply(layer, "weight", k=0.5)
    (result,) = OrderednessMonitor(layer).measure(0)
    assert result == ordering(layer.weight_orig * layer.weight_mask, outputs=1, inputs=2)
    w = torch.randn(7, 9, generator=torch.Generator().manual_seed(2))
    (plain,) = OrderednessMonitor(w, outputs=2).measure(0)
    assert plain == ordering(w, outputs=2)


def test_rnn_layers_and_an_mlp() -> None:
    rnn = nn.RNN(4, 6, num_layers=2)
    log = ListLogger()
    results = OrderednessMonitor(rnn, log).measure(5)
    assert results == ordering(rnn)  # one per layer
    tags = [call[2] for call in log.calls if call[0] == "scalars"]
    assert {"orderedness/weight_hh_l0/value", "orderedness/weight_hh_l1/upper"} <= {
        t for values in tags for t in values}
    mlp = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    assert [r.value for r in OrderednessMonitor(mlp).measure(0)] == [1.0]


def test_one_logger_per_member_of_an_ensemble(tmp_path) -> None:
    gens = [torch.Generator().manual_seed(s) for s in range(3)]
    ensemble = PerceptronEnsemble(3, 2, 4, 1, generators=gens)
    loggers = [TensorBoardLogger(tmp_path / f"m{s}") for s in range(3)]
    monitor = OrderednessMonitor(ensemble, loggers, every=1)
    results = monitor.measure(0, members=[0, 2])  # member 1 is not logged
    for log in loggers:
        log.close()
    for s in (0, 2):
        value = events(tmp_path / f"m{s}").Scalars("orderedness/value")[0].value
        assert value == pytest.approx(ordering(ensemble.member(s)).value)
        assert results[s] == ordering(ensemble.member(s))
    assert "orderedness/value" not in events(tmp_path / "m1").Tags()["scalars"]
    hist = events(tmp_path / "m2").Histograms("params/weight")[0].histogram_value
    assert hist.num == ensemble.member(2).weight.numel()  # the member's slice, not the stack


def test_an_all_zero_weight_is_undefined_once_with_a_warning() -> None:
    layer = CompletePerceptron(2, 3, 1)
    with torch.no_grad():
        layer.weight.zero_()
    log = ListLogger()
    monitor = OrderednessMonitor(layer, log, labels=["seed 4"])
    with pytest.warns(RuntimeWarning, match="undefined .* for seed 4 at step 2"):
        assert monitor.measure(2) == (None,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second warning would raise here
        assert monitor.measure(3) == (None,)
    assert [c[0] for c in log.calls] == ["parameters", "parameters"]  # no scalars, no image


def test_options_reach_ordering_and_bad_input_is_refused() -> None:
    layer = CompletePerceptron(2, 4, 1, generator=torch.Generator().manual_seed(3))
    (r,) = OrderednessMonitor(layer, options={"method": "heuristic", "seed": 2}).measure(0)
    assert r.method == "heuristic" and r == ordering(layer, method="heuristic", seed=2)
    with pytest.raises(ValueError, match="every"):
        OrderednessMonitor(layer, every=0)
    with pytest.raises(ValueError, match="options may hold"):
        OrderednessMonitor(layer, options={"outputs": 1})
    with pytest.raises(TypeError, match="logger must be"):
        OrderednessMonitor(layer, logger="runs/x")
    with pytest.raises(ValueError, match="one per measured matrix"):
        OrderednessMonitor(layer, [ListLogger(), ListLogger()])
    with pytest.raises(TypeError, match="watches"):
        OrderednessMonitor("weight")
    with pytest.raises(ValueError, match="2-D"):
        OrderednessMonitor(torch.ones(3))
    with pytest.raises(TypeError, match="global_step"):
        OrderednessMonitor(layer).step(1.5)
