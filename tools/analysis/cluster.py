"""Run a sweep's cells as DVC experiments on a Dask cluster; Dask places, retries and reports.

The project supplies one task, :func:`run_cell`: "run this cell as a DVC experiment and share
it". On the worker that Dask gives it, the task clones the repository's git remote at the
sweep's commit into the worker's own directory, runs ``dvc exp run -n <cell> -S ...`` there
(the clone's stages run the clone's own code: ``or_gate/environment.py``), pushes the
experiment's cached outputs to the DVC remote (``dvc push``) and then its git ref to the git
remote (the ref ``dvc exp push`` would push, which sends it before the data), in that order, so
a cell appears on the remote only once everything it produced is there, and removes the clone.
A worker lost mid-cell pushed nothing; Dask gives the cell to another worker, which starts it
afresh. A cell whose ref is already on the remote is done: rerunning a sweep runs only what is
missing.

The task imports nothing of the project (it runs ``git`` and ``dvc`` in its clone), and is
sent to the workers by value, so a worker needs the pinned packages (``pip install -e
".[cluster]"`` in any checkout), git, and access to the two remotes, nothing else;
:func:`worker_problems` checks the versions on every worker before any cell runs.

With no scheduler given, :func:`connect` starts a local cluster of one single-threaded worker
process per core; its cells share the user's repository as their git remote and its DVC cache
as their DVC remote, so nothing needs setting up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from or_gate.runtime import StageError

GIT_IDENTITY = (("user.name", "or-gate sweep"), ("user.email", "sweep@or-gate.invalid"))
EVENTS = "or-gate-cell"  # the Dask event topic on which each attempt of a cell announces itself


def run_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one cell (``spec``: origin, commit, cell, overrides, dvc_remote) on this worker and
    share it; return how it went. Runs on a Dask worker: only the standard library here."""
    import shutil
    import socket
    import tempfile
    import time

    try:
        from distributed import get_worker

        worker = get_worker()
        base, where = Path(worker.local_directory), worker.address
        worker.log_event(EVENTS, {"cell": spec["cell"], "worker": where})  # attempt begins
    except (ImportError, ValueError):  # called outside a worker (tests, a plain loop)
        base, where = Path(tempfile.gettempdir()), socket.gethostname()
    clone = base / "or-gate-cells" / spec["cell"]
    shutil.rmtree(clone, ignore_errors=True)  # what a killed attempt left here
    clone.parent.mkdir(parents=True, exist_ok=True)
    bin_dir = str(Path(sys.executable).parent)  # dvc.yaml's `python` is this worker's
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(DVC_NO_ANALYTICS="1", GIT_TERMINAL_PROMPT="0")
    result: dict[str, Any] = {"cell": spec["cell"], "worker": where, "seconds": {}}

    def step(name: str, *command: str, cwd: Path = clone) -> subprocess.CompletedProcess:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        result["seconds"][name] = result["seconds"].get(name, 0.0) + time.perf_counter() - started
        return done

    def failed(done: subprocess.CompletedProcess, what: str) -> dict[str, Any]:
        lines = (done.stdout + done.stderr).splitlines()
        ours = [line.strip() for line in lines if ": error: " in line or "ERROR:" in line]
        shutil.rmtree(clone, ignore_errors=True)
        return {**result, "status": "failed", "error": f"{what}: {(ours or lines or ['?'])[0]}"}

    listed = step("clone", "git", "ls-remote", spec["origin"], spec["ref"], cwd=base)
    if listed.returncode == 0 and listed.stdout.strip():
        return {**result, "status": "done", "pushed": False}  # shared by an earlier attempt
    for phase, what, command, cwd in cell_commands(spec, clone, base):
        done = step(phase, *command, cwd=cwd)
        if done.returncode != 0:
            return failed(done, what)
    shutil.rmtree(clone, ignore_errors=True)
    return {**result, "status": "done", "pushed": True}


