"""torch_orderedness.training.pruner: the in-place pruner and the progress scheduler.

Against literal formulas, and the checkpoint round trip a resumed run relies on.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracles import literal_topk_mask
from torch import nn
from torch.nn.utils import prune

from torch_orderedness import (
    CompletePerceptron,
    DynamicTopK,
    InPlacePruner,
    PruningScheduler,
    RandomPrune,
    TopK,
    TrilDamp,
    sine,
    sparsity,
    topk_prune,
)

# --------------------------------------------------------------------------- in place


def test_inplace_tril_damp_compounds_each_step() -> None:
    layer = nn.Linear(5, 5, bias=False, dtype=torch.float64)
    w = layer.weight.detach().clone()
    pruner = InPlacePruner(layer, "weight", TrilDamp, f=0.5)
    for _ in range(4):
        pruner.step()
    expected = w.clone()
    for _ in range(4):
        expected = expected - 0.5 * torch.tril(expected, -1)
    torch.testing.assert_close(layer.weight.detach(), expected)


def test_inplace_random_mask_is_fixed_and_weights_can_regrow() -> None:
    layer = nn.Linear(20, 20, bias=False)
    pruner = InPlacePruner(
        layer, "weight", RandomPrune, p=0.5, generator=torch.Generator().manual_seed(0)
    )
    first = pruner.step().clone()
    with torch.no_grad():
        layer.weight.add_(1.0)  # a "gradient step" regrows pruned weights
    assert sparsity(layer.weight) == 0.0
    second = pruner.step()
    assert torch.equal(first, second)
    assert torch.equal(layer.weight != 0, first.bool())


def test_inplace_dynamic_topk_follows_progress() -> None:
    layer = nn.Linear(10, 10, bias=False)
    pruner = InPlacePruner(layer, "weight", DynamicTopK, k=0.5)
    pruner.step(progress=0.0)
    assert sparsity(layer.weight) == 0.0
    pruner.step(progress=0.5)
    assert int((layer.weight != 0).sum()) == math.floor(100 * (1 - 0.5 * 0.25) + 1e-9)
    pruner.step(progress=1.0)
    assert int((layer.weight != 0).sum()) == 50
    with pytest.raises(ValueError, match="progress"):
        pruner.step()


def test_inplace_batch_dims_per_seed() -> None:
    w = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(0))
    holder = nn.Module()
    holder.weight = nn.Parameter(w.clone())
    InPlacePruner(holder, "weight", TopK, k=0.5, batch_dims=1).step()
    for s in range(3):
        assert torch.equal(holder.weight[s].detach(), w[s] * literal_topk_mask(w[s], 0.5))


def test_inplace_pruner_bad_input() -> None:
    layer = nn.Linear(3, 3)
    with pytest.raises(TypeError, match="method"):
        InPlacePruner(layer, "weight", prune.L1Unstructured, amount=0.5)
    with pytest.raises(AttributeError, match="no parameter"):
        InPlacePruner(layer, "weights", TopK, k=0.5)
    with pytest.raises(ValueError, match="k must be in"):
        InPlacePruner(layer, "weight", TopK, k=1.5)
    with pytest.raises(ValueError, match="2-D"):
        InPlacePruner(layer, "bias", TrilDamp, f=0.5)
    with pytest.raises(TypeError, match="progress"):
        InPlacePruner(layer, "weight", DynamicTopK, k=0.5, progress=0.2)
    topk_prune(layer, "weight", k=0.5)
    with pytest.raises(ValueError, match="reparametrised"):
        InPlacePruner(layer, "weight", TopK, k=0.5)
    pruner = InPlacePruner(nn.Linear(3, 3), "weight", DynamicTopK, k=0.5)
    with pytest.raises(ValueError, match="progress must be in"):
        pruner.step(progress=1.2)


def test_inplace_pruner_refuses_a_parameter_reparametrised_after_it_was_built() -> None:
    layer = nn.Linear(4, 4, bias=False)
    pruner = InPlacePruner(layer, "weight", TrilDamp, f=1.0)
    topk_prune(layer, "weight", k=1.0)
    with pytest.raises(ValueError, match="reparametrised"):
        pruner.step()  # damping weight_orig would be a silent no-op through the hook


def test_inplace_random_checks_the_weight_at_every_step() -> None:
    layer = nn.Linear(4, 4, bias=False)
    pruner = InPlacePruner(layer, "weight", RandomPrune, p=0.5)
    pruner.step()
    with torch.no_grad():
        layer.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        pruner.step()


def test_inplace_topk_lets_pruned_weights_regrow_until_the_next_step() -> None:
    layer = nn.Linear(6, 6, bias=False)
    pruner = InPlacePruner(layer, "weight", TopK, k=0.5)
    first = pruner.step().clone()
    with torch.no_grad():
        layer.weight.add_(10.0 * (1 - first))  # a "gradient step" that favours pruned entries
    assert sparsity(layer.weight) == 0.0
    second = pruner.step()
    assert torch.equal(second, 1 - first)  # the regrown entries now win
    assert int(second.sum()) == 18



# --------------------------------------------------------------------------- checkpoints


def test_state_dict_holds_randoms_mask_and_the_steps() -> None:
    layer = nn.Linear(6, 6, bias=False)
    pruner = InPlacePruner(layer, "weight", RandomPrune, p=0.5,
                           generator=torch.Generator().manual_seed(1))
    assert pruner.state_dict() == {"mask": None, "steps": 0}
    mask = pruner.step().clone()
    pruner.step()
    state = pruner.state_dict()
    assert state["steps"] == 2 and torch.equal(state["mask"], mask)
    # a new pruner with another generator takes the saved mask instead of drawing
    other = InPlacePruner(layer, "weight", RandomPrune, p=0.5,
                          generator=torch.Generator().manual_seed(99))
    other.load_state_dict(state)
    assert torch.equal(other.step(), mask) and other.steps == 3
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict({"mask": torch.ones(3, 3), "steps": 0})
    with pytest.raises(ValueError, match="keeps no mask"):
        InPlacePruner(layer, "weight", TopK, k=0.5).load_state_dict({"mask": mask, "steps": 0})
    with pytest.raises(KeyError):
        other.load_state_dict({"steps": 1})


def _sine_run(steps: int, checkpoint_at: int | None = None, keep_pruner: bool = True
              ) -> torch.Tensor:
    """Train on Sine with Random (p=0.5) in place; optionally save everything at a step,
    build every object anew from the saved state (the pruner's only with ``keep_pruner``;
    without it the new pruner draws its mask from another generator), and go on."""
    task = sine()
    gen = torch.Generator().manual_seed(0)
    order = [torch.randperm(150, generator=gen) for _ in range(3)]
    batches = [(task.inputs[o[j:j + 10]], task.targets[o[j:j + 10]])
               for o in order for j in range(0, 150, 10)][:steps]

    def build(state=None):  # noqa: ANN001, ANN202
        model = CompletePerceptron(2, 8, 1, generator=torch.Generator().manual_seed(4))
        optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
        seed = 5 if state is None else 6
        pruner = InPlacePruner(model, "weight", RandomPrune, p=0.5,
                               generator=torch.Generator().manual_seed(seed))
        scheduler = PruningScheduler(pruner, total_steps=steps, steps_per_epoch=15)
        if state is not None:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            if keep_pruner:
                pruner.load_state_dict(state["pruner"])
            scheduler.load_state_dict(state["scheduler"])
        return model, optimiser, pruner, scheduler

    model, optimiser, pruner, scheduler = build()
    for k, (x, y) in enumerate(batches):
        if k == checkpoint_at:
            saved = {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                     "pruner": pruner.state_dict(), "scheduler": scheduler.state_dict()}
            saved = {key: _cloned(value) for key, value in saved.items()}
            model, optimiser, pruner, scheduler = build(saved)
        optimiser.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimiser.step()
        scheduler.step()
    return model.weight.detach().clone()


def _cloned(state):  # noqa: ANN001, ANN202
    import copy

    return copy.deepcopy(state)


def test_a_resumed_run_gives_the_weights_of_an_uninterrupted_one() -> None:
    whole = _sine_run(45)
    resumed = _sine_run(45, checkpoint_at=20)
    assert torch.equal(resumed, whole)
    # without the pruner's state the resumed run draws another mask and ends elsewhere
    assert not torch.equal(_sine_run(45, checkpoint_at=20, keep_pruner=False), whole)
    assert sparsity(whole) > 0.3


# --------------------------------------------------------------------------- the scheduler


def test_scheduler_feeds_the_progress_definitions() -> None:
    seen = []

    class Recorder:
        def step(self, progress):  # noqa: ANN001, ANN202
            seen.append(progress)

    for kind, expected in (("epoch", np.repeat([0.0, 0.5], 3)), ("step", np.arange(6) / 6),
                           ("done", np.arange(1, 7) / 6)):
        seen.clear()
        scheduler = PruningScheduler(Recorder(), total_steps=6, steps_per_epoch=3, progress=kind)
        for _ in range(6):
            scheduler.step()
        np.testing.assert_allclose(seen, expected)
        assert scheduler.last_step == 6 and scheduler.progress == expected[-1]
    seen.clear()
    scheduler = PruningScheduler([Recorder(), Recorder()], total_steps=4,
                                 progress=lambda i, n: (i / n) ** 2)
    scheduler.step()
    scheduler.step()
    assert seen == [0.0, 0.0, 1 / 16, 1 / 16]


def test_scheduler_bad_input() -> None:
    layer = nn.Linear(3, 3)
    pruner = InPlacePruner(layer, "weight", TopK, k=0.5)
    with pytest.raises(TypeError, match="pruners"):
        PruningScheduler(object(), total_steps=3)
    with pytest.raises(ValueError, match="total_steps"):
        PruningScheduler(pruner, total_steps=0)
    with pytest.raises(ValueError, match="whole epochs"):
        PruningScheduler(pruner, total_steps=10, steps_per_epoch=3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PruningScheduler(pruner, total_steps=3, progress=lambda i, n: 2.0)
    with pytest.raises(ValueError, match="progress must be one of"):
        PruningScheduler(pruner, total_steps=3, progress="later")
