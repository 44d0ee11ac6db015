"""Speed of training many seeds at once (pytest-benchmark).

Run::

    .venv/bin/python -m pytest benchmarks/bench_training.py --benchmark-only
    .venv/bin/python benchmarks/bench_training.py          # the same, as a plain ratio

The paper's settings with ``S = 10`` seeds, trained by
:func:`torch_orderedness.training.train_seeds` as one batched model
(``batched=True``, a :class:`~torch_orderedness.ensemble.PerceptronEnsemble`)
and one seed after the other (``batched=False``, ten plain
``CompletePerceptron`` runs), the same arguments otherwise:

- XOR: H = 5, T = 3, 1000 steps (1000 epochs of one batch), Dynamic Top-K
  (k = 0.5), orderedness at the start and the end.  Goal: batched at least
  5x faster.
- Sine: H = 8, T = 3, 600 steps (40 epochs of 15 shuffled batches), Dynamic
  Top-K (k = 0.5).

Both with torch's own number of intra-op threads (``threads=None``) and with
one thread (``threads=1``, what the default ``threads="auto"`` picks for these
models; they are tiny: on a busy machine, every op that enters a
parallel region can wait milliseconds for a descheduled thread, and the
batched model's larger tensors enter more of them).

Each group is one setting, so pytest-benchmark's parenthesised factors are
the speed ratios; the one-by-one case also stores ``speedup`` (its median over
the batched median) in ``extra_info``.  Both ways must give the same numbers
(checked after timing).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from torch_orderedness import PruneSpec, sine, train_seeds, xor

SEEDS = list(range(10))
SETTINGS = {
    "xor": (xor, {"pruning": [PruneSpec("dyn_topk", k=0.5)]}),
    "sine": (sine, {"pruning": [PruneSpec("dyn_topk", k=0.5)]}),
}
_medians: dict[tuple[str, bool], float] = {}
_results: dict[tuple[str, bool], np.ndarray] = {}


def run(task_name: str, batched: bool, threads: int | None):
    make_task, kw = SETTINGS[task_name]
    return train_seeds(None, make_task(), SEEDS, batched=batched, progress_bar=False,
                       threads=threads, **kw)


@pytest.mark.parametrize("threads", [None, 1], ids=["torch_threads", "threads1"])
@pytest.mark.parametrize("task_name", ["xor", "sine"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one_by_one"])
def test_ten_seeds(benchmark, task_name, batched, threads):
    benchmark.group = f"{task_name}: 10 seeds, Dynamic Top-K 0.5, threads={threads}"
    rounds = 3 if batched else 1
    runs = benchmark.pedantic(run, args=(task_name, batched, threads), rounds=rounds,
                              iterations=1, warmup_rounds=1 if batched else 0)
    assert runs.batched == batched
    key = f"{task_name}/{threads}"
    _results[(key, batched)] = runs.loss
    if benchmark.stats is not None:
        _medians[(key, batched)] = benchmark.stats.stats.median
    other = _results.get((key, not batched))
    if other is not None:
        np.testing.assert_allclose(runs.loss, other, rtol=1e-3, atol=1e-5)
    if not batched and (key, True) in _medians and (key, False) in _medians:
        benchmark.extra_info["speedup"] = round(_medians[(key, False)] / _medians[(key, True)], 2)


def main() -> None:
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads by default")
    for threads in (None, 1):
        for task_name in SETTINGS:
            run(task_name, True, threads)  # warm-up
            t = time.perf_counter()
            batched = run(task_name, True, threads)
            t_batched = time.perf_counter() - t
            t = time.perf_counter()
            alone = run(task_name, False, threads)
            t_alone = time.perf_counter() - t
            diff = float(np.max(np.abs(batched.loss - alone.loss)))
            print(f"{task_name}, threads={threads}: 10 seeds batched {t_batched:.2f} s, one by "
                  f"one {t_alone:.2f} s, ratio {t_alone / t_batched:.1f}x (max loss difference "
                  f"{diff:.1e}); change in orderedness {batched.change.mean():+.3f} +- "
                  f"{batched.change.std():.3f}")


if __name__ == "__main__":
    main()