def cell_commands(spec: dict[str, Any], clone: Path, base: Path) -> list[tuple]:
    """(phase, what, command, folder) of one cell, in order: clone the commit, run the
    experiment, push its outputs to the DVC remote, then its ref to the git remote (the ref
    `dvc exp push` would push, which sends it before the data)."""
    ref, remote = spec["ref"], spec.get("dvc_remote")
    overrides = [part for value in spec["overrides"] for part in ("-S", value)]
    clone_it = ("git", "clone", "-q", "--no-checkout", spec["origin"], str(clone))
    steps = [
        ("clone", "git clone", clone_it, base),
        ("clone", "git checkout", ("git", "checkout", "-q", spec["commit"]), clone),
    ]
    if remote:
        add = ("dvc", "remote", "add", "-d", "--local", "-f", "sweep", remote)
        steps.append(("clone", "dvc remote add", add, clone))
    steps += [  # DVC commits the experiment
        ("clone", "git config", ("git", "config", key, value), clone) for key, value in GIT_IDENTITY
    ]
    return [
        *steps,
        ("run", "dvc exp run", ("dvc", "exp", "run", "-n", spec["cell"], *overrides), clone),
        ("push", "dvc push", ("dvc", "push", "-q"), clone),
        (
            "push",
            "git push of the experiment",
            ("git", "push", "-q", "origin", f"{ref}:{ref}"),
            clone,
        ),
    ]


def shipped(function):
    """``function``, sent to the scheduler and workers by value. Dask pickles a task graph by
    reference unless plain pickle fails (then cloudpickle, which honours the by-value
    registration of this module, see connect), and a function local to this one is what
    plain pickle cannot pickle; workers need not have this module."""

    def task(*args):
        return function(*args)

    return task


def worker_versions(pins: dict[str, str]) -> str | None:
    """On a worker: the first installed version that differs from ``pins``, or None."""
    from importlib.metadata import PackageNotFoundError, version

    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            return f"{name} {installed} is installed, the commit's requirements.txt pins {pinned}"
    return None


def worker_problems(client, pins: dict[str, str]) -> dict[str, str]:
    """{worker: what differs from the pinned versions} over every worker of ``client``."""
    found = client.run(worker_versions, pins)
    return {worker: problem for worker, problem in found.items() if problem}


def connect(scheduler: str | None, scheduler_file: Path | None, workers: int | None):
    """A Dask client: of a running scheduler (by address or file), or of a local cluster of
    ``workers`` single-threaded worker processes (default: one per core)."""
    try:
        import cloudpickle
        from distributed import Client, LocalCluster
    except ImportError:
        raise StageError(
            "the sweep command needs Dask: python -m pip install -e '.[cluster]'"
        ) from None
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not have it
    try:
        if scheduler:
            return Client(scheduler, timeout="20s")
        if scheduler_file:
            return Client(scheduler_file=str(scheduler_file), timeout="20s")
    except OSError as error:
        where = scheduler or scheduler_file
        raise StageError(f"cannot reach the Dask scheduler at {where}: {error}") from None
    count = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True)
    return Client(cluster)


# -- The sweep command's side: what it checks first, and the loop that reports ----------------

PROGRESS_SECONDS = 10.0  # a progress line at least this often


