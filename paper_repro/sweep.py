"""Sweeps: a grid's independent jobs, one by one, in worker processes or on Ray, each
written when it finishes.

A study is a grid of independent jobs (a setting with its seeds).  :func:`run_jobs`
runs them

- in this process, one after the other (``workers=1``), or
- in ``workers`` local worker processes (``executor="processes"``, the default:
  the standard library's process pool, which starts in about the time the
  workers take to import torch), or
- as Ray tasks (``executor="ray"``): on a local Ray instance with ``workers``
  CPUs, or on an existing Ray cluster (``address``); Ray is an optional
  dependency (the ``[ray]`` extra), imported only here and only then.  A local
  Ray instance costs about 10 s to start and stop on a 2-core machine: worth
  it for a cluster, not for a short local grid;

and writes each job's result to ``<folder>/<key>.json`` the moment it is
done.  With ``resume`` the jobs whose files are already there and valid are
not run again, so an interrupted sweep loses at most the jobs in flight.  A
job that raises is reported (its label and the error) and the others go on.

Every job is seeded by its own arguments (its setting and seeds), never by the
order in which jobs finish, so the results are the same for any executor.

Example::

    >>> import tempfile
    >>> jobs = [Job(f"square-{i}", f"{i} squared", _square, (i,)) for i in range(3)]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     done = run_jobs(jobs, d, progress=False)
    ...     again = run_jobs(jobs, d, resume=True, progress=False)
    >>> [done.results[j.key]["value"] for j in jobs], done.ran, again.ran, again.skipped
    ([0, 1, 4], 3, 0, 3)
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Job", "SweepResult", "run_jobs", "add_sweep_arguments", "EXECUTORS", "RAY_EXCLUDES"]

#: How :func:`run_jobs` runs more than one job at once.
EXECUTORS: tuple[str, ...] = ("processes", "ray")

#: What a Ray cluster's ``working_dir`` upload of the repository leaves out.
RAY_EXCLUDES: tuple[str, ...] = (".venv", ".git", "**/results", "runs", "**/__pycache__",
                                 "**/reference_results", ".benchmarks", "data")


@dataclass(frozen=True)
class Job:
    """One unit of a sweep.

    Attributes:
        key: unique, file-safe name; the result goes to ``<folder>/<key>.json``.
        label: what the job is, for messages (e.g. the setting's label).
        fn: a module-level function returning a JSON-friendly ``dict``; worker
            processes import it by name, so it must live in an importable module
            (not in a notebook's or a ``-c`` script's ``__main__``).
        args: its arguments.
    """

    key: str
    label: str
    fn: Callable[..., dict[str, Any]]
    args: tuple[Any, ...] = ()


@dataclass
class SweepResult:
    """What :func:`run_jobs` did.

    Attributes:
        results: ``key -> result`` of every finished job (run now or found on disk).
        failed: ``key -> "label: error"`` of the jobs that raised.
        ran: jobs run by this call.
        skipped: jobs whose valid results were already there (``resume``).
    """

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    ran: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        """``True`` when no job failed."""
        return not self.failed


def _square(i: int) -> dict[str, Any]:  # for the docstring example
    return {"value": i * i}


def _path(folder: Path, key: str) -> Path:
    return folder / f"{key}.json"


def _load(folder: Path, job: Job, valid: Callable[[Job, dict[str, Any]], bool] | None
          ) -> dict[str, Any] | None:
    """A job's saved result if it is there, readable and valid; else ``None``."""
    try:
        data = json.loads(_path(folder, job.key).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != job.key:
        return None
    result = data.get("result")
    if not isinstance(result, dict) or (valid is not None and not valid(job, result)):
        return None
    return result


def _save(folder: Path, job: Job, result: dict[str, Any]) -> None:
    """Write atomically: a killed sweep never leaves half a file under the final name."""
    path = _path(folder, job.key)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": job.key, "label": job.label, "result": result}))
    os.replace(tmp, path)


def _error(job: Job, exc: BaseException) -> str:
    """``"label: ErrorType: first line of the message"``."""
    text = traceback.format_exception_only(type(exc), exc)[-1].strip().splitlines()
    return f"{job.label}: {text[0] if text else type(exc).__name__}"


class _Bar:
    """A tqdm bar over the jobs showing done, failed and running."""

    def __init__(self, total: int, initial: int, enabled: bool, desc: str) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, desc=desc, unit="job", leave=False,
                        disable=not (enabled and sys.stderr.isatty()))
        self.failed = 0

    def update(self, running: int, failed: bool = False, advance: int = 1) -> None:
        self.failed += int(failed)
        self.bar.update(advance)
        self.bar.set_postfix(failed=self.failed, running=running)

    def close(self) -> None:
        self.bar.close()


def _finished(job: Job, result: dict[str, Any], folder: Path, out: SweepResult, bar: _Bar,
              running: int) -> None:
    """A job's result: written to its file, kept, counted, shown."""
    _save(folder, job, result)
    out.results[job.key] = result
    out.ran += 1
    bar.update(running)


def _failed(job: Job, message: str, out: SweepResult, bar: _Bar, running: int) -> None:
    """A job that failed: reported (the others go on)."""
    out.failed[job.key] = message
    bar.update(running, failed=True)


def _run_serial(todo: Sequence[Job], folder: Path, out: SweepResult, bar: _Bar) -> None:
    for job in todo:
        bar.update(running=1, advance=0)
        try:
            result = job.fn(*job.args)
        except Exception as exc:  # reported, and the others go on
            _failed(job, _error(job, exc), out, bar, 0)
            continue
        _finished(job, result, folder, out, bar, 0)


def _call(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> dict[str, Any]:
    return fn(*args)


def _torch_threads() -> int | None:
    """This process's torch intra-op threads, if it has imported torch."""
    torch = sys.modules.get("torch")
    return None if torch is None else int(torch.get_num_threads())


def _start_worker(threads: int | None) -> None:
    """A worker process uses the torch threads of the process that started it (without
    this, each of ``workers`` processes would take every core)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _check_importable(jobs: Sequence[Job]) -> None:
    """Worker processes find a job's function by its module and name: refuse, before any
    process starts, the functions they could not find (each job would only fail with its
    worker)."""
    for job in jobs:
        fn = job.fn
        name = getattr(fn, "__qualname__", "")
        module = sys.modules.get(getattr(fn, "__module__", None) or "")
        nested = "<locals>" in name or "<lambda>" in name
        if nested or module is None or (module.__name__ == "__main__"
                                         and not getattr(module, "__file__", None)):
            raise ValueError(
                f"job {job.key!r}: worker processes cannot import its function {name or fn!r} "
                "by name; define it at the top level of a module (or use executor='ray')")


def _run_processes(todo: Sequence[Job], folder: Path, out: SweepResult, bar: _Bar,
                   workers: int) -> None:
    """The jobs in pools of ``workers`` fresh (spawned) processes; each result is written
    here, by this process, as it arrives.

    A worker that dies (killed, out of memory, crashed) breaks its pool: the jobs it was
    running with are then run again one at a time, so that only the job that kills its
    own worker is reported failed, and the others go on in a new pool.
    """
    queue = list(reversed(todo))
    while queue:
        for job in _pool_run(queue, folder, out, bar, workers):
            if _pool_run([job], folder, out, bar, 1):
                _failed(job, f"{job.label}: its worker process died (killed, out of memory or "
                        "crashed)", out, bar, 0)


def _pool_run(queue: list[Job], folder: Path, out: SweepResult, bar: _Bar, workers: int
              ) -> list[Job]:
    """Run the jobs of ``queue`` (taken from its end), at most ``workers`` at once, in one
    process pool; returns the jobs in flight when the pool broke (none if it did not)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_start_worker, initargs=(_torch_threads(),))
    running: dict[Any, Job] = {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                job = queue.pop()
                running[pool.submit(_call, job.fn, job.args)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = [f for f in done if isinstance(f.exception(), BrokenProcessPool)]
            for future in sorted(set(done) - set(broken), key=lambda f: running[f].key):
                _collect(running.pop(future), future, folder, out, bar, len(running))
            if broken:
                return list(running.values())
        return []
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an interrupt cancels what waits


def _collect(job: Job, future: Any, folder: Path, out: SweepResult, bar: _Bar,
             running: int) -> None:
    """A finished job's result written, or its error reported."""
    error = future.exception()
    if error is None:
        _finished(job, future.result(), folder, out, bar, running)
    elif isinstance(error, Exception):
        _failed(job, _error(job, error), out, bar, running)
    else:  # an interrupt inside the job stops the sweep
        raise error


def _ray_init(ray: Any, workers: int, address: str | None) -> bool:
    """Start a local Ray instance with ``workers`` CPUs, or join ``address``; True if started."""
    if ray.is_initialized():
        return False
    root = str(Path(__file__).resolve().parents[1])
    if address is None:
        _init_local(ray, workers, root)
    else:  # a cluster's nodes get the repository uploaded as the job's working directory
        ray.init(address=address, log_to_driver=False, configure_logging=False,
                 runtime_env={"working_dir": root, "excludes": list(RAY_EXCLUDES)})
    return True


def _init_local(ray: Any, workers: int, root: str) -> None:
    """A local Ray instance whose workers import what this process imports from the
    repository.  They inherit this process's environment (a ``runtime_env`` would make
    every worker start anew, about twice as slow to the first task), so ``PYTHONPATH``
    is set for the start and put back after."""
    inside = [p for p in sys.path if p and Path(p).resolve().is_relative_to(root)]
    before = os.environ.get("PYTHONPATH")
    paths = dict.fromkeys([root, *inside, before or ""])
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    try:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _run_ray(todo: Sequence[Job], folder: Path, out: SweepResult, bar: _Bar, workers: int,
             address: str | None) -> None:
    import ray  # the [ray] extra

    started = _ray_init(ray, workers, address)
    try:
        task = ray.remote(num_cpus=1)(_call)
        pending = {task.remote(job.fn, job.args): job for job in todo}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ref)
            running = min(len(pending), workers)
            try:
                result = ray.get(ref)
            except Exception as exc:  # ray.exceptions.RayTaskError wraps the job's error
                _failed(job, _error(job, getattr(exc, "cause", None) or exc), out, bar, running)
                continue
            _finished(job, result, folder, out, bar, running)
    finally:
        if started:
            ray.shutdown()


def run_jobs(jobs: Sequence[Job], folder: str | os.PathLike[str], *, workers: int = 1,
             address: str | None = None, resume: bool = False, progress: bool = True,
             valid: Callable[[Job, dict[str, Any]], bool] | None = None, desc: str = "jobs",
             executor: str | None = None) -> SweepResult:
    """Run ``jobs``, writing each result to ``<folder>/<key>.json`` when it finishes.

    Args:
        jobs: the jobs (distinct keys).
        folder: where the per-job files go (created if needed).
        workers: 1 runs the jobs here, one by one; more runs that many at once
            (see ``executor``).
        address: an existing Ray cluster's address (``ray start --head`` prints
            it); the jobs run there, as many at once as it has CPUs.
        executor: with more than one worker, ``"processes"`` (local worker
            processes, no Ray) or ``"ray"`` (a local Ray instance with
            ``workers`` CPUs); ``None`` (default): ``"ray"`` with ``address``,
            else ``"processes"``.  The results are the same for every executor.
        resume: skip jobs whose result files are there and valid.
        progress: a progress bar over the jobs (only on a terminal).
        valid: an extra test ``valid(job, result)`` a saved result must pass to be reused.
        desc: the progress bar's label.

    Returns:
        A :class:`SweepResult`; the results of failed jobs are missing from it.

    Raises:
        ValueError: duplicate keys, ``workers < 1``, an unknown ``executor``,
            ``executor="processes"`` with an ``address``, or, for worker
            processes, a job function they cannot import by name (a lambda, a
            nested function, one defined in a notebook's ``__main__``).
        ImportError: Ray is needed (``executor="ray"`` or ``address``) but not installed.
    """
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    executor = _check_executor(executor, address)
    if executor == "ray" and (workers > 1 or address) and not _has_ray():
        raise ImportError("Ray (--executor ray, --ray-address) is not installed: pip install "
                          "'torch-orderedness[ray]' (or pip install ray)")
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = SweepResult()
    todo = []
    for job in jobs:
        found = _load(out_dir, job, valid) if resume else None
        if found is None:
            todo.append(job)
        else:
            out.results[job.key] = found
            out.skipped += 1
    bar = _Bar(len(jobs), out.skipped, progress, desc)
    try:
        if workers == 1 and not address:
            _run_serial(todo, out_dir, out, bar)
        elif todo and executor == "processes":
            _check_importable(todo)
            _run_processes(todo, out_dir, out, bar, workers)
        elif todo:
            _run_ray(todo, out_dir, out, bar, workers, address)
    finally:
        bar.close()
    return out


def add_sweep_arguments(group: Any, unit: str) -> None:
    """The command-line options of a sweep on an argparse parser or group: ``--workers``,
    ``--executor``, ``--ray-address`` and ``--resume`` (the arguments of :func:`run_jobs`);
    ``unit`` names the jobs in the help texts (``"settings"``, ``"jobs"``).

    Example::

        >>> import argparse
        >>> p = argparse.ArgumentParser()
        >>> add_sweep_arguments(p, "jobs")
        >>> a = p.parse_args(["--workers", "2"])
        >>> a.workers, a.executor, a.ray_address, a.resume
        (2, None, None, False)
    """
    group.add_argument("--workers", type=int, default=1,
                       help=f"{unit} at once; > 1 runs them in that many worker processes (or "
                            "Ray tasks, see --executor); default 1: here, one after the other")
    group.add_argument("--executor", choices=EXECUTORS, default=None,
                       help="how > 1 workers run: processes (default: local worker processes) "
                            "or ray (a local Ray instance; needs the [ray] extra)")
    group.add_argument("--ray-address", default=None,
                       help=f"run the {unit} on an existing Ray cluster (ray start --head "
                            "prints its address; implies --executor ray)")
    group.add_argument("--resume", action="store_true",
                       help=f"reuse the {unit} already written to <out>/jobs/ (an interrupted "
                            f"sweep loses only the {unit} in flight)")


def _check_executor(executor: str | None, address: str | None) -> str:
    if executor is None:
        return "ray" if address else "processes"
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS} or None, got {executor!r}")
    if executor == "processes" and address:
        raise ValueError("a Ray cluster's address needs executor='ray' (or None)")
    return executor


def _has_ray() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None
