r"""Table 1 replayed from the paper's own runs: every trial, from its recorded inputs.

The paper's reference implementation was run once, unmodified, exactly as its
notebook makes Table 1, and every trial of every cell was recorded: the
initial weight and state, the Random mask it applied, the task data, the
order in which its data loader served the samples in every epoch, and the
start and end orderedness, final loss and end weight it reached
(``paper_repro/data/reference_runs.json.xz``, format described in the file's
``about`` field and in ``paper_repro/PAPER_NOTES.md``).

:func:`replay_trial` trains one recorded trial again with the library's
public API only: a :class:`~torch_orderedness.CompletePerceptron` given the
recorded initial weight and state, a :class:`torch.utils.data.DataLoader`
whose sampler (:class:`RecordedOrder`) serves the recorded order of each
epoch, :func:`torch_orderedness.train` with the cell's scheme
(:class:`~torch_orderedness.PruneSpec`; Random with the recorded mask) and
``progress="epoch"`` (the reference's ``x = epoch / epochs``).
:func:`build` turns the replayed trials into Table 1 with the reference's
statistics: mean and **population** std (``ddof = 0``) over the 10 trials,
compared with the paper's numbers to 3 decimals.

Example (one recorded trial: Tril-damp applied 10 times without training)::

    >>> runs = load()
    >>> cell = runs.cell("tril", "untrained")
    >>> r = replay_trial(cell, 1)
    >>> abs(r.end - r.reference_end) < 1e-5, round(r.change, 3)
    (True, 0.274)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paper_repro import paper_numbers as paper
from paper_repro.report import fmt, fmt_pm, markdown_table, table1_halves

__all__ = [
    "DEFAULT_PATH",
    "SHA256",
    "ROWS",
    "COLUMNS",
    "TOLERANCE",
    "FORMAT",
    "ReferenceTrial",
    "ReferenceCell",
    "ReferenceRuns",
    "RecordedOrder",
    "TrialReplay",
    "CellResult",
    "load",
    "replay_trial",
    "replay",
    "build",
    "markdown",
    "save_replays",
    "load_replays",
]

#: The repository's copy of the reference runs (xz-compressed JSON, 0.35 MB; 2.1 MB unpacked).
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "reference_runs.json.xz"
#: sha256 of the unpacked JSON of :data:`DEFAULT_PATH` (checked when it is loaded).
SHA256 = "3429b1530bb778b34277389936ed5af01bb2ff2fe23542802f1ff66a07f27b1b"

#: The file's row ids -> ``(half, row)`` of :mod:`paper_repro.paper_numbers`.
ROWS: dict[str, tuple[str, str]] = {
    "init_default": ("init", "default"),
    "init_uniform": ("init", "uniform"),
    "init_zeros": ("init", "zeros"),
    "prune_none": ("pruning", "none"),
    "prune_random": ("pruning", "random"),
    "prune_topk": ("pruning", "topk"),
    "prune_dyntopk": ("pruning", "dyn_topk"),
    "prune_trildamp": ("pruning", "tril"),
    "prune_dyntrildamp": ("pruning", "dyn_tril"),
}
#: Table 1's columns (the file's column ids); Sine is the H = 8 run.
COLUMNS: tuple[str, ...] = ("untrained", "xor", "sine")
#: A replayed trial agrees with its recording when start and end orderedness are this close.
TOLERANCE = 1e-5
#: Identifies the JSON layout written by :func:`save_replays`.
FORMAT = "paper_repro/reference/1"

# the file's scheme names -> this project's
_SCHEMES = {"none": "none", "Random": "random", "Top-K": "topk", "Dynamic Top-K": "dyn_topk",
            "Tril-damp": "tril", "Dynamic Tril-damp": "dyn_tril"}
_ROW_OF = {row: rid for rid, (_, row) in ROWS.items()}


def _f32(values: Any) -> Any:
    """A nested list of floats as the float32 tensor it records (exact: parsed as float64)."""
    import torch

    return torch.tensor(values, dtype=torch.float64).to(torch.float32)


@dataclass(frozen=True)
class ReferenceTrial:
    """One recorded trial (1-based ``trial``); orderedness and loss values as recorded."""

    trial: int
    init_weights: list[list[float]]
    init_state: list[float]
    random_keep_mask: list[list[int]] | None
    start: float
    end: float
    final_loss: float
    end_weights: list[list[float]]


@dataclass(frozen=True)
class ReferenceCell:
    """One recorded cell of Table 1: its settings, data, batch orders and trials.

    Attributes:
        row: the row key of :mod:`paper_repro.paper_numbers` (``"topk"``, ``"default"``...).
        half: ``"init"`` or ``"pruning"``.
        column: ``"untrained"``, ``"xor"`` or ``"sine"``.
        settings: the file's settings of the cell (words and fields).
        x, y: the task data, ``(n, I)`` and ``(n, O)`` as nested lists.
        orders: ``orders[trial - 1][epoch]``: the row indices in the order served.
        trials: the recorded trials.
        recorded: the file's own Table 1 statistics of the cell (mean, population std).
    """

    row: str
    half: str
    column: str
    settings: dict[str, Any]
    x: list[list[float]]
    y: list[list[float]]
    orders: list[list[list[int]]]
    trials: tuple[ReferenceTrial, ...]
    recorded: dict[str, Any]

    @property
    def scheme(self) -> str:
        """The scheme (``"none"``, ``"random"``, ``"topk"``, ...)."""
        return _SCHEMES[self.settings["pruning_scheme"]]

    @property
    def amount(self) -> float | None:
        """The scheme's parameter (``p``, ``k`` or ``f``); ``None`` without pruning."""
        if self.scheme == "none":
            return None
        return float(self.settings["pruning_parameter"][paper.SCHEME_PARAMETER[self.scheme]])

    @property
    def value_is_start(self) -> bool:
        """Whether the cell reports the start orderedness (top half, untrained), not the change."""
        return self.half == "init" and self.column == "untrained"

    def trial(self, number: int) -> ReferenceTrial:
        """The recorded trial ``number`` (1-based)."""
        for t in self.trials:
            if t.trial == number:
                return t
        raise ValueError(f"{self.row}/{self.column} has no trial {number}; it has "
                         f"{[t.trial for t in self.trials]}")


