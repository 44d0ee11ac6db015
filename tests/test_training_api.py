"""train() and train_seeds(): against a literal re-implementation of the paper's loop; records,
seeds, batching, data loaders, bad input, and what a call leaves behind."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from torch_orderedness.complete import CompletePerceptron
from torch_orderedness.metric import ordering
from torch_orderedness.pruning import DynamicTopK
from torch_orderedness.tasks import sine, xor
from torch_orderedness.training import (
    PruneSpec,
    SeedRuns,
    TrainResult,
    seed_generators,
    train,
    train_seeds,
)

# --------------------------------------------------------------------------- a literal reference


def _generators(seed: int) -> tuple[torch.Generator, torch.Generator, torch.Generator]:
    """The documented derivation: init = seed, data/prune from SeedSequence([seed, 1 or 2])."""
    derived = [
        int(np.random.SeedSequence([seed, k]).generate_state(1, np.uint64)[0]) for k in (1, 2)
    ]
    return (torch.Generator().manual_seed(seed), torch.Generator().manual_seed(derived[0]),
            torch.Generator().manual_seed(derived[1]))


def _sin4(x: float) -> float:
    return math.sin(math.pi * x / 2) ** 4


def _literal_topk_(w: torch.Tensor, keep_fraction: float) -> None:
    n = w.numel()
    keep = math.floor(round(keep_fraction * n, 9))
    flat = w.abs().flatten()
    mask = torch.zeros(n)
    mask[torch.topk(flat, keep).indices] = 1.0
    w.mul_(mask.reshape(w.shape))


def _literal_tril_(w: torch.Tensor, f: float) -> None:
    w.sub_(f * torch.tril(w, -1))


def reference_run(task, seed, epochs, scheme=None, progress="epoch"):
    """The paper's loop written out: Adam(0.01), MSE, a scheme in place after every step."""
    g_init, g_data, _ = _generators(seed)
    model = CompletePerceptron(task.in_features, task.hidden, task.out_features,
                               task.iterations, generator=g_init)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    X, Y, bs = task.inputs, task.targets, task.batch_size
    per_epoch = math.ceil(X.shape[0] / bs)
    steps = epochs * per_epoch
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(X.shape[0], generator=g_data) if task.shuffle else \
            torch.arange(X.shape[0])
        for j in range(per_epoch):
            idx = order[j * bs:(j + 1) * bs]
            opt.zero_grad()
            loss = F.mse_loss(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
            x = epoch / epochs if progress == "epoch" else (len(losses) - 1) / steps
            with torch.no_grad():
                if scheme is not None:
                    scheme(model.weight, x)
    return model, np.array(losses)


def test_xor_matches_literal_loop_dynamic_topk() -> None:
    def scheme(w, x):
        _literal_topk_(w, 1 - 0.5 * _sin4(x))

    model, losses = reference_run(xor(), seed=4, epochs=40, scheme=scheme)
    r = train(None, xor(), seed=4, epochs=40, pruning=PruneSpec("dyn_topk", k=0.5))
    np.testing.assert_allclose(r.loss, losses, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(r.end_params["weight"], model.weight.detach(), rtol=1e-5,
                               atol=1e-6)
    assert r.end_orderedness == pytest.approx(ordering(model).value, abs=1e-6)


def test_sine_matches_literal_loop_shuffled_tril_damp() -> None:
    task = sine(hidden=4)

    def scheme(w, x):
        _literal_tril_(w, 0.8 * _sin4(x))

    model, losses = reference_run(task, seed=11, epochs=3, scheme=scheme, progress="step")
    r = train(None, task, seed=11, epochs=3, progress="step",
              pruning=[PruneSpec("dyn_tril", f=0.8)])
    assert r.steps == 45
    np.testing.assert_allclose(r.loss, losses, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(r.end_params["weight"], model.weight.detach(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(r.progress, np.arange(45) / 45)


def test_initial_model_and_first_loss_come_from_the_seed() -> None:
    r = train(None, xor(), seed=7, steps=3)
    ref = CompletePerceptron(2, 5, 1, 3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(r.start_params["weight"], ref.weight.detach())
    assert torch.equal(r.start_params["initial_state"], ref.initial_state.detach())
    x, y = xor().inputs, xor().targets
    assert r.loss[0] == pytest.approx(F.mse_loss(ref(x), y).item(), rel=1e-6)
    assert r.start_orderedness == pytest.approx(ordering(ref).value, abs=1e-12)
    assert r.orderedness_steps.tolist() == [0, 3]


# --------------------------------------------------------------------------- records


def test_progress_definitions_reach_the_dynamic_scheme() -> None:
    task = sine(hidden=3)
    n = 4 * 6  # weight (1+3, 1+3+2)
    for progress, expected in [
        ("epoch", np.repeat([0.0, 0.5], 15)),
        ("step", np.arange(30) / 30),
        (lambda i, steps: min(1.0, 2 * i / steps), np.minimum(1.0, 2 * np.arange(30) / 30)),
    ]:
        r = train(None, task, seed=0, epochs=2, progress=progress, update=False,
                  pruning=PruneSpec("dyn_topk", k=0.25))
        np.testing.assert_allclose(r.progress, expected, atol=1e-15)
        keep = [math.floor(round((1 - 0.75 * _sin4(x)) * n, 9)) for x in expected]
        np.testing.assert_allclose(r.mask_mean["weight"], np.array(keep) / n)
        # pruning is monotone here (no updates), so the zeros are exactly the pruned entries
        np.testing.assert_allclose(r.sparsity["weight"], 1 - np.array(keep) / n)


def test_random_mask_is_drawn_once_from_the_seed() -> None:
    r = train(None, xor(), seed=3, steps=25, pruning=PruneSpec("random", p=0.4))
    _, _, g_prune = _generators(3)
    pruned = torch.rand((6, 8), generator=g_prune) < 0.4
    assert torch.equal(r.end_params["weight"] == 0, pruned)  # kept entries are non-zero
    share = pruned.float().mean().item()
    np.testing.assert_allclose(r.sparsity["weight"], share)
    np.testing.assert_allclose(r.mask_mean["weight"], 1 - share)


def test_soft_masks_report_zeros_and_mask_mean() -> None:
    r = train(None, xor(), seed=0, steps=6, update=False, pruning=PruneSpec("tril", f=0.8))
    lower = 15  # strictly below the diagonal of the (6, 6) square part
    np.testing.assert_allclose(r.sparsity["weight"], 0.0)
    np.testing.assert_allclose(r.mask_mean["weight"], 1 - 0.8 * lower / 48)
    # in place: the damping compounds, (1 - f)^steps below the diagonal
    w0, w = r.start_params["weight"], r.end_params["weight"]
    factor = torch.ones(6, 8)
    factor[torch.ones(6, 8).tril(-1).bool()] = 0.2**6
    torch.testing.assert_close(w, w0 * factor, rtol=1e-5, atol=1e-12)


def test_reparametrize_damps_once_and_freezes_masked_entries() -> None:
    r = train(None, xor(), seed=0, steps=6, update=False, mode="reparametrize",
              pruning=PruneSpec("tril", f=0.8))
    w0, w = r.start_params["weight"], r.end_params["weight"]
    factor = torch.ones(6, 8)
    factor[torch.ones(6, 8).tril(-1).bool()] = 0.2
    torch.testing.assert_close(w, w0 * factor, rtol=1e-6, atol=0)
    assert hasattr(r.model, "weight_orig") and hasattr(r.model, "weight_mask")

    t = train(None, xor(), seed=1, steps=30, mode="reparametrize",
              pruning=PruneSpec("topk", k=0.5))
    start = t.start_params["weight"]
    flat = start.abs().flatten()
    kept = torch.zeros(48, dtype=torch.bool)
    kept[torch.topk(flat, 24).indices] = True
    kept = kept.reshape(6, 8)
    assert torch.equal(t.end_params["weight"] != 0, kept)  # the initial mask, never changed
    # masked entries got no gradient, so Adam never moved weight_orig there
    orig = t.model.weight_orig.detach()
    assert torch.equal(orig[~kept], start[~kept])
    assert not torch.equal(orig[kept], start[kept])


def test_in_place_pruned_entries_can_regrow() -> None:
    r = train(None, xor(), seed=1, steps=1, pruning=PruneSpec("topk", k=0.5))
    first_zeros = r.end_params["weight"] == 0
    r = train(None, xor(), seed=1, steps=300, pruning=PruneSpec("topk", k=0.5))
    end_zeros = r.end_params["weight"] == 0
    assert int(first_zeros.sum()) == int(end_zeros.sum()) == 24
    assert not torch.equal(first_zeros, end_zeros)  # some entry pruned at step 1 came back


def test_reparametrized_dynamic_topk_is_gradual() -> None:
    r = train(None, xor(), seed=2, steps=40, mode="reparametrize",
              pruning=PruneSpec("dyn_topk", k=0.5))
    keep = np.array([math.floor(round((1 - 0.5 * _sin4(i / 40)) * 48, 9)) for i in range(40)])
    np.testing.assert_allclose(r.mask_mean["weight"], keep / 48)
    assert np.all(np.diff(r.sparsity["weight"]) >= 0)


def test_orderedness_interval_matches_shorter_runs() -> None:
    spec = PruneSpec("topk", k=0.6)  # static: the first k steps do not depend on the length
    r = train(None, xor(), seed=5, steps=30, orderedness_every=10, pruning=spec)
    assert r.orderedness_steps.tolist() == [0, 10, 20, 30]
    for k, value in zip((10, 20), r.orderedness[1:3], strict=True):
        short = train(None, xor(), seed=5, steps=k, pruning=spec)
        assert value == pytest.approx(short.end_orderedness, abs=1e-6)
        assert short.end_orderedness == pytest.approx(ordering(short.model).value, abs=1e-12)
    assert r.orderedness[-1] == r.end_orderedness == r.end.value
    assert np.all(r.orderedness_lower <= r.orderedness + 1e-12)
    assert np.all(r.orderedness_upper >= r.orderedness - 1e-12)


def test_untrained_keeps_weights_without_pruning() -> None:
    r = train(None, xor(), seed=0, steps=10, update=False)
    assert torch.equal(r.start_params["weight"], r.end_params["weight"])
    assert np.all(r.loss == r.loss[0])
    assert r.change == 0.0 and r.sparsity == {}


# --------------------------------------------------------------------------- seeds


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    kw = dict(epochs=2, pruning=[PruneSpec("random", p=0.3), PruneSpec("dyn_topk", k=0.5)],
              orderedness_every=5)
    a = train(None, sine(hidden=4), seed=9, **kw)
    b = train(None, sine(hidden=4), seed=9, **kw)
    c = train(None, sine(hidden=4), seed=10, **kw)
    assert np.array_equal(a.loss, b.loss) and np.array_equal(a.orderedness, b.orderedness)
    assert torch.equal(a.end_params["weight"], b.end_params["weight"])
    assert not np.array_equal(a.loss, c.loss)


def test_seed_streams_are_independent_generators() -> None:
    g = seed_generators(12)
    init, data, prune_ = _generators(12)
    for mine, theirs in zip(g, (init, data, prune_), strict=True):
        assert mine.initial_seed() == theirs.initial_seed()
    assert len({x.initial_seed() for x in g}) == 3


def test_factory_using_global_rng_is_seeded_and_global_state_kept() -> None:
    def mlp(generator=None):
        return nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())

    state = torch.random.get_rng_state()
    a = train(mlp, xor(), seed=1, steps=5)
    b = train(mlp, xor(), seed=1, steps=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.array_equal(a.loss, b.loss)
    assert a.end_orderedness == 1.0  # an MLP is perfectly ordered
    runs = train_seeds(mlp, xor(), [1, 2], steps=5)
    assert not runs.batched
    assert np.array_equal(runs[0].loss, a.loss)


@pytest.mark.parametrize("mode", ["in_place", "reparametrize"])
def test_submodule_parameter_of_an_mlp(mode) -> None:
    def mlp(generator=None):
        return nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())

    r = train(mlp, xor(), seed=0, steps=5, mode=mode, pruning=PruneSpec("topk", name="0.weight",
                                                                        k=0.25))
    assert r.final_sparsity == {"0.weight": 0.75}  # k is the fraction kept
    assert int((r.end_params["0.weight"] != 0).sum()) == 2
    assert sorted(r.end_params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert r.end_orderedness == 1.0


@pytest.mark.parametrize(
    ("task", "kw"),
    [
        (xor(), dict(steps=30, pruning=[PruneSpec("dyn_topk", k=0.5)])),
        (xor(), dict(steps=30, pruning=[PruneSpec("random", p=0.5), PruneSpec("tril", f=0.3)])),
        (sine(hidden=4), dict(epochs=2, pruning=[PruneSpec("dyn_tril", f=0.8)],
                              orderedness_every=7)),
        (sine(hidden=4), dict(epochs=1, mode="reparametrize",
                              pruning=[PruneSpec("random", p=0.3), PruneSpec("dyn_topk", k=0.4)])),
        (xor(), dict(steps=20, loss=F.l1_loss,
                     optimizer=functools.partial(torch.optim.SGD, lr=0.5, momentum=0.9))),
    ],
    ids=["xor-dyn_topk", "xor-random+tril", "sine-dyn_tril", "sine-reparam", "l1-sgd"],
)
def test_batched_seeds_equal_separate_runs(task, kw) -> None:
    seeds = [0, 5, 17]
    runs = train_seeds(None, task, seeds, **kw)
    assert runs.batched and isinstance(runs, SeedRuns)
    for s, run in zip(seeds, runs, strict=True):
        alone = train(None, task, seed=s, **kw)
        assert run.seed == s
        np.testing.assert_allclose(run.loss, alone.loss, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(run.orderedness, alone.orderedness, atol=1e-5)
        assert run.orderedness_steps.tolist() == alone.orderedness_steps.tolist()
        for name in alone.sparsity:
            np.testing.assert_allclose(run.sparsity[name], alone.sparsity[name], atol=1e-12)
            np.testing.assert_allclose(run.mask_mean[name], alone.mask_mean[name], atol=1e-7)
        for name, value in alone.end_params.items():
            torch.testing.assert_close(run.end_params[name], value, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(run.model.weight, alone.end_params["weight"], rtol=1e-4,
                                   atol=1e-5)
    np.testing.assert_allclose(runs.change, runs.end - runs.start)
    assert runs.loss.shape == (3, runs[0].steps)


def test_stop_loss_batched_equals_separate() -> None:
    free = train_seeds(None, xor(), [0, 1, 2], steps=60, batched=False)
    threshold = float(np.median(free.loss[:, 40]))
    expected = [int(np.argmax(row < threshold)) + 1 if (row < threshold).any() else 60
                for row in free.loss]
    assert len(set(expected)) > 1  # the seeds stop at different steps
    runs = train_seeds(None, xor(), [0, 1, 2], steps=60, stop_loss=threshold,
                       pruning=PruneSpec("topk", k=0.7), orderedness_every=20)
    assert runs.batched
    for s, run in enumerate(runs):
        alone = train(None, xor(), seed=s, steps=60, stop_loss=threshold,
                      pruning=PruneSpec("topk", k=0.7), orderedness_every=20)
        assert run.steps == alone.steps
        assert run.stopped_early == alone.stopped_early == (alone.steps < 60)
        np.testing.assert_allclose(run.loss, alone.loss, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(run.end_params["weight"], alone.end_params["weight"],
                                   rtol=1e-4, atol=1e-5)
        assert run.orderedness_steps.tolist() == alone.orderedness_steps.tolist()
        assert run.end_orderedness == pytest.approx(alone.end_orderedness, abs=1e-5)
    unpruned = train(None, xor(), seed=0, steps=60, stop_loss=threshold)
    assert unpruned.steps == expected[0]
    assert np.isnan(runs.loss[np.argmin([r.steps for r in runs]), -1])


def test_seed_runs_arrays_and_untrained_setting() -> None:
    runs = train_seeds(None, xor(), 4, epochs=10, update=False,
                       pruning=PruneSpec("tril", f=0.8))
    assert runs.seeds == [0, 1, 2, 3]
    assert runs.start.shape == runs.end.shape == (4,)
    assert np.all(runs.end > runs.start)
    for run in runs:
        ref = CompletePerceptron(2, 5, 1, generator=torch.Generator().manual_seed(run.seed))
        assert run.start_orderedness == pytest.approx(ordering(ref).value, abs=1e-12)
    d = runs.to_dict()
    assert len(d["runs"]) == 4 and d["runs"][0]["orderedness_steps"] == [0, 10]


def test_undefined_orderedness_is_nan_with_warning() -> None:
    make = xor().model_factory(hidden=2)
    with pytest.warns(RuntimeWarning, match="undefined"):
        r = train(make, xor(), seed=0, steps=3, update=False, pruning=PruneSpec("topk", k=0.0))
    assert np.isnan(r.end_orderedness) and r.end is None
    assert not np.isnan(r.start_orderedness)


def test_float64_model_and_custom_data() -> None:
    x = torch.rand(12, 3, generator=torch.Generator().manual_seed(0))
    y = x.sum(dim=1, keepdim=True) / 3
    make = functools.partial(CompletePerceptron, 3, 2, 1, dtype=torch.float64)
    r = train(make, (x, y), seed=0, epochs=3, batch_size=5, shuffle=True)
    assert r.steps == 9 and r.end_params["weight"].dtype == torch.float64


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        (dict(pruning=PruneSpec("topk", name="weights", k=0.5)), ValueError, "lacks"),
        (dict(pruning=PruneSpec("tril", name="initial_state", f=0.5), steps=3), None, None),
        (dict(epochs=2, steps=3), ValueError, "disagree"),
        (dict(steps=0), ValueError, "steps"),
        (dict(progress="epochs"), ValueError, "progress must be one of"),
        (dict(progress=lambda i, n: 1.5), ValueError, r"\[0, 1\]"),
        (dict(orderedness_every=0), ValueError, "orderedness_every"),
        (dict(orderedness_every=-2), ValueError, "orderedness_every"),
        (dict(log_every=0), ValueError, "log_every"),
        (dict(mode="torch"), ValueError, "mode"),
        (dict(loss="mae"), ValueError, "loss"),
        (dict(loss=lambda p, t: (p - t) ** 2), ValueError, "scalar"),
        (dict(stop_loss=-1.0), ValueError, "stop_loss"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(pruning="topk"), TypeError, "PruneSpec"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(threads=0), ValueError, "threads"),
        (dict(optimizer=torch.optim.Adam([torch.zeros(1, requires_grad=True)])), TypeError,
         "factory"),
        (dict(optimizer=torch.optim.LBFGS), TypeError, "closure"),
    ],
)
def test_bad_arguments_fail_before_training(tmp_path, kw, error, match) -> None:
    log_dir = tmp_path / "runs"
    kw = {"steps": 4, **kw}
    if error is None:  # a valid call for contrast: it does create the directory
        train(None, xor(), log_dir=log_dir, **kw)
        assert log_dir.exists()
        return
    with pytest.raises(error, match=match):
        train(None, xor(), log_dir=log_dir, **kw)
    assert not log_dir.exists()


def test_progress_epoch_needs_whole_epochs(tmp_path) -> None:
    with pytest.raises(ValueError, match="whole epochs"):
        train(None, sine(hidden=2), steps=20, pruning=PruneSpec("dyn_topk", k=0.5),
              log_dir=tmp_path / "a")
    assert not (tmp_path / "a").exists()
    r = train(None, sine(hidden=2), steps=20, progress="step", measure_orderedness=False)
    assert r.steps == 20 and r.start is None


def test_wrong_data_width_fails_before_training(tmp_path) -> None:
    x, y = xor().inputs, xor().targets
    make = xor().model_factory()
    for data, match in [((torch.cat([x, x], 1), y), "in_features"),
                        ((x, torch.cat([y, y], 1)), "out_features"),
                        ((x, y[:, 0]), r"reshape 1-D"),
                        ((x[:3], y), "same number")]:
        with pytest.raises(ValueError, match=match):
            train(make, data, steps=2, log_dir=tmp_path / "w")
        assert not (tmp_path / "w").exists()
    with pytest.raises(ValueError, match="width"):  # a model without in_features
        train(lambda generator: nn.Sequential(nn.Linear(3, 1)), (x, y), steps=2,
              log_dir=tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_bad_seed_lists_and_batching(tmp_path) -> None:
    with pytest.raises(ValueError, match="distinct"):
        train_seeds(None, xor(), [1, 1], steps=2, log_dir=tmp_path / "s")
    with pytest.raises(ValueError, match="batched=True"):
        train_seeds(lambda generator: nn.Sequential(nn.Linear(2, 1)), xor(), 2, steps=2,
                    batched=True, log_dir=tmp_path / "s")
    with pytest.raises(ValueError, match="lacks"):
        train_seeds(None, xor(), 3, steps=2, pruning=PruneSpec("topk", name="bias", k=0.5),
                    log_dir=tmp_path / "s")
    with pytest.raises(TypeError, match="factory"):
        train_seeds(CompletePerceptron(2, 5, 1), xor(), 2, steps=2)
    assert not (tmp_path / "s").exists()


def test_bad_prune_specs() -> None:
    with pytest.raises(ValueError, match="scheme must be one of"):
        PruneSpec("magnitude", k=0.5)
    with pytest.raises(ValueError, match=r"k must be in \[0, 1\]"):
        PruneSpec("topk", k=1.5)
    with pytest.raises(TypeError, match="needs its parameter 'f'"):
        PruneSpec("tril")
    with pytest.raises(TypeError, match="unexpected"):
        PruneSpec("topk", p=0.5, k=0.5)
    with pytest.raises(TypeError, match="progress"):
        PruneSpec("dyn_topk", k=0.5, progress=0.3)
    assert PruneSpec(DynamicTopK, k=0.5, schedule="cubic") == PruneSpec("dyn_topk", k=0.5,
                                                                         schedule="cubic")
    with pytest.raises(ValueError, match="reparametrised"):
        layer = CompletePerceptron(2, 2, 1)
        torch.nn.utils.prune.identity(layer, "weight")
        train(layer, xor(), steps=2, pruning=PruneSpec("topk", k=0.5))


def test_tril_on_a_vector_parameter_is_refused() -> None:
    make = functools.partial(CompletePerceptron, 2, 3, 1, bias=True)
    with pytest.raises(ValueError, match="2-D"):
        train(lambda generator: nn.Linear(2, 1), xor(), steps=2,
              pruning=PruneSpec("tril", name="bias", f=0.5))
    r = train(make, xor(), steps=2, pruning=PruneSpec("topk", name="bias", k=0.5))
    assert isinstance(r, TrainResult) and r.final_sparsity == {"bias": 0.5}


def test_threads_are_set_for_the_run_only(monkeypatch) -> None:
    before = torch.get_num_threads()
    seen = []

    def loss(pred, target):
        seen.append(torch.get_num_threads())
        return F.mse_loss(pred, target)

    a = train(None, xor(), seed=0, steps=3, loss=loss)  # "auto": a small model, one thread
    assert seen[-1] == 1 and torch.get_num_threads() == before
    b = train(None, xor(), seed=0, steps=3, loss=loss, threads=None)
    assert seen[-1] == before
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-6)
    monkeypatch.setattr("torch_orderedness.training.api.SMALL_MODEL", 47)  # XOR's layer has 54
    train(None, xor(), seed=0, steps=1, loss=loss)
    assert seen[-1] == before
    with pytest.raises(TypeError, match="threads"):
        train(None, xor(), steps=1, threads="many")
    with pytest.raises(ValueError, match="threads"):
        train(None, xor(), steps=1, threads=0)


def test_nan_loss_is_an_error() -> None:
    x, y = xor().inputs, xor().targets
    bad = functools.partial(torch.optim.SGD, lr=float("inf"))
    with pytest.raises(FloatingPointError, match="seed"):
        train(xor().model_factory(), (x, y), steps=5, optimizer=bad, measure_orderedness=False)
    with pytest.raises(FloatingPointError, match=r"seed\(s\) \[0, 1\]"):
        train_seeds(None, xor(), 2, steps=5, optimizer=bad, pruning=PruneSpec("topk", k=0.5))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_runs_match_cpu_runs(tmp_path) -> None:
    kw = dict(epochs=1, pruning=[PruneSpec("random", p=0.3), PruneSpec("dyn_topk", k=0.5)],
              orderedness_every=5)
    cpu = train_seeds(None, sine(hidden=4), [0, 1, 2], **kw)
    gpu = train_seeds(None, sine(hidden=4), [0, 1, 2], device="cuda", log_dir=tmp_path, **kw)
    np.testing.assert_allclose(gpu.loss, cpu.loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gpu.end, cpu.end, atol=1e-4)
    assert gpu.model.weight.device.type == "cuda"
    assert gpu[0].end_params["weight"].device.type == "cpu"
    cuda_state = torch.cuda.get_rng_state()
    one = train(None, xor(), seed=3, steps=5, device="cuda", pruning=PruneSpec("tril", f=0.5))
    ref = train(None, xor(), seed=3, steps=5, pruning=PruneSpec("tril", f=0.5))
    np.testing.assert_allclose(one.loss, ref.loss, rtol=1e-4, atol=1e-6)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_state)  # the caller's CUDA RNG too


# ------------------------------------------------------------- what a call leaves behind


def test_a_run_failing_in_its_first_step_leaves_no_log_directory(tmp_path) -> None:
    calls = []

    def loss(pred, target):  # passes the dry run, fails in the first training step
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("loss failed")
        return F.mse_loss(pred, target)

    with pytest.raises(RuntimeError, match="loss failed"):
        train(None, xor(), steps=3, loss=loss, log_dir=tmp_path / "new" / "run")
    assert not (tmp_path / "new").exists()  # everything this call created is gone
    calls.clear()
    with pytest.raises(RuntimeError, match="loss failed"):
        train_seeds(None, xor(), 2, steps=3, loss=loss, log_dir=tmp_path / "seeds")
    assert not (tmp_path / "seeds").exists()
    # a directory that was there before stays, and so do the logs of a run that got going
    (tmp_path / "mine").mkdir()
    calls.clear()
    with pytest.raises(RuntimeError, match="loss failed"):
        train(None, xor(), steps=3, loss=loss, log_dir=tmp_path / "mine")
    assert (tmp_path / "mine").is_dir()
    calls.clear()

    def late(pred, target):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("late failure")
        return F.mse_loss(pred, target)

    with pytest.raises(RuntimeError, match="late failure"):
        train(None, xor(), steps=5, loss=late, log_dir=tmp_path / "late")
    assert any((tmp_path / "late").iterdir())


def test_a_seeded_cpu_run_leaves_the_cuda_generators_alone(monkeypatch) -> None:
    # torch.manual_seed also seeds every CUDA device (queued while CUDA is not initialised),
    # which fork_rng(devices=[]) does not restore: a CPU run must seed only the CPU generator
    calls: list[str] = []
    for name in ("manual_seed", "manual_seed_all"):
        monkeypatch.setattr(torch.cuda, name, lambda seed, name=name: calls.append(name))
    train(_dropout_mlp, xor(), seed=0, steps=3, measure_orderedness=False)
    train_seeds(xor().model_factory(hidden=2), xor(), [0, 1], steps=3)
    assert calls == []


def _dropout_mlp(generator=None):
    return nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.5), nn.Sigmoid(), nn.Linear(16, 1))


def test_a_seed_also_fixes_the_global_rng_during_training() -> None:
    before = torch.random.get_rng_state()
    a = train(_dropout_mlp, xor(), seed=0, steps=20, measure_orderedness=False)
    b = train(_dropout_mlp, xor(), seed=0, steps=20, measure_orderedness=False)
    c = train(_dropout_mlp, xor(), seed=1, steps=20, measure_orderedness=False)
    np.testing.assert_array_equal(a.loss, b.loss)  # dropout draws repeat with the seed
    assert not np.array_equal(a.loss, c.loss)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's RNG is untouched
    runs = train_seeds(_dropout_mlp, xor(), [0, 1], steps=20, measure_orderedness=False)
    np.testing.assert_array_equal(runs[0].loss, a.loss)
    np.testing.assert_array_equal(runs[1].loss, c.loss)


def test_the_checks_before_training_do_not_change_the_model() -> None:
    def bn_mlp(generator=None):
        return nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Sigmoid(), nn.Linear(4, 1))

    r = train(bn_mlp, xor(), seed=0, steps=3, measure_orderedness=False)
    bn = r.model[1]
    assert int(bn.num_batches_tracked) == 3  # the training steps only, not the dry run
    assert r.model.training and bn.training


def test_orderedness_options_reach_every_measurement(tmp_path) -> None:
    r = train(None, xor(), seed=0, steps=4, orderedness_every=2,
              orderedness_options={"method": "heuristic", "seed": 3})
    assert r.start.method == r.end.method == "heuristic"
    assert r.start == ordering(r.start_params["weight"], outputs=1, inputs=2, method="heuristic",
                               seed=3)
    exact = train(None, xor(), seed=0, steps=4, orderedness_every=2)
    assert exact.start.method == "exact"
    # the heuristic finds the exact optimum on 5 hidden neurons; its bound may be looser
    np.testing.assert_allclose(r.orderedness, exact.orderedness, rtol=0, atol=1e-12)
    assert np.all(r.orderedness_upper >= exact.orderedness_upper - 1e-12)
    for bad, error in [({"outputs": 2}, ValueError), ({"method": "fast"}, ValueError),
                       ({"time_limit": 0}, ValueError), (["method"], TypeError)]:
        with pytest.raises(error, match="orderedness_options|method|time_limit"):
            train(None, xor(), steps=2, orderedness_options=bad, log_dir=tmp_path / "o")
        assert not (tmp_path / "o").exists()


def test_a_failed_run_removes_only_its_own_event_files(tmp_path) -> None:
    # a run that fails in its first step into an existing log_dir leaves nothing of its own ...
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="first step"):
        train(None, xor(), steps=3, loss=_fails_in_step(1), log_dir=tmp_path / "shared")
    assert [p.name for p in (tmp_path / "shared").iterdir()] == ["notes.txt"]
    # ... and a directory it created that another writer used meanwhile stays, with that
    # writer's finished logs (process B ran a whole run into it while A was failing)
    target = tmp_path / "new"
    other_ran = []

    def other_writer_then_fail(pred, target_):  # noqa: ANN001, ANN202
        if not other_ran:
            other_ran.append(train(None, xor(), steps=2, log_dir=target))
        raise RuntimeError("first step")

    with pytest.raises(RuntimeError, match="first step"):
        train(None, xor(), steps=3, loss=_fails_after_dry_run(other_writer_then_fail),
              log_dir=target)
    files = list(target.iterdir())
    assert len(files) == 2  # B's event file and B's hparams file; A's own is gone
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(target))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == [1, 2]  # B's finished run


def _fails_in_step(step: int):  # noqa: ANN202
    calls = []

    def loss(pred, target):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) > step:  # the first call is the dry run
            raise RuntimeError("first step")
        return F.mse_loss(pred, target)

    return loss


