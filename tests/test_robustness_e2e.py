"""When things go wrong, with the real dvc: clear errors, nothing lost, same bytes, shared cache."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from helpers import (
    duplicate,
    edit_params,
    fingerprint,
    interrupt_when,
    run,
    start_queue,
    wait_for_queue,
)

pytestmark = [pytest.mark.e2e]


@pytest.mark.slow
def test_repro_twice_gives_the_same_bytes(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    assert any(name.startswith("models/") for name in before)
    assert any(name.endswith(".png") for name in before)
    run(["dvc", "repro", "-f"], repo)
    assert fingerprint(repo) == before
    assert "Data and pipelines are up to date." in run(["dvc", "status"], repo).stdout
    assert run(["git", "status", "--porcelain"], repo).stdout == ""


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("+dpeth=3", "unknown key 'dpeth' (did you mean 'depth'?)"),
        ("depth=three", "depth: 'three' is not allowed; expected an integer >= 1"),
        ("depth=0", "depth: 0 is not allowed; expected an integer >= 1"),
        ("train.validation_split=1.5", "train.validation_split: 1.5 is not allowed"),
        (
            "+variants.Bad-Name={activation: relu, initializer: uniform}",
            "variants: name 'Bad-Name' is not allowed",
        ),
    ],
)
def test_bad_params_fail_the_experiment_with_one_line(mini_repo, tmp_path, override, expected):
    repo = duplicate(mini_repo, tmp_path / "repo")
    result = run(["dvc", "exp", "run", "-S", override], repo, check=False)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if ": error: params.yaml" in line]
    assert len(ours) == 1 and expected in ours[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_training_killed_halfway_is_rerun_by_the_next_repro(mini_repo, tmp_path):
    """SIGKILL mid-training: DVC must not take the stage as done, and the next `dvc repro`
    trains it again. (A model file is never half written: tests/test_export.py kills a
    process mid-save; two runs give the same bytes: test_repro_twice_gives_the_same_bytes.)"""
    repo = duplicate(mini_repo, tmp_path / "repo")
    edit_params(repo, **{"train.epochs": 60})
    seen = interrupt_when(["dvc", "repro"], repo, "train@sigmoid: epoch", signal.SIGKILL)
    assert any("train@sigmoid: epoch" in line for line in seen), "".join(seen)
    assert "train@sigmoid" in run(["dvc", "status"], repo).stdout  # not taken as done
    result = run(["dvc", "repro"], repo)
    assert "Running stage 'train@sigmoid'" in result.stdout
    assert sorted(p.name for p in (repo / "models/sigmoid").iterdir()) == [
        *["architecture.json", "gradients.csv", "history.csv", "units.csv", "weights.npy"]
    ]
    assert "Data and pipelines are up to date." in run(["dvc", "status"], repo).stdout


def test_a_colleague_pulls_results_instead_of_retraining(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "store", str(remote)], repo)
    run(["dvc", "push"], repo)
    run(["git", "commit", "-qam", "add remote"], repo)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    assert not (clone / "models/sigmoid").exists()
    run(["dvc", "pull"], clone)
    assert "Data and pipelines are up to date." in run(["dvc", "status"], clone).stdout
    result = run(["dvc", "repro"], clone)
    assert "Running stage" not in result.stdout  # nothing retrained
    assert fingerprint(clone) == fingerprint(repo)


def read_metrics(repo: Path) -> dict:
    return json.loads((repo / "metrics/sigmoid.json").read_text())


def test_a_queue_worker_that_never_exits_does_not_hang_whoever_started_it(tmp_path):
    """`dvc queue start` leaves worker daemons holding its stdout and stderr; one that never
    exits (DVC's monitor shut one down early, and it hung a run of .ci/run's slow tests on
    2026-12-03) must not keep ``start_queue`` waiting. A fake `dvc` that leaves such a daemon
    behind stands in."""
    import os
    import threading

    fake = tmp_path / "bin" / "dvc"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nsleep 600 &\necho $! > worker.pid\necho "Started 1 worker"\n')
    fake.chmod(0o755)
    repo = tmp_path / "repo"
    repo.mkdir()
    path = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
    started = threading.Thread(target=start_queue, args=(repo,), kwargs={"PATH": path})
    started.daemon = True
    started.start()
    started.join(timeout=60)
    try:
        assert not started.is_alive(), "start_queue waited for a worker that never exits"
        assert "Started 1 worker" in (repo / ".dvc/tmp/queue-start.log").read_text()
    finally:
        os.kill(int((repo / "worker.pid").read_text()), signal.SIGKILL)


@pytest.mark.slow  # four trainings: CI runs it with `pytest -m slow`
def test_parallel_queued_experiments_equal_sequential_ones(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    run(["dvc", "exp", "run", "--queue", "-S", "depth=2,4"], repo)
    start_queue(repo, jobs=2)
    try:
        status = wait_for_queue(repo)
        assert " Failed" not in status and status.count("Success") == 2, status
    finally:
        run(["dvc", "queue", "stop", "--kill"], repo, check=False)
    parallel = {}
    for baseline in json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout):
        for experiment in baseline.get("experiments") or []:
            data = experiment["revs"][0]["data"]
            depth = data["params"]["params.yaml"]["data"]["depth"]
            parallel[depth] = data["metrics"]["metrics/sigmoid.json"]["data"]
    assert sorted(parallel) == [2, 4]
    for depth in (2, 4):
        run(["dvc", "exp", "run", "-S", f"depth={depth}"], repo)
        assert read_metrics(repo) == parallel[depth], depth
