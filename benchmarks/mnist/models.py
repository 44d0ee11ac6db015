"""The models of the MNIST study: MLPs of ``nn.Linear`` layers and the complete layer.

- :func:`mlp`: ``784-256-10``-style MLPs (ReLU or sigmoid hidden units, logits out).
- :func:`linear_weights`: the ``(module, "weight")`` pairs that pruning acts on.
- :func:`complete_layer`: ``CompletePerceptron(784, H, 10, iterations=T)`` with
  the paper's ``N(0, 1)`` initialisation or a fan-in scaled one.
- :func:`same_weight_hidden`: the hidden size of a one-hidden-layer MLP with
  about as many parameters as a complete layer.
- :func:`count_parameters`.

Example::

    >>> model = mlp([784, 256, 10])
    >>> count_parameters(model)
    203530
    >>> same_weight_hidden(64)  # CompletePerceptron(784, 64, 10) has 63 566 parameters
    80
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from torch_orderedness import CompletePerceptron

__all__ = [
    "ACTIVATIONS",
    "COMPLETE_INITS",
    "mlp",
    "linear_weights",
    "complete_layer",
    "same_weight_hidden",
    "count_parameters",
    "parse_sizes",
]

#: Hidden-unit non-linearities of :func:`mlp`.
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}

#: Weight initialisations of :func:`complete_layer`: the paper's N(0, 1), or N(0, 1/fan_in)
#: with fan_in = O + H + I, the number of neurons every neuron listens to.
COMPLETE_INITS: tuple[str, ...] = ("normal", "scaled")


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    *,
    generator_seed: int | None = None,
) -> nn.Sequential:
    """An MLP ``sizes[0] -> ... -> sizes[-1]``: ``nn.Linear`` + activation, logits out.

    Args:
        sizes: layer widths, inputs first (e.g. ``[784, 256, 256, 10]``).
        activation: ``"relu"`` or ``"sigmoid"`` after every hidden layer.
        generator_seed: if given, ``torch.manual_seed`` is not touched; the
            layers are initialised under ``torch.random.fork_rng`` seeded with it.

    Example::

        >>> mlp([4, 3, 2])
        Sequential(
          (0): Linear(in_features=4, out_features=3, bias=True)
          (1): ReLU()
          (2): Linear(in_features=3, out_features=2, bias=True)
        )
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least 2 widths >= 1, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")

    def build() -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        return nn.Sequential(*layers)

    if generator_seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(generator_seed)  # only what the fork restores
        return build()


def linear_weights(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """``[(linear, "weight"), ...]`` for every ``nn.Linear`` in ``model`` (not the biases)."""
    params = [(m, "weight") for m in model.modules() if isinstance(m, nn.Linear)]
    if not params:
        raise ValueError("model has no nn.Linear layer")
    return params


def _scaled_normal(weight: Tensor) -> None:
    nn.init.normal_(weight, 0.0, weight.shape[1] ** -0.5)


def complete_layer(
    hidden: int,
    iterations: int,
    *,
    in_features: int = 784,
    out_features: int = 10,
    init: str = "scaled",
    seed: int = 0,
    device: torch.device | str | None = None,
) -> CompletePerceptron:
    """``CompletePerceptron(in_features, hidden, out_features, iterations)``.

    Args:
        init: ``"normal"``: the paper's ``N(0, 1)`` weights; ``"scaled"``:
            ``N(0, 1/fan_in)`` with ``fan_in = O + H + I`` (with 784 inputs the
            paper's ``N(0, 1)`` saturates the sigmoids; see the benchmarks README).
            The initial state is ``N(0, 1)`` in both cases.
        seed: seed of the initialisation.
    """
    if init not in COMPLETE_INITS:
        raise ValueError(f"init must be one of {COMPLETE_INITS}, got {init!r}")
    generator = torch.Generator().manual_seed(seed)
    layer = CompletePerceptron(
        in_features, hidden, out_features, iterations=iterations, generator=generator
    )
    if init == "scaled":
        with torch.no_grad():
            std = layer.weight.shape[1] ** -0.5
            layer.weight.normal_(0.0, std, generator=generator)
    return layer.to(device) if device is not None else layer


def count_parameters(model: nn.Module) -> int:
    """Number of parameter entries (weights, biases, initial state)."""
    return sum(p.numel() for p in model.parameters())


def same_weight_hidden(hidden: int, in_features: int = 784, out_features: int = 10) -> int:
    """Hidden size ``h`` of the MLP ``I-h-O`` whose parameter count is closest to the complete
    layer's ``(O+H)(O+H+I) + (O+H)`` (weight and initial state, no bias).

    The MLP has ``(I+1) h + (h+1) O`` parameters.
    """
    n = out_features + hidden
    target = n * (n + in_features) + n
    per_unit = in_features + 1 + out_features
    h = max(1, round((target - out_features) / per_unit))
    return int(h)


def parse_sizes(text: str) -> list[int]:
    """``"784-256-10"`` -> ``[784, 256, 10]``.

    Example::

        >>> parse_sizes("784-256-256-10")
        [784, 256, 256, 10]
    """
    try:
        sizes = [int(part) for part in text.split("-")]
    except ValueError as err:
        raise ValueError(f"an architecture is written like 784-256-10, got {text!r}") from err
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"an architecture is written like 784-256-10, got {text!r}")
    return sizes
