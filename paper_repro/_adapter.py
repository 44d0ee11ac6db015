"""The one place where paper_repro calls the library's training loop and metric.

:func:`train_setting` turns a :class:`~paper_repro.runner.Setting` into one
call of :func:`torch_orderedness.train_seeds` (all seeds at once, as one
batched model) and the result into a :class:`~paper_repro.runner.Run`.
Nothing here trains, prunes or measures by itself.  (The reference replay,
:mod:`paper_repro.reference`, calls :func:`torch_orderedness.train` once per
recorded trial instead.)
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from paper_repro import paper_numbers as paper
from paper_repro.runner import Run, Setting

__all__ = ["train_setting", "shared_random_mask", "NULL_SHUFFLES"]

#: The metric's two null models: shuffle the nonzero magnitudes over the nonzero
#: positions ("pattern": the sparsity pattern kept), or over all positions ("all").
NULL_SHUFFLES: tuple[str, ...] = ("pattern", "all")


def _mlp_factory(hidden: int):  # noqa: ANN202
    """Appendix D's baseline: 2-hidden-1, sigmoid after each layer, bias.

    Built under the training loop's seeded global RNG (torch's default init).
    """

    def mlp() -> nn.Module:
        return nn.Sequential(nn.Linear(2, hidden), nn.Sigmoid(), nn.Linear(hidden, 1),
                             nn.Sigmoid())

    return mlp


def shared_random_mask(p: float, shape: Sequence[int], seed: int) -> torch.Tensor:
    """The one Random mask all seeds share with ``random_mask="shared"``: seed ``seed``'s own.

    It is the mask :func:`torch_orderedness.train_seeds` draws for ``seed``
    from that seed's ``prune`` generator (:func:`torch_orderedness.seed_generators`),
    so the first seed's run is the same in both protocols; the other seeds
    use it instead of their own draws (the paper's reference notebook
    shared one mask among the ten trials of a column).

    Args:
        p: probability that an entry is pruned.
        shape: the pruned weight's shape, ``(O+H, O+H+I)``.
        seed: the seed whose mask is shared (the setting's first seed).

    Returns:
        A 0/1 float tensor of ``shape`` (1 = kept).

    Example::

        >>> m = shared_random_mask(0.5, (6, 8), 3141592)
        >>> m.shape, sorted(set(m.flatten().tolist()))
        (torch.Size([6, 8]), [0.0, 1.0])
    """
    from torch_orderedness import RandomPrune, seed_generators

    weight = torch.zeros(tuple(shape))
    method = RandomPrune(p, generator=seed_generators(seed).prune)
    return method.compute_mask(weight, torch.ones_like(weight))


def _pruning(setting: Setting, seeds: Sequence[int], shape: tuple[int, int]) -> list:  # noqa: ANN202
    """The setting's scheme as a list of :class:`torch_orderedness.PruneSpec`."""
    from torch_orderedness import PruneSpec

    if setting.scheme == "none":
        return []
    params: dict[str, object] = {paper.SCHEME_PARAMETER[setting.scheme]: setting.amount}
    if setting.random_mask == "shared":
        params["mask"] = shared_random_mask(setting.amount, shape, seeds[0])
    return [PruneSpec(setting.scheme, **params)]


def _weight_shape(setting: Setting, task) -> tuple[int, int]:  # noqa: ANN001
    """``(O+H, O+H+I)``: the complete layer's weight for the setting's task and size."""
    outputs, inputs = task.targets.shape[1], task.inputs.shape[1]
    return outputs + setting.hidden, outputs + setting.hidden + inputs


def _null_draws(setting: Setting, seeds: Sequence[int], weights: list[torch.Tensor],
                ends: list[float]) -> dict[str, list[list[float]]]:
    """The metric's null model on every seed's final weight, for both shuffles.

    Each seed's copies are drawn from its own generator (seeded with the seed, anew for
    each shuffle), the draws of :func:`torch_orderedness.orderedness_null`; all copies of
    all seeds are then solved in one batched call (small matrices share one vectorised DP).
    """
    from torch_orderedness import neuron_graph, orderedness
    from torch_orderedness.metric import shuffle_square

    n = setting.null_samples
    null: dict[str, list[list[float]]] = {}
    for shuffle in NULL_SHUFFLES:
        copies, defined = [], []
        for seed, w, end in zip(seeds, weights, ends, strict=True):
            defined.append(end == end)  # NaN: no orderedness, no null
            if end != end:
                continue
            square = neuron_graph(w, outputs=1).matrices[0]
            gen = torch.Generator().manual_seed(seed)
            copies += list(shuffle_square(square, shuffle=shuffle, generator=gen, copies=n))
        values = iter(orderedness(np.stack(copies), outputs=1) if copies else ())
        null[shuffle] = [[float(next(values)) for _ in range(n)] if ok else [float("nan")] * n
                         for ok in defined]
    return null


def train_setting(setting: Setting, seeds: Sequence[int]) -> Run:
    """Train (or prune without training) ``setting`` for all ``seeds`` at once.

    One call of :func:`torch_orderedness.train_seeds`; "untrained" = XOR
    defaults with the scheme applied ``setting.steps`` times without gradient
    updates.  With ``setting.null_samples``, the metric's null model
    (:func:`torch_orderedness.orderedness_null`) is drawn on every final weight.

    Example::

        >>> r = train_setting(Setting("untrained", "default", "tril", 0.8, 5, 3, 10), [0, 1])
        >>> [round(e, 4) for e in r.end]   # ten compounding dampings: ordered
        [1.0, 1.0]
    """
    from torch_orderedness import get_task, sparsity, train_seeds

    seeds = list(seeds)
    t0 = time.perf_counter()
    task = get_task("xor" if setting.task == "untrained" else setting.task)
    if setting.model == "mlp":
        factory = _mlp_factory(setting.hidden)
    else:
        weight_init, state_init = paper.INITS[setting.init]
        factory = task.model_factory(hidden=setting.hidden, iterations=setting.iterations,
                                     weight_init=weight_init, state_init=state_init)
    with warnings.catch_warnings():
        # an all-zero square part (possible at sparsity 0.9) has no orderedness: the loop
        # records NaN and warns; the tables drop those seeds and print n
        warnings.filterwarnings("ignore", "orderedness is undefined", RuntimeWarning)
        runs = train_seeds(
            factory, task, seeds,
            steps=setting.steps,
            pruning=_pruning(setting, seeds, _weight_shape(setting, task)),
            update=setting.task != "untrained",
            stop_loss=setting.early_stop,
            # an MLP scores 1 (its weights lie above the diagonal in the from_mlp layout)
            measure_orderedness=True,
            progress_bar=False,
        )
    trained = setting.task != "untrained"
    weights = [r.end_params["weight"] for r in runs] if setting.model == "complete" else []
    trained_s = time.perf_counter() - t0
    null = None
    if setting.null_samples and setting.model == "complete":
        null = _null_draws(setting, seeds, weights, runs.end.tolist())
    return Run(
        setting=setting,
        seeds=seeds,
        start=runs.start.tolist(),
        end=runs.end.tolist(),
        final_loss=runs.final_loss.tolist() if trained else None,
        sparsity=[sparsity(w) for w in weights] if weights else None,
        null=null,
        loss_curve=[r.loss.tolist() for r in runs] if setting.record_loss else None,
        wall_s=time.perf_counter() - t0,
        extra={"train_s": trained_s,
               "null_s": time.perf_counter() - t0 - trained_s if null is not None else 0.0},
    )