@dataclass(frozen=True)
class ReferenceRuns:
    """The whole file: ``cells[(row, column)]``, the file's ``about`` and its sha256."""

    cells: dict[tuple[str, str], ReferenceCell]
    about: dict[str, Any]
    sha256: str
    source: str

    def cell(self, row: str, column: str) -> ReferenceCell:
        """The cell of ``row`` (e.g. ``"topk"``) and ``column`` (e.g. ``"xor"``)."""
        try:
            return self.cells[(row, column)]
        except KeyError:
            raise ValueError(f"no reference cell {row!r} / {column!r}; rows "
                             f"{list(_ROW_OF)}, columns {list(COLUMNS)}") from None


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(raw)
    if path.suffix == ".gz":
        return gzip.decompress(raw)
    return raw


# what the replay reproduces; anything else in a file is refused, not silently replayed
_EXPECTED = {"activation": "sigmoid", "bias": False, "dtype": "float32", "lr": 0.01}


def _check_settings(rid: str, column: str, s: dict[str, Any]) -> None:
    where = f"reference cell {rid}/{column}"
    for key, value in _EXPECTED.items():
        if s.get(key) != value:
            raise ValueError(f"{where}: the replay needs {key} = {value!r}, got {s.get(key)!r}")
    if "mse" not in str(s.get("loss", "")).lower():
        raise ValueError(f"{where}: the replay trains with the MSE loss, got {s.get('loss')!r}")
    if s.get("gradient_updates") and "Adam" not in str(s.get("optimizer", "")):
        raise ValueError(f"{where}: the replay trains with Adam, got {s.get('optimizer')!r}")
    if s.get("pruning_scheme") not in _SCHEMES:
        raise ValueError(f"{where}: unknown pruning scheme {s.get('pruning_scheme')!r}")
    if s.get("drop_last"):
        raise ValueError(f"{where}: drop_last batches are not replayed")


def _trial(t: dict[str, Any]) -> ReferenceTrial:
    return ReferenceTrial(int(t["trial"]), t["init_weights"], t["init_state"],
                          t.get("random_keep_mask"), float(t["start_orderedness"]),
                          float(t["end_orderedness"]), float(t["final_loss"]), t["end_weights"])


