"""The README's Python examples run as written and print what they say they print.

A line ``print(...)  # -> expected`` in a README block is checked: what that
``print`` writes must equal ``expected``.  A block whose first line is
``# continues the example above`` runs after the block before it, with its names.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
MARKED = re.compile(r"^(\s*)print\((.*)\)\s*#\s*->\s*(.*?)\s*$")


def instrument(block: str) -> tuple[str, list[str]]:
    """The block with every marked ``print(...)`` replaced by a checked call; the expectations."""
    lines, expected = [], []
    for line in block.splitlines():
        m = MARKED.match(line)
        if m:
            indent, args, want = m.groups()
            lines.append(f"{indent}__checked_print__({len(expected)}, {args})")
            expected.append(want)
        else:
            lines.append(line)
    return "\n".join(lines) + "\n", expected


CONTINUES = "# continues the example above"


def run_block(index: int) -> tuple[dict, list[tuple[str, str]]]:
    source, expected = instrument(BLOCKS[index])
    seen: list[tuple[str, str]] = []
    namespace: dict = {"__name__": "__readme__"}
    if BLOCKS[index].startswith(CONTINUES):
        namespace, _ = run_block(index - 1)

    def checked_print(k: int, *args: object) -> None:
        out = io.StringIO()
        print(*args, file=out)
        seen.append((out.getvalue().rstrip("\n"), expected[k]))

    namespace["__checked_print__"] = checked_print
    with redirect_stdout(io.StringIO()):
        exec(compile(source, f"README.md[python block {index}]", "exec"), namespace)
    return namespace, seen


def test_readme_has_examples_with_checked_output() -> None:
    assert BLOCKS, "README.md should hold ```python examples"
    assert sum(len(instrument(b)[1]) for b in BLOCKS) >= 6


def test_instrument_finds_marked_prints_only() -> None:
    source, expected = instrument("x = 1\nprint(x + 1)  # -> 2\nprint(x)  # a note\n")
    assert expected == ["2"]
    assert "__checked_print__(0, x + 1)" in source and "print(x)  # a note" in source


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_and_prints_what_it_shows(index: int, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    _, seen = run_block(index)
    assert len(seen) == len(instrument(BLOCKS[index])[1]), "a marked print did not run"
    for got, want in seen:
        assert got == want


def test_the_own_loop_example_logs_orderedness_bounds_and_the_image(tmp_path, monkeypatch) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    index = next(k for k, b in enumerate(BLOCKS) if "OrderednessMonitor(" in b)
    monkeypatch.chdir(tmp_path)
    namespace, _ = run_block(index)
    events = EventAccumulator(str(tmp_path / "runs" / "own-loop"),
                              size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"orderedness/value", "orderedness/lower", "orderedness/upper"} <= set(tags["scalars"])
    assert "weight/ordered" in tags["images"]
    steps = [e.step for e in events.Scalars("orderedness/value")]
    assert steps == [15 * k for k in range(1, 41)]  # once per epoch of 15 batches
    history = namespace["monitor"].history
    for event, (step, (result,)) in zip(events.Scalars("orderedness/value"), history, strict=True):
        assert event.step == step and event.value == pytest.approx(result.value, rel=1e-6)
    assert len(events.Images("weight/ordered")) == 40
