"""Seeds: one run's independent random streams, and guards for torch's global RNG.

A run is reproducible from its seed.  :func:`seed_generators` derives three
independent generators: ``init`` (seeded with the seed itself, so
``CompletePerceptron(..., generator=torch.Generator().manual_seed(seed))`` is
the run's initial model), ``data`` (the epoch shuffles) and ``prune``
(Random's mask).  While a seeded run trains, torch's global RNG is seeded from
the same seed (for dropout and other draws from it) and restored afterwards:
the caller's global RNG state is never changed.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from torch_orderedness import _checks

__all__ = ["SeedGenerators", "seed_generators", "check_seed", "seeded_global_rng", "build_model"]


class SeedGenerators(NamedTuple):
    """The three independent random streams of one seed (CPU generators)."""

    init: torch.Generator
    data: torch.Generator
    prune: torch.Generator


def check_seed(seed: object, what: str = "seed") -> int:
    """An int in ``[0, 2**63)`` (NumPy integers too); ``TypeError`` / ``ValueError`` otherwise."""
    return _checks.count(what, seed, 0, 2**63 - 1)


def _derived(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0])


@contextlib.contextmanager
def seeded_global_rng(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNG for the block (from ``(seed, 3)``) and restore it after.

    For models that draw from the global RNG while training (dropout, say);
    ``None`` leaves it alone.
    """
    if seed is None:
        yield
        return
    devices = [] if device.type != "cuda" else [
        torch.cuda.current_device() if device.index is None else device.index]
    with torch.random.fork_rng(devices=devices):
        _seed_forked(_derived(seed, 3), devices)
        yield


def _seed_forked(seed: int, cuda_devices: list[int]) -> None:
    """Seed the CPU generator and those of ``cuda_devices``: the generators that
    ``fork_rng(devices=cuda_devices)`` restores, and no other (``torch.manual_seed``
    would also seed every CUDA device, which the fork does not restore)."""
    torch.default_generator.manual_seed(seed)
    for index in cuda_devices:
        torch.cuda.default_generators[index].manual_seed(seed)


def seed_generators(seed: int) -> SeedGenerators:
    """Fresh generators for model init, data shuffling and Random's mask of ``seed``.

    ``init`` is seeded with ``seed`` itself, so
    ``CompletePerceptron(..., generator=torch.Generator().manual_seed(seed))``
    is the run's initial model; ``data`` (the epoch shuffles) and ``prune``
    (Random's mask) with numbers derived from ``(seed, 1)`` and ``(seed, 2)``
    by :class:`numpy.random.SeedSequence`, so the streams are independent.
    :func:`~torch_orderedness.train` and :func:`~torch_orderedness.train_seeds`
    call it for every seed.

    Args:
        seed: an int in ``[0, 2**63)`` (NumPy integers too).

    Returns:
        A :class:`SeedGenerators` ``(init, data, prune)`` of new CPU
        :class:`torch.Generator` objects (each call gives fresh ones).

    Raises:
        TypeError: ``seed`` is not an integral number (a bool is refused too).
        ValueError: ``seed`` outside ``[0, 2**63)``.

    Example::

        >>> g = seed_generators(3)
        >>> g.init.initial_seed(), g.data.initial_seed() != g.prune.initial_seed()
        (3, True)
        >>> torch.equal(torch.rand(2, generator=seed_generators(3).data),
        ...             torch.rand(2, generator=g.data))  # reproducible
        True
    """
    seed = check_seed(seed)
    return SeedGenerators(
        torch.Generator().manual_seed(seed),
        torch.Generator().manual_seed(_derived(seed, 1)),
        torch.Generator().manual_seed(_derived(seed, 2)),
    )


def _accepts_generator(factory: Callable[..., object]) -> bool:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return True
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD or (
            p.name == "generator"
            and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )
        for p in sig.parameters.values()
    )


def build_model(factory: Callable[..., nn.Module], gens: SeedGenerators | None) -> nn.Module:
    """``factory(generator=gens.init)``; torch's global CPU RNG is seeded from the same seed
    for factories that draw from it, and the caller's global RNG state is restored after.
    Without ``gens`` (no seed) the factory draws from torch's global RNG as it is."""
    guard = torch.random.fork_rng(devices=[]) if gens is not None else contextlib.nullcontext()
    with guard:
        if gens is not None:
            _seed_forked(gens.init.initial_seed(), [])
        generator = None if gens is None else gens.init
        model = factory(generator=generator) if _accepts_generator(factory) else factory()
    if not isinstance(model, nn.Module):
        raise TypeError(f"the model factory must return an nn.Module, got {type(model).__name__}")
    return model