def git(root: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise StageError(f"git {' '.join(args)}: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.strip()


def committed_head(root: Path) -> str:
    """HEAD's commit; refused while tracked files differ from it (a cell runs a commit)."""
    changed = git(root, "status", "--porcelain", "--untracked-files=no")
    if changed:
        first = changed.splitlines()[0].split(maxsplit=1)[-1]  # "M  path" or " M path"
        raise StageError(
            f"uncommitted changes ({first}, ...): a cell runs a commit; commit or stash them"
        )
    return git(root, "rev-parse", "HEAD")


def dvc_default_remote(root: Path) -> str | None:
    """The URL of the repository's default DVC remote, or None."""
    name = subprocess.run(["dvc", "remote", "default"], cwd=root, capture_output=True, text=True)
    if name.returncode != 0 or not name.stdout.strip():
        return None
    # `dvc config`, not `dvc remote list`, which wraps a long URL to the terminal's width
    url = subprocess.run(
        ["dvc", "config", f"remote.{name.stdout.strip()}.url"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return url.stdout.strip() or None


def remotes(root: Path, local: bool, commit: str) -> tuple[str, str]:
    """(git remote, DVC remote) the cells share. A local cluster shares the repository and its
    cache directly; a scheduler's workers, the repository's own origin and default DVC
    remote, each refused with one line if missing or unreachable."""
    if local:
        return str(root), str(root / ".dvc/cache")
    origin = git(root, "remote", "get-url", "origin", check=False)
    if not origin:
        raise StageError("no git remote 'origin': the workers clone the sweep's commit from it")
    if subprocess.run(["git", "ls-remote", "-q", origin], cwd=root, capture_output=True).returncode:
        raise StageError(f"the git remote origin ({origin}) cannot be reached")
    git(root, "fetch", "-q", "origin")
    if not git(root, "branch", "-r", "--contains", commit, check=False):
        raise StageError(f"commit {commit[:8]} is not on origin: push it, then run the sweep")
    dvc_remote = dvc_default_remote(root)
    if not dvc_remote:
        raise StageError(
            "no default DVC remote: the workers push the cells' models to it "
            "(dvc remote add -d <name> <url>)"
        )
    if "://" not in dvc_remote and not Path(dvc_remote).is_dir():
        raise StageError(f"the DVC remote {dvc_remote} is not a directory that exists")
    return origin, dvc_remote


def pushed_cells(root: Path, origin: str, commit: str) -> set[str]:
    """The names of the experiments of ``commit`` already on the git remote."""
    prefix = f"refs/exps/{commit[:2]}/{commit[2:]}/"
    listed = git(root, "ls-remote", origin, f"{prefix}*")
    return {line.split("\t")[1].removeprefix(prefix) for line in listed.splitlines() if line}


def progress_line(sweep: str, counts: dict[str, int], total: int, eta: float | None) -> str:
    left = f"; about {eta / 60:.1f} min left" if eta is not None else ""
    return (
        f"sweep {sweep}: {counts['done'] + counts['skipped']}/{total} done, "
        f"{counts['failed']} failed, {counts['running']} running{left}"
    )


def drive(client, root: Path, record, cells: list, spec_of, out=print) -> None:
    """Submit every cell not yet done to Dask and follow them to the end, saving the record
    and printing a progress line (with an estimate of the time left) at least every
    PROGRESS_SECONDS. Dask places the cells, and gives a lost worker's cell to another."""
    import statistics
    import uuid

    from distributed import wait

    futures, names = {}, {}
    for cell in cells:
        if record.cells[cell.name].state in ("done", "skipped"):
            continue
        record.cells[cell.name].state, record.cells[cell.name].error = "queued", ""
        key = f"cell-{cell.name}-{uuid.uuid4().hex[:8]}"
        future = client.submit(shipped(run_cell), spec_of(cell), key=key, pure=False)
        futures[future], names[key] = cell, cell.name
    durations: list[float] = []
    pending, seen = set(futures), len(client.get_events(EVENTS))
    while pending:
        try:
            done, pending = wait(pending, timeout=PROGRESS_SECONDS, return_when="FIRST_COMPLETED")
        except TimeoutError:  # nothing finished: report progress anyway
            done = set()
        events = client.get_events(EVENTS)  # every attempt, even one a dead worker began
        for _, started in events[seen:]:
            entry = record.cells.get(started["cell"])
            if entry is not None and entry.state in ("queued", "running"):
                entry.state = "running"
                entry.attempts.append(started["worker"])
        seen = len(events)
        for future in done:
            entry = record.cells[futures[future].name]
            try:
                result = future.result()
            except Exception as error:  # e.g. KilledWorker: the cell killed its workers
                result = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
            entry.state, entry.error = result["status"], result.get("error", "")
            entry.worker, entry.seconds = result.get("worker", ""), result.get("seconds", {})
            entry.pushed += bool(result.get("pushed"))
            if entry.state == "done":
                durations.append(sum(entry.seconds.values()))
            else:
                out(f"sweep {record.sweep}: {futures[future].name} failed: {entry.error}")
        record.save(root)
        counts = record.counts()
        workers = max(1, len(client.scheduler_info()["workers"]))
        left = counts["queued"] + counts["running"]
        eta = statistics.mean(durations) * left / workers if durations else None
        out(progress_line(record.sweep, counts, len(record.cells), eta), flush=True)


def sweep_experiments(root: Path, name: str) -> list:
    """The finished cells of the sweep ``name`` as experiments (pulled from the git remote
    first where the sweep ran on a cluster), their settings checked to agree."""
    from . import grid, sweep

    record = grid.Record.load(root, name)
    if record is None:
        raise StageError(f"no sweep named {name!r} was run from this repository")
    # this sweep's cells only: other experiments of the commit are not part of it
    names = sorted(pushed_cells(root, record.origin, record.commit) & set(record.cells))
    if not names:
        raise StageError(f"sweep {name}: no cell is done yet (see status)")
    if record.origin != str(root):  # the experiments' refs (and metrics) from the git remote
        pulled = subprocess.run(
            ["dvc", "exp", "pull", "origin", *names], cwd=root, capture_output=True, text=True
        )
        if pulled.returncode != 0:
            raise StageError(f"dvc exp pull: {pulled.stderr.strip().splitlines()[-1:]}")
    experiments = sweep.experiments_of(sweep.load_experiments(None, root, [record.commit]))
    chosen = [e for e in experiments if e.name in names]
    sweep.check_settings_agree(chosen)
    return chosen
