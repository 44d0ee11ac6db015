"""The settings of a reproduction run: how many seeds, which grids, quick or full.

:meth:`Config.full` is the paper's protocol (10 seeds, every grid point of
Figures 2 and 3, Sine with H = 8 and H = 10); :meth:`Config.quick` keeps all
of Table 1 (10 seeds, H = 8) and thins the figures so the whole command ends
in a few minutes on 2 CPU cores.

Example::

    >>> Config.quick().seeds, Config.full().sine_hidden
    (10, (8, 10))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from paper_repro import paper_numbers as paper
from paper_repro.runner import RANDOM_MASKS, seed_list

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """Everything that decides the numbers of a reproduction run.

    Attributes:
        mode: ``"quick"``, ``"full"`` or ``"custom"`` (only a label).
        seeds: seeds per Table 1 setting (the paper: 10).
        base_seed: first seed; setting seeds are ``base_seed, base_seed + 1, ...``
            (the paper's reference code started from 3141592).
        sine_hidden: Sine sizes for Table 1; the first is the main column
            (8 produced the paper's numbers; the text says 10).
        xor_steps, sine_steps: optimiser steps (1000 and 600 in the paper).
        untrained_steps: scheme steps without gradient for "untrained" (10).
        null_samples: null-model draws per seed and shuffle for the significance
            tables (0 turns the null-model test off; each draw is one exact
            orderedness, so 20 draws x 2 shuffles x 10 seeds cost about 1 s a setting).
        level: confidence level of the intervals.
        figure2_hidden, figure2_iterations, figure2_seeds: Figure 2's grid.
        figure3_sparsities, figure3_seeds: Figure 3's grid.
        appendix_d_seeds: seeds of the loss curves.
        early_stop: Appendix D's MLP stops once its loss is below this.
        parts: which parts to run, of ``table1``, ``figure2``, ``figure3``, ``appendix_d``.
        random_mask: Table 1's Random row: ``"per_seed"`` (every seed draws its own
            mask, the default) or ``"shared"`` (the first seed's mask for every seed,
            the paper's reference notebook's protocol); see
            :data:`paper_repro.runner.RANDOM_MASKS`.
    """

    mode: str = "full"
    seeds: int = paper.PAPER_SEEDS
    base_seed: int = 3141592
    sine_hidden: tuple[int, ...] = (8, 10)
    xor_steps: int = 1000
    sine_steps: int = 600
    untrained_steps: int = paper.UNTRAINED_STEPS
    null_samples: int = 20
    level: float = 0.95
    figure2_hidden: tuple[int, ...] = paper.FIGURE2_HIDDEN
    figure2_iterations: tuple[int, ...] = paper.FIGURE2_ITERATIONS
    figure2_seeds: int = paper.PAPER_SEEDS
    figure3_sparsities: tuple[float, ...] = paper.FIGURE3_SPARSITIES
    figure3_seeds: int = paper.PAPER_SEEDS
    appendix_d_seeds: int = paper.PAPER_SEEDS
    early_stop: float = 1e-3
    parts: tuple[str, ...] = ("table1", "figure2", "figure3", "appendix_d")
    random_mask: str = "per_seed"
    extra: dict[str, Any] = field(default_factory=dict)

    PARTS = ("table1", "figure2", "figure3", "appendix_d")

    def __post_init__(self) -> None:
        for name in ("seeds", "figure2_seeds", "figure3_seeds", "appendix_d_seeds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"{name} must be an int >= 2 (a spread needs two seeds), "
                                 f"got {value!r}")
        for name in ("xor_steps", "sine_steps", "untrained_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not self.sine_hidden or any(h < 1 for h in self.sine_hidden):
            raise ValueError(f"sine_hidden must list hidden sizes >= 1, got {self.sine_hidden}")
        if self.null_samples < 0:
            raise ValueError(f"null_samples must be >= 0, got {self.null_samples}")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if not all(0.0 <= s < 1.0 for s in self.figure3_sparsities):
            raise ValueError(
                f"figure3_sparsities must lie in [0, 1), got {self.figure3_sparsities}"
            )
        unknown = set(self.parts) - set(self.PARTS)
        if unknown:
            raise ValueError(f"parts must be among {self.PARTS}, got {sorted(unknown)}")
        if self.early_stop <= 0:
            raise ValueError(f"early_stop must be > 0, got {self.early_stop}")
        if self.random_mask not in RANDOM_MASKS:
            raise ValueError(f"random_mask must be one of {RANDOM_MASKS}, got {self.random_mask!r}")

    def seeds_for(self, part: str) -> list[int]:
        """The seeds every setting of ``part`` is trained with.

        Example::

            >>> Config.quick(base_seed=7).seeds_for("figure2")
            [7, 8, 9, 10, 11]
        """
        counts = {"table1": self.seeds, "figure2": self.figure2_seeds,
                  "figure3": self.figure3_seeds, "appendix_d": self.appendix_d_seeds}
        if part not in counts:
            raise ValueError(f"part must be one of {self.PARTS}, got {part!r}")
        return seed_list(counts[part], self.base_seed)

    @classmethod
    def full(cls, **changes: Any) -> Config:
        """The paper's protocol, Sine with H = 8 and H = 10."""
        return replace(cls(), **changes)

    @classmethod
    def quick(cls, **changes: Any) -> Config:
        """All of Table 1 (10 seeds, Sine H = 8); thinner Figure 2/3 grids, 5 seeds there."""
        base = cls(
            mode="quick",
            sine_hidden=(8,),
            null_samples=20,
            figure2_hidden=(1, 3, 5, 7),
            figure2_iterations=(1, 2, 3, 4, 6, 8, 10),
            figure2_seeds=5,
            figure3_sparsities=(0.0, 0.3, 0.5, 0.7, 0.9),
            figure3_seeds=5,
            appendix_d_seeds=5,
        )
        return replace(base, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in known.items()})
