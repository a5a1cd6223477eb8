"""Helpers the tests share: running commands, copies of the repository, small training data.

Imported as ``helpers`` (pytest puts this folder on ``sys.path`` for its conftest.py).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import or_gate  # noqa: F401  (pins the numerical kernels before NumPy or TensorFlow load)

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]

# Outputs of the pipeline: an end-to-end copy starts without them, so `dvc repro` makes all.
GENERATED = (
    "dvc.lock",
    "metrics",
    "models",
    "plots",
    "data/prepared",
    "data/evaluation",
    "data/validated.txt",
    "dvc_plots",
)


# The start-up notices TensorFlow prints on a machine without a GPU.
NOISE = ("cuInit", "absl::InitializeLog", "cudart_stub", "cpu_feature_guard", "oneDNN custom")


def quiet_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", DVC_NO_ANALYTICS="1")
    env.pop("OR_GATE_DEBUG", None)
    if env.get("MUTANT_UNDER_TEST") == "stats":  # mutmut records coverage in-process only
        del env["MUTANT_UNDER_TEST"]
    return {**env, **extra}


@functools.cache
def tool(name: str):
    """``tools/<name>.py`` as a module, its own imports resolved from tools/ as when it runs:
    for tests that call its ``main`` in this process, where a new interpreter (TensorFlow's
    and matplotlib's imports) would cost more than the tool."""
    if str(REPO / "tools") not in sys.path:
        sys.path.insert(0, str(REPO / "tools"))
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_in_process(name: str, argv: list[str], cwd: Path, **env: str):
    """``python tools/<name>.py ARGV`` run in ``cwd``, in this process as the command runs it
    (``runtime.run``: its exit status, its one-line errors), with ``quiet_env(**env)`` as the
    whole environment: a ``subprocess.CompletedProcess`` as ``run`` gives."""
    import io
    from unittest import mock

    from or_gate import runtime

    stdout, stderr = io.StringIO(), io.StringIO()
    status = 0
    with (
        mock.patch.dict(os.environ, quiet_env(**env), clear=True),
        mock.patch.object(sys, "argv", [str(REPO / "tools" / f"{name}.py"), *argv]),
        contextlib.chdir(cwd),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        try:
            runtime.run(tool(name).main, argv)
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 1
    return subprocess.CompletedProcess(argv, status, stdout.getvalue(), stderr.getvalue())


def run(args: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, returning its output; on failure show what it printed."""
    result = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, env=quiet_env(), **kwargs
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def run_tool(args: list[str], repo: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run one of a copy's tools (``tools/<name>.py ...``) with that copy's own library, as a user
    of the copy would after installing it there (a tool refuses another checkout's code)."""
    import sys

    result = subprocess.run(
        [sys.executable, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=quiet_env(PYTHONPATH=str(repo)),
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n{result.stderr[-4000:]}"
        )
    return result


def interrupt_when(
    args: list[str], cwd: Path, marker: str, sig: int, timeout: float = 180
) -> list[str]:
    """Start ``args`` in its own process group, send ``sig`` to the whole group once a line
    containing ``marker`` appears (or after ``timeout`` s), wait for it; return its lines."""
    import signal
    import threading

    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=quiet_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    # A timer, not a check between lines: a silent hang must not block the suite.
    timer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
    timer.start()
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if marker in line:
                break
    finally:
        timer.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.communicate(timeout=120)
    return seen


def start_process(command: list[str], cwd: Path, log: Path, **env: str) -> subprocess.Popen:
    """Start ``command`` in the background, its output to ``log``."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=quiet_env(**env),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killed whole, as a machine dies
    )


def stop_process(process: subprocess.Popen) -> None:
    """Kill it with its whole process group, as a machine dies."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def start_scheduler(scheduler_file: Path, folder: Path) -> subprocess.Popen:
    """A `dask scheduler` on free ports, once its ``scheduler_file`` is written."""
    scheduler = start_process(
        ["dask", "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
         "--dashboard-address", ":0"],
        folder, folder / "scheduler.log",
    )  # fmt: skip
    for _ in range(150):
        if scheduler_file.exists():
            break
        time.sleep(0.2)
    return scheduler


def start_worker(scheduler_file: Path, folder: Path, name: str) -> subprocess.Popen:
    """A one-thread `dask worker` in its own ``folder`` (as its own machine would be)."""
    folder.mkdir()
    return start_process(
        ["dask", "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1",
         "--nthreads", "1", "--local-directory", str(folder), "--name", name],
        folder, folder.parent / f"{name}.log",
    )  # fmt: skip


def copy_repository(target: Path) -> Path:
    """Copy the project's source (what git tracks or would track) into ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if any(name == g or name.startswith(g + "/") for g in GENERATED):
            continue
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def edit_params(repo: Path, **changes) -> None:
    """Set dotted keys in repo/params.yaml, e.g. edit_params(repo, **{"train.epochs": 2})."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        node = params
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def git_commit_all(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(
        [
            "git",
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-qm",
            message,
        ],
        repo,
    )


def make_small_repo(target: Path, **params) -> Path:
    """A git + DVC copy of the project with small params, committed, not yet reproduced."""
    copy_repository(target)
    run(["git", "init", "-q", "-b", "main"], target)
    run(["git", "config", "user.name", "test"], target)  # `dvc exp` commits
    run(["git", "config", "user.email", "test@example.invalid"], target)
    edit_params(target, **params)
    git_commit_all(target, "small copy")
    return target


def start_queue(repo: Path, jobs: int = 1, **env: str) -> None:
    """``dvc queue start -j jobs`` as the benchmarks start it (``benchmarks/bench.py``'s
    ``start_queue``: its output to a file, never to ``run``'s pipe, which a worker that never
    exits would hold open, and the test would wait forever)."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    import bench

    bench.start_queue(repo, jobs, env=quiet_env(**env))


def wait_for_queue(repo: Path, timeout: float = 600) -> str:
    """Poll ``dvc queue status`` until nothing is queued or running; return the last status."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        status = run(["dvc", "queue", "status"], repo).stdout
        if " Queued" not in status and " Running" not in status:
            return status
        assert time.monotonic() < deadline, f"queue not done after {timeout} s:\n{status}"
        time.sleep(3)


def lock_hashes(lock_text: str, stage: str) -> dict[str, str]:
    """{dependency path: md5} of one stage in a dvc.lock's text."""
    lock = yaml.safe_load(lock_text)
    return {dep["path"]: dep.get("md5") for dep in lock["stages"][stage].get("deps", [])}


def duplicate(repo: Path, target: Path) -> Path:
    """A copy of a reproduced repository, DVC cache included: no retraining needed."""
    shutil.copytree(repo, target, symlinks=True)
    return target


SMALL_PARAMS = {"train.epochs": 3, "replicates": 2}


# One variant, tiny training: for tests that run the pipeline several times.
MINI_PARAMS = {
    "train.epochs": 3,
    "replicates": 2,
    "variants": {"sigmoid": {"activation": "sigmoid", "initializer": "uniform"}},
}


# Every file the pipeline writes (dvc.lock included), for byte-for-byte comparisons.
OUTPUTS = (
    "models",
    "metrics",
    "plots/figures",
    "plots/charts",
    "data/prepared",
    "data/evaluation",
    "dvc.lock",
)


def fingerprint(repo: Path) -> dict[str, str]:
    """sha256 of every file the pipeline writes."""
    digests = {}
    for name in OUTPUTS:
        root = repo / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if path.name != ".gitignore":
                digests[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def or_rows(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random truth-table rows and their OR labels, as float32."""
    x = np.random.default_rng(seed).integers(0, 2, size=(count, 2)).astype(np.float32)
    return x, np.logical_or(x[:, 0], x[:, 1]).astype(np.float32)


def train_settings(**changes):
    """The ``train`` section of params.yaml as the code sees it, with ``changes``."""
    from or_gate.params import Train

    settings = dict(
        epochs=3,
        batch_size=1,
        optimizer="adam",
        learning_rate=0.001,
        loss="mean_squared_error",
        validation_split=0.2,
    )
    return Train(**{**settings, **changes})


def with_change(raw: dict, dotted: str, value) -> dict:
    """A deep copy of a params document with the value at ``dotted`` (``train.loss``) replaced."""
    import copy

    changed = copy.deepcopy(raw)
    node = changed
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return changed
