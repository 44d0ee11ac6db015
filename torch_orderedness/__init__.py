"""torch_orderedness: complete perceptron layers, orderedness-inducing pruning and the orderedness metric."""

__version__ = "0.1.0"

__all__: list[str] = ["__version__"]