def load(path: str | Path | None = None) -> ReferenceRuns:
    """Read reference runs (``.json``, ``.json.gz`` or ``.json.xz``; default :data:`DEFAULT_PATH`).

    The repository's copy is checked against :data:`SHA256`.

    Raises:
        ValueError: a changed repository copy, or a file whose cells the replay
            cannot train (another optimiser, loss, activation or dtype).
    """
    path = DEFAULT_PATH if path is None else Path(path)
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    if path.resolve() == DEFAULT_PATH and digest != SHA256:
        raise ValueError(f"{path} is not the recorded reference file (sha256 {digest})")
    doc = json.loads(data)
    cells: dict[tuple[str, str], ReferenceCell] = {}
    for rid, by_column in doc["cells"].items():
        if rid not in ROWS:
            raise ValueError(f"unknown row {rid!r} in {path}; known: {list(ROWS)}")
        half, row = ROWS[rid]
        for column, c in by_column.items():
            _check_settings(rid, column, c["settings"])
            orders = doc["batch_orders"][c["batch_orders_key"]]
            cells[(row, column)] = ReferenceCell(
                row, half, column, c["settings"], c["task_data"]["x"], c["task_data"]["y"],
                orders, tuple(_trial(t) for t in c["trials"]), c["table1"])
    return ReferenceRuns(cells, doc.get("about", {}), digest, path.name)


class RecordedOrder:
    """A sampler that serves recorded orders: epoch ``e``'s order on its ``e``-th iteration.

    Pass it as a :class:`torch.utils.data.DataLoader`'s ``sampler``; a loader
    iterated once per epoch then serves exactly the recorded batches
    (consecutive chunks of ``batch_size`` of each order).

    Args:
        orders: one list of row indices per epoch.

    Example::

        >>> sampler = RecordedOrder([[2, 0, 1], [1, 2, 0]])
        >>> list(sampler), list(sampler), sampler.served
        ([2, 0, 1], [1, 2, 0], 2)
    """

    def __init__(self, orders: Sequence[Sequence[int]]) -> None:
        self.orders = [list(map(int, o)) for o in orders]
        if not self.orders or len({len(o) for o in self.orders}) != 1:
            raise ValueError("orders must be one or more epochs of equal length")
        self.served = 0

    def __len__(self) -> int:
        return len(self.orders[0])

    def __iter__(self) -> Iterator[int]:
        if self.served >= len(self.orders):
            raise RuntimeError(f"all {len(self.orders)} recorded epochs were served already")
        order = self.orders[self.served]
        self.served += 1
        return iter(order)


@dataclass(frozen=True)
class TrialReplay:
    """One replayed trial beside its recording.

    Attributes:
        row, column, trial: which trial (row key, column, 1-based trial).
        start, end, final_loss: what the replay measured.
        reference_start, reference_end, reference_final_loss: what the reference recorded.
        end_weight_error: largest ``|replayed - recorded|`` entry of the end weight.
        wall_s: seconds the replay took.
    """

    row: str
    column: str
    trial: int
    start: float
    end: float
    final_loss: float
    reference_start: float
    reference_end: float
    reference_final_loss: float
    end_weight_error: float
    wall_s: float = 0.0

    @property
    def change(self) -> float:
        return self.end - self.start

    @property
    def reference_change(self) -> float:
        return self.reference_end - self.reference_start

    @property
    def agrees(self) -> bool:
        """Start and end orderedness within :data:`TOLERANCE` of the recording."""
        return (abs(self.start - self.reference_start) <= TOLERANCE
                and abs(self.end - self.reference_end) <= TOLERANCE)


def _pruning(cell: ReferenceCell, trial: ReferenceTrial) -> list[Any]:
    from torch_orderedness import PruneSpec

    if cell.scheme == "none":
        return []
    params: dict[str, Any] = {paper.SCHEME_PARAMETER[cell.scheme]: cell.amount}
    if cell.scheme == "random":
        params["mask"] = _f32(trial.random_keep_mask)
    return [PruneSpec(cell.scheme, **params)]


