"""Test collection: skip the doctests of optional modules whose extra is not installed."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("lightning") is None:  # the [lightning] extra
    collect_ignore.append("torch_orderedness/lightning.py")
