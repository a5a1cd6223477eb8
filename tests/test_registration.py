"""Predictions registered before their experiment: the commit order is the registration.

``docs/registered/`` holds predictions committed before the grid that tests them was trained.
A registered file is what its model computes from committed data (so it was not written by
hand), it is never edited after its first commit, and every result of its grid comes in a
later commit.
"""

from __future__ import annotations

import subprocess

from or_gate.files.tables import read_csv, write_csv

import pytest
from helpers import REPO

from tools.analysis import sigmoid_gate

# registered file -> where its grid's results go
REGISTERED = {sigmoid_gate.PREDICTIONS: "plots/sigmoid_grid"}


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_sigmoid_predictions_are_what_the_model_gives_from_the_committed_profile(tmp_path):
    rows = sigmoid_gate.predictions(sigmoid_gate.Gate.committed(REPO))
    write_csv(tmp_path / "predictions.csv", tuple(rows[0]), (r.values() for r in rows))
    committed = (REPO / sigmoid_gate.PREDICTIONS).read_bytes()
    assert (tmp_path / "predictions.csv").read_bytes() == committed
    # the write-up's own setting, with no constant fitted to it: fails from depth 7
    written = read_csv(REPO / sigmoid_gate.PREDICTIONS)
    at = (written["epsilon"] == 1e-7) & (written["epochs"] == 200)
    at &= written["learning_rate"] == 1e-3
    assert written.loc[at, "first_failing_depth"].tolist() == [7]


@pytest.mark.parametrize(("registered", "results"), REGISTERED.items())
def test_a_registration_precedes_its_results_and_never_changes(registered, results):
    if git("rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone has no history to order")
    commits = git("log", "--format=%H", "--", registered).split()
    assert commits, f"{registered} is not committed: a prediction is registered by its commit"
    assert len(commits) == 1, f"{registered} changed after it was registered: {commits}"
    registration = commits[0]
    for result in git("log", "--format=%H", "--", results).split():
        assert result != registration, f"{results} came in the commit that registered"
        ordered = subprocess.run(
            ["git", "merge-base", "--is-ancestor", registration, result], cwd=REPO
        )
        assert ordered.returncode == 0, f"{results} in {result}, before the registration"


def test_the_grid_is_compared_with_its_registered_cell_by_the_first_depth_below_one_half():
    import pandas as pd

    predicted = pd.DataFrame(
        {"epsilon": [1e-5, 1e-7, 1e-9], "epochs": [200] * 3, "learning_rate": [1e-3] * 3,
         "first_failing_depth": [6, 7, 8]}
    )  # fmt: skip
    measured = {
        (1e-5, 200, 1e-3): {4: 1.0, 5: 0.6, 6: 0.5, 7: 0.2},  # 0.5 is not below one half
        (1e-7, 200, 1e-3): {7: 0.1, 8: 0.0},  # fails at the shallowest depth run: a bound
        (1e-9, 200, 1e-3): {8: 1.0, 9: 0.9},  # learns at every depth run: a bound
        (1e-11, 200, 1e-3): {8: 1.0},  # not registered: left out
    }
    rows = sigmoid_gate.compare(measured, predicted)
    assert rows == [
        (1e-9, 200, 1e-3, "8-9", ">9", 8, ""),
        (1e-7, 200, 1e-3, "7-8", "<=7", 7, ""),
        (1e-5, 200, 1e-3, "4-7", 7, 6, 1),
    ]


def test_a_transition_outside_the_depths_run_is_a_miss_of_at_least_its_bound():
    from types import SimpleNamespace

    def row(measured, predicted):
        return SimpleNamespace(
            measured_first_failing_depth=measured, predicted_first_failing_depth=predicted
        )

    assert sigmoid_gate._least_miss(row(">13", 11)) == 3  # fails first at 14 or deeper
    assert sigmoid_gate._least_miss(row("<=3", 5)) == -2
    assert sigmoid_gate._bound_miss(row(">13", 11)) == "+3 or more"
    assert sigmoid_gate._bound_miss(row("<=3", 5)) == "-2 or less"
