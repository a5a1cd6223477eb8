"""docs/sigmoid.md's readings of its grids, each checked against the committed tables.

Every sentence there that describes a grid's result with a number, or a claim about its
shape, is checked here by reading the committed tables themselves (independently of the code
that renders the generated blocks), so an edit of a table or of the prose that makes them
disagree fails.
"""

from __future__ import annotations

from or_gate.files.tables import read_csv

import numpy as np
from helpers import REPO

from tools.analysis import (
    sigmoid_budget,
    sigmoid_gate,
    sigmoid_regimes,
    sigmoid_slopes,
    sigmoid_wall,
)

TEXT = ("depths_run", "measured_first_failing_depth")  # columns read as text: bounds (>9)


def registered_and_measured(revision, count: int):
    """A revision's grid beside its registration, read from the committed files themselves:
    (cells, measured first failing depth, miss), after checking that all ``count`` registered
    cells ran and that no transition lies outside its depths run."""
    grid = read_csv(REPO / revision.RESULTS, sigmoid_gate.GRID_COLUMNS, text=TEXT)
    predicted = read_csv(REPO / revision.PREDICTIONS, text=("limited_by",))
    cells = grid.merge(predicted, on=sigmoid_gate.CELL_KEYS)
    assert len(cells) == len(revision.CELLS) == count  # every registered cell is run
    assert cells["measured_first_failing_depth"].str.isdigit().all()  # none is a bound
    depth = cells["measured_first_failing_depth"].astype(int)
    return cells, depth, depth - cells["first_failing_depth"]


def test_the_docs_reading_of_the_grid_is_what_the_committed_table_shows():
    """docs/sigmoid.md's "What held and what did not" reads the committed grid without
    numbers of its own; each reading is checked here against the table it reads."""
    grid = read_csv(REPO / sigmoid_gate.GRID, sigmoid_gate.GRID_COLUMNS, text=TEXT)
    predicted = read_csv(REPO / sigmoid_gate.PREDICTIONS, text=("limited_by",))
    cells = grid.merge(predicted, on=sigmoid_gate.CELL_KEYS)
    assert len(cells) == len(predicted) == 56  # every registered cell is run
    bounds = cells["measured_first_failing_depth"].str.contains("[<>]")
    assert not bounds.any(), cells[bounds]  # every transition lies within the depths run
    depth = cells["measured_first_failing_depth"].astype(int)

    def at(epsilon, learning_rate=None, limit=None):
        chosen = np.isclose(cells["epsilon"], epsilon)
        if learning_rate is not None:
            chosen &= np.isclose(cells["learning_rate"], learning_rate)
        if limit is not None:
            chosen &= cells["limited_by"] == limit
        return cells[chosen].set_index(["learning_rate", "epochs"]), depth[chosen].to_numpy()

    # the budget: at Keras' epsilon deeper from 200 to 400 epochs, then put
    keras, found = at(1e-7, learning_rate=1e-3)
    by_budget = dict(zip(keras.index.get_level_values("epochs"), found, strict=True))
    assert by_budget[200] < by_budget[400] == by_budget[800]
    # the regime: most nets collapsed at the first failing depth in most gate cells, the
    # exceptions all at the smallest epsilons; most started in most cascade cells
    collapsed = cells["collapse_rate_at_first_failing"] > 0.5
    gate = cells["limited_by"] == "gate"
    assert collapsed[gate].mean() > 0.5, cells[gate & ~collapsed]
    assert (cells.loc[gate & ~collapsed, "epsilon"] <= 1e-9).all(), cells[gate & ~collapsed]
    assert collapsed[~gate].mean() < 0.5, cells[~gate]
    # outside the model: epsilon 1e-3 fails shallower than predicted everywhere
    large, found = at(1e-3)
    assert (found < large["predicted_first_failing_depth"].to_numpy()).all()
    # the review's other report: at 1e-5, where the gate limits, shallower but at 800 epochs
    small, found = at(1e-5, limit="gate")
    shallower = found < small["predicted_first_failing_depth"].to_numpy()
    longest = small.index.get_level_values("epochs") == 800
    assert shallower[~longest].all() and not shallower[longest].any(), small


