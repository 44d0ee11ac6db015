"""A synthetic trainer for tests and examples: plausible per-seed numbers, no training.

:func:`fake_trainer` has the signature of :func:`paper_repro.runner.train_setting`
and returns a :class:`~paper_repro.runner.Run` whose numbers are drawn
deterministically from the setting and the seeds, so the tables, figures and
the JSON round trip can be exercised in milliseconds.  The numbers mean
nothing; they only have the right shapes and ranges (orderedness in
``[0, 1]``, an untrained "none" run changes by exactly 0).

Example::

    >>> from paper_repro.runner import Setting
    >>> r = fake_trainer(Setting("untrained", "default", "none", None, 5, 3, 10), [1, 2])
    >>> r.change
    [0.0, 0.0]
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from paper_repro.runner import Run, Setting

__all__ = ["fake_trainer"]

_GAIN = {"none": 0.03, "random": 0.2, "topk": 0.1, "dyn_topk": 0.12, "tril": 0.3,
         "dyn_tril": 0.3}


def fake_trainer(setting: Setting, seeds: Sequence[int]) -> Run:
    """Synthetic :class:`Run` for ``setting`` and ``seeds`` (deterministic)."""
    n = len(seeds)
    key = zlib.crc32(setting.label.encode())
    rng = np.random.default_rng([key, *seeds])
    start = np.clip(rng.normal(0.68, 0.05, n), 0.3, 1.0)
    if setting.task == "untrained" and setting.scheme == "none":
        end = start.copy()
    else:
        gain = _GAIN[setting.scheme] * (setting.amount if setting.amount else 1.0)
        end = np.clip(start + rng.normal(gain, 0.05, n), 0.0, 1.0)
    trained = setting.task != "untrained"
    curves = None
    if setting.record_loss:
        curves = []
        for _ in range(n):
            c = 0.25 * np.exp(-np.arange(1, setting.steps + 1) / (0.2 * setting.steps))
            c = c * np.exp(rng.normal(0, 0.05, setting.steps))
            if setting.early_stop is not None and (c < setting.early_stop).any():
                c = c[: int(np.argmax(c < setting.early_stop)) + 1]
            curves.append(c.tolist())
    null = None
    if setting.null_samples:
        null = {shuffle: np.clip(rng.normal(0.68, 0.05, (n, setting.null_samples)), 0,
                                 1).tolist() for shuffle in ("pattern", "all")}
    sparsity = [0.0 if setting.scheme in ("none", "tril", "dyn_tril") else 0.5] * n
    return Run(
        setting=setting,
        seeds=list(seeds),
        start=start.tolist(),
        end=end.tolist(),
        final_loss=rng.uniform(1e-4, 1e-2, n).tolist() if trained else None,
        sparsity=sparsity,
        null=null,
        loss_curve=curves,
    )
