"""The orderedness metric: how close a recurrent weight is to a feed-forward order.

Public names: :class:`Ordering`, :func:`ordering`, :func:`orderedness` (the
metric), :func:`exact_order`, :func:`exact_memory`, :func:`order_cost` (the
exact solver on a square matrix), :func:`neuron_graph`, :func:`mlp_weight`
(what the metric reads from tensors and modules).
"""

from torch_orderedness.orderedness.core import (
    AUTO_EXACT_MAX_HIDDEN,
    AUTO_MILP_MAX_HIDDEN,
    AUTO_MILP_TIME_LIMIT,
    METHODS,
    Ordering,
    orderedness,
    ordering,
)
from torch_orderedness.orderedness.exact import (
    DEFAULT_MAX_MEMORY,
    EXACT_MAX_N,
    exact_memory,
    exact_order,
    order_cost,
)
from torch_orderedness.orderedness.graph import (
    NeuronGraph,
    current_weight,
    mlp_weight,
    neuron_graph,
)

__all__ = [
    "Ordering",
    "ordering",
    "orderedness",
    "METHODS",
    "AUTO_EXACT_MAX_HIDDEN",
    "AUTO_MILP_MAX_HIDDEN",
    "AUTO_MILP_TIME_LIMIT",
    "exact_order",
    "exact_memory",
    "order_cost",
    "EXACT_MAX_N",
    "DEFAULT_MAX_MEMORY",
    "NeuronGraph",
    "neuron_graph",
    "mlp_weight",
    "current_weight",
]
