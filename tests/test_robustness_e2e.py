"""When things go wrong, with the real dvc: clear errors, nothing lost, same bytes, shared cache."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from helpers import duplicate, edit_params, fingerprint, interrupt_when, run

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


@pytest.mark.slow  # four trainings: CI runs it with `pytest -m slow`
def test_parallel_queued_experiments_equal_sequential_ones(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    run(["dvc", "exp", "run", "--queue", "-S", "depth=2,4"], repo)
    run(["dvc", "queue", "start", "-j", "2"], repo)
    try:
        deadline = time.monotonic() + 600
        while True:
            status = run(["dvc", "queue", "status"], repo).stdout
            if " Queued" not in status and " Running" not in status:
                break
            assert time.monotonic() < deadline, f"queue not done after 600 s:\n{status}"
            time.sleep(3)
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
