"""The one place where paper_repro calls the library's training loop and metric.

Placeholder until :mod:`torch_orderedness.training` lands.
"""

from __future__ import annotations

from paper_repro.runner import Run, Setting


def train(setting: Setting, seeds: list[int]) -> Run:
    """Train ``setting`` for all ``seeds`` at once with the library; see :func:`train_setting`."""
    raise RuntimeError(
        "torch_orderedness.training is not available yet; paper_repro cannot train"
    )
