r"""Training with pruning schemes: pieces any loop can use, and our own loop built on them.

The pieces (each usable alone, in a plain PyTorch loop or Lightning's hooks):

- :class:`InPlacePruner`: one scheme on one parameter, applied in place after
  every optimiser step (the paper's way), with ``state_dict()``;
- :class:`PruningScheduler`: the training progress fed to the pruners, one
  ``step()`` per optimiser step, with ``state_dict()``;
- :class:`OrderednessMonitor`: the orderedness (value and certified bounds)
  every ``every`` steps, remembered and logged (scalars, the ordered-weight
  image, histograms) to a ``SummaryWriter`` or any ``TrainingLogger``;
- :class:`PruneSpec`: a scheme, its parameters and the parameter it prunes.

:func:`train` trains one model; :func:`train_seeds` trains one setting for
many seeds, as one batched model when it can (:class:`PerceptronEnsemble`).
Both validate everything before the first step (data widths, scheme
parameters, progress, intervals, the loss) and before moving the model, and
create TensorBoard files only after that; a call that fails before its first
step removes the event files it wrote and the directories it created (never
what another writer put there).

One step (``k = 1 .. steps``; step ``k`` uses batch ``k`` of the epoch order)::

    loss = loss_fn(model(x_k), y_k)          # recorded as loss[k-1]
    loss.backward(); optimizer.step()        # skipped with update=False
    every scheme applied with progress x_k   # in list order
    sparsity / mask mean recorded; orderedness every `orderedness_every` steps

**Progress** ``x_k`` fed to the dynamic schemes (``progress=``):

- ``"epoch"`` (default, the paper's): ``x = epoch / epochs`` with the
  0-based epoch of the step; constant within an epoch, in ``[0, 1)``.  Needs a
  whole number of epochs.
- ``"step"``: ``x = (k - 1) / steps``, in ``[0, 1)``.  On XOR (one batch per
  epoch) both definitions agree.
- ``"done"``: ``x = k / steps``, in ``(0, 1]``: the last step applies the
  dynamic schemes' final target (the paper's definitions end just short of it).
- a callable ``f(step_index, steps) -> float`` in ``[0, 1]`` (0-based index),
  checked for every step before training starts.

**Modes** (``mode=``):

- ``"in_place"`` (default, the paper's): after every optimiser step each
  scheme multiplies the weight itself by its mask
  (:class:`~torch_orderedness.pruning.InPlacePruner`).  Tril-damp compounds
  (the lower triangle is scaled by ``(1 - f)`` at every step), and a pruned
  entry still receives gradients, so it can grow back before the next
  pruning.  Random's mask is drawn once, before the first step, and re-applied
  unchanged.
- ``"reparametrize"`` (torch's way): the weight becomes
  ``weight_orig * weight_mask`` through :func:`torch.nn.utils.prune.custom_from_mask`
  (the forward pre-hook of :mod:`torch.nn.utils.prune`), with masks computed
  by the schemes' ``compute_mask``.  Masks are set up before the first step,
  from the initial weight, and multiply the weight in every forward pass, so
  masked entries have no effect and get no gradient (Adam's momentum can
  still move ``weight_orig``, invisibly).  Random, Top-K and Tril-damp keep
  that first mask for the whole run (pruning at initialisation; Tril-damp
  does not compound).  The dynamic schemes are re-applied after every
  optimiser step at that step's progress: Dynamic Top-K keeps the top
  ``floor(k(x) n)`` entries of ``|weight_orig|`` *among those still unpruned*
  (entries never come back: gradual magnitude pruning), Dynamic Tril-damp's
  soft mask is replaced by the one at ``f(x)`` (no compounding).  Several
  schemes on one parameter multiply their masks.  The model stays
  reparametrised after training (``prune.remove`` makes it permanent).

**Records**: per step the loss, and for each pruned parameter the share of
exact zeros of the weight in use (after the step's pruning) and the mean of
the mask applied (Tril-damp's masks are soft, so zeros alone under-report
it); the orderedness (value and bounds, :func:`~torch_orderedness.metric.ordering`)
at the start, every ``orderedness_every`` steps and at the end.  The
orderedness of a weight whose square part is all zero is undefined: it is
recorded as NaN with a ``RuntimeWarning``.

**Seeds**: a run is reproducible from its seed.  :func:`seed_generators`
derives three independent generators: ``init`` (seeded with the seed itself,
so ``CompletePerceptron(..., generator=torch.Generator().manual_seed(seed))``
is the run's initial model), ``data`` (the epoch shuffles) and ``prune``
(Random's mask).  torch's global RNG is seeded from the seed while the run
trains and restored afterwards: a call never changes the caller's RNG state.

**Data**: a task, ``(inputs, targets)`` tensors (batched and shuffled here,
per seed), or any re-iterable of ``(x, y)`` batches with a length, such as a
:class:`~torch.utils.data.DataLoader` (iterated once per epoch, in its own order).

**NaN**: a loss that becomes NaN or infinite stops the run at that step with
a ``FloatingPointError`` naming the step and the seed; what was logged
before it stays on disk.

**Many seeds at once**: with complete layers, :func:`train_seeds` stacks the
``S`` models into a :class:`~torch_orderedness.ensemble.PerceptronEnsemble`,
sums the ``S`` per-seed losses (not their mean) and uses one optimiser over
the stacked parameters.  For an elementwise optimiser (Adam, SGD, RMSprop,
Adagrad, ...; not LBFGS, not gradient clipping by a global norm) this is
exactly ``S`` independent runs, with per-seed batches, per-seed Random masks
and per-seed pruning (``batch_dims=1``): the numbers equal those of separate
:func:`train` calls to float rounding, at a fraction of the time.  Other
models (an MLP baseline, say) are trained one seed after the other.

**Early stop** (``stop_loss=``): a run ends after the first step whose loss
is below the threshold; in a batched run that seed's parameters are frozen
from then on while the others go on, and its records end at that step.

**Speed**: the paper's models are tiny, so torch's intra-op threads only add
start-up costs (large ones on a busy machine, where a parallel region waits
for a descheduled thread).  ``threads="auto"`` (the default) therefore sets
``torch.set_num_threads(1)`` for the duration of a call whose model has at
most :data:`SMALL_MODEL` parameter entries and restores the old value after;
``threads=None`` leaves torch's setting alone, an int sets it.  See
``benchmarks/bench_training.py``.

Example (the paper's XOR setting, Dynamic Top-K, three seeds, 50 steps)::

    >>> from torch_orderedness import PruneSpec, train_seeds, xor
    >>> runs = train_seeds(None, xor(), seeds=[0, 1, 2], steps=50,
    ...                    pruning=[PruneSpec("dyn_topk", k=0.5)])
    >>> runs.loss.shape, runs.start.shape, runs.batched
    ((3, 50), (3,), True)
"""

from torch_orderedness.pruning import PRUNING_SCHEMES
from torch_orderedness.training.api import SMALL_MODEL, train, train_seeds
from torch_orderedness.training.modes import MODES
from torch_orderedness.training.monitor import ORDERING_OPTIONS, OrderednessMonitor
from torch_orderedness.training.plan import LOSSES
from torch_orderedness.training.pruner import PROGRESS, InPlacePruner, PruningScheduler
from torch_orderedness.training.results import SeedRuns, TrainResult
from torch_orderedness.training.seeds import SeedGenerators, seed_generators
from torch_orderedness.training.spec import PruneSpec

__all__ = [
    "ORDERING_OPTIONS",
    "PRUNING_SCHEMES",
    "PROGRESS",
    "MODES",
    "LOSSES",
    "SMALL_MODEL",
    "InPlacePruner",
    "PruningScheduler",
    "OrderednessMonitor",
    "PruneSpec",
    "SeedGenerators",
    "seed_generators",
    "TrainResult",
    "SeedRuns",
    "train",
    "train_seeds",
]
