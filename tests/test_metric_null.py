"""Tests of the shuffled-weights null model (torch_orderedness.metric.null)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from torch_orderedness.metric.core import ordering
from torch_orderedness.metric.null import NullModel, orderedness_null, shuffle_square


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_shuffle_all_moves_every_off_diagonal_entry_and_keeps_the_diagonal():
    rng = np.random.default_rng(0)
    S = rng.random((6, 6)) * (rng.random((6, 6)) < 0.5)
    off = ~np.eye(6, dtype=bool)
    seen_zero_moved = False
    for seed in range(20):
        T = shuffle_square(S, shuffle="all", generator=gen(seed))
        assert np.array_equal(np.diag(T), np.diag(S))
        assert np.array_equal(np.sort(T[off]), np.sort(S[off]))  # the same multiset
        seen_zero_moved |= bool(((T != 0) != (S != 0))[off].any())
    assert seen_zero_moved  # "all" does not keep the pattern


@pytest.mark.parametrize("shuffle", ["pattern", "all"])
def test_copies_are_the_single_draws_made_in_turn(shuffle):
    rng = np.random.default_rng(2)
    S = rng.random((6, 6)) * (rng.random((6, 6)) < 0.5)
    one_by_one = gen(5)
    expected = np.stack([shuffle_square(S, shuffle=shuffle, generator=one_by_one)
                         for _ in range(7)])
    batch = gen(5)
    got = shuffle_square(S, shuffle=shuffle, generator=batch, copies=7)
    assert got.shape == (7, 6, 6) and got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    # the generator is left where seven single draws leave it
    assert torch.equal(torch.randperm(9, generator=batch), torch.randperm(9, generator=one_by_one))
    assert shuffle_square(S, shuffle=shuffle, generator=gen(5), copies=0).shape == (0, 6, 6)
    lone = np.diag([1.0, 2.0]) + np.array([[0.0, 3.0], [0.0, 0.0]])  # one entry: nothing moves
    np.testing.assert_array_equal(shuffle_square(lone, copies=2), np.stack([lone, lone]))


@pytest.mark.parametrize("copies, error", [(-1, ValueError), (2.0, TypeError), (True, TypeError)])
def test_copies_must_be_a_count(copies, error):
    with pytest.raises(error, match="copies"):
        shuffle_square(np.eye(3), copies=copies)


def test_shuffle_pattern_keeps_the_nonzero_positions():
    rng = np.random.default_rng(1)
    S = rng.random((7, 7)) * (rng.random((7, 7)) < 0.4)
    off = ~np.eye(7, dtype=bool)
    moved = False
    for seed in range(20):
        T = shuffle_square(S, shuffle="pattern", generator=gen(seed))
        assert np.array_equal(T != 0, S != 0)
        assert np.count_nonzero(T) == np.count_nonzero(S)
        assert np.array_equal(np.diag(T), np.diag(S))
        assert np.array_equal(np.sort(T[off]), np.sort(S[off]))
        moved |= not np.array_equal(T, S)
    assert moved


def test_shuffle_draws_are_uniform_over_positions():
    # one nonzero off-diagonal value among the 6 positions of a 3x3 matrix ("all")
    S = np.zeros((3, 3))
    S[0, 1] = 1.0
    g = gen(2)
    counts = np.zeros((3, 3))
    for _ in range(600):
        counts += shuffle_square(S, shuffle="all", generator=g)
    off = counts[~np.eye(3, dtype=bool)]
    assert off.sum() == 600 and off.min() > 60  # about 100 each


def test_reproducible_with_the_same_generator():
    w = torch.randn(5, 7, generator=gen(3))
    a = orderedness_null(w, outputs=1, samples=15, generator=gen(4))
    b = orderedness_null(w, outputs=1, samples=15, generator=gen(4))
    c = orderedness_null(w, outputs=1, samples=15, generator=gen(5))
    assert a == b
    assert a.samples != c.samples


def test_statistics_match_the_samples():
    w = torch.randn(6, 8, generator=gen(6)) * (torch.rand(6, 8, generator=gen(7)) < 0.6)
    null = orderedness_null(w, outputs=1, samples=25, generator=gen(8))
    assert isinstance(null, NullModel) and null.shuffle == "pattern" and null.exact
    v = np.array(null.samples)
    assert len(v) == 25
    assert null.mean == pytest.approx(v.mean())
    assert null.std == pytest.approx(v.std(ddof=1))
    assert null.value == ordering(w, outputs=1).value
    assert null.excess == pytest.approx(null.value - v.mean())
    assert null.pvalue == pytest.approx((1 + np.sum(v >= null.value - 1e-12)) / 26)
    assert float(null) == null.mean
    # every sample is the orderedness of some shuffle: within [0.5-ish, 1]
    assert all(0.0 <= s <= 1.0 for s in null.samples)


def test_samples_are_the_orderedness_of_the_shuffled_copies():
    # the same generator state drives shuffle_square and the null model
    w = np.abs(np.random.default_rng(9).standard_normal((5, 5)))
    null = orderedness_null(w, outputs=1, samples=4, generator=gen(10), shuffle="all")
    g = gen(10)
    expected = [
        ordering(shuffle_square(w, shuffle="all", generator=g), outputs=1).value for _ in range(4)
    ]
    assert null.samples == pytest.approx(tuple(expected), abs=0)


def test_equal_weights_give_their_own_orderedness():
    w = torch.full((5, 5), 0.7)
    null = orderedness_null(w, outputs=1, samples=6, generator=gen(11), shuffle="all")
    own = ordering(w, outputs=1).value
    assert null.value == own
    assert null.mean == pytest.approx(own) and null.std == pytest.approx(0.0, abs=1e-15)
    assert null.excess == pytest.approx(0.0, abs=1e-15)


def test_ordered_weights_exceed_their_null():
    # a strictly upper-triangular weight (orderedness 1) against its shuffles
    rng = np.random.default_rng(12)
    w = np.triu(rng.random((7, 7)), 1)
    null = orderedness_null(w, samples=30, generator=gen(13), shuffle="all")
    assert null.value == 1.0
    assert null.excess > 0.05 and null.pvalue < 0.1


def test_batches_and_rnns_give_one_null_per_matrix():
    w = torch.randn(2, 4, 4, generator=gen(14))
    nulls = orderedness_null(w, samples=3, generator=gen(15))
    assert isinstance(nulls, tuple) and len(nulls) == 2
    rnn = nn.RNN(3, 4, num_layers=2)
    nulls = orderedness_null(rnn, samples=2, generator=gen(16))
    assert len(nulls) == 2 and all(isinstance(n, NullModel) for n in nulls)


def test_bad_arguments():
    w = torch.randn(4, 4)
    with pytest.raises(ValueError, match="samples"):
        orderedness_null(w, samples=0)
    with pytest.raises(TypeError, match="samples"):
        orderedness_null(w, samples=2.5)
    with pytest.raises(ValueError, match="shuffle"):
        orderedness_null(w, shuffle="rows")
    with pytest.raises(TypeError, match="generator"):
        orderedness_null(w, generator=3)
    with pytest.raises(ValueError, match="square"):
        shuffle_square(np.ones((2, 3)))
