"""The paper's own numbers and settings, in one place.

Transcribed from Table 1 of *Pruning Increases Orderedness in Weight-Tied
Recurrent Computation* (Song, MOSS @ ICML 2025) and from
``paper_repro/PAPER_NOTES.md``, which restores the formulas and the settings
the paper's reference implementation actually used.

Every cell of Table 1 is ``(mean, std)`` over 10 seeds, rounded by the paper
to three decimals.  Rows are keyed by the names used throughout
:mod:`paper_repro`; columns by :data:`COLUMNS`.

Example::

    >>> TABLE1_PRUNING["topk"]["xor"]
    (0.116, 0.06)
    >>> ROW_LABELS["dyn_topk"]
    'Dyn. Top-K (k=0.5)'
"""

from __future__ import annotations

from torch_orderedness import PRUNING_SCHEMES

__all__ = [
    "COLUMNS",
    "COLUMN_LABELS",
    "INIT_ROWS",
    "PRUNING_ROWS",
    "ROW_LABELS",
    "INITS",
    "SCHEMES",
    "SCHEME_PARAMETER",
    "TABLE1_INIT",
    "TABLE1_PRUNING",
    "PAPER_DECIMALS",
    "TASKS",
    "OPTIMISER",
    "UNTRAINED_STEPS",
    "FIGURE2_HIDDEN",
    "FIGURE2_ITERATIONS",
    "FIGURE3_SPARSITIES",
    "FIGURE3_SCHEMES",
    "APPENDIX_D",
    "REFERENCE_TIMINGS",
    "PAPER_SEEDS",
]

#: Number of seeds per setup in the paper.
PAPER_SEEDS: int = 10
#: The paper rounds every Table 1 number to this many decimals.
PAPER_DECIMALS: int = 3

#: Table 1's columns: untrained (XOR defaults, 10 scheme steps, no gradient), XOR, Sine.
COLUMNS: tuple[str, ...] = ("untrained", "xor", "sine")
COLUMN_LABELS: dict[str, str] = {"untrained": "untrained", "xor": "XOR", "sine": "Sine"}

#: Initialisations of Table 1's top half, as the reference code used them
#: (PAPER_NOTES.md): ``(weight_init, state_init)`` for :class:`CompletePerceptron`.
INITS: dict[str, tuple[str, str]] = {
    "default": ("normal", "normal"),
    "uniform": ("uniform", "normal"),
    "zeros": ("normal", "zeros"),
}

#: Pruning rows of Table 1's bottom half: ``(scheme, parameter)``.  The
#: scheme names are those of :mod:`torch_orderedness.pruning`; ``None`` = no pruning.
SCHEMES: dict[str, tuple[str | None, float | None]] = {
    "none": (None, None),
    "random": ("RandomPrune", 0.5),
    "topk": ("TopK", 0.5),
    "dyn_topk": ("DynamicTopK", 0.5),
    "tril": ("TrilDamp", 0.8),
    "dyn_tril": ("DynamicTrilDamp", 0.8),
}

#: The parameter name of each scheme in :class:`torch_orderedness.PruneSpec` (the paper's
#: symbol), read from the scheme classes themselves (``PARAMETER``).
SCHEME_PARAMETER: dict[str, str] = {name: cls.PARAMETER for name, cls in PRUNING_SCHEMES.items()}

INIT_ROWS: tuple[str, ...] = tuple(INITS)
PRUNING_ROWS: tuple[str, ...] = tuple(SCHEMES)

ROW_LABELS: dict[str, str] = {
    "default": "Default (N(0,1))",
    "uniform": "Random Uniform U(0,1)",
    "zeros": "Zeros",
    "none": "none",
    "random": "Random (p=0.5)",
    "topk": "Top-K (k=0.5)",
    "dyn_topk": "Dyn. Top-K (k=0.5)",
    "tril": "Tril-damp (f=0.8)",
    "dyn_tril": "Dyn. Tril-damp (f=0.8)",
}

#: Table 1, top half: the "untrained" column is the orderedness at
#: initialisation, the others the change in orderedness over training.
TABLE1_INIT: dict[str, dict[str, tuple[float, float]]] = {
    "default": {"untrained": (0.672, 0.050), "xor": (0.032, 0.047), "sine": (0.023, 0.033)},
    "uniform": {"untrained": (0.647, 0.045), "xor": (0.075, 0.057), "sine": (0.076, 0.039)},
    "zeros": {"untrained": (0.680, 0.070), "xor": (0.049, 0.078), "sine": (-0.004, 0.030)},
}

#: Table 1, bottom half: the change in orderedness from start to end of each run
#: ("untrained": 10 scheme steps without gradient updates).
TABLE1_PRUNING: dict[str, dict[str, tuple[float, float]]] = {
    "none": {"untrained": (0.000, 0.000), "xor": (0.032, 0.047), "sine": (0.023, 0.033)},
    "random": {"untrained": (0.170, 0.062), "xor": (0.243, 0.082), "sine": (0.104, 0.047)},
    "topk": {"untrained": (0.039, 0.032), "xor": (0.116, 0.060), "sine": (0.086, 0.037)},
    "dyn_topk": {"untrained": (0.038, 0.025), "xor": (0.149, 0.073), "sine": (0.086, 0.037)},
    "tril": {"untrained": (0.328, 0.050), "xor": (0.280, 0.045), "sine": (0.343, 0.026)},
    "dyn_tril": {"untrained": (0.315, 0.048), "xor": (0.280, 0.045), "sine": (0.343, 0.026)},
}

#: Task settings (Sec. 4, Appendix C, PAPER_NOTES.md).  ``hidden`` for Sine is the
#: H = 8 that produced Table 1; the paper's text says 10 (``hidden_text``).
TASKS: dict[str, dict[str, object]] = {
    "xor": {"in_features": 2, "out_features": 1, "hidden": 5, "iterations": 3,
            "batch_size": 4, "steps": 1000, "epochs": 1000},
    "sine": {"in_features": 2, "out_features": 1, "hidden": 8, "hidden_text": 10,
             "iterations": 3, "batch_size": 10, "steps": 600, "epochs": 40},
}

#: Optimiser and loss of every experiment.
OPTIMISER: dict[str, object] = {"name": "Adam", "lr": 0.01, "loss": "MSE",
                                "activation": "sigmoid", "bias": False}

#: "Untrained": the scheme is applied this many times without gradient updates.
UNTRAINED_STEPS: int = 10

#: Figure 2: Dyn. Top-K (k=0.5), hidden units x iterations.
FIGURE2_HIDDEN: tuple[int, ...] = (1, 3, 5, 7)
FIGURE2_ITERATIONS: tuple[int, ...] = tuple(range(1, 11))

#: Figure 3: sparsity s; Random p=s, Top-K / Dyn. Top-K k=1-s, Tril-damp f=s.
FIGURE3_SPARSITIES: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(10))
FIGURE3_SCHEMES: tuple[str, ...] = ("random", "topk", "dyn_topk", "tril", "dyn_tril")

#: Appendix D: the MLP baselines (sigmoid, bias, early stop) and the pruned layer.
APPENDIX_D: dict[str, object] = {
    "mlp_hidden": {"xor": 2, "sine": 10},
    "complete_scheme": ("dyn_topk", 0.5),
    "note": "the paper does not state the early-stopping threshold",
}

#: What running the paper's reference implementation took on a 2-core machine
#: (PAPER_NOTES.md).
REFERENCE_TIMINGS: dict[str, float] = {
    "table1_pruning_half_s": 150.0,
    "xor_setup_10_seeds_s": 9.0,
    "sine_setup_10_seeds_s": 16.0,
}
