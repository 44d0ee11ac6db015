"""torch_orderedness._checks: one rule for counts, reals, fractions and flags, everywhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_orderedness import (
    CompletePerceptron,
    PerceptronEnsemble,
    TopK,
    get_task,
    ordering,
    train,
    xor,
)
from torch_orderedness._checks import choice, count, flag, fraction, real

INTEGERS = [3, np.int64(3), np.int32(3), np.uint8(3), np.array(3), torch.tensor(3)]
NOT_INTEGERS = [3.0, np.float64(3.0), "3", None, True, np.bool_(True), [3]]
REALS = [0.25, np.float16(0.25), np.float32(0.25), np.float64(0.25), np.array(0.25),
         torch.tensor(0.25)]


@pytest.mark.parametrize("value", INTEGERS, ids=lambda v: type(v).__name__)
def test_counts_accept_every_integral_type(value) -> None:
    assert count("n", value, 1) == 3 and type(count("n", value, 1)) is int
    with pytest.raises(ValueError, match="n must be an int >= 4, got 3"):
        count("n", value, 4)


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
def test_counts_refuse_other_types_with_a_type_error(value) -> None:
    with pytest.raises(TypeError, match="n must be an int"):
        count("n", value, 0)


@pytest.mark.parametrize("value", REALS, ids=lambda v: type(v).__name__)
def test_reals_and_fractions_accept_every_real_type(value) -> None:
    assert fraction("k", value) == real("x", value) == 0.25


def test_wrong_values_are_value_errors_and_wrong_types_type_errors() -> None:
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"k must be in \[0, 1\]"):
            fraction("k", bad)
    for bad in ("0.5", None, True, 1j, np.array([0.5, 0.5])):
        with pytest.raises(TypeError, match="k must be a float"):
            fraction("k", bad)
    with pytest.raises(ValueError, match="finite"):
        real("x", float("inf"))
    with pytest.raises(ValueError, match="positive"):
        real("x", 0.0, positive=True)
    assert flag("f", np.bool_(False)) is False
    with pytest.raises(TypeError, match="True or False"):
        flag("f", 1)
    with pytest.raises(ValueError, match="one of"):
        choice("mode", "x", ("a", "b"))


def test_the_public_api_follows_the_same_rule() -> None:
    # NumPy integers where counts go, NumPy floats where fractions go, as torch's own prune does
    layer = CompletePerceptron(np.int64(2), np.int64(3), np.int32(1), iterations=np.int64(2))
    assert (layer.in_features, layer.iterations) == (2, 2)
    assert PerceptronEnsemble(np.int64(2), 2, 3, 1).num_members == 2
    assert TopK(k=np.float32(0.5)).k == 0.5
    assert get_task("xor").replace(epochs=np.int64(3)).epochs == 3
    r = train(None, xor(), seed=np.int64(1), steps=np.int64(2), orderedness_every=np.int64(1))
    assert r.steps == 2 and type(r.seed) is int and r.seed == 1
    with pytest.raises(TypeError, match="iterations must be an int"):
        CompletePerceptron(2, 3, 1, iterations=2.0)
    with pytest.raises(TypeError, match="steps must be an int"):
        train(None, xor(), steps=2.0)


def test_the_metric_follows_the_same_rule() -> None:
    w = np.abs(np.random.default_rng(0).standard_normal((6, 6)))
    plain = ordering(w, outputs=2, time_limit=5.0, seed=3)
    numpy = ordering(w, outputs=np.int64(2), time_limit=np.float32(5.0), seed=np.int32(3))
    assert numpy.value == plain.value and numpy.permutation == plain.permutation
    with pytest.raises(TypeError, match="outputs must be an int"):
        ordering(w, outputs=2.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        ordering(w, seed=True)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        ordering(w, seed=-1)
    with pytest.raises(TypeError, match="time_limit must be a real number"):
        ordering(w, time_limit="5")
    with pytest.raises(ValueError, match="time_limit must be positive"):
        ordering(w, time_limit=0)
    with pytest.raises(ValueError, match="method must be one of"):
        ordering(w, method="greedy")
