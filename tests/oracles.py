"""Independent references the tests compare the library with (one place for all of them).

Each is written the slow, obvious way, from the paper's definitions, never from the
library's code.
"""

from __future__ import annotations

import math

import torch


def literal_topk_mask(w: torch.Tensor, k: float) -> torch.Tensor:
    """Keep the floor(k*n) largest |w| (continuous values: no ties), by sorting."""
    flat = w.reshape(-1).abs().tolist()
    n_keep = math.floor(round(k * len(flat), 9))
    order = sorted(range(len(flat)), key=lambda i: -flat[i])
    mask = [0.0] * len(flat)
    for i in order[:n_keep]:
        mask[i] = 1.0
    return torch.tensor(mask, dtype=w.dtype).reshape(w.shape)


def literal_tril_mask(rows: int, cols: int, f: float) -> torch.Tensor:
    mask = torch.ones(rows, cols, dtype=torch.float64)
    for i in range(rows):
        for j in range(cols):
            if j < i:
                mask[i, j] = 1.0 - f
    return mask