def _fails_after_dry_run(then):  # noqa: ANN001, ANN202
    calls = []

    def loss(pred, target):  # noqa: ANN001, ANN202
        calls.append(1)
        return F.mse_loss(pred, target) if len(calls) == 1 else then(pred, target)

    return loss


def test_train_seeds_checks_every_log_target_before_writing_any(tmp_path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "seed_1").write_text("a file where a directory would go")
    with pytest.raises(ValueError, match="seed_1.*not a directory"):
        train_seeds(None, xor(), [0, 1], steps=2, log_dir=tmp_path / "runs")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["seed_1"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        train(None, xor(), steps=2, log_dir=tmp_path / "file" / "below")


def test_a_nan_loss_stops_the_run_at_that_step_and_keeps_the_logs(tmp_path) -> None:
    calls = []

    def loss(pred, target):  # noqa: ANN001, ANN202
        calls.append(1)
        value = F.mse_loss(pred, target)
        return value * float("nan") if len(calls) == 5 else value  # step 4 (after the dry run)

    with pytest.raises(FloatingPointError, match="at step 4 .seed 0.; training stopped"):
        train(None, xor(), seed=0, steps=300, loss=loss, log_dir=tmp_path / "nan")
    assert len(calls) == 5  # stopped at once, not after 300 steps
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "nan"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == [1, 2, 3]  # what came before is kept
    assert all(math.isfinite(e.value) for e in acc.Scalars("loss"))
    assert [e.step for e in acc.Scalars("orderedness/value")] == [0]


def test_nothing_touches_the_model_before_everything_is_checked() -> None:
    layer = CompletePerceptron(2, 5, 1, generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    with pytest.raises(ValueError, match="lacks"):
        train(layer, xor(), steps=2, device="meta", pruning=[PruneSpec("topk", "wieght", k=0.5)])
    assert layer.weight.device.type == "cpu"
    for k, v in layer.state_dict().items():
        assert torch.equal(v, before[k])


def test_the_callers_global_rng_is_left_alone() -> None:
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    xor().model_factory()  # checks its options by building a layer
    train(None, xor(), seed=0, steps=3)
    train_seeds(None, xor(), 2, steps=3)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_float16_trains_without_nan_and_says_why_when_eps_underflows() -> None:
    make = xor().model_factory(dtype=torch.float16)
    r = train(make, xor(), seed=0, steps=50, measure_orderedness=False)
    assert np.isfinite(r.loss).all() and r.final_loss < r.loss[0]
    assert r.model.weight.dtype == torch.float16
    tiny_eps = functools.partial(torch.optim.Adam, lr=0.01, eps=1e-8)  # 0 in float16
    with pytest.raises(FloatingPointError, match="float16.*eps"):
        train(make, xor(), seed=0, steps=50, optimizer=tiny_eps, measure_orderedness=False)


# --------------------------------------------------------------------------- data loaders


def test_a_data_loader_in_order_gives_the_run_on_tensors() -> None:
    task = sine(hidden=4)
    loader = DataLoader(TensorDataset(task.inputs, task.targets), batch_size=10)
    spec = [PruneSpec("dyn_topk", k=0.5)]
    a = train(task.model_factory(), loader, seed=3, epochs=2, pruning=spec, orderedness_every=5)
    b = train(task.model_factory(), task, seed=3, epochs=2, shuffle=False, pruning=spec,
              orderedness_every=5)
    assert a.steps == b.steps == 30
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.orderedness, b.orderedness)
    np.testing.assert_array_equal(a.progress, b.progress)  # epoch / epochs from len(loader)


def test_a_loader_replays_recorded_batch_orders_once_per_epoch() -> None:
    task = sine(hidden=3)
    orders = [torch.randperm(150, generator=torch.Generator().manual_seed(e)) for e in range(3)]

    class Replay(torch.utils.data.Sampler):
        def __init__(self) -> None:
            self.epoch = 0

        def __len__(self) -> int:
            return 150

        def __iter__(self):  # noqa: ANN204
            order = orders[self.epoch]
            self.epoch += 1
            return iter(order.tolist())

    loader = DataLoader(TensorDataset(task.inputs, task.targets), batch_size=10,
                        sampler=Replay())
    r = train(task.model_factory(), loader, seed=0, epochs=3)
    # the literal loop over the same orders
    model = task.model(generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for order in orders:
        for j in range(0, 150, 10):
            idx = order[j:j + 10]
            opt.zero_grad()
            loss = F.mse_loss(model(task.inputs[idx]), task.targets[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(r.loss, losses, rtol=1e-6)
    torch.testing.assert_close(r.model.weight, model.weight)


def test_loader_batches_with_class_labels_and_a_custom_loss() -> None:
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    labels = (x[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(x, labels), batch_size=8)
    make = functools.partial(CompletePerceptron, 3, 4, 2)
    r = train(make, loader, seed=1, epochs=5, loss=F.cross_entropy,
              pruning=[PruneSpec("topk", k=0.6)])
    assert r.steps == 25 and r.final_loss < r.loss[0]
    with pytest.raises(ValueError, match="the data loader's own"):
        train(make, loader, steps=2, batch_size=4)
    with pytest.raises(TypeError, match="length"):
        train(make, (b for b in loader), steps=2)
    with pytest.raises(TypeError, match="not a pair"):
        train(make, [torch.ones(3), torch.ones(3), torch.ones(3)], steps=2, progress="step",
              loss=F.cross_entropy)


def test_batched_seeds_share_a_loaders_batches() -> None:
    task = xor()
    loader = DataLoader(TensorDataset(task.inputs, task.targets), batch_size=4)
    runs = train_seeds(None, task, [0, 1], steps=20)
    from_loader = train_seeds(task.model_factory(), loader, [0, 1], steps=20)
    assert from_loader.batched
    np.testing.assert_allclose(from_loader.loss, runs.loss, rtol=1e-6)  # XOR: one fixed batch


# --------------------------------------------------------------------------- fixed Random masks


def test_a_fixed_random_mask_is_used_for_every_seed() -> None:
    mask = (torch.rand(6, 8, generator=torch.Generator().manual_seed(9)) > 0.5).float()
    spec = PruneSpec("random", p=0.5, mask=mask)
    runs = train_seeds(None, xor(), [0, 1, 2], steps=30, pruning=[spec])
    for run in runs:
        assert torch.equal(run.end_params["weight"] == 0, mask == 0)
        alone = train(None, xor(), seed=run.seed, steps=30, pruning=[spec])
        torch.testing.assert_close(run.end_params["weight"], alone.end_params["weight"],
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="fixed mask has shape"):
        train(None, xor(), steps=2, pruning=[PruneSpec("random", p=0.5, mask=torch.ones(2, 2))])
    with pytest.raises(TypeError, match="only Random"):
        PruneSpec("topk", k=0.5, mask=mask)
    with pytest.raises(ValueError, match="0s and 1s"):
        PruneSpec("random", p=0.5, mask=mask * 0.5)


def test_without_the_metric_any_model_still_logs_its_parameters() -> None:
    def bn_mlp(generator=None):  # noqa: ANN001, ANN202
        return nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Sigmoid(), nn.Linear(4, 1))

    seen = []

    class Log:
        def log_scalars(self, step, values):  # noqa: ANN001, ANN202
            pass

        def log_parameters(self, step, params):  # noqa: ANN001, ANN202
            seen.append((step, sorted(params)))

        def log_ordering(self, step, weight, permutation):  # noqa: ANN001, ANN202
            raise AssertionError("nothing was measured")

        def log_hparams(self, hparams, metrics):  # noqa: ANN001, ANN202
            pass

        def close(self) -> None:
            pass

    train(bn_mlp, xor(), seed=0, steps=3, measure_orderedness=False, logger=Log())
    names = ["0.bias", "0.weight", "1.bias", "1.weight", "3.bias", "3.weight"]
    assert seen == [(0, names), (3, names)]
    with pytest.raises(TypeError, match="measure_orderedness=False"):
        train(bn_mlp, xor(), seed=0, steps=3)
