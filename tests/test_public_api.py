"""The public API: everything in ``__all__`` exists, is documented, and shows an example."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import torch_orderedness
import torch_orderedness.metric as metric

PACKAGE = Path(torch_orderedness.__file__).parent
PUBLIC = sorted(
    {(mod.__name__, name) for mod in (torch_orderedness, metric) for name in mod.__all__}
    - {("torch_orderedness", "__version__")}
)
CALLABLES = [(m, n) for m, n in PUBLIC
             if inspect.isclass(getattr(metric if m.endswith("metric") else torch_orderedness, n))
             or inspect.isfunction(getattr(metric if m.endswith("metric") else torch_orderedness,
                                           n))]
CONSTANTS = sorted(set(PUBLIC) - set(CALLABLES))


def _target(module_name: str, name: str) -> object:
    module = torch_orderedness if module_name == "torch_orderedness" else metric
    return getattr(module, name)


def _definition_comment(name: str) -> list[str]:
    """The ``#:`` comment lines right above the module-level assignment of ``name``."""
    pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=]*)?=")
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().splitlines()
        for k, line in enumerate(lines):
            if pattern.match(line):
                comment = []
                j = k - 1
                while j >= 0 and lines[j].startswith("#:"):
                    comment.insert(0, lines[j][2:].strip())
                    j -= 1
                return comment
    return []


def test_every_public_name_is_a_callable_or_a_constant() -> None:
    assert CALLABLES and CONSTANTS
    assert len(CALLABLES) + len(CONSTANTS) == len(PUBLIC)


@pytest.mark.parametrize(("module_name", "name"), CALLABLES)
def test_public_callable_is_documented_with_an_example(module_name: str, name: str) -> None:
    obj = _target(module_name, name)
    doc = inspect.getdoc(obj) or ""
    assert len(doc.splitlines()) >= 3, f"{module_name}.{name} needs more than a one-line docstring"
    assert "Example" in doc, f"{module_name}.{name} has no example"
    if inspect.isfunction(obj):
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
        if params:
            assert "Args:" in doc, f"{module_name}.{name} does not describe its arguments"


@pytest.mark.parametrize(("module_name", "name"), CONSTANTS)
def test_public_constant_is_documented_where_it_is_defined(module_name: str, name: str) -> None:
    value = _target(module_name, name)
    assert not callable(value) or isinstance(value, (dict, tuple))
    comment = " ".join(_definition_comment(name))
    assert len(comment.split()) >= 4, f"{name} needs a '#:' comment above its definition"


def test_the_top_level_exports_the_whole_workflow() -> None:
    # a user needs nothing private to build, prune, train, log and measure
    for name in ("CompletePerceptron", "TopK", "InPlacePruner", "PruningScheduler",
                 "OrderednessMonitor", "train", "train_seeds", "PruneSpec", "TensorBoardLogger",
                 "ordering", "orderedness_null", "xor", "PRUNING_SCHEMES"):
        assert name in torch_orderedness.__all__


def test_the_library_core_never_imports_an_optional_extra() -> None:
    import subprocess
    import sys

    code = ("import sys, torch_orderedness, torch_orderedness.metric; "
            "print(sorted(m for m in ('lightning', 'ray', 'igraph', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"


def test_the_scheme_registry_comes_from_the_classes() -> None:
    schemes = torch_orderedness.PRUNING_SCHEMES
    assert {cls.SCHEME: cls for cls in schemes.values()} == schemes
    assert {n: c.PARAMETER for n, c in schemes.items()} == {
        "random": "p", "topk": "k", "dyn_topk": "k", "tril": "f", "dyn_tril": "f"}
    assert sorted(n for n, c in schemes.items() if c.DYNAMIC) == ["dyn_topk", "dyn_tril"]
