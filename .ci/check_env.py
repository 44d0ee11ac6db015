"""Check that the environment the Makefile built can do everything the project needs.

Run by `make venv` right after installing.  Exits non-zero with a message that
says what is wrong and how to fix it.
"""

from __future__ import annotations

import sys


def main() -> int:
    problems: list[str] = []
    try:
        import torch
    except Exception as exc:  # pragma: no cover - environment failure
        print(f"check_env: cannot import torch: {exc}", file=sys.stderr)
        return 1
    try:
        import torchvision  # noqa: F401
    except Exception as exc:
        problems.append(
            f"`import torchvision` failed ({type(exc).__name__}: {exc}).\n"
            f"  torch {torch.__version__} is installed. The registry's torchvision wheels are built\n"
            "  against the CUDA build of torch; next to a CPU-only torch (version ending in '+cpu')\n"
            "  they fail with 'operator torchvision::nms does not exist'. Fix: `make clean venv`,\n"
            "  which installs the matching pair torch==2.13.0 / torchvision==0.28.0 from the registry\n"
            "  pinned with `===` so that no local `+cpu` wheel is picked."
        )
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except Exception as exc:
        problems.append(f"`torch.utils.tensorboard` is unusable ({exc}); install `tensorboard`.")
    for name in ("numpy", "scipy", "tqdm"):
        try:
            __import__(name)
        except Exception as exc:
            problems.append(f"`import {name}` failed: {exc}")
    if problems:
        print("check_env: the environment is not usable:", file=sys.stderr)
        for p in problems:
            print(" - " + p, file=sys.stderr)
        return 1
    import torchvision

    print(f"check_env: ok (torch {torch.__version__}, torchvision {torchvision.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
