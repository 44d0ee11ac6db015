"""``python -m paper_repro.demo``: a pruned complete layer learns XOR; a few seconds.

Trains the paper's XOR setting (O=1, H=5, I=2, T=3, Adam lr 0.01, 1000
steps) with Dynamic Top-K (k=0.5) applied in place after every step, and
prints the loss, the sparsity and the orderedness every 100 steps, then the
final weight with its neurons in the best order found by the metric (entries
below the diagonal flow backwards).

Options: ``--seed N``, ``--scheme {none,random,topk,dyn_topk,tril,dyn_tril}``,
``--steps N``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np
import torch

from paper_repro import paper_numbers as paper

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m paper_repro.demo",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheme", choices=tuple(paper.SCHEMES), default="dyn_topk")
    p.add_argument("--steps", type=int, default=1000)
    args = p.parse_args(argv)

    from torch_orderedness import PruneSpec, orderedness, train, xor

    torch.set_num_threads(1)  # tiny model: threads only contend
    task = xor()
    pruning = []
    _, amount = paper.SCHEMES[args.scheme]
    if args.scheme != "none":
        pruning.append(PruneSpec(args.scheme, **{paper.SCHEME_PARAMETER[args.scheme]: amount}))
    every = max(1, args.steps // 10)
    label = paper.ROW_LABELS[args.scheme]
    print(f"XOR, complete layer O=1 H=5 I=2 T=3, pruning: {label}, seed {args.seed}")
    t0 = time.perf_counter()
    r = train(None, task, seed=args.seed, steps=args.steps, pruning=pruning,
              orderedness_every=every, progress_bar=False)
    wall = time.perf_counter() - t0

    zeros = r.sparsity.get("weight")
    print(f"{'step':>6} {'loss':>10} {'sparsity':>9} {'orderedness':>12}")
    for step, value in zip(r.orderedness_steps.tolist(), r.orderedness.tolist(), strict=True):
        loss = "-" if step == 0 else f"{r.loss[step - 1]:.6f}"
        sp = 0.0 if step == 0 or zeros is None else float(zeros[step - 1])
        print(f"{step:>6} {loss:>10} {sp:>9.2f} {value:>12.4f}")
    print(f"orderedness {r.start_orderedness:.4f} -> {r.end_orderedness:.4f} "
          f"(change {r.change:+.4f}); trained in {wall:.1f} s")
    print("(one seed; the paper's claims are about means over seeds: `python -m paper_repro`)")

    model = r.model
    x = task.inputs
    with torch.no_grad():
        pred = model(x).reshape(-1).tolist()
    print("predictions on", x.tolist(), "->", [round(v, 3) for v in pred],
          "(target", task.targets.reshape(-1).tolist(), ")")
    if r.end is not None:
        perm = list(r.end.permutation)
        w = r.end_params["weight"].detach().cpu().numpy()
        n = w.shape[0]
        ordered = np.abs(w[:, :n])[np.ix_(perm, perm)]
        print(f"|W| (outputs, hidden) in the best order {perm} "
              f"(orderedness {orderedness(r.end_params['weight'], outputs=1):.4f}):")
        with np.printoptions(precision=2, suppress=True, linewidth=120):
            print(ordered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