def replay_trial(cell: ReferenceCell, trial: int) -> TrialReplay:
    """Train recorded trial ``trial`` (1-based) of ``cell`` again with the library's public API.

    The complete layer (O, H, I, T of the cell, sigmoid, no bias) starts from the
    recorded weight and state; :func:`torch_orderedness.train` runs the cell's
    epochs over a DataLoader serving the recorded orders, Adam (lr 0.01,
    the library's default) and MSE, the scheme applied in place after every
    step with ``x = epoch / epochs`` (``update=False`` for the untrained column:
    the scheme applied once per epoch, no gradient step).
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from torch_orderedness import CompletePerceptron, train

    t = cell.trial(trial)
    s = cell.settings
    model = CompletePerceptron(s["inputs_I"], s["hidden_H"], s["outputs_O"],
                               iterations=s["iterations_T"], weight_init="zeros",
                               state_init="zeros")
    with torch.no_grad():
        model.weight.copy_(_f32(t.init_weights))
        model.initial_state.copy_(_f32([t.init_state]))
    sampler = RecordedOrder(cell.orders[trial - 1])
    loader = DataLoader(TensorDataset(_f32(cell.x), _f32(cell.y)),
                        batch_size=s["batch_size"], sampler=sampler)
    t0 = time.perf_counter()
    result = train(model, loader, epochs=s["epochs"], pruning=_pruning(cell, t),
                   update=bool(s["gradient_updates"]), progress="epoch", progress_bar=False)
    wall = time.perf_counter() - t0
    if sampler.served != s["epochs"]:
        raise RuntimeError(f"train() iterated the DataLoader {sampler.served} times for "
                           f"{s['epochs']} epochs; the recorded batch orders were not replayed")
    end_weight = result.end_params["weight"].detach().cpu()
    error = float((end_weight - _f32(t.end_weights)).abs().max())
    return TrialReplay(cell.row, cell.column, trial, float(result.start_orderedness),
                       float(result.end_orderedness), float(result.final_loss), t.start, t.end,
                       t.final_loss, error, wall)


#: Reference runs read by :func:`replay_cell_job` in this process (a sweep's worker reads
#: the file once, not once per job), by path.
LOADED: dict[str, ReferenceRuns] = {}


def replay_cell_job(path: str | None, row: str, column: str, trials: list[int] | None
                    ) -> dict[str, Any]:
    """One cell's trials as a sweep job: ``{"trials": [TrialReplay fields, ...]}``."""
    key = str(path)
    if key not in LOADED:
        LOADED[key] = load(path)
    cell = LOADED[key].cell(row, column)
    numbers = [t.trial for t in cell.trials] if trials is None else list(trials)
    return {"trials": [asdict(replay_trial(cell, n)) for n in numbers]}


def _log_cell(log: Callable[[str], None] | None, row: str, column: str,
              done: Sequence[TrialReplay], seconds: float) -> None:
    if log is None or not done:
        return
    worst = max(max(abs(r.start - r.reference_start), abs(r.end - r.reference_end))
                for r in done)
    log(f"{row} / {column}: {len(done)} trials in {seconds:.1f} s, "
        f"largest |replayed - recorded| orderedness {worst:.1e}")


def replay(
    runs: ReferenceRuns,
    rows: Iterable[str] | None = None,
    columns: Iterable[str] | None = None,
    trials: Iterable[int] | None = None,
    log: Callable[[str], None] | None = None,
    sweep: Any = None,
    path: str | Path | None = None,
) -> list[TrialReplay]:
    """Replay the chosen trials (default: all 10) of the chosen cells (default: all 27).

    Args:
        runs: from :func:`load`.
        rows: row keys (``"default"``, ``"uniform"``, ``"zeros"``, ``"none"``,
            ``"random"``, ``"topk"``, ``"dyn_topk"``, ``"tril"``, ``"dyn_tril"``).
        columns: of ``"untrained"``, ``"xor"``, ``"sine"``.
        trials: 1-based trial numbers.
        log: called with one line per cell.
        sweep: a :class:`paper_repro.runner.Sweep`: each cell is one job of a sweep
            (written when done, resumable, in worker processes or on Ray when asked),
            reading the runs from ``path`` (the file :func:`load` read; ``None``: the
            repository's copy).

    Raises:
        RuntimeError: with ``sweep``, some cells failed (the others are written).
    """
    rows = list(_ROW_OF) if rows is None else list(rows)
    columns = list(COLUMNS) if columns is None else list(columns)
    chosen = None if trials is None else list(trials)
    cells = [(row, column) for row in rows for column in columns]
    if sweep is not None:
        return _replay_sweep(runs, cells, chosen, sweep, path, log)
    out: list[TrialReplay] = []
    for row, column in cells:
        cell = runs.cell(row, column)
        numbers = [t.trial for t in cell.trials] if chosen is None else chosen
        t0 = time.perf_counter()
        done = [replay_trial(cell, n) for n in numbers]
        out += done
        _log_cell(log, row, column, done, time.perf_counter() - t0)
    return out


