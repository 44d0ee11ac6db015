"""paper_repro.sweep and the studies' sweeps: one by one, in worker processes or on Ray,
resumable, same numbers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from paper_repro.sweep import Job, run_jobs

ROOT = Path(__file__).resolve().parents[1]


def _square(i: int) -> dict:
    return {"value": i * i, "pid": os.getpid()}


def _fail_on_three(i: int) -> dict:
    if i == 3:
        raise ArithmeticError("three is not allowed")
    return {"value": i, "pid": os.getpid()}


def _dies_on_three(i: int) -> dict:
    if i == 3:
        os._exit(7)  # the worker process dies, as when it is killed or runs out of memory
    return {"value": i, "pid": os.getpid()}


class Stop(BaseException):
    """An interrupt inside a job (like KeyboardInterrupt): not an Exception."""


def _stops_on_two(i: int, marks: str) -> dict:
    (Path(marks) / f"ran-{i}").touch()
    if i == 2:
        raise Stop
    return {"value": i}


def _threads(i: int) -> dict:
    import torch

    return {"value": i, "threads": torch.get_num_threads()}


def jobs(fn=_square, n: int = 6) -> list[Job]:  # noqa: ANN001
    return [Job(f"job-{i}", f"number {i}", fn, (i,)) for i in range(n)]


# --------------------------------------------------------------------------- the executor


def test_results_are_written_per_job_and_resume_skips_them(tmp_path) -> None:
    done = run_jobs(jobs(), tmp_path, progress=False)
    assert done.ok and done.ran == 6 and done.skipped == 0
    assert {k: r["value"] for k, r in done.results.items()} == {f"job-{i}": i * i
                                                                for i in range(6)}
    saved = json.loads((tmp_path / "job-4.json").read_text())
    assert saved == {"key": "job-4", "label": "number 4", "result": done.results["job-4"]}
    # a damaged file and a missing one are run again; the rest are found
    (tmp_path / "job-1.json").write_text("{not json")
    (tmp_path / "job-2.json").unlink()
    again = run_jobs(jobs(), tmp_path, resume=True, progress=False)
    assert again.ran == 2 and again.skipped == 4
    assert again.results == {k: r for k, r in done.results.items() if True} | again.results
    # without resume everything runs again
    assert run_jobs(jobs(), tmp_path, progress=False).ran == 6
    # a result the caller says is invalid is run again
    assert run_jobs(jobs(), tmp_path, resume=True, progress=False,
                    valid=lambda job, r: r["value"] != 9).ran == 1


def test_a_failing_job_is_reported_and_the_others_complete(tmp_path) -> None:
    done = run_jobs(jobs(_fail_on_three), tmp_path, progress=False)
    assert not done.ok and done.ran == 5
    assert done.failed == {"job-3": "number 3: ArithmeticError: three is not allowed"}
    assert not (tmp_path / "job-3.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"job-{i}.json" for i in (0, 1, 2, 4, 5)]


def test_bad_arguments(tmp_path) -> None:
    with pytest.raises(ValueError, match="unique"):
        run_jobs(jobs() + jobs(n=1), tmp_path)
    with pytest.raises(ValueError, match="workers"):
        run_jobs(jobs(), tmp_path, workers=0)
    with pytest.raises(ValueError, match="executor must be one of"):
        run_jobs(jobs(), tmp_path, workers=2, executor="threads")
    with pytest.raises(ValueError, match="address needs executor='ray'"):
        run_jobs(jobs(), tmp_path, executor="processes", address="10.0.0.1:6379")


def test_worker_processes_give_the_serial_results(tmp_path) -> None:
    serial = run_jobs(jobs(_fail_on_three), tmp_path / "one", progress=False)
    parallel = run_jobs(jobs(_fail_on_three), tmp_path / "two", workers=2, progress=False)
    assert {k: r["value"] for k, r in parallel.results.items()} == {
        k: r["value"] for k, r in serial.results.items()}
    assert parallel.failed == serial.failed  # the job's own error, from its process
    assert parallel.ran == 5
    assert {r["pid"] for r in parallel.results.values()}.isdisjoint({os.getpid()})
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        p.name for p in (tmp_path / "one").iterdir())


def test_a_job_that_kills_its_worker_process_fails_alone(tmp_path) -> None:
    done = run_jobs(jobs(_dies_on_three), tmp_path, workers=2, progress=False)
    assert done.failed == {
        "job-3": "number 3: its worker process died (killed, out of memory or crashed)"}
    assert {k: r["value"] for k, r in done.results.items()} == {
        f"job-{i}": i for i in (0, 1, 2, 4, 5)}
    assert done.ran == 5 and not (tmp_path / "job-3.json").exists()


def test_an_interrupt_inside_a_job_stops_the_sweep(tmp_path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    todo = [Job(f"job-{i}", f"number {i}", _stops_on_two, (i, str(marks))) for i in range(12)]
    with pytest.raises(Stop):
        run_jobs(todo, tmp_path / "out", workers=2, progress=False)
    assert not (tmp_path / "out" / "job-2.json").exists()
    assert len(list(marks.iterdir())) <= 6  # the jobs still waiting (of 12) were not started


def test_worker_processes_refuse_functions_they_cannot_import(tmp_path) -> None:
    with pytest.raises(ValueError, match="cannot import its function"):
        run_jobs([Job("lambda", "a lambda", lambda: {"value": 1})], tmp_path, workers=2)
    script = ("from paper_repro.sweep import Job, run_jobs\n"
              "def f(i): return {'value': i}\n"
              f"run_jobs([Job('k', 'one', f, (1,))], {str(tmp_path)!r}, workers=2)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1 and "define it at the top level of a module" in run.stderr
    assert not list(tmp_path.iterdir())  # refused before anything ran


def test_worker_processes_use_the_torch_threads_of_the_sweep(tmp_path) -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not a machine's default: the workers can only copy it
    try:
        done = run_jobs(jobs(_threads, n=2), tmp_path, workers=2, progress=False)
    finally:
        torch.set_num_threads(before)
    assert [r["threads"] for r in done.results.values()] == [3, 3]


# --------------------------------------------------------------------------- on Ray

@pytest.fixture()
def ray():  # noqa: ANN201
    """Ray, for the tests that need it (the [ray] extra); the others run without it."""
    return pytest.importorskip("ray")


def test_ray_with_two_workers_gives_the_serial_results(tmp_path, ray) -> None:
    serial = run_jobs(jobs(_fail_on_three), tmp_path / "one", progress=False)
    parallel = run_jobs(jobs(_fail_on_three), tmp_path / "two", workers=2, progress=False,
                        executor="ray")
    strip = {k: r["value"] for k, r in serial.results.items()}
    assert {k: r["value"] for k, r in parallel.results.items()} == strip
    assert parallel.failed == serial.failed  # the job's own error, through Ray
    assert len({r["pid"] for r in parallel.results.values()} - {os.getpid()}) >= 1
    assert not ray.is_initialized()  # the local instance is shut down after the sweep


# --------------------------------------------------------------------------- the MNIST study


def _mnist_args(tmp_path: Path, out: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.mnist", "complete", "--dataset", "mnist",
            "--data-root", str(tmp_path / "data"), "--no-download", "--out", str(tmp_path / out),
            "--hidden", "3", "--iterations", "2", "--seeds", "0", "1", "--epochs", "1",
            "--batch-size", "20", "--schemes", "none", "topk", "tril", "--null-samples", "2",
            "--no-mlps", "--no-tensorboard", "--no-progress", *extra]


def _rows(folder: Path) -> list[dict]:
    (doc,) = [json.loads(p.read_text()) for p in folder.glob("complete-mnist*.json")]
    timing = {"train_seconds", "metric_seconds"}
    return [{k: v for k, v in r.items() if k not in timing} for r in doc["rows"]]


#: Runs ``python -m benchmarks.mnist <argv>`` in this process and kills it (SIGKILL) when
#: its third job starts.
_KILL_AT_THIRD_JOB = """
import os, runpy, signal, sys
import benchmarks.mnist.complete as complete
run_job, started = complete.run_job, []
def dying(*args, **kwargs):
    if len(started) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    started.append(1)
    return run_job(*args, **kwargs)
