"""The public API: everything in ``__all__`` exists, is documented, and shows an example."""

from __future__ import annotations

import inspect

import pytest

import torch_orderedness
import torch_orderedness.metric as metric

PUBLIC = sorted(
    {(mod.__name__, name) for mod in (torch_orderedness, metric) for name in mod.__all__}
    - {("torch_orderedness", "__version__")}
)


def _target(module_name: str, name: str) -> object:
    module = torch_orderedness if module_name == "torch_orderedness" else metric
    return getattr(module, name)


@pytest.mark.parametrize(("module_name", "name"), PUBLIC)
def test_public_name_exists_and_is_documented(module_name: str, name: str) -> None:
    obj = _target(module_name, name)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return  # constants: documented where defined (``#:`` comments) and in the README
    doc = inspect.getdoc(obj) or ""
    assert len(doc.splitlines()) >= 3, f"{module_name}.{name} needs more than a one-line docstring"
    assert "Example" in doc, f"{module_name}.{name} has no example"
    if inspect.isfunction(obj):
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
        if params:
            assert "Args:" in doc, f"{module_name}.{name} does not describe its arguments"


def test_the_top_level_exports_the_whole_workflow() -> None:
    # a user needs nothing private to build, prune, train, log and measure
    for name in ("CompletePerceptron", "TopK", "InPlacePruner", "train", "train_seeds",
                 "PruneSpec", "TensorBoardLogger", "ordering", "orderedness_null", "xor"):
        assert name in torch_orderedness.__all__