def test_the_docs_reading_of_the_second_grid_is_what_the_committed_table_shows():
    """docs/sigmoid.md's reading of the second grid, checked against its committed table."""
    cells, _, miss = registered_and_measured(sigmoid_wall, 14)
    # exact only where even one layer fails; every other miss shallower, by one or two
    assert (cells.loc[miss == 0, "first_failing_depth"] == 1).all() and (miss <= 0).all()
    assert miss[miss != 0].isin([-1, -2]).all() and (miss == -2).sum() == 2
    slow = np.isclose(cells["learning_rate"], 3e-4, rtol=1e-9, atol=0)
    # the budget: deeper with every doubling, a layer short from 200 epochs on
    for _, at in cells[slow].groupby("epsilon"):
        found = at.sort_values("epochs")["measured_first_failing_depth"].astype(int)
        assert found.is_monotonic_increasing and found.is_unique
    assert (miss[slow & (cells["epochs"] >= 200)] == -1).all()
    # the wall: the same at 100 and 400 epochs; shallower than the first grid's longest
    # budget, and at or one above its shortest at 3e-3
    first = read_csv(REPO / sigmoid_gate.GRID, sigmoid_gate.GRID_COLUMNS, text=TEXT)
    first_depth = first["measured_first_failing_depth"].astype(int)
    for epsilon, at in cells[~slow].groupby("epsilon"):
        found = set(at["measured_first_failing_depth"].astype(int))
        assert len(found) == 1, at
        (wall,) = found
        same = np.isclose(first["epsilon"], epsilon, rtol=1e-9, atol=0)
        assert (wall < first_depth[same & (first["epochs"] == 800)]).all()
        at_3e3 = np.isclose(first["learning_rate"], 3e-3, rtol=1e-9, atol=0)
        short = same & (first["epochs"] == 100) & at_3e3
        assert int(first_depth[short].iloc[0]) - wall in (0, 1)
    # the regime: collapsed at 1e-2, started at 3e-4 (the 3e-4 wall cell included)
    collapsed = cells["collapse_rate_at_first_failing"] > 0.5
    assert collapsed[~slow].all() and not collapsed[slow].any()
    assert ((cells["limited_by"] == "wall") & slow).sum() == 1


def test_the_docs_reading_of_the_third_grid_is_what_the_committed_table_shows():
    """docs/sigmoid.md's reading of the third grid, checked against its committed table."""
    cells, depth, miss = registered_and_measured(sigmoid_regimes, 14)
    assert ((miss == 0).sum(), (miss.abs() <= 1).sum()) == (6, 11)
    assert (miss > 0).any() and (miss < 0).any()  # on both sides
    # the first revision, asked the same cells: 4 exact, 8 within one layer
    earlier = {
        row[:3]: row[-1]
        for row in sigmoid_wall.predictions(
            sigmoid_wall.Wall.committed(REPO), sigmoid_regimes.CELLS
        )
    }
    keys = zip(*(cells[key] for key in sigmoid_gate.CELL_KEYS), strict=True)
    before = depth - [earlier[cell] for cell in keys]
    assert ((before == 0).sum(), (before.abs() <= 1).sum()) == (4, 8)
    # the regime named: collapsed in all 10 wall cells, started in all 4 budget cells
    collapsed = cells["collapse_rate_at_first_failing"] > 0.5
    wall = cells["limited_by"] == "wall"
    assert (collapsed == wall).all() and (wall.sum(), (~wall).sum()) == (10, 4)

    def at(rate, epochs=None):
        chosen = np.isclose(cells["learning_rate"], rate, rtol=1e-9, atol=0)
        if epochs is not None:
            chosen &= cells["epochs"] == epochs
        return cells[chosen].sort_values("epsilon", ascending=False)

    def found(rows):
        return rows["measured_first_failing_depth"].astype(int).tolist()

    # the budget: 4, 4 at 150 epochs, 8, 9 at 300; the first revision also within one layer
    assert (found(at(6e-4, 150)), found(at(6e-4, 300))) == ([4, 4], [8, 9])
    assert (before[~wall].abs() <= 1).all() and (miss[~wall].abs() <= 1).all()
    # the wall at 3e-2: the same at 100 and 300 epochs, collapse rates too; 6, 9, 12 by epsilon
    # (under one layer a decade, the fit says 1.21): +1, 0, -2; at 5e-3, 9 and 13 against 10, 15
    short, long = at(3e-2, 100), at(3e-2, 300)
    assert found(short) == found(long) == [6, 9, 12]
    assert short["collapse_rate_at_first_failing"].tolist() == (
        long["collapse_rate_at_first_failing"].tolist()
    )
    layers_per_decade = (found(short)[-1] - found(short)[0]) / (13 - 6)
    assert layers_per_decade < 1
    assert round(sigmoid_regimes.Regimes.committed(REPO).layers_per_decade, 2) == 1.21
    assert (found(short) - short["first_failing_depth"]).tolist() == [1, 0, -2]
    between = at(5e-3)
    assert (found(between), between["first_failing_depth"].tolist()) == ([9, 13], [10, 15])


