"""A sweep on a real Dask cluster loses nothing when a machine dies (tools/sweep.py).

A `dask scheduler` and two `dask worker` processes, each in its own directory as two machines
would have; a bare git repository as origin and a local directory as the DVC remote. A 4-cell
sweep runs; one worker is killed while its first cell trains; Dask gives that cell to the
other worker. Every cell is pushed exactly once, `status` says 4 done, the report draws 4
depths, and rerunning the command runs nothing. One cell's metrics are byte for byte those of
`dvc exp run` of the same params in a fresh clone.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from helpers import MINI_PARAMS, make_small_repo, run, run_tool, start_scheduler, start_worker
from helpers import start_process as start
from helpers import stop_process as stop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEPTHS = "depth=1,2,3,4"


def training_under(folder: Path) -> bool:
    """A stage `train` runs in a clone under ``folder`` (the worker's directory)."""
    import psutil

    for process in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if "stages.train" in (process.info["cmdline"] or []) and str(
                process.info["cwd"] or ""
            ).startswith(str(folder)):
                return True
        except psutil.Error:
            continue
    return False


@pytest.fixture
def project(tmp_path):
    """The project with small params, pushed to a bare origin, with a local DVC remote."""
    pytest.importorskip("distributed", reason='the sweep needs Dask: pip install -e ".[test]"')
    repo = make_small_repo(tmp_path / "repo", **MINI_PARAMS)
    origin, storage = tmp_path / "origin.git", tmp_path / "dvc-remote"
    storage.mkdir()
    run(["git", "init", "-q", "--bare", str(origin)], tmp_path)
    run(["git", "remote", "add", "origin", str(origin)], repo)
    run(["dvc", "remote", "add", "-d", "store", str(storage)], repo)
    run(["git", "add", ".dvc/config"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "remote"], repo)
    run(["git", "push", "-q", "origin", "main"], repo)
    return repo, origin


def sweep_with_a_worker_killed(repo: Path, tmp_path: Path) -> str:
    """Run the 4-cell sweep on a scheduler and two workers, kill one while its first cell
    trains; return the sweep's output."""
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = start_scheduler(scheduler_file, tmp_path)
    machines = {name: tmp_path / name for name in ("machine_a", "machine_b")}
    workers = {}
    try:
        for name, folder in machines.items():
            workers[name] = start_worker(scheduler_file, folder, name)
        sweep = start(
            [sys.executable, "tools/sweep.py", "run", "--name", "deaths", "-S", DEPTHS,
             "--scheduler-file", str(scheduler_file)],
            repo, tmp_path / "sweep.log", PYTHONPATH=str(repo),  # the copy's own library
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while not training_under(machines["machine_a"]):  # its first cell is training
            assert time.monotonic() < deadline, (tmp_path / "sweep.log").read_text()
            assert sweep.poll() is None, (tmp_path / "sweep.log").read_text()
            time.sleep(0.5)
        stop(workers.pop("machine_a"))  # the machine dies mid-cell
        assert sweep.wait(timeout=900) == 0, (tmp_path / "sweep.log").read_text()
    finally:
        for process in [*workers.values(), scheduler]:
            stop(process)
    return (tmp_path / "sweep.log").read_text()


def test_a_sweep_on_dask_survives_a_dead_worker_and_reruns_nothing(project, tmp_path):
    repo, origin = project
    log = sweep_with_a_worker_killed(repo, tmp_path)
    assert "sweep deaths: 4 cells of commit" in log and "4 of 4 done" in log
    assert "Dask dashboard http" in log
    progress = [line for line in log.splitlines() if "/4 done, " in line]
    assert len(progress) >= 3  # a line at least every 10 s

    record = json.loads((repo / ".dvc/tmp/sweeps/deaths.json").read_text())
    cells = record["cells"]
    print(log)  # shown with -s: the sweep's own lines, then each cell's record
    for name, entry in cells.items():
        print(name, entry["state"], "pushed", entry["pushed"], "attempts", entry["attempts"])
    assert [c["state"] for c in cells.values()] == ["done"] * 4
    assert [c["pushed"] for c in cells.values()] == [1] * 4  # each pushed exactly once
    moved = [c for c in cells.values() if len(c["attempts"]) == 2]
    assert len(moved) == 1, cells  # the killed machine's cell...
    assert moved[0]["worker"] == moved[0]["attempts"][1] != moved[0]["attempts"][0]  # ...redone
    commit = record["commit"]
    refs = run(["git", "ls-remote", str(origin), f"refs/exps/{commit[:2]}/{commit[2:]}/*"], repo)
    assert sorted(line.rsplit("/", 1)[1] for line in refs.stdout.splitlines()) == sorted(cells)

    status = run_tool(["tools/sweep.py", "status", "--name", "deaths"], repo)
    assert status.stdout.splitlines()[0].endswith(": 4 done, 0 running, 0 failed, 0 missing")
    report = run_tool(["tools/sweep.py", "report", "--name", "deaths", "--out-dir", "out"], repo)
    assert "sweep_report: 4 depths (1-4), 1 variants" in report.stdout
    table = (repo / "out/deaths.csv").read_text().splitlines()
    assert sorted(int(line.split(",")[0]) for line in table[1:]) == [1, 2, 3, 4]

    again = run_tool(["tools/sweep.py", "run", "--name", "deaths", "-S", DEPTHS], repo)
    assert "4 already pushed, 0 to run" in again.stdout

    # one cell, byte for byte the metrics of `dvc exp run` of its params in a fresh clone
    name = next(n for n in cells if "depth3" in n)
    fresh = tmp_path / "fresh"
    run(["git", "clone", "-q", "-b", "main", str(origin), str(fresh)], tmp_path)
    for key, value in (("user.name", "t"), ("user.email", "t@example.invalid")):
        run(["git", "config", key, value], fresh)  # dvc exp run commits
    run(["dvc", "exp", "run", "-S", "depth=3"], fresh)
    ref = f"refs/exps/{commit[:2]}/{commit[2:]}/{name}"
    run(["git", "fetch", "-q", "origin", f"{ref}:{ref}"], fresh)
    swept = run(["git", "show", f"{ref}:metrics/sigmoid.json"], fresh).stdout
    assert swept == (fresh / "metrics/sigmoid.json").read_text()


def test_a_sweep_refuses_what_it_cannot_run_with_one_line(project, tmp_path):
    repo, _ = project
    params = repo / "params.yaml"
    params.write_text(params.read_text() + "\n")
    dirty = run_tool(["tools/sweep.py", "run", "--name", "x", "-S", DEPTHS], repo, check=False)
    assert dirty.returncode == 2
    assert dirty.stderr.strip() == (
        "sweep: error: uncommitted changes (params.yaml, ...): a cell runs a commit; commit or "
        "stash them"
    )
    run(["git", "checkout", "-q", "--", "params.yaml"], repo)
    run(["git", "remote", "set-url", "origin", str(tmp_path / "nowhere.git")], repo)
    command = ["tools/sweep.py", "run", "--name", "x", "-S", DEPTHS, "--scheduler", "tcp://x:1"]
    unreachable = run_tool(command, repo, check=False)
    assert unreachable.stderr.strip().startswith("sweep: error: the git remote origin (")
    bad_name = run_tool(["tools/sweep.py", "run", "--name", "X Y", "-S", DEPTHS], repo, check=False)
    assert "sweep: error: --name 'X Y': expected lower-case letters" in bad_name.stderr
