"""What the record says ran is what ran: the params DVC records, the code of the checkout DVC
runs, the pinned versions (docs/operations.md, "What the record says ran")."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import (
    duplicate,
    git_commit_all,
    lock_hashes,
    run,
    run_tool,
    start_queue,
    wait_for_queue,
)

pytestmark = [pytest.mark.e2e]


def experiment_revision(repo, name: str) -> str:
    """The commit of the experiment ``name``, from ``dvc exp show --json``."""
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            if experiment.get("name") == name:
                return experiment["revs"][0]["rev"]
    raise AssertionError(f"no experiment {name!r} in dvc exp show")


BROKEN = 'raise ImportError("the workspace\'s library is broken")\n'


@pytest.mark.slow
def test_a_queued_experiment_runs_its_own_snapshot_not_the_workspaces_code(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    committed = lock_hashes((repo / "dvc.lock").read_text(), "train@sigmoid")
    run(["dvc", "exp", "run", "--queue", "-n", "snapshot", "-S", "depth=2"], repo)
    library = repo / "or_gate/__init__.py"
    library.write_text(library.read_text() + BROKEN)  # edited while the queue waits
    start_queue(repo)
    try:
        status = wait_for_queue(repo)
    finally:
        run(["dvc", "queue", "stop", "--kill"], repo, check=False)
    assert " Success" in status and " Failed" not in status, status
    revision = experiment_revision(repo, "snapshot")
    ran = lock_hashes(run(["git", "show", f"{revision}:dvc.lock"], repo).stdout, "train@sigmoid")
    assert ran["or_gate"] == committed["or_gate"]  # the snapshot's code, as recorded
    params = run(["git", "show", f"{revision}:params.yaml"], repo).stdout
    assert "depth: 2" in params
    # the workspace itself still refuses to run with its broken library
    failed = run([sys.executable, "-E", "-m", "stages.validate"], repo, check=False)
    assert "the workspace's library is broken" in failed.stderr


def test_a_stage_run_with_another_checkouts_library_is_refused(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    # As a script, stages/ comes first on sys.path, and `import or_gate` finds the editable
    # install's checkout, not this one: refused, one line.
    command = [sys.executable, "stages/validate.py", "--out", str(tmp_path / "marker")]
    result = run(command, repo, check=False)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"validate: error: this command is {repo}'s but imported or_gate from ")
    assert not (tmp_path / "marker").exists()


def test_versions_other_than_the_pinned_ones_are_refused(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    pins = repo / "requirements.txt"
    pins.write_text(pins.read_text().replace("numpy==", "numpy==1.0.0\n# was numpy=="))
    result = run([sys.executable, "-E", "-m", "stages.validate"], repo, check=False)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("validate: error: numpy 2.4.6 is installed, requirements.txt pins 1.0.0")


@pytest.mark.parametrize(
    ("typed", "trained"),
    [
        pytest.param("010", 10, marks=pytest.mark.slow),  # trains: minutes of dvc runs
        ("'10'", "depth: '10' is not allowed"),
        ("10.0", "depth: 10.0 is not allowed"),
    ],
)
def test_a_hand_edited_depth_trains_exactly_what_dvc_records(mini_repo, tmp_path, typed, trained):
    repo = duplicate(mini_repo, tmp_path / "repo")
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("depth: 1\n", f"depth: {typed}\n", 1))
    git_commit_all(repo, f"depth: {typed}")
    result = run(["dvc", "exp", "run", "-n", "edited"], repo, check=False)
    if isinstance(trained, str):  # refused before anything ran, with one line
        assert result.returncode != 0
        ours = [line for line in result.stderr.splitlines() if line.startswith("validate:")]
        assert ours[0] == f"validate: error: params.yaml: {trained}; expected an integer >= 1"
        assert "Running stage 'train@" not in result.stdout
        return
    assert result.returncode == 0, result.stderr[-2000:]
    revision = experiment_revision(repo, "edited")
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    [data] = [
        e["revs"][0]["data"]
        for b in shown
        for e in b.get("experiments") or []
        if e["name"] == "edited"
    ]
    recorded = data["params"]["params.yaml"]["data"]["depth"]
    diff = json.loads(run(["dvc", "params", "diff", "HEAD~1", revision, "--json"], repo).stdout)
    assert diff["params.yaml"]["depth"]["new"] == recorded
    architecture = json.loads((repo / "models/sigmoid/architecture.json").read_text())
    assert recorded == architecture["depth"] == trained


@pytest.mark.slow
def test_a_failed_queued_experiment_is_listed_never_drawn(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    run(["dvc", "exp", "run", "--queue", "-n", "good", "-S", "depth=2"], repo)
    run(["dvc", "exp", "run", "--queue", "-n", "bad", "-S", "depth=3", "-S", "replicates=0"], repo)
    start_queue(repo)
    try:
        status = wait_for_queue(repo)
    finally:
        run(["dvc", "queue", "stop", "--kill"], repo, check=False)
    assert " Failed" in status and " Success" in status, status
    report = run_tool(["tools/sweep_report.py", "--out-dir", str(tmp_path / "out")], repo)
    assert report.stdout.splitlines()[0] == (
        "sweep_report: left out bad (depth 3): validate: error: params.yaml: replicates: 0 is "
        "not allowed; expected an integer >= 1"
    )
    table = (tmp_path / "out/depth_sweep.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in table[1:]] == ["2"]  # depth 2 only: "good"
