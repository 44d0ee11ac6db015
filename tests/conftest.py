"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_thread():  # noqa: ANN201
    """torch with one intra-op thread for the module's tests (the tiny models of the
    paper run faster so on a shared machine), restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
