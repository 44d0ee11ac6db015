"""paper_repro: the paper's tables and figures with one command, ours beside the paper's.

``python -m paper_repro [--quick|--full]`` trains every setting of Table 1,
Figures 2 and 3 and Appendix D of *Pruning Increases Orderedness in
Weight-Tied Recurrent Computation* with :mod:`torch_orderedness` and writes
Markdown tables, PNG figures and a JSON file of every per-seed number;
``python -m paper_repro --protocol reference`` replays the paper's own
recorded runs instead and reproduces its Table 1 cell for cell.  See
``paper_repro/README.md`` and ``paper_repro/PAPER_NOTES.md``.

Modules: :mod:`.paper_numbers` (the paper's numbers), :mod:`.config`,
:mod:`.runner` (settings, per-seed runs, the one loop), :mod:`._adapter`
(the one call into the library's training), :mod:`.parts` (train and render
the parts), :mod:`.table1`, :mod:`.figure2`, :mod:`.figure3`,
:mod:`.appendix_d`, :mod:`.reference` (the replay of the reference runs),
:mod:`.random_row` (the Random row's numbers), :mod:`.stats`,
:mod:`.report`, :mod:`.sweep` (jobs here, in worker processes or on Ray), :mod:`.demo`.
"""

from paper_repro._adapter import train_setting
from paper_repro.config import Config
from paper_repro.runner import Run, Setting, run_settings

__all__ = ["Config", "Run", "Setting", "run_settings", "train_setting"]
