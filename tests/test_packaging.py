"""What the distribution installs: the library only, not the repository's scripts.

``paper_repro`` and ``benchmarks`` run from a checkout (``python -m paper_repro``,
``python -m benchmarks.mnist``); installed into site-packages under those
generic names they would clash with other projects' modules.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Not sources: build outputs, caches, environments, data and results.
_IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist",
                                 ".pytest_cache", ".ruff_cache", ".benchmarks", "data",
                                 "results", "runs", ".whl", ".gl")


def _builds_offline() -> bool:
    """Whether this environment's setuptools can build a wheel without build isolation."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _build_wheel(tmp_path: Path) -> Path:
    """Build the project's wheel from a copy of the checkout (the checkout gets no build/)."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=_IGNORE)
    out = tmp_path / "wheel"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    if _builds_offline():  # else pip fetches setuptools from the registry for the build
        command += ["--no-build-isolation", "--no-index"]
    done = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("*.whl")
    return wheel


def test_the_wheel_holds_torch_orderedness_only(tmp_path):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        declared = z.read(top_level).decode().split()
    installed = {n.split("/")[0] for n in names if ".dist-info/" not in n}
    assert installed == {"torch_orderedness"}
    assert declared == ["torch_orderedness"]
    # every module of the library is in it, subpackages included
    library = {p.relative_to(ROOT).as_posix() for p in (ROOT / "torch_orderedness").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert library <= set(names)
    assert "torch_orderedness/metric/__init__.py" in names


def test_the_scripts_run_from_a_checkout():
    """Not installed, still importable from the repository root (the working directory)."""
    for module in ("paper_repro", "benchmarks.mnist"):
        done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "usage:" in done.stdout
