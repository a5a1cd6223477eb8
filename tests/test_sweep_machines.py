"""A sweep split across machines meets in one place with DVC's own tools.

Two clones act as machines, a bare git repository as the shared git remote and a local
directory as the DVC remote. Each machine runs its share of a depth sweep and pushes it with
`dvc exp push`; a third clone collects with `dvc exp pull`, and the sweep report, `dvc exp
show` and the models (fetched from the DVC remote, never retrained) work on what it collected.
"""

from __future__ import annotations

import json
import sys

import pytest
from helpers import REPO, duplicate, git_commit_all, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("mini")]


def machine(origin, storage, target):
    """A clone of the shared repository, configured as a user would."""
    run(["git", "clone", "-q", str(origin), str(target)], target.parent)
    run(["git", "config", "user.name", target.name], target)
    run(["git", "config", "user.email", f"{target.name}@example.invalid"], target)
    return target


def test_a_sweep_run_on_two_machines_is_collected_on_a_third(mini_repo, tmp_path):
    first = duplicate(mini_repo, tmp_path / "first")
    storage, origin = tmp_path / "dvc-remote", tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp_path)
    run(["dvc", "remote", "add", "-d", "store", str(storage)], first)
    git_commit_all(first, "shared DVC remote")
    run(["git", "remote", "add", "origin", str(origin)], first)
    run(["git", "push", "-q", "origin", "main"], first)
    run(["dvc", "push"], first)
    second = machine(origin, storage, tmp_path / "second")
    run(["dvc", "pull"], second)

    for host, depth in ((first, 2), (second, 3)):  # each machine runs its share
        run(["dvc", "exp", "run", "-n", f"depth-{depth}", "-S", f"depth={depth}"], host)
        run(["dvc", "exp", "push", "origin", f"depth-{depth}"], host)

    collector = machine(origin, storage, tmp_path / "collector")
    run(["dvc", "exp", "pull", "origin", "depth-2", "depth-3"], collector)
    shown = json.loads(run(["dvc", "exp", "show", "--json"], collector).stdout)
    names = {e["name"] for b in shown for e in b.get("experiments") or []}
    assert names == {"depth-2", "depth-3"}
    report = run(
        [sys.executable, str(REPO / "tools/sweep_report.py"), "--out-dir", "sweep"], collector
    )
    assert "2 depths (2-3)" in report.stdout
    assert (collector / "sweep/depth_sweep.png").is_file()
    run(["dvc", "exp", "apply", "depth-3"], collector)  # the models come from the DVC remote
    run(["dvc", "checkout"], collector)
    assert (collector / "models/sigmoid/weights.npy").is_file()
    repro = run(["dvc", "repro"], collector)
    assert "Running stage" not in repro.stdout  # nothing retrained
