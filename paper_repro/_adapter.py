"""The one place where paper_repro calls the library's training loop and metric.

:func:`train` turns a :class:`~paper_repro.runner.Setting` into one call of
:func:`torch_orderedness.train_seeds` (all seeds at once, as one
batched model) and the result into a :class:`~paper_repro.runner.Run`.
Nothing here trains, prunes or measures by itself.
"""

from __future__ import annotations

import time
import warnings

import torch
from torch import nn

from paper_repro import paper_numbers as paper
from paper_repro.runner import Run, Setting

__all__ = ["train", "NULL_SHUFFLES"]

#: The metric's two null models: shuffle the nonzero magnitudes over the nonzero
#: positions ("pattern": the sparsity pattern kept), or over all positions ("all").
NULL_SHUFFLES: tuple[str, ...] = ("pattern", "all")

# the parameter name of each scheme in torch_orderedness.training.PruneSpec
_ARG = {"random": "p", "topk": "k", "dyn_topk": "k", "tril": "f", "dyn_tril": "f"}


def _mlp_factory(hidden: int):  # noqa: ANN202
    """Appendix D's baseline: 2-hidden-1, sigmoid after each layer, bias.

    Built under the training loop's seeded global RNG (torch's default init).
    """

    def mlp() -> nn.Module:
        return nn.Sequential(nn.Linear(2, hidden), nn.Sigmoid(), nn.Linear(hidden, 1),
                             nn.Sigmoid())

    return mlp


def train(setting: Setting, seeds: list[int]) -> Run:
    """Train ``setting`` for all ``seeds`` with :func:`torch_orderedness.train_seeds`."""
    from torch_orderedness import PruneSpec, get_task, orderedness_null, sparsity, train_seeds

    t0 = time.perf_counter()
    # "untrained" = XOR defaults with the scheme applied without gradient updates
    task = get_task("xor" if setting.task == "untrained" else setting.task)
    pruning = []
    if setting.scheme != "none":
        pruning.append(PruneSpec(setting.scheme, **{_ARG[setting.scheme]: setting.amount}))
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
            pruning=pruning,
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
        null = {shuffle: [] for shuffle in NULL_SHUFFLES}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "orderedness is undefined", RuntimeWarning)
            for seed, w, end in zip(seeds, weights, runs.end.tolist(), strict=True):
                for shuffle, draws in null.items():
                    if end != end:  # NaN: no orderedness, no null
                        draws.append([float("nan")] * setting.null_samples)
                        continue
                    gen = torch.Generator().manual_seed(seed)
                    model = orderedness_null(w, outputs=1, samples=setting.null_samples,
                                    generator=gen, shuffle=shuffle)
                    draws.append([float(v) for v in model.samples])
    return Run(
        setting=setting,
        seeds=list(seeds),
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
