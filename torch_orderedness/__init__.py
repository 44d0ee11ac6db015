"""torch_orderedness: complete perceptron layers, orderedness-inducing pruning, orderedness.

Public API:

- :class:`CompletePerceptron`: the paper's all-to-all, weight-tied recurrent
  layer, and :class:`PerceptronEnsemble` (``S`` of them run as one batch).
- Pruning schemes (``torch.nn.utils.prune`` methods, taking the paper's
  parameter or torch's ``amount``): :class:`RandomPrune`, :class:`TopK`,
  :class:`DynamicTopK`, :class:`TrilDamp`, :class:`DynamicTrilDamp`
  (:data:`PRUNING_SCHEMES` by short name), their functional helpers and the
  dynamic schedules.
- The metric: :func:`orderedness`, :func:`ordering` (with its :class:`Ordering`
  result: the best order found and certified bounds), :func:`neuron_graph`,
  and the shuffled-weights null model :func:`orderedness_null`
  (:class:`NullModel`).  Solvers and bounds: :mod:`torch_orderedness.metric`.
- Training pieces for any loop: :class:`InPlacePruner` (the paper's in-place
  application, with ``state_dict``), :class:`PruningScheduler` (the training
  progress), :class:`OrderednessMonitor` (orderedness every few steps to
  TensorBoard or any :class:`TrainingLogger`, e.g. :class:`TensorBoardLogger`).
- Our own loop on those pieces: :func:`train`, :func:`train_seeds` (many seeds
  as one batched model), :class:`PruneSpec`, the results :class:`TrainResult`
  and :class:`SeedRuns`, :func:`seed_generators`.
- Lightning callbacks: :mod:`torch_orderedness.lightning` (needs the
  ``lightning`` extra; not imported here).
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
    PRUNING_SCHEMES,
    SCHEDULES,
    DynamicTopK,
    DynamicTrilDamp,
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
    InPlacePruner,
    OrderednessMonitor,
    PruneSpec,
    PruningScheduler,
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
    "PRUNING_SCHEMES",
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
    # training pieces
    "InPlacePruner",
    "PruningScheduler",
    "OrderednessMonitor",
    # our training loop
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
