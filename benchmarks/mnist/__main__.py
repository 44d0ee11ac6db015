"""``python -m benchmarks.mnist``: the MNIST / Fashion-MNIST study's command line.

Usage::

    python -m benchmarks.mnist data      --dataset fashion-mnist       # where is the data?
    python -m benchmarks.mnist baselines --dataset fashion-mnist --quick  # experiment 1
    python -m benchmarks.mnist complete  --dataset fashion-mnist --quick  # experiment 2
    python -m benchmarks.mnist from-mlp  --dataset fashion-mnist --quick  # experiment 3
    python -m benchmarks.mnist cost      --dataset fashion-mnist --quick  # experiment 4
    python -m benchmarks.mnist all       --dataset fashion-mnist --quick  # all four
    python -m benchmarks.mnist report benchmarks/results/cost-fashion-mnist-quick.json

Each experiment writes ``<experiment>-<dataset>[-quick].json`` (settings, exact
command line, every per-seed number), ``.md`` (table) and ``.png`` into
``--out`` (default ``benchmarks/results/``, git-ignored).  ``report`` remakes
the table and figure from a JSON file without training.

``--quick`` runs each experiment on a small subset in about a minute (two
cores); options given explicitly override the quick settings.  A quick run is a
smoke test: its tables state the goals of experiments 2 and 4 but do not judge
them (only the full runs do).  If the data is
not on disk and cannot be downloaded, the command stops with a message that
says what to install or where to put the files (exit status 2); so it does,
naming the file and what is wrong, before any training if a file is damaged
(truncated, a wrong IDX header) or a split has more images than labels.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.mnist import complete as complete_mod
from benchmarks.mnist import data as data_mod
from benchmarks.mnist import report
from benchmarks.mnist.baselines import PRUNING_METHODS, BaselineConfig, run_baselines
from benchmarks.mnist.complete import SCHEMES, CompleteConfig, complete_jobs
from benchmarks.mnist.cost import CostConfig, run_cost
from benchmarks.mnist.embedding import EmbeddingConfig, run_embedding
from benchmarks.mnist.models import COMPLETE_INITS, parse_sizes
from paper_repro.sweep import Job, add_sweep_arguments, run_jobs

__all__ = ["main", "build_parser", "DEFAULT_OUT", "QUICK"]

#: Where results go unless ``--out`` says otherwise (git-ignored).
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results"

#: ``--quick`` settings per experiment (explicit options override them).
QUICK: dict[str, dict[str, Any]] = {
    "baselines": {"train_size": 10000, "test_size": 5000, "train_epochs": 3,
                  "finetune_epochs": 1, "seeds": [0, 1]},
    "cost": {"train_size": 4096, "repeats": 5},
    "complete": {"train_size": 5000, "test_size": 2000, "hidden": [64], "iterations": [2],
                 "seeds": [0, 1, 2], "epochs": 1, "null_samples": 3},
    # 20 epochs of 40 steps: the embedded MLP must have learnt something (Fashion-MNIST:
    # 0.77 test accuracy; after 2 epochs, sigmoid units and BCE left it at 0.27-0.37). 1 s
    # per orderedness measurement: the same values as with 3 s to 1e-5, in 73 s instead of 108
    "from-mlp": {"train_size": 5000, "test_size": 2000, "arch": "784-64-64-10",
                 "seeds": [0, 1], "mlp_epochs": 20, "finetune_epochs": 1, "null_samples": 3,
                 "metric_time_limit": 1.0},
}


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=tuple(data_mod.DATASETS), default="mnist",
                   help="which data set (default mnist); results always name it")
    g.add_argument("--data-root", type=Path, default=data_mod.DEFAULT_DATA_ROOT,
                   help="torchvision root: reads <root>/MNIST/raw/ or <root>/FashionMNIST/raw/ "
                        "and writes uncompressed copies there (default ./data)")
    g.add_argument("--idx-dir", type=Path, default=None,
                   help="a folder holding the four IDX files, plain or .gz (read only): the "
                        "only source when given; its files replace the copies in <root>")
    g.add_argument("--no-download", action="store_true",
                   help="never try to download (default: torchvision downloads when online)")
    g.add_argument("--train-size", type=int, default=None,
                   help="random subset of the training images (default all)")
    g.add_argument("--test-size", type=int, default=None,
                   help="random subset of the test images (default all)")
    g.add_argument("--subset-seed", type=int, default=0, help="seed of the subset draw")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="small subset, about a minute per experiment on two cores")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--device", default=None,
                   help="torch device (default cuda when available, else cpu)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: on a shared 2-core machine 2 threads ran "
                        "3-5x slower, OpenMP threads waiting for a busy core)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _shared_options(p: argparse.ArgumentParser, sizes: bool) -> None:
    g = p.add_argument_group("shared by the experiments that have them")
    g.add_argument("--seeds", nargs="+", type=int, default=None,
                   help="default: 0 1 2 (baselines), 0 1 2 3 4 (complete, from-mlp)")
    g.add_argument("--batch-size", type=int, default=None, help="default 128")
    g.add_argument("--lr", type=float, default=None, help="Adam's learning rate, default 1e-3")
    if sizes:
        g.add_argument("--hidden", nargs="+", type=int, default=None,
                       help="hidden sizes H of the complete layer, default 64 128 256")
        g.add_argument("--iterations", nargs="+", type=int, default=None,
                       help="iterations T of the complete layer, default 2 3 4")


def _baseline_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("experiment 1: MLP baselines")
    g.add_argument("--archs", nargs="+", default=None, help="e.g. 784-256-10 784-256-256-10")
    g.add_argument("--methods", nargs="+", choices=PRUNING_METHODS, default=None)
    g.add_argument("--sparsities", nargs="+", type=float, default=None, help="e.g. 0.5 0.9")
    g.add_argument("--train-epochs", type=int, default=None, help="default 8")
    g.add_argument("--finetune-epochs", type=int, default=None,
                   help="fine-tuning epochs, default 2 (experiments 1 and 3)")
    g.add_argument("--activation", choices=("relu", "sigmoid"), default=None,
                   help="hidden units, default relu")


def _scheme_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("experiments 2 and 3: the complete layer and the pruning schemes")
    g.add_argument("--schemes", nargs="+", choices=SCHEMES, default=None,
                   help="default: all six (none and the paper's five)")
    g.add_argument("--keep", type=float, default=None,
                   help="Top-K's k (fraction kept); Random prunes p = 1 - keep; default 0.5")
    g.add_argument("--damping", type=float, default=None, help="Tril-damp's f, default 0.8")
    g.add_argument("--null-samples", type=int, default=None,
                   help="null-model shuffles per seed and kind, default 5")
    g.add_argument("--metric-time-limit", type=float, default=None,
                   help="seconds per orderedness measurement, default 3")
    g.add_argument("--epochs", type=int, default=None,
                   help="experiment 2: training epochs, default 3")
    g.add_argument("--no-mlps", action="store_true",
                   help="experiment 2: skip the MLP references")
    g.add_argument("--arch", default=None,
                   help="experiment 3: the embedded MLP, default 784-128-128-10")
    g.add_argument("--mlp-epochs", type=int, default=None, help="experiment 3: default 5")
    if "--finetune-epochs" not in p._option_string_actions:  # `all`: the baselines' option
        g.add_argument("--finetune-epochs", type=int, default=None,
                       help="experiment 3: fine-tuning epochs, default 2")
    g.add_argument("--finetune-lr", type=float, default=None, help="experiment 3: default 1e-3")
    g.add_argument("--no-tensorboard", action="store_true",
                   help="do not write TensorBoard logs (default: under <out>/tensorboard/)")


def _cost_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("experiment 4: cost")
    g.add_argument("--inits", nargs="+", choices=COMPLETE_INITS, default=None,
                   help="complete-layer weight init, default scaled normal")
    g.add_argument("--repeats", type=int, default=None, help="timed rounds, default 5")
    g.add_argument("--warmup-epochs", type=int, default=None, help="default 1")
    g.add_argument("--cost-batch-size", type=int, default=None, help="default 128")
    g.add_argument("--flush-denormal", action="store_true",
                   help="torch.set_flush_denormal(True) while measuring")


def _sweep_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("experiment 2 as a sweep (each (H, T, scheme, seed) one job)")
    g.add_argument("--save-weights", action="store_true",
                   help="experiment 2: write each trained complete layer's weight to "
                        "<out>/weights/<stem>/H<H>-T<T>-<scheme>-seed<seed>.pt")
    add_sweep_arguments(g, "jobs")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the sub-commands ``data``, ``baselines``, ``complete``,
    ``from-mlp``, ``cost``, ``all``, ``report``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.mnist",
        description="MLP baselines, the complete layer with the paper's pruning schemes, "
                    "MLPs embedded as complete layers, and their cost, on MNIST / Fashion-MNIST.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="find (and prepare) the data set, print where it is")
    _common(p)
    for name, helps, sizes, options in (
        ("baselines", "experiment 1: dense and pruned MLPs", False, (_baseline_options,)),
        ("complete", "experiment 2: the complete layer with each pruning scheme", True,
         (_scheme_options, _sweep_options)),
        ("from-mlp", "experiment 3: an MLP embedded as a complete layer, fine-tuned", False,
         (_scheme_options,)),
        ("cost", "experiment 4: time and memory, complete layer vs MLPs", True,
         (_cost_options,)),
        ("all", "experiments 1 to 4", True,
         (_baseline_options, _scheme_options, _cost_options, _sweep_options)),
    ):
        p = sub.add_parser(name, help=helps)
        _common(p)
        _run_options(p)
        _shared_options(p, sizes)
        for add in options:
            add(p)
    p = sub.add_parser("report", help="remake tables and figures from JSON files")
    p.add_argument("json", type=Path, nargs="+", help="results files")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: beside)")
    return parser


def _pick(args: argparse.Namespace, name: str, quick: dict[str, Any]) -> Any:
    value = getattr(args, name, None)
    if value is None and args.quick:
        value = quick.get(name)
    return value


def _load_args(args: argparse.Namespace, experiment: str) -> dict[str, Any]:
    quick = QUICK.get(experiment, {}) if getattr(args, "quick", False) else {}
    return {
        "dataset": args.dataset, "data_root": str(args.data_root),
        "idx_dir": None if args.idx_dir is None else str(args.idx_dir),
        "download": not args.no_download,
        "train_size": args.train_size if args.train_size is not None else quick.get("train_size"),
        "test_size": args.test_size if args.test_size is not None else quick.get("test_size"),
        "subset_seed": args.subset_seed,
    }


def _load(args: argparse.Namespace, experiment: str) -> data_mod.MNISTData:
    return data_mod.load_data(**_load_args(args, experiment))


def _sweep_complete(args: argparse.Namespace, data: data_mod.MNISTData, cfg: CompleteConfig,
                    device: str, logs: Path | None, stem: str, show: bool
                    ) -> list[dict[str, Any]]:
    """Experiment 2's jobs through the sweep executor (here, or on Ray), one file per job."""
    cfg.check()
    load_args = _load_args(args, "complete") | {"idx_dir": None, "download": False}
    complete_mod.LOADED[complete_mod.data_key(load_args)] = data.to(device)
    jobs = [Job(key, label, complete_mod.sweep_job,
                (load_args, cfg.to_dict(), params, device, None if logs is None else str(logs),
                 args.threads or 1))
            for key, label, params in complete_jobs(cfg)]
    done = run_jobs(jobs, Path(args.out) / "jobs" / stem, workers=args.workers,
                    address=args.ray_address, resume=args.resume, progress=show,
                    valid=lambda job, r: isinstance(r.get("rows"), list), desc="complete",
                    executor=args.executor)
    if done.skipped:
        print(f"complete: {done.skipped} of {len(jobs)} jobs found done (--resume), "
              f"{done.ran} run now")
    if not done.ok:
        raise SweepFailed(done.failed)
    return [row for job in jobs for row in done.results[job.key]["rows"]]


