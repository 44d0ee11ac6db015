"""The paper's tasks: data against independent definitions, defaults against the paper."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from torch_orderedness.complete import CompletePerceptron
from torch_orderedness.tasks import TASKS, Task, get_task, sine, sine_data, xor, xor_data


def test_xor_data_is_the_truth_table() -> None:
    x, y = xor_data()
    rows = list(itertools.product([0, 1], repeat=2))
    assert x.tolist() == [[float(a), float(b)] for a, b in rows]
    assert y.tolist() == [[float(a ^ b)] for a, b in rows]
    assert x.dtype == torch.get_default_dtype()


def test_sine_data_matches_numpy_definition() -> None:
    x, y = sine_data(dtype=torch.float64)
    grid = np.arange(0, 3, 0.01)
    assert grid.shape == (300,)
    expected_x = grid.reshape(150, 2)
    expected_y = (np.sin(expected_x[:, 0]) + np.sin(expected_x[:, 1])) / 2
    np.testing.assert_allclose(x.numpy(), expected_x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(y.numpy()[:, 0], expected_y, rtol=0, atol=1e-12)
    # a literal element: row 7 holds 0.14 and 0.15
    assert x[7].tolist() == pytest.approx([0.14, 0.15], abs=1e-15)
    assert y[7, 0].item() == pytest.approx((math.sin(0.14) + math.sin(0.15)) / 2, abs=1e-15)


def test_sine_data_float32_is_the_rounded_float64() -> None:
    x32, y32 = sine_data()
    x64, y64 = sine_data(dtype=torch.float64)
    assert x32.dtype == torch.float32
    assert torch.equal(x32, x64.float()) and torch.equal(y32, y64.float())


def test_xor_defaults_are_the_papers() -> None:
    t = xor()
    assert (t.name, t.in_features, t.out_features, t.hidden, t.iterations) == ("xor", 2, 1, 5, 3)
    assert (t.batch_size, t.shuffle, t.epochs) == (4, False, 1000)
    assert (t.batches_per_epoch, t.steps) == (1, 1000)


def test_sine_defaults_are_the_papers() -> None:
    t = sine()
    assert (t.in_features, t.out_features, t.hidden, t.iterations) == (2, 1, 8, 3)
    assert (t.batch_size, t.shuffle, t.epochs) == (10, True, 40)
    assert (t.batches_per_epoch, t.steps) == (15, 600)  # 150 rows / 10, 40 * 15
    assert sine(hidden=10).hidden == 10
    assert get_task("sine", hidden=10).hidden == 10
    assert set(TASKS) == {"xor", "sine"}


def test_model_is_the_papers_complete_layer() -> None:
    t = xor()
    layer = t.model(generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    reference = CompletePerceptron(2, 5, 1, iterations=3, generator=g)
    assert layer.bias is None
    assert torch.equal(layer.weight, reference.weight)
    assert torch.equal(layer.initial_state, reference.initial_state)
    assert layer.weight.shape == (6, 8)


def test_model_factory_options() -> None:
    make = sine().model_factory(hidden=4, iterations=2, weight_init="uniform", state_init="zeros")
    layer = make(generator=torch.Generator().manual_seed(0))
    assert (layer.hidden_features, layer.iterations) == (4, 2)
    assert bool(((layer.weight >= 0) & (layer.weight < 1)).all())
    assert bool((layer.initial_state == 0).all())
    again = make(generator=torch.Generator().manual_seed(0))
    assert torch.equal(layer.weight, again.weight)


def test_model_factory_checks_options_at_once() -> None:
    with pytest.raises(ValueError, match="weight_init"):
        xor().model_factory(weight_init="gaussian")
    with pytest.raises(TypeError, match="generator"):
        xor().model_factory(generator=torch.Generator())


def test_replace_and_bad_tasks() -> None:
    t = xor().replace(epochs=10, hidden=3)
    assert (t.epochs, t.hidden, t.steps) == (10, 3, 10)
    x, y = xor_data()
    with pytest.raises(ValueError, match="same number"):
        Task("bad", x, y[:3], batch_size=4, shuffle=False, epochs=1, hidden=1, iterations=1)
    with pytest.raises(ValueError, match=r"\(n, I\)"):
        Task("bad", x, y[:, 0], batch_size=4, shuffle=False, epochs=1, hidden=1, iterations=1)
    with pytest.raises(ValueError, match="batch_size"):
        Task("bad", x, y, batch_size=0, shuffle=False, epochs=1, hidden=1, iterations=1)
    with pytest.raises(TypeError, match="shuffle"):
        Task("bad", x, y, batch_size=1, shuffle=1, epochs=1, hidden=1, iterations=1)
    with pytest.raises(ValueError, match="name must be one of"):
        get_task("parity")
    with pytest.raises(TypeError, match="dtype"):
        xor_data(dtype=torch.int64)
