"""torch_orderedness: complete perceptron layers, orderedness-inducing pruning, orderedness.

Public API:

- :class:`CompletePerceptron`: the paper's all-to-all, weight-tied recurrent
  layer, and :class:`PerceptronEnsemble` (``S`` of them run as one batch).
- Pruning schemes (``torch.nn.utils.prune`` methods): :class:`RandomPrune`,
  :class:`TopK`, :class:`DynamicTopK`, :class:`TrilDamp`,
  :class:`DynamicTrilDamp`, their functional helpers, the dynamic schedules,
  and :class:`InPlacePruner` for the paper's in-place application.
- The metric: :func:`orderedness`, :func:`ordering` (with its :class:`Ordering`
  result: the best order found and certified bounds), :func:`neuron_graph`,
  and the shuffled-weights null model :func:`orderedness_null`
  (:class:`NullModel`).  Solvers and bounds: :mod:`torch_orderedness.metric`.
- Training: :func:`train`, :func:`train_seeds` (many seeds as one batched
  model), :class:`PruneSpec`, the results :class:`TrainResult` and
  :class:`SeedRuns`, :func:`seed_generators`; TensorBoard through
  :class:`TensorBoardLogger` (or any :class:`TrainingLogger`).
- The paper's tasks: :func:`xor`, :func:`sine`, :func:`get_task`, :class:`Task`.
"""

from torch_orderedness.complete import INIT_SCHEMES, CompletePerceptron
from torch_orderedness.ensemble import PerceptronEnsemble
from torch_orderedness.logging import TensorBoardLogger, TrainingLogger
from torch_orderedness.metric import (
    NullModel,
    Ordering,
    neuron_graph,
    orderedness,
    orderedness_null,
    ordering,
)
from torch_orderedness.pruning import (
    SCHEDULES,
    DynamicTopK,
    DynamicTrilDamp,
    InPlacePruner,
    RandomPrune,
    TopK,
    TrilDamp,
    dynamic_damping_factor,
    dynamic_keep_fraction,
    dynamic_topk_prune,
    dynamic_tril_damp,
    ramp,
    random_prune,
    sparsity,
    topk_prune,
    tril_damp,
)
from torch_orderedness.tasks import Task, get_task, sine, xor
from torch_orderedness.training import (
    PruneSpec,
    SeedRuns,
    TrainResult,
    seed_generators,
    train,
    train_seeds,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # the layer
    "CompletePerceptron",
    "PerceptronEnsemble",
    "INIT_SCHEMES",
    # pruning
    "RandomPrune",
    "TopK",
    "DynamicTopK",
    "TrilDamp",
    "DynamicTrilDamp",
    "random_prune",
    "topk_prune",
    "dynamic_topk_prune",
    "tril_damp",
    "dynamic_tril_damp",
    "InPlacePruner",
    "SCHEDULES",
    "ramp",
    "dynamic_keep_fraction",
    "dynamic_damping_factor",
    "sparsity",
    # the metric
    "Ordering",
    "ordering",
    "orderedness",
    "neuron_graph",
    "orderedness_null",
    "NullModel",
    # training
    "train",
    "train_seeds",
    "PruneSpec",
    "TrainResult",
    "SeedRuns",
    "seed_generators",
    "TensorBoardLogger",
    "TrainingLogger",
    # the paper's tasks
    "Task",
    "xor",
    "sine",
    "get_task",
]
