"""Sigmoid's critical depth, revised a fourth time after the fourth grid: the budget, the one
line no revision had touched, and registered before a fifth grid of budgets no grid ran.

The fourth grid (docs/sigmoid.md) found the third revision's wall exact in every cell
registered for it and its budget two layers short in both of its cells (11 where the line said
9, learning rate 2e-3 x 100 epochs). Read beside the earlier grids, the same learning rate x
epochs takes nets deeper at a faster learning rate: the first grid's 1e-3 x 200 epochs, the
same product, stopped at 9 to 11. A budget that is one line in lr x epochs cannot say that.

So this model keeps the third revision's wall (``Slopes``, now fitted to all four grids) and
makes the budget a power law in each, ``scale lr^a epochs^b``, fitted by least squares to log
depth over the cells that failed the budget's way (``sigmoid_regimes.fitted_cells``). The form
was chosen over the line before any new net was trained, by leaving each committed grid out in
turn and asking both forms, fitted to the other grids, for its budget cells
(``left_out_scores``): the line, which had missed two of two, would have been chosen had it
done as well.

Its test, ``CELLS``: where the two forms part most, at epsilon 1e-15, far below the wall.
Fast learning rates at short budgets (3e-3 to 2e-2, 5 to 50 epochs: the power law goes two to
four layers deeper than the line) and slow ones at long budgets (2e-4 x 1,000 and 1e-4 x 1,600
epochs: two layers shallower); and one budget again at epsilon 1e-11, which the power law says
does not matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from .sigmoid_gate import read_grid
from .sigmoid_regimes import Regimes, beside_earlier, fitted_cells, signed
from .sigmoid_slopes import RESULTS as FOURTH_GRID
from .sigmoid_slopes import Slopes
from .sigmoid_wall import (
    predictions,
    registered_table,
    scored_summary,
    whole_depth,
)

# (learning rate, epochs) where the power law goes deeper than the line, and shallower
FAST_SHORT = ((2e-2, 5), (1e-2, 10), (5e-3, 40), (3e-3, 50))
SLOW_LONG = ((2e-4, 1000), (1e-4, 1600))
CELLS = tuple(
    [(1e-15, epochs, rate) for rate, epochs in FAST_SHORT + SLOW_LONG]
    + [(1e-11, 10, 1e-2)]  # the same budget at another epsilon
)
PREDICTIONS = "docs/registered/sigmoid_budget.csv"  # columns: sigmoid_wall.PREDICTION_COLUMNS
RESULTS = "plots/sigmoid_budget/sigmoid_budget.csv"  # the fifth grid, as compare writes it
RESULTS_FIGURE = "plots/sigmoid_budget/sigmoid_budget.png"


@dataclass(frozen=True)
class PowerBudget:
    """wall(epsilon, lr) as ``Slopes``'; budget(lr, epochs) = budget_scale lr^lr_power
    epochs^epochs_power."""

    walls: Slopes
    budget_scale: float
    lr_power: float
    epochs_power: float
    budget_cells: int

    GRIDS: ClassVar[tuple[str, ...]] = (*Slopes.GRIDS, FOURTH_GRID)

    @classmethod
    def fit(cls, grids) -> PowerBudget:
        """The wall as ``Slopes.fit``; the budget by least squares on log depth (a layer
        counts for more in a shallow cell) over the cells that failed the budget's way."""
        cells = fitted_cells(grids)
        budget = cells[~cells["at_wall"]]
        rate, epochs = (budget[key].to_numpy(float) for key in ("learning_rate", "epochs"))
        design = np.column_stack([np.ones(len(budget)), np.log(rate), np.log(epochs)])
        target = np.log(budget["depth"].to_numpy(float))
        (log_scale, lr_power, epochs_power), *_ = np.linalg.lstsq(design, target, rcond=None)
        return cls(
            walls=Slopes.fit(grids),
            budget_scale=float(math.exp(log_scale)),
            lr_power=float(lr_power),
            epochs_power=float(epochs_power),
            budget_cells=len(budget),
        )

    @classmethod
    def committed(cls, root: Path) -> PowerBudget:
        """The model fitted to the committed grids it names (``GRIDS``)."""
        return cls.fit([read_grid(root / path) for path in cls.GRIDS])

    def wall(self, epsilon: float, learning_rate: float) -> float:
        return self.walls.wall(epsilon, learning_rate)

    def budget(self, learning_rate: float, epochs: int) -> float:
        return self.budget_scale * learning_rate**self.lr_power * epochs**self.epochs_power


# the budget's forms compared: name -> a model of two limits whose ``budget`` has that form
BUDGET_FORMS = {"the line in lr x epochs": Regimes, "the power law": PowerBudget}


def left_out_scores(grids: dict[str, object]) -> dict[str, tuple[int, int, int]]:
    """Each budget form (``BUDGET_FORMS``) fitted to all but one of ``grids`` (name -> table)
    and asked for that grid's budget cells, every grid in turn: form -> (exact, within one
    layer, cells)."""
    scores = {}
    for form, kind in BUDGET_FORMS.items():
        misses = []
        for left_out, table in grids.items():
            model = kind.fit([other for name, other in grids.items() if name != left_out])
            asked = fitted_cells([table])
            for row in asked[~asked["at_wall"]].itertuples():
                misses.append(row.depth - whole_depth(model.budget(row.learning_rate, row.epochs)))
        scores[form] = (
            sum(miss == 0 for miss in misses),
            sum(abs(miss) <= 1 for miss in misses),
            len(misses),
        )
    return scores


