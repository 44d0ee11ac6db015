"""torch_orderedness: complete perceptron layers, orderedness-inducing pruning, orderedness.

Public API:

- :class:`CompletePerceptron`: the paper's all-to-all, weight-tied recurrent layer.
- Pruning schemes (``torch.nn.utils.prune`` methods): :class:`RandomPrune`,
  :class:`TopK`, :class:`DynamicTopK`, :class:`TrilDamp`,
  :class:`DynamicTrilDamp`, their functional helpers, the dynamic schedules,
  and :class:`InPlacePruner` for the paper's in-place application.
- The metric: :func:`orderedness`, :func:`ordering` (with its :class:`Ordering`
  result: the best order found and certified bounds), :func:`neuron_graph`.
"""

from torch_orderedness.complete import INIT_SCHEMES, CompletePerceptron
from torch_orderedness.orderedness import Ordering, neuron_graph, orderedness, ordering
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

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CompletePerceptron",
    "INIT_SCHEMES",
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
    "Ordering",
    "ordering",
    "orderedness",
    "neuron_graph",
]