def test_the_docs_reading_of_the_wall_s_slope_by_learning_rate_is_what_the_grids_show():
    """The reading the third revision registers: layers per decade of epsilon about 1.2 at
    1e-3 (the first grid's longest budget), about one at 1e-2, under one at 3e-2."""
    grids = [
        read_csv(REPO / table, sigmoid_gate.GRID_COLUMNS, text=TEXT)
        for table in (sigmoid_gate.GRID, sigmoid_wall.RESULTS, sigmoid_regimes.RESULTS)
    ]

    def slope(grid, rate, epochs):
        at = grid[np.isclose(grid["learning_rate"], rate, rtol=1e-9, atol=0)]
        at = at[(at["epochs"] == epochs) & (at["epsilon"] < 1e-3)]  # 1e-3: another regime
        depth = at["measured_first_failing_depth"].astype(int)
        return np.polyfit(-np.log10(at["epsilon"]), depth, 1)[0]

    assert round(slope(grids[0], 1e-3, 800), 1) == 1.2
    assert round(slope(grids[1], 1e-2, 100), 1) == 1.0
    assert slope(grids[2], 3e-2, 100) < 1


def test_the_docs_reading_of_the_fourth_grid_is_what_the_committed_table_shows():
    """docs/sigmoid.md's reading of the fourth grid, checked against its committed table."""
    cells, depth, miss = registered_and_measured(sigmoid_slopes, 10)
    wall = cells["limited_by"] == "wall"
    # the wall: exact in all 8, from 6e-2 to 2e-3, down to epsilon 1e-15
    assert wall.sum() == 8 and (miss[wall] == 0).all()
    assert set(cells.loc[wall, "learning_rate"]) == {6e-2, 2e-2, 2e-3}
    assert cells.loc[wall, "epsilon"].min() == 1e-15
    assert cells["learning_rate"].max() > max(
        read_csv(REPO / table)["learning_rate"].max() for table in sigmoid_slopes.Slopes.GRIDS
    )
    # the second revision, asked the same 8 wall cells: exact in 4, off by up to two
    earlier = sigmoid_regimes.Regimes.committed(REPO)
    given = [
        sigmoid_wall.predictions(earlier, [cell])[0][-1]
        for cell in zip(*(cells.loc[wall, key] for key in sigmoid_gate.CELL_KEYS), strict=True)
    ]
    before = depth[wall].to_numpy() - np.array(given)
    assert ((before == 0).sum(), np.abs(before).max()) == (4, 2)
    # the regime: collapsed in every wall cell, one just over half; started in both budget cells
    rate = cells["collapse_rate_at_first_failing"]
    assert (rate[wall] > 0.5).all() and (rate[~wall] < 0.5).all() and (~wall).sum() == 2
    narrowest = cells[wall].loc[rate[wall].idxmin()]
    assert (narrowest["learning_rate"], narrowest["epsilon"], narrowest["epochs"]) == (
        2e-3,
        1e-8,
        800,
    )
    assert 0.5 < narrowest["collapse_rate_at_first_failing"] < 0.51
    # the budget: 11 for both epsilons at 2e-3 and 100 epochs, two deeper than the line's 9
    assert (
        depth[~wall].tolist() == [11, 11] and (cells.loc[~wall, "first_failing_depth"] == 9).all()
    )
    assert (cells.loc[~wall, "epochs"] == 100).all()
    # the first grid's budget cells at 1e-3 and 200 epochs (the same lr x epochs): 9 to 11
    first = read_csv(REPO / sigmoid_gate.GRID, sigmoid_gate.GRID_COLUMNS, text=TEXT)
    same = np.isclose(first["learning_rate"], 1e-3) & (first["epochs"] == 200)
    started = same & (first["collapse_rate_at_first_failing"] <= 0.5)
    found = first.loc[started, "measured_first_failing_depth"].astype(int)
    assert (found.min(), found.max()) == (9, 11)