class SweepFailed(RuntimeError):
    """Some jobs of a sweep raised; the others were written."""

    def __init__(self, failed: dict[str, str]) -> None:
        self.failed = failed
        super().__init__(f"{len(failed)} job(s) failed:\n" + "\n".join(
            f"  {message}" for message in failed.values()))


def _baseline_config(args: argparse.Namespace) -> BaselineConfig:
    cfg = BaselineConfig()
    quick = QUICK["baselines"]
    for name in ("seeds", "train_epochs", "finetune_epochs", "batch_size", "lr", "activation",
                 "methods", "sparsities"):
        value = _pick(args, name, quick)
        if value is not None:
            setattr(cfg, name, value)
    if args.archs is not None:
        cfg.archs = ["-".join(str(s) for s in parse_sizes(a)) for a in args.archs]
    return cfg.check()


def _complete_config(args: argparse.Namespace) -> CompleteConfig:
    cfg = CompleteConfig()
    quick = QUICK["complete"]
    for name in ("hidden", "iterations", "schemes", "seeds", "epochs", "batch_size", "lr",
                 "keep", "damping", "null_samples", "metric_time_limit"):
        value = _pick(args, name, quick)
        if value is not None:
            setattr(cfg, name, value)
    cfg.mlps = not args.no_mlps
    cfg.tensorboard = not args.no_tensorboard
    return cfg.check()


