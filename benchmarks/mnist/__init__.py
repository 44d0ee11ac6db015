"""The MNIST study (project issue 6): MLP baselines and the cost of a complete layer.

Run it with ``python -m benchmarks.mnist`` (see :mod:`benchmarks.mnist.__main__`
and ``benchmarks/README.md``).  Modules, one job each:

- :mod:`~benchmarks.mnist.data`: find / prepare / read MNIST and Fashion-MNIST
  (torchvision), standard DataLoaders;
- :mod:`~benchmarks.mnist.models`: MLPs, the complete layer, size matching;
- :mod:`~benchmarks.mnist.baselines`: experiment 1, dense and pruned MLPs;
- :mod:`~benchmarks.mnist.cost`: experiment 4, time and memory per training step;
- :mod:`~benchmarks.mnist.report`: JSON, Markdown and PNG output.

These are scripts' helpers, not library API: they import ``torch_orderedness``'s
public names only.
"""