def test_the_docs_reading_of_the_fifth_grid_is_what_the_committed_tables_show():
    """docs/sigmoid.md's reading of the fifth grid, checked against its committed table and the
    earlier grids'."""
    cells, depth, miss = registered_and_measured(sigmoid_budget, 7)
    found = {
        (row.learning_rate, row.epochs, row.epsilon): (measured, row.first_failing_depth)
        for row, measured in zip(cells.itertuples(), depth, strict=True)
    }  # (measured, registered by the power law)
    # the power law: one exact, two within one, too deep at the fast rates, too shallow at the
    # slow ones
    assert ((miss == 0).sum(), (miss.abs() <= 1).sum()) == (1, 2)
    assert found[(1e-2, 10, 1e-15)] == (5, 7) and found[(2e-2, 5, 1e-15)] == (5, 8)
    assert found[(2e-4, 1000, 1e-15)] == (9, 7) and found[(1e-4, 1600, 1e-15)] == (7, 5)
    # the line (the third revision), asked the same cells: exact in the two slow ones, within
    # one in five, short everywhere else by up to three layers, at 5e-3 x 40 epochs
    line = sigmoid_slopes.Slopes.committed(REPO)
    rows = sigmoid_wall.predictions(line, sigmoid_budget.CELLS)  # (epsilon, epochs, lr, ...)
    given = {(row[2], row[1], row[0]): row[-1] for row in rows}
    short = {cell: found[cell][0] - given[cell] for cell in found}
    exact = {cell for cell, by in short.items() if by == 0}
    assert exact == {(1e-4, 1600, 1e-15), (2e-4, 1000, 1e-15)}
    assert sum(abs(by) <= 1 for by in short.values()) == 5
    assert min(short.values()) == 0 and max(short, key=short.get) == (5e-3, 40, 1e-15)
    assert max(short.values()) == 3
    # the regime: every net started, at most 0.23 collapsed; epsilon does not move the budget
    assert round(cells["collapse_rate_at_first_failing"].max(), 2) == 0.23
    assert found[(1e-2, 10, 1e-11)][0] == found[(1e-2, 10, 1e-15)][0] == 5
    # after the fact, beside the earlier grids' budget cells
    earlier = sigmoid_regimes.fitted_cells(
        [read_csv(REPO / table, text=TEXT) for table in sigmoid_budget.PowerBudget.GRIDS]
    )
    earlier = earlier[~earlier["at_wall"]]
    at = lambda rate, epochs: set(  # noqa: E731
        earlier.loc[np.isclose(earlier["learning_rate"], rate) & (earlier["epochs"] == epochs),
                    "depth"]
    )  # fmt: skip
    assert at(1e-3, 100) == {4, 5} and found[(2e-2, 5, 1e-15)][0] == 5  # lr x epochs 0.1
    assert found[(2e-4, 1000, 1e-15)][0] == 9 and found[(5e-3, 40, 1e-15)][0] == 12  # 0.2
    assert (min(at(1e-3, 200)), max(at(1e-3, 200))) == (9, 11) and at(2e-3, 100) == {11}
    assert (earlier["learning_rate"].min(), earlier["learning_rate"].max()) == (3e-4, 3e-3)
    assert earlier["epochs"].min() == 100
    # with all five grids left out in turn the forms are level: each exact in about two of
    # five budget cells, within one layer in about four of five
    tables = (*sigmoid_budget.PowerBudget.GRIDS, sigmoid_budget.RESULTS)
    scores = sigmoid_budget.left_out_scores({t: read_csv(REPO / t, text=TEXT) for t in tables})
    (line_exact, line_near, cells), (power_exact, power_near, _) = scores.values()
    assert cells == 32 and abs(line_exact - power_exact) <= 1 and abs(line_near - power_near) <= 1
    for exact, near in ((line_exact, line_near), (power_exact, power_near)):
        assert round(5 * exact / cells) == 2 and round(5 * near / cells) == 4