def summary(root: Path) -> str:
    """The model as fitted, why its budget is a power law, and its registered predictions, for
    docs/sigmoid.md."""
    model = PowerBudget.committed(root)
    walls = model.walls
    scores = left_out_scores({path: read_grid(root / path) for path in PowerBudget.GRIDS})
    line, power = (scores[form] for form in BUDGET_FORMS)
    lines = [
        f"Fitted to the four grids (`{'`, `'.join(PowerBudget.GRIDS)}`): the budget is "
        f"{model.budget_scale:.0f} x learning rate^{model.lr_power:.2f} x "
        f"epochs^{model.epochs_power:.2f} layers ({model.budget_cells} cells where at most "
        f"half the nets at the first failing depth collapsed), "
        f"{model.budget(2e-3, 100):.1f} at 2e-3 x 100 epochs and {model.budget(1e-3, 200):.1f} "
        f"at 1e-3 x 200; the wall, the third revision's form refitted, is {walls.intercept:.2f}"
        f" + ({walls.layers_per_decade:.2f} {signed(walls.slope_per_lr_decade)} "
        f"log10(learning rate)) log10(1/epsilon) {signed(walls.layers_per_lr_decade)} "
        f"log10(learning rate) layers ({walls.wall_cells} cells).",
        "",
        f"Leaving each grid out in turn, fitted to the other three and asked for the left-out "
        f"grid's {power[2]} budget cells, the power law gives {power[0]} exactly and {power[1]} "
        f"within one layer; the line in learning rate x epochs {line[0]} and {line[1]}.",
        "",
        *registered_table(root, PREDICTIONS),
        "",
        "The third revision, its budget the line, gives for the same cells in the same order "
        + ", ".join(str(row[-1]) for row in predictions(Slopes.committed(root), CELLS))
        + ".",
    ]
    return "\n".join(lines)


def results_summary(root: Path) -> str:
    """The fifth grid against the registered predictions, beside it what the third revision
    (``Slopes``, fixed by the first three grids before the fourth ran) gives, and both budget
    forms asked again with the fifth grid among those left out in turn."""
    lines = scored_summary(root, RESULTS, PREDICTIONS, len(CELLS))
    lines += beside_earlier(
        root, RESULTS, CELLS, Slopes.committed(root),
        "The third revision, its budget the line, fitted to the first three grids,",
    )  # fmt: skip
    grids = {path: read_grid(root / path) for path in (*PowerBudget.GRIDS, RESULTS)}
    line, power = (left_out_scores(grids)[form] for form in BUDGET_FORMS)
    lines.append(
        f"Asked again with the fifth grid among the {len(grids)} left out in turn, each form "
        f"fitted to the other {len(grids) - 1} and asked for the left-out grid's budget cells "
        f"({line[2]} in all): the line gives {line[0]} exactly and {line[1]} within one layer, "
        f"the power law {power[0]} and {power[1]}."
    )
    return "\n".join(lines)


def draw_results(root: Path, table_path: Path, path: Path) -> None:
    """One column per cell of the fifth grid, in the registration's order: the first failing
    depth measured (filled; a triangle where it lies beyond the depths run), the power law's
    registered depth (open circle, from the registered file) and the third revision's line's
    (cross)."""
    from or_gate.figures import new_figure, save_figure
    from or_gate.files.tables import read_csv

    from .sigmoid_gate import CELL_KEYS
    from .sigmoid_wall import PREDICTION_COLUMNS, _depths

    registered = read_csv(root / PREDICTIONS, PREDICTION_COLUMNS, text=("limited_by",))
    cells = registered.merge(read_grid(table_path), on=CELL_KEYS, how="left")  # its order
    asked = list(zip(*(cells[key] for key in CELL_KEYS), strict=True))
    line = predictions(Slopes.committed(root), asked)
    figure, axis = new_figure(1, 1, (8, 4.5))
    figure.set_layout_engine("constrained")
    for column, (cell, said) in enumerate(zip(cells.itertuples(), line, strict=True)):
        axis.plot(column, cell.first_failing_depth, "o", color="#0072B2", mfc="none", ms=10,
                  label="registered: the power law" if column == 0 else None)  # fmt: skip
        axis.plot(column, said[-1], "x", color="grey", ms=8,
                  label="the third revision's line" if column == 0 else None)  # fmt: skip
        ran = cells.iloc[[column]].dropna(subset=["measured_first_failing_depth"])
        for depth, marker in _depths(ran):
            axis.plot(column, depth, marker, color="#D55E00", ms=7,
                      label="measured" if column == 0 else None)  # fmt: skip
    labels = [
        f"lr {rate:g}\n{epochs} epochs\neps {epsilon:g}\nlr x epochs {rate * epochs:.2g}"
        for epsilon, epochs, rate in asked
    ]
    axis.set_xticks(range(len(asked)), labels, fontsize=8)
    axis.set_xlim(-0.5, len(asked) - 0.5)
    axis.set_ylabel("first failing depth")
    axis.set_title("The fifth grid: the budget as a power law, registered, against measured",
                   fontsize=10)  # fmt: skip
    axis.grid(alpha=0.3, axis="y")
    axis.legend(fontsize=8, loc="upper right")
    save_figure(figure, path)