def _embedding_config(args: argparse.Namespace) -> EmbeddingConfig:
    cfg = EmbeddingConfig()
    quick = QUICK["from-mlp"]
    for name in ("arch", "schemes", "seeds", "mlp_epochs", "finetune_epochs", "batch_size",
                 "lr", "finetune_lr", "keep", "damping", "null_samples", "metric_time_limit"):
        value = _pick(args, name, quick)
        if value is not None:
            setattr(cfg, name, value)
    if cfg.arch is not None:
        cfg.arch = "-".join(str(x) for x in parse_sizes(cfg.arch))
    cfg.tensorboard = not args.no_tensorboard
    return cfg.check()


def _cost_config(args: argparse.Namespace) -> CostConfig:
    cfg = CostConfig()
    quick = QUICK["cost"]
    for name in ("hidden", "iterations", "inits", "repeats", "warmup_epochs"):
        value = _pick(args, name, quick)
        if value is not None:
            setattr(cfg, name, value)
    if args.cost_batch_size is not None:
        cfg.batch_size = args.cost_batch_size
    cfg.flush_denormal = bool(args.flush_denormal)
    return cfg.check()


def _progress(total: int, enabled: bool, desc: str) -> tuple[Callable[[str], None], Any]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, disable=not enabled, leave=False)

    def update(label: str) -> None:
        bar.set_postfix_str(label)
        bar.update(1)

    return update, bar