complete.run_job = dying
sys.argv = ["benchmarks.mnist", *sys.argv[1:]]
runpy.run_module("benchmarks.mnist", run_name="__main__")
"""


@pytest.fixture()
def mnist_files(tmp_path: Path) -> Path:
    from test_mnist_bench import synthetic, write_all

    write_all(tmp_path / "data" / "MNIST" / "raw", synthetic(n_train=60, n_test=20))
    return tmp_path


@pytest.mark.slow
def test_mnist_complete_in_worker_processes_resumable_with_the_same_numbers(
        mnist_files: Path) -> None:
    tmp_path = mnist_files
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    one = subprocess.run(_mnist_args(tmp_path, "one"), cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    two = subprocess.run(_mnist_args(tmp_path, "two", "--workers", "2"), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr
    assert _rows(tmp_path / "one") == _rows(tmp_path / "two")
    # a sweep killed (SIGKILL) as its third of six jobs starts, then resumed: the kill comes
    # from inside the run, so the point of death does not depend on the machine's speed
    jobs_dir = tmp_path / "three" / "jobs"
    killed = subprocess.run([sys.executable, "-c", _KILL_AT_THIRD_JOB,
                             *_mnist_args(tmp_path, "three")[3:]], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    finished = {p.name: p.stat().st_mtime_ns for p in jobs_dir.glob("*/*.json")}
    assert len(finished) == 2
    resumed = subprocess.run(_mnist_args(tmp_path, "three", "--resume"), cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} of 6 jobs found done (--resume), {6 - len(finished)} run now" \
        in resumed.stdout
    for p in jobs_dir.glob("*/*.json"):  # the finished jobs were not run again
        if p.name in finished:
            assert p.stat().st_mtime_ns == finished[p.name]
    assert _rows(tmp_path / "three") == _rows(tmp_path / "one")


# --------------------------------------------------------------------------- paper_repro


class Interrupted(BaseException):
    """Stands in for a kill: not an Exception, so the sweep does not catch it."""


def _counting(limit: int | None, calls: list):  # noqa: ANN202
    from paper_repro.testing import fake_trainer

    def trainer(setting, seeds):  # noqa: ANN001, ANN202
        if limit is not None and len(calls) == limit:
            raise Interrupted
        calls.append(setting.label)
        return fake_trainer(setting, seeds)

    return trainer


def _failing_trainer(setting, seeds):  # noqa: ANN001, ANN202
    from paper_repro.testing import fake_trainer

    if setting.scheme == "tril" and setting.task == "sine":
        raise RuntimeError("no Sine today")
    return fake_trainer(setting, seeds)


def _table1(out: Path) -> dict:
    doc = json.loads((out / "results.json").read_text())
    return {json.dumps(r["setting"], sort_keys=True): (r["start"], r["end"], r["null"])
            for r in doc["runs"]["table1"]}


ARGS = ["--parts", "table1", "--seeds", "3", "--null-samples", "2", "--no-progress"]


def test_paper_repro_resumes_an_interrupted_sweep_running_only_what_is_left(tmp_path) -> None:
    from paper_repro.__main__ import main

    whole: list = []
    assert main([*ARGS, "--out", str(tmp_path / "whole")], trainer=_counting(None, whole)) == 0
    first: list = []
    with pytest.raises(Interrupted):
        main([*ARGS, "--out", str(tmp_path / "cut")], trainer=_counting(9, first))
    written = sorted(p.name for p in (tmp_path / "cut" / "jobs" / "table1").glob("*.json"))
    assert len(written) == 9
    rest: list = []
    assert main([*ARGS, "--out", str(tmp_path / "cut"), "--resume"],
                trainer=_counting(None, rest)) == 0
    assert len(rest) == len(whole) - 9 and not set(rest) & set(first)  # only what was left
    assert _table1(tmp_path / "cut") == _table1(tmp_path / "whole")


def test_paper_repro_reports_a_failing_setting_and_writes_the_others(tmp_path, capsys) -> None:
    from paper_repro.__main__ import main

    assert main([*ARGS, "--out", str(tmp_path)], trainer=_failing_trainer) == 1
    err = capsys.readouterr().err
    assert "setting(s) failed" in err and "sine/default/tril(0.8)" in err
    assert "RuntimeError: no Sine today" in err
    files = list((tmp_path / "jobs" / "table1").glob("*.json"))
    assert len(files) == 23 and not (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_paper_repro_on_ray_gives_the_per_seed_numbers_of_one_worker(tmp_path, ray) -> None:
    from paper_repro.__main__ import main

    args = ["--parts", "table1", "--seeds", "2", "--null-samples", "2", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--out", str(tmp_path / "two"), "--workers", "2", "--executor", "ray"]) == 0
    assert _table1(tmp_path / "one") == _table1(tmp_path / "two")
