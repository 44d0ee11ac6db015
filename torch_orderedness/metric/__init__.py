"""The orderedness metric: how close a recurrent weight is to a feed-forward order.

Most users need only :func:`ordering` / :func:`orderedness` (also exported by
:mod:`torch_orderedness`).  This subpackage is the metric's public toolbox:

- the metric: :class:`Ordering`, :func:`ordering`, :func:`orderedness`, and
  what it reads from tensors and modules: :func:`neuron_graph`,
  :class:`NeuronGraph`, :func:`mlp_weight`, :func:`current_weight`;
- the solvers on a square cost matrix ``A`` (``A[i, j]`` paid when ``i`` is
  placed after ``j``): :func:`exact_order` / :func:`exact_memory` /
  :func:`order_cost` (dynamic programming), :func:`heuristic_order`,
  :func:`eades_order`, :func:`insertion_search` (search),
  :func:`lower_bound`, :func:`pairwise_bound`, :func:`triangle_bound`,
  :func:`order_bound` (certified bounds), :func:`milp_order`,
  :func:`lp_bound` (integer program and its LP relaxation, HiGHS, with the
  subset DP pruned by the LP's reduced costs as its exact stage);
- the null model: :func:`orderedness_null`, :class:`NullModel`,
  :func:`shuffle_square`.
"""

from torch_orderedness.metric.bounds import (
    lower_bound,
    order_bound,
    pairwise_bound,
    triangle_bound,
)
from torch_orderedness.metric.core import (
    AUTO_DP_MAX_HIDDEN,
    AUTO_EXACT_MAX_HIDDEN,
    AUTO_MILP_MAX_HIDDEN,
    AUTO_MILP_TIME_LIMIT,
    METHODS,
    Ordering,
    orderedness,
    ordering,
)
from torch_orderedness.metric.exact import (
    DEFAULT_MAX_MEMORY,
    EXACT_MAX_N,
    exact_memory,
    exact_order,
    order_cost,
)
from torch_orderedness.metric.graph import (
    GATES,
    NeuronGraph,
    current_weight,
    mlp_weight,
    neuron_graph,
)
from torch_orderedness.metric.ilp import LPBound, lp_bound, milp_order
from torch_orderedness.metric.null import SHUFFLES, NullModel, orderedness_null, shuffle_square
from torch_orderedness.metric.search import eades_order, heuristic_order, insertion_search

__all__ = [
    "Ordering",
    "ordering",
    "orderedness",
    "METHODS",
    "AUTO_DP_MAX_HIDDEN",
    "AUTO_EXACT_MAX_HIDDEN",
    "AUTO_MILP_MAX_HIDDEN",
    "AUTO_MILP_TIME_LIMIT",
    "exact_order",
    "exact_memory",
    "order_cost",
    "EXACT_MAX_N",
    "DEFAULT_MAX_MEMORY",
    "heuristic_order",
    "eades_order",
    "insertion_search",
    "lower_bound",
    "pairwise_bound",
    "triangle_bound",
    "order_bound",
    "milp_order",
    "lp_bound",
    "LPBound",
    "orderedness_null",
    "NullModel",
    "shuffle_square",
    "SHUFFLES",
    "GATES",
    "NeuronGraph",
    "neuron_graph",
    "mlp_weight",
    "current_weight",
]