def _replay_sweep(runs: ReferenceRuns, cells: list[tuple[str, str]], trials: list[int] | None,
                  sweep: Any, path: str | Path | None, log: Callable[[str], None] | None
                  ) -> list[TrialReplay]:
    from paper_repro.runner import SweepFailed
    from paper_repro.sweep import Job

    source = None if path is None else str(Path(path).resolve())
    LOADED.setdefault(str(source), runs)  # jobs run here read the runs already loaded
    suffix = "all" if trials is None else "-".join(map(str, trials))
    jobs = [Job(f"{row}-{column}-trials-{suffix}", f"{row} / {column}", replay_cell_job,
                (source, row, column, trials)) for row, column in cells]
    done = sweep.run(jobs, lambda job, r: isinstance(r.get("trials"), list), "cells")
    if not done.ok:
        raise SweepFailed(done.failed)
    out: list[TrialReplay] = []
    for (row, column), job in zip(cells, jobs, strict=True):
        replays = [TrialReplay(**t) for t in done.results[job.key]["trials"]]
        _log_cell(log, row, column, replays, sum(r.wall_s for r in replays))
        out += replays
    return out


@dataclass(frozen=True)
class CellResult:
    """One cell of the replayed Table 1.

    Attributes:
        half, row, column: where the cell sits.
        trials: the trials replayed.
        values: the cell's statistic per trial (start orderedness or change).
        mean, std: their mean and population std (``ddof = 0``, the reference's).
        reference_values: the same statistic from the recording.
        paper: the paper's ``(mean, std)``.
        agrees: whether mean and std round to the paper's 3 decimals (``None``
            unless all 10 trials were replayed).
        max_start_error, max_end_error: largest ``|replayed - recorded|`` over the trials.
        max_loss_error, max_weight_error: the same for the final loss and the end weight.
        within: how many trials agree with their recording (:attr:`TrialReplay.agrees`).
    """

    half: str
    row: str
    column: str
    trials: tuple[int, ...]
    values: tuple[float, ...]
    mean: float
    std: float
    reference_values: tuple[float, ...]
    paper: tuple[float, float]
    agrees: bool | None
    max_start_error: float
    max_end_error: float
    max_loss_error: float
    max_weight_error: float
    within: int


def _paper(half: str, row: str, column: str) -> tuple[float, float]:
    table = paper.TABLE1_INIT if half == "init" else paper.TABLE1_PRUNING
    return table[row][column]


def _cell_result(half: str, row: str, column: str, rs: list[TrialReplay]) -> CellResult:
    at_start = half == "init" and column == "untrained"
    values = [r.start if at_start else r.change for r in rs]
    reference = [r.reference_start if at_start else r.reference_change for r in rs]
    mean, std = float(np.mean(values)), float(np.std(values, ddof=0))
    p_mean, p_std = _paper(half, row, column)
    full = sorted(r.trial for r in rs) == list(range(1, paper.PAPER_SEEDS + 1))
    agrees = (fmt(mean) == fmt(p_mean) and fmt(std) == fmt(p_std)) if full else None
    return CellResult(
        half, row, column, tuple(r.trial for r in rs), tuple(values), mean, std,
        tuple(reference), (p_mean, p_std), agrees,
        max(abs(r.start - r.reference_start) for r in rs),
        max(abs(r.end - r.reference_end) for r in rs),
        max(abs(r.final_loss - r.reference_final_loss) for r in rs),
        max(r.end_weight_error for r in rs),
        sum(r.agrees for r in rs),
    )


def build(replays: Sequence[TrialReplay]) -> list[CellResult]:
    """Table 1's cells from replayed trials (only the cells that have some), in table order."""
    out = []
    for half, row in ROWS.values():
        for column in COLUMNS:
            rs = [r for r in replays if (r.row, r.column) == (row, column)]
            if rs:
                out.append(_cell_result(half, row, column, rs))
    return out


_COLUMN_LABELS = {"untrained": "untrained", "xor": "XOR", "sine": "Sine (H=8)"}


