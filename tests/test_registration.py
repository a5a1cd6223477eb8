"""Predictions registered before their experiment: the commit order is the registration.

``docs/registered/`` holds predictions committed before the grid that tests them was trained.
A registered file is what its model computes from committed data (so it was not written by
hand), it is never edited after its first commit, and every result of its grid comes in a
later commit.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

from or_gate.files.tables import read_csv, write_csv

import pytest
from helpers import REPO

from tools.analysis import (
    sigmoid_budget,
    sigmoid_gate,
    sigmoid_regimes,
    sigmoid_slopes,
    sigmoid_wall,
)

# registered file -> where its grid's results go
REGISTERED = {
    sigmoid_gate.PREDICTIONS: "plots/sigmoid_grid",
    sigmoid_wall.PREDICTIONS: str(Path(sigmoid_wall.RESULTS).parent),
    sigmoid_regimes.PREDICTIONS: str(Path(sigmoid_regimes.RESULTS).parent),
    sigmoid_slopes.PREDICTIONS: str(Path(sigmoid_slopes.RESULTS).parent),
    sigmoid_budget.PREDICTIONS: str(Path(sigmoid_budget.RESULTS).parent),
}


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


def test_the_revised_predictions_are_what_the_model_gives_from_the_first_grid(tmp_path):
    from or_gate.files.tables import write_csv

    rows = sigmoid_wall.predictions(sigmoid_wall.Wall.committed(REPO))
    write_csv(tmp_path / "predictions.csv", sigmoid_wall.PREDICTION_COLUMNS, rows)
    assert (tmp_path / "predictions.csv").read_bytes() == (
        REPO / sigmoid_wall.PREDICTIONS
    ).read_bytes()
    # none of the second grid's cells was in the first
    first = read_csv(REPO / sigmoid_gate.GRID)
    ran = set(zip(first["epsilon"], first["epochs"], first["learning_rate"], strict=True))
    assert not ran & set(sigmoid_wall.CELLS)


def test_the_revised_model_recovers_the_lines_a_grid_was_made_from():
    """A first grid made from wall = 2 + log10(1/epsilon) and budget = 50 lr epochs, with the
    cells the fit must leave out: epsilon 1e-3 and transitions outside the depths run."""
    import pandas as pd

    rows = []
    for decades in (5, 7, 9, 11, 13, 15):
        for epochs, learning_rate in ((100, 1e-3), (200, 1e-3), (800, 1e-3), (800, 3e-3)):
            depth = min(2 + decades, 50 * learning_rate * epochs)
            rows.append((10.0**-decades, epochs, learning_rate, str(int(depth))))
    rows += [(1e-3, 800, 1e-3, "1"), (1e-3, 100, 1e-3, "1"), (1e-9, 400, 3e-3, ">4")]
    grid = pd.DataFrame(rows, columns=[*sigmoid_gate.CELL_KEYS, "measured_first_failing_depth"])
    model = sigmoid_wall.Wall.fit(grid)
    assert model.intercept == pytest.approx(2, abs=1e-9)
    assert model.layers_per_decade == pytest.approx(1, abs=1e-9)
    assert model.layers_per_lr_epoch == pytest.approx(50, abs=1e-9)
    assert (model.wall_cells, model.budget_cells) == (12, 6 + 3)  # 200 epochs: walls 13-17
    (row,) = sigmoid_wall.predictions(model, [(1e-7, 100, 3e-4)])  # budget 1.5 rounds up
    assert row[-2:] == ("budget", 2)


@pytest.mark.parametrize(
    ("revision", "model", "earlier_grids"),
    [
        (sigmoid_regimes, sigmoid_regimes.Regimes, (sigmoid_gate.GRID, sigmoid_wall.RESULTS)),
        (
            sigmoid_slopes,
            sigmoid_slopes.Slopes,
            (sigmoid_gate.GRID, sigmoid_wall.RESULTS, sigmoid_regimes.RESULTS),
        ),
        (
            sigmoid_budget,
            sigmoid_budget.PowerBudget,
            (
                sigmoid_gate.GRID,
                sigmoid_wall.RESULTS,
                sigmoid_regimes.RESULTS,
                sigmoid_slopes.RESULTS,
            ),
        ),
    ],
    ids=["regimes", "slopes", "budget"],
)
def test_a_revision_s_predictions_are_what_it_gives_from_the_grids_before_it(
    tmp_path, revision, model, earlier_grids
):
    assert earlier_grids == model.GRIDS  # fitted to every grid before its own
    rows = sigmoid_wall.predictions(model.committed(REPO), revision.CELLS)
    write_csv(tmp_path / "predictions.csv", sigmoid_wall.PREDICTION_COLUMNS, rows)
    assert (tmp_path / "predictions.csv").read_bytes() == (REPO / revision.PREDICTIONS).read_bytes()
    # none of its grid's cells was in an earlier grid
    ran = set()
    for table in earlier_grids:
        grid = read_csv(REPO / table)
        ran |= set(zip(grid["epsilon"], grid["epochs"], grid["learning_rate"], strict=True))
    assert len(set(revision.CELLS)) == len(revision.CELLS) == len(rows)
    assert not ran & set(revision.CELLS)


def test_the_slopes_model_lets_the_wall_s_slope_in_epsilon_move_with_the_learning_rate():
    """A grid made from wall = 2 + (1 - 0.5 log10 lr) log10(1/epsilon) - log10(lr): 2 layers
    a decade at lr 1e-2, 2.5 at 1e-3; and budget = 50 lr epochs - 2."""
    import pandas as pd

    rows = []
    for decades in (4, 6, 8):
        for epochs, learning_rate in ((100, 1e-2), (800, 1e-3), (100, 1e-3)):
            log_rate = round(math.log10(learning_rate))
            wall = 2 + (1 - 0.5 * log_rate) * decades - log_rate
            budget = 50 * learning_rate * epochs - 2
            collapsed = 0.9 if wall <= budget else 0.0
            rows.append((10.0**-decades, epochs, learning_rate, str(round(min(wall, budget))),
                         collapsed))  # fmt: skip
    rows.append((10.0**-10, 200, 1e-3, "8", 0.0))  # a second budget: the line needs two
    columns = [*sigmoid_gate.CELL_KEYS, "measured_first_failing_depth"]
    grid = pd.DataFrame(rows, columns=[*columns, "collapse_rate_at_first_failing"])
    model = sigmoid_slopes.Slopes.fit([grid])
    assert model.intercept == pytest.approx(2, abs=1e-9)
    assert model.layers_per_decade == pytest.approx(1, abs=1e-9)
    assert model.slope_per_lr_decade == pytest.approx(-0.5, abs=1e-9)
    assert model.layers_per_lr_decade == pytest.approx(-1, abs=1e-9)
    assert (model.layers_per_lr_epoch, model.budget_offset) == pytest.approx((50, -2), abs=1e-9)
    assert model.wall(1e-10, 1e-4) == pytest.approx(2 + 3 * 10 + 4)  # 3 layers a decade


def _power_law_grid(budget, scale=1.0):
    """A grid whose wall is 2 + log10(1/epsilon), where the nets collapsed, and whose budget
    is ``budget(lr, epochs)`` (times ``scale``), where they started; with the cells every fit
    leaves out: epsilon 1e-3 and a bound."""
    import pandas as pd

    rows = []
    for learning_rate, epochs in ((1e-3, 100), (1e-3, 300), (2e-3, 100), (3e-3, 100)):
        depth = budget(learning_rate, epochs) * scale
        rows.append((1e-15, epochs, learning_rate, str(round(depth)), 0.0))
    for decades in (4, 6):  # walls at 6 and 8, below every budget but the first
        for learning_rate, epochs in ((1e-2, 400), (1e-3, 800)):
            rows.append((10.0**-decades, epochs, learning_rate, str(2 + decades), 0.9))
    rows += [(1e-3, 400, 1e-3, "2", 1.0), (1e-9, 100, 1e-2, ">20", 0.0)]
    columns = [*sigmoid_gate.CELL_KEYS, "measured_first_failing_depth"]
    return pd.DataFrame(rows, columns=[*columns, "collapse_rate_at_first_failing"])


def test_the_budget_model_fits_a_power_law_to_the_cells_that_started():
    """Budget 1e4 lr^2 epochs (1, 3, 4 and 9 layers: whole, so recovered exactly)."""
    grid = _power_law_grid(lambda rate, epochs: 1e4 * rate**2 * epochs)
    model = sigmoid_budget.PowerBudget.fit([grid])
    assert model.budget_scale == pytest.approx(1e4, rel=1e-9)
    assert (model.lr_power, model.epochs_power) == pytest.approx((2, 1), abs=1e-9)
    assert model.budget_cells == 4
    assert model.walls == sigmoid_slopes.Slopes.fit([grid])  # the third revision's wall
    assert model.wall(1e-6, 1e-2) == pytest.approx(8, abs=1e-9)
    (row,) = sigmoid_wall.predictions(model, [(1e-15, 200, 2e-3)])
    assert row[-3:] == (pytest.approx(8), "budget", 8)


def test_the_budget_s_form_is_scored_on_each_grid_left_out_by_fits_to_the_others():
    """Grids a and b on the power law 1e4 lr^2 epochs (budget cells 1, 3, 4, 9 layers), c on
    1.5 times it (2, 4, 6, 14). Left out, c is asked of the law itself, fitted to a and b:
    1, 3, 4, 9 (none exact, two within one layer); a and b are each asked of a fit pulled up by
    c: 1, 3, 5, 11 (two exact, three within one). A fit that saw the left-out grid would come
    within one layer of 11 cells."""
    law = lambda rate, epochs: 1e4 * rate**2 * epochs  # noqa: E731
    agreeing = {"a": _power_law_grid(law), "b": _power_law_grid(law)}
    assert sigmoid_budget.left_out_scores(agreeing) == {
        # the line through them gives 1, 4, 6, 6: the two cells at lr x epochs 0.3 (3 and 9
        # layers) are one cell to it
        "the line in lr x epochs": (4, 4, 8),
        "the power law": (8, 8, 8),
    }
    scores = sigmoid_budget.left_out_scores({**agreeing, "c": _power_law_grid(law, 1.5)})
    assert scores["the power law"] == (4, 8, 12)


def test_the_regimes_model_fits_each_limit_to_the_cells_that_failed_its_way():
    """Grids made from wall = 1 + log10(1/epsilon) - log10(lr), where the nets collapsed, and
    budget = 50 lr epochs - 2, where they started (one at exactly half collapsed: not more
    than half), with the cells the fit must leave out: epsilon 1e-3 and a bound."""
    import pandas as pd

    rows = []
    for decades in (5, 7, 9, 11):
        for epochs, learning_rate in ((100, 1e-3), (200, 1e-3), (400, 1e-3), (100, 1e-2),
                                      (400, 1e-2)):  # fmt: skip
            wall = 1 + decades - round(math.log10(learning_rate))
            budget = round(50 * learning_rate * epochs - 2)
            collapsed = 0.9 if wall <= budget else 0.5 if decades == 7 else 0.0
            rows.append((10.0**-decades, epochs, learning_rate, str(min(wall, budget)), collapsed))
    rows += [(1e-3, 400, 1e-3, "2", 1.0), (1e-9, 100, 1e-2, ">20", 1.0)]
    columns = [*sigmoid_gate.CELL_KEYS, "measured_first_failing_depth"]
    grid = pd.DataFrame(rows, columns=[*columns, "collapse_rate_at_first_failing"])
    half = len(grid) // 2
    model = sigmoid_regimes.Regimes.fit([grid.iloc[:half], grid.iloc[half:]])
    assert model.intercept == pytest.approx(1, abs=1e-9)
    assert model.layers_per_decade == pytest.approx(1, abs=1e-9)
    assert model.layers_per_lr_decade == pytest.approx(-1, abs=1e-9)
    assert model.layers_per_lr_epoch == pytest.approx(50, abs=1e-9)
    assert model.budget_offset == pytest.approx(-2, abs=1e-9)
    assert (model.wall_cells, model.budget_cells) == (12, 8)
    wall_cell, budget_cell = sigmoid_wall.predictions(
        model, [(1e-6, 300, 3e-2), (1e-11, 150, 1e-3)]
    )
    assert wall_cell[-2:] == ("wall", 9)  # 8.52
    assert budget_cell[-2:] == ("budget", 6)  # 5.5, half up


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
        {"epsilon": [1e-5, 1e-7, 1e-9, 1e-7], "epochs": [200] * 3 + [100],
         "learning_rate": [1e-3] * 3 + [3e-4], "first_failing_depth": [6, 7, 8, 1]}
    )  # fmt: skip
    measured = {
        (1e-5, 200, 1e-3): {4: 1.0, 5: 0.6, 6: 0.5, 7: 0.2},  # 0.5 is not below one half
        (1e-7, 200, 1e-3): {7: 0.1, 8: 0.0},  # fails at the shallowest depth run: a bound
        (1e-9, 200, 1e-3): {8: 1.0, 9: 0.9},  # learns at every depth run: a bound
        (1e-11, 200, 1e-3): {8: 1.0},  # not registered: left out
        (1e-7, 100, 3e-4): {1: 0.2, 2: 0.0},  # depth 1 fails: exact, no net is shallower
    }
    collapsed = {cell: {d: d / 100 for d in by_depth} for cell, by_depth in measured.items()}
    rows = sigmoid_gate.compare(measured, collapsed, predicted)
    assert rows == [  # the collapse rate is the first failing depth's
        (1e-9, 200, 1e-3, "8-9", ">9", 8, "", ""),
        (1e-7, 100, 3e-4, "1-2", 1, 1, 0, 0.01),
        (1e-7, 200, 1e-3, "7-8", "<=7", 7, "", 0.07),
        (1e-5, 200, 1e-3, "4-7", 7, 6, 1, 0.07),
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


def test_a_cell_whose_depths_have_a_gap_is_refused_naming_the_missing_depths():
    from or_gate.runtime import DataError

    import pandas as pd

    predicted = pd.DataFrame(
        {"epsilon": [1e-9], "epochs": [400], "learning_rate": [1e-3], "first_failing_depth": [8]}
    )
    # 12 fails first, but 11 was never run: the transition could be 11 or 12
    measured = {(1e-9, 400, 1e-3): {9: 1.0, 10: 1.0, 12: 0.0, 13: 0.0}}
    with pytest.raises(DataError, match=r"depths 11 not run between 9 and 13"):
        sigmoid_gate.compare(measured, measured, predicted)


def test_the_gate_slope_is_fitted_within_each_budget_not_across_them(tmp_path):
    import pandas as pd

    gated = read_csv(REPO / sigmoid_gate.PREDICTIONS, text=("limited_by",))
    gated = gated[(gated["limited_by"] == "gate") & (gated["learning_rate"] == 3e-3)]
    cells = pd.concat(  # the budgets at different epsilons, as the grid runs them
        [
            gated[(gated["epochs"] == 100) & gated["epsilon"].isin([1e-5, 1e-9])],
            gated[(gated["epochs"] == 800) & gated["epsilon"].isin([1e-9, 1e-13])],
        ]
    )
    assert len(cells) == 4, cells  # two budgets, two epsilons each, all gated
    # one layer per two decades in each budget, the 800-epoch nets four layers deeper: one
    # line through all four cells would say about one layer a decade
    rows = [
        (e, n, 3e-3, "1-30", str(int(10 + -math.log10(e) / 2 + (4 if n == 800 else 0))), 1, 0, 1)
        for e, n in zip(cells["epsilon"], cells["epochs"], strict=True)
    ]
    said = sigmoid_gate._slope_sentence(
        tmp_path, sigmoid_gate.registered_cells(tmp_path, _grid(tmp_path, rows))
    )
    assert "0.50 layers at 100 epochs" in said, said
    assert "0.50 layers at 800 epochs" in said, said


def test_the_committed_grid_figure_redraws_from_its_committed_table(tmp_path):
    out = tmp_path / "sigmoid_grid.png"
    sigmoid_gate.draw_grid(REPO, REPO / sigmoid_gate.GRID, out)
    assert out.read_bytes() == (REPO / sigmoid_gate.GRID_FIGURE).read_bytes()


@pytest.mark.parametrize(
    "revision",
    [sigmoid_wall, sigmoid_regimes, sigmoid_slopes, sigmoid_budget],
    ids=lambda m: m.__name__,
)
def test_a_revision_s_committed_grid_figure_redraws_from_its_committed_table(tmp_path, revision):
    out = tmp_path / "figure.png"
    revision.draw_results(REPO, REPO / revision.RESULTS, out)
    assert out.read_bytes() == (REPO / revision.RESULTS_FIGURE).read_bytes()


def test_the_third_grid_is_also_scored_against_the_first_revision_s_predictions(tmp_path):
    """Measured one layer below what ``Wall`` (fitted to the first grid) gives in every cell
    but the table's first, and one cell outside its depths run: the sentence counts what
    ``Wall``'s line by hand gives, cell by cell in the table's order (learning rate, epochs,
    epsilon from the largest)."""
    for path in (sigmoid_gate.GRID, sigmoid_wall.RESULTS, sigmoid_regimes.PREDICTIONS):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes((REPO / path).read_bytes())
    rows = []
    for e, n, lr in sigmoid_regimes.CELLS:  # -0.036 + 1.179 log10(1/e) against 49.35 lr n
        by_hand = max(1, math.floor(min(-0.0357 + 1.1786 * -math.log10(e), 49.355 * lr * n) + 0.5))
        found = by_hand - ((e, n, lr) != (1e-9, 150, 6e-4))  # the table's first cell
        rows.append((e, n, lr, "1-20", str(found), 0, 0, 0.0))
    rows[0] = (*rows[0][:3], "8-9", "<=8", 0, 0, 0.0)  # a bound: not scored
    write_csv(tmp_path / sigmoid_regimes.RESULTS, sigmoid_gate.GRID_COLUMNS, rows)
    said = sigmoid_regimes.results_summary(tmp_path).splitlines()[-1]
    assert said == (
        "The first revision, fitted to the first grid alone, gives for the same 13 cells 1 "
        f"exactly and 13 within one layer (misses {', '.join(['+0'] + ['-1'] * 12)}, in the "
        "table's order)."
    )


def _grid(tmp_path, rows):
    """A grid table of ``rows`` beside the committed predictions, profile and timeline."""
    paths = (sigmoid_gate.PREDICTIONS, sigmoid_gate.PROFILE, "plots/sigmoid_gate/timeline.csv")
    for path in (*paths, "data/prepared/train.csv"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes((REPO / path).read_bytes())
    write_csv(tmp_path / "grid.csv", sigmoid_gate.GRID_COLUMNS, rows)
    return read_csv(tmp_path / "grid.csv", text=("depths_run", "measured_first_failing_depth"))


def test_the_budget_sentence_lists_keras_epsilon_s_transitions_in_budget_order(tmp_path):
    grid = _grid(
        tmp_path,
        [  # rows as compare writes them: sorted by epsilon, not by budget
            (1e-7, 800, 1e-3, "6-10", "9", 7, 2, 1.0),
            (1e-7, 100, 1e-3, "2-6", "4", 4, 0, 0.0),
            (1e-7, 400, 1e-3, "6-10", "8", 7, 1, 1.0),
            (1e-9, 400, 1e-3, "6-10", "10", 8, 2, 1.0),  # not Keras' epsilon: left out
        ],
    )
    said = sigmoid_gate._budget_sentence(grid)
    assert said == (
        "At Keras' epsilon (1e-07) the first failing depth is 4, 8, 9 at 100, 400, 800 epochs "
        "with learning rate 0.001 (registered: 4, 7, 7)."
    )


def test_the_regime_sentence_counts_collapses_by_the_limit_the_registration_names(tmp_path):
    grid = _grid(
        tmp_path,
        [
            (1e-7, 200, 1e-3, "5-9", "7", 7, 0, 0.9),  # gate, collapsed
            (1e-7, 400, 1e-3, "6-10", "8", 7, 1, 0.5),  # gate, half: not most
            (1e-7, 100, 1e-3, "2-6", "4", 4, 0, 0.7),  # cascade, collapsed
            (1e-9, 100, 1e-3, "2-6", "5", 4, 1, 0.1),  # cascade, started
            (1e-7, 800, 1e-3, "6-10", ">10", 7, "", ""),  # no failing depth run: left out
        ],
    )
    said = sigmoid_gate._regime_sentence(sigmoid_gate.registered_cells(tmp_path, grid))
    assert "in 1 of the 2 cells the registration says the gate limits" in said, said
    assert "in 1 of the 2 cells the registration says the cascade limits" in said, said