def _device(args: argparse.Namespace) -> str:
    if args.device is not None:
        return args.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _command(argv: Sequence[str]) -> str:
    return "python -m benchmarks.mnist " + shlex.join(argv)


def run_experiment(experiment: str, args: argparse.Namespace, argv: Sequence[str]) -> dict:
    """Load the data, run one experiment, write its files; returns the JSON document."""
    started = time.perf_counter()
    device = _device(args)
    show = sys.stderr.isatty() and not args.no_progress
    data = _load(args, experiment)
    stem = report.output_stem(experiment, data.key, bool(args.quick))
    if experiment == "baselines":
        cfg: Any = _baseline_config(args)
        total = len(cfg.archs) * len(cfg.seeds) * (1 + len(cfg.methods) * len(cfg.sparsities))
        update, bar = _progress(total, show, "baselines")
        rows = run_baselines(data, cfg, device=device, progress=update)
    elif experiment == "complete":
        cfg = _complete_config(args)
        if getattr(args, "save_weights", False):
            cfg.weights_dir = str(Path(args.out) / "weights" / stem)
        logs = Path(args.out) / "tensorboard" / stem if cfg.tensorboard else None
        update, bar = _progress(0, False, experiment)
        rows = _sweep_complete(args, data, cfg, device, logs, stem, show)
    elif experiment == "from-mlp":
        cfg = _embedding_config(args)
        logs = Path(args.out) / "tensorboard" / stem if cfg.tensorboard else None
        update, bar = _progress(cfg.runs(), show, experiment)
        rows = run_embedding(data, cfg, device=device, progress=update, tensorboard_dir=logs)
    else:
        cfg = _cost_config(args)
        total = len(cfg.hidden) * (1 + cfg.models_per_hidden())
        update, bar = _progress(total, show, "cost")
        rows = run_cost(data, cfg, device=device, progress=update)
    bar.close()
    doc = report.results_document(
        experiment, data.describe(), cfg.to_dict(), rows, command=_command(argv),
        quick=bool(args.quick), device=device, elapsed_seconds=time.perf_counter() - started,
    )
    paths = report.write_outputs(doc, args.out)
    print(f"{experiment} on {data.name}: {doc['elapsed_seconds']:.0f} s; wrote "
          + ", ".join(str(p) for p in paths.values()))
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 when the data is missing or damaged)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command == "report":
        for path in args.json:
            doc = report.load_json(path)
            out = args.out or path.parent
            stem = report.output_stem(doc["experiment"], doc["data"]["dataset_key"], doc["quick"])
            same = (Path(out) / f"{stem}.json").resolve() == path.resolve()
            paths = report.write_outputs(doc, out, write_json=not same)
            print(f"{path}: wrote " + ", ".join(str(p) for p in paths.values()))
        return 0
    threads = torch.get_num_threads()
    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            print(f"error: --threads must be >= 1, got {args.threads}", file=sys.stderr)
            return 2
        torch.set_num_threads(args.threads)
    try:
        if args.command == "data":
            data = data_mod.load_data(args.dataset, args.data_root, idx_dir=args.idx_dir,
                                      download=not args.no_download)
            d = data.describe()
            print(f"{d['dataset']}: {d['train_size']} training and {d['test_size']} test "
                  f"images from {d['source']}")
            return 0
        experiments = list(report.EXPERIMENTS) if args.command == "all" else [args.command]
        for experiment in experiments:
            run_experiment(experiment, args, argv)
    except (data_mod.DataNotFoundError, data_mod.DataFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SweepFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        torch.set_num_threads(threads)  # main() may be called in-process (tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
