"""When things go wrong, with the real dvc: clear errors, nothing lost, same bytes, shared cache."""

from __future__ import annotations

import hashlib
import json
import signal
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import duplicate, edit_params, interrupt_when, run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("mini")]

OUTPUTS = ("models", "metrics", "plots", "data/prepared", "dvc.lock")


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
        ("+variants.Bad-Name={activation: relu, initializer: uniform}", "variant name 'Bad-Name'"),
    ],
)
def test_bad_params_fail_the_experiment_with_one_line(mini_repo, tmp_path, override, expected):
    repo = duplicate(mini_repo, tmp_path / "repo")
    result = run(["dvc", "exp", "run", "-S", override], repo, check=False)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if ": error: params.yaml" in line]
    assert len(ours) == 1 and expected in ours[0], result.stderr
    assert "Traceback" not in result.stderr


def test_training_killed_halfway_leaves_no_model_and_repro_completes(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    edit_params(repo, **{"train.epochs": 60})
    seen = interrupt_when(["dvc", "repro"], repo, "train@sigmoid: epoch", signal.SIGKILL)
    assert any("train@sigmoid: epoch" in line for line in seen), "".join(seen)
    for model in (repo / "models").glob("sigmoid/replicate_*.keras"):
        with zipfile.ZipFile(model) as archive:  # any model present is complete
            assert archive.testzip() is None
    result = run(["dvc", "repro"], repo)
    assert "Running stage 'train@sigmoid'" in result.stdout
    assert sorted(p.name for p in (repo / "models/sigmoid").iterdir()) == [
        "replicate_000.keras",
        "replicate_001.keras",
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


def test_parallel_queued_experiments_equal_sequential_ones(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    run(["dvc", "exp", "run", "--queue", "-S", "depth=2,4"], repo)
    run(["dvc", "queue", "start", "-j", "2"], repo)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            status = run(["dvc", "queue", "status"], repo).stdout
            if " Queued" not in status and " Running" not in status:
                break
            time.sleep(3)
        assert " Failed" not in status and "Success" in status, status
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