def _main_tables(cells: Sequence[CellResult]) -> list[str]:
    by_key = {(c.half, c.row, c.column): c for c in cells}

    def text(half: str, row: str, column: str) -> str:
        c = by_key.get((half, row, column))
        if c is None:
            return "-"
        verdict = {True: "yes", False: "**no**",
                   None: f"n/a ({len(c.trials)} of {paper.PAPER_SEEDS} trials)"}
        return f"**{fmt_pm(c.mean, c.std)}** · paper {fmt_pm(*c.paper)} · {verdict[c.agrees]}"

    return table1_halves([(c, _COLUMN_LABELS[c]) for c in COLUMNS], text)


def _agreement_table(cells: Sequence[CellResult]) -> list[str]:
    body = []
    for c in cells:
        body.append([paper.ROW_LABELS[c.row], _COLUMN_LABELS[c.column], str(len(c.trials)),
                     f"{c.mean:.5f}", f"{float(np.mean(c.reference_values)):.5f}",
                     f"{c.max_start_error:.1e}", f"{c.max_end_error:.1e}",
                     f"{c.max_loss_error:.1e}", f"{c.max_weight_error:.1e}",
                     f"{c.within} of {len(c.trials)}"])
    return [markdown_table(["Row", "Column", "trials", "mean (replayed)", "mean (recorded)",
                            "max Δ start", "max Δ end", "max Δ final loss",
                            "max Δ end weight", f"within {TOLERANCE:g}"], body), ""]


def markdown(cells: Sequence[CellResult], source: str, sha256: str,
             timings: dict[str, float] | None = None) -> str:
    """``table1.md`` of the reference protocol: cells beside the paper's, then per-trial checks."""
    full = [c for c in cells if c.agrees is not None]
    agree = sum(bool(c.agrees) for c in full)
    trials = sum(len(c.trials) for c in cells)
    within = sum(c.within for c in cells)
    lines = [
        "# Table 1 replayed from the paper's reference runs",
        "",
        "Each cell: **replayed** mean ± std over the reference's 10 trials · the paper's mean ± "
        "std · whether both round to the paper's 3 decimals. The std is the **population** std "
        "(ddof = 0), as the reference computed it (our own-seed tables use the sample std, "
        "ddof = 1). Top half, *untrained* = orderedness at initialisation; every other cell = "
        "end minus start of the same run.",
        "",
        "Every trial starts from the reference's recorded initial weight and state and is "
        "trained by `torch_orderedness.train` on a DataLoader that serves the recorded sample "
        "order of each epoch (Random: the recorded mask, one for all 10 trials of a column, as "
        "the reference notebook drew it); Adam lr 0.01, MSE, float32, the scheme applied in "
        "place after every step with x = epoch / epochs; untrained = 10 scheme applications "
        "without gradient updates.",
        "",
        *_main_tables(cells),
        f"Cells whose mean and std agree with the paper to 3 decimals: {agree} of {len(full)} "
        "fully replayed cells.",
        "",
        "## Every trial against its recording",
        "",
        "Per cell: the mean to 5 decimals (replayed and as recorded) and the largest "
        "difference between a replayed trial and its recording in start and end orderedness, "
        f"final loss and end weight (largest entry). Start and end must agree within "
        f"{TOLERANCE:g}.",
        "",
        *_agreement_table(cells),
        f"Replayed trials whose start and end orderedness agree with their recordings within "
        f"{TOLERANCE:g}: {within} of {trials}.",
        "",
        f"Reference runs: `{source}` (sha256 of the JSON `{sha256}`).",
        "",
    ]
    if timings:
        lines += ["## Wall time", ""] + [f"- {k}: {v:.1f} s" for k, v in timings.items()] + [""]
    return "\n".join(lines)


def save_replays(path: str | Path, replays: Sequence[TrialReplay], runs: ReferenceRuns,
                 timings: dict[str, float] | None = None) -> Path:
    """Write every replayed trial (and where its inputs came from) to ``path`` (JSON)."""
    from paper_repro.report import environment

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "source": runs.source, "sha256": runs.sha256,
           "timings": timings or {}, "environment": environment(),
           "trials": [asdict(r) for r in replays]}
    path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return path


def load_replays(path: str | Path) -> tuple[list[TrialReplay], dict[str, Any]]:
    """Read a file of :func:`save_replays`: ``(replays, the rest of the document)``."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path} is not a reference replay file (format {FORMAT!r})")
    replays = [TrialReplay(**t) for t in doc.pop("trials")]
    return replays, doc


def is_replay_file(path: str | Path) -> bool:
    """Whether ``path`` holds replayed reference trials (rather than our own-seed results)."""
    try:
        return json.loads(Path(path).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False
