"""paper_repro: the paper's tables and figures with one command, ours beside the paper's.

``python -m paper_repro [--quick|--full]`` trains every setting of Table 1,
Figures 2 and 3 and Appendix D of *Pruning Increases Orderedness in
Weight-Tied Recurrent Computation* with :mod:`torch_orderedness` and writes
Markdown tables, PNG figures and a JSON file of every per-seed number.  See
``paper_repro/README.md``.

Modules: :mod:`.paper_numbers` (the paper's numbers), :mod:`.config`,
:mod:`.runner` (settings, per-seed runs, the adapter to the library's
training), :mod:`.table1`, :mod:`.figure2`, :mod:`.figure3`,
:mod:`.appendix_d`, :mod:`.stats`, :mod:`.report`, :mod:`.demo`.
"""

from paper_repro.config import Config
from paper_repro.runner import Run, Setting, train_setting

__all__ = ["Config", "Run", "Setting", "train_setting"]
