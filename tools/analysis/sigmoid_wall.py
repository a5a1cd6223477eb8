"""Sigmoid's critical depth, revised after the first grid refuted the gate, and registered
before a second grid at learning rates the first never ran.

The first grid (``sigmoid_gate``, docs/sigmoid.md) showed two regular limits in place of the
gate's:

* *The wall.* At a long budget the first failing depth depends on epsilon alone, the same at
  learning rates 1e-3 and 3e-3, and moves about one layer per decade of epsilon.
* *The budget.* Below the wall the first failing depth grows with the distance Adam can move a
  weight, about the learning rate a step: in proportion to learning rate x epochs (every cell
  has the same 160 steps an epoch).

The revised model: the first failing depth is ``min(wall(epsilon), budget(lr x epochs))``,
rounded half up, with both lines fitted by least squares to the first grid's committed table
(``Wall.fit``): the wall, ``a + b log10(1 / epsilon)``, to the longest budget's cells; the
budget, ``c lr epochs`` (through the origin: no budget, no learning), to the cells whose
transition lies more than ``BELOW_THE_WALL`` layers above the fitted wall. Epsilon 1e-3 is left
out of both fits and of the new grid: there Adam is gradient descent with step lr / epsilon
(docs/sigmoid.md), another regime.

Its test, ``CELLS``: learning rates 3e-4 (where the budget should limit, the slowest cascade
yet) and 1e-2 (where the wall alone should, at the depths it has at 1e-3 and 3e-3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sigmoid_gate import GRID, GRID_COLUMNS

BELOW_THE_WALL = 1.5  # layers: a transition this far above the wall is the budget's
OUTSIDE = 1e-3  # epsilon where Adam is gradient descent: outside the model
CELLS = tuple(
    [(epsilon, epochs, 3e-4) for epsilon in (1e-7, 1e-11) for epochs in (100, 200, 400, 800)]
    + [(epsilon, epochs, 1e-2) for epsilon in (1e-5, 1e-7, 1e-11) for epochs in (100, 400)]
)
PREDICTIONS = "docs/registered/sigmoid_wall.csv"
PREDICTION_COLUMNS = (
    "epsilon",
    "epochs",
    "learning_rate",
    "wall_depth",
    "budget_depth",
    "limited_by",
    "first_failing_depth",
)
RESULTS = "plots/sigmoid_wall/sigmoid_wall.csv"  # the second grid, as compare writes it


@dataclass(frozen=True)
class Wall:
    """wall(epsilon) = intercept + layers_per_decade log10(1 / epsilon);
    budget(lr, epochs) = layers_per_lr_epoch lr epochs."""

    intercept: float
    layers_per_decade: float
    layers_per_lr_epoch: float
    wall_cells: int
    budget_cells: int

    @classmethod
    def fit(cls, grid) -> Wall:
        """Both lines from a first-grid table (``GRID_COLUMNS``): only cells whose transition
        lies within the depths run, epsilon 1e-3 left out."""
        known = grid[grid["measured_first_failing_depth"].astype(str).str.isdigit()]
        known = known[~np.isclose(known["epsilon"], OUTSIDE, rtol=1e-9, atol=0)]
        depth = known["measured_first_failing_depth"].astype(int).to_numpy(float)
        decades = -np.log10(known["epsilon"].to_numpy(float))
        longest = (known["epochs"] == known["epochs"].max()).to_numpy()
        slope, intercept = np.polyfit(decades[longest], depth[longest], 1)
        below = depth < intercept + slope * decades - BELOW_THE_WALL
        distance = (known["learning_rate"] * known["epochs"]).to_numpy(float)[below]
        per_lr_epoch = float(distance @ depth[below] / (distance @ distance))
        cells = int(longest.sum()), int(below.sum())
        return cls(float(intercept), float(slope), per_lr_epoch, *cells)

    @classmethod
    def committed(cls, root: Path) -> Wall:
        """The model fitted to the first grid's committed table (``GRID``)."""
        from or_gate.files.tables import read_csv

        text = ("depths_run", "measured_first_failing_depth")
        return cls.fit(read_csv(root / GRID, GRID_COLUMNS, text=text))

    def wall(self, epsilon: float) -> float:
        return self.intercept + self.layers_per_decade * -math.log10(epsilon)

    def budget(self, learning_rate: float, epochs: int) -> float:
        return self.layers_per_lr_epoch * learning_rate * epochs


def predictions(model: Wall, cells=CELLS) -> list[tuple]:
    """Rows of PREDICTION_COLUMNS for every cell (epsilon, epochs, learning rate)."""
    rows = []
    for epsilon, epochs, learning_rate in cells:
        wall, budget = model.wall(epsilon), model.budget(learning_rate, epochs)
        # half up, after float noise (50 x 3e-4 x 100 is 1.4999999999999998)
        first_failing = max(1, math.floor(round(min(wall, budget), 9) + 0.5))
        limit = "wall" if wall <= budget else "budget"
        rows.append((epsilon, epochs, learning_rate, round(wall, 2), round(budget, 2), limit,
                     first_failing))  # fmt: skip
    return rows


def summary(root: Path) -> str:
    """The revised model as fitted, and its registered predictions, for docs/sigmoid.md."""
    from or_gate.files.tables import read_csv

    model = Wall.committed(root)
    predicted = read_csv(root / PREDICTIONS, PREDICTION_COLUMNS, text=("limited_by",))
    lines = [
        f"Fitted to the first grid (`{GRID}`): the wall is {model.intercept:.2f} + "
        f"{model.layers_per_decade:.2f} log10(1/epsilon) layers ({model.wall_cells} cells of "
        f"its longest budget), {model.wall(1e-7):.2f} at Keras' epsilon; the budget is "
        f"{model.layers_per_lr_epoch:.1f} x learning rate x epochs layers "
        f"({model.budget_cells} cells more than {BELOW_THE_WALL} layers above the wall), one "
        f"layer per {1 / (model.layers_per_lr_epoch * 1e-3):.0f} epochs at learning rate 1e-3.",
        "",
        f"Registered (`{PREDICTIONS}`):",
        "",
        "| learning rate | epsilon | epochs | wall | budget | limited by | first failing depth |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in predicted.itertuples(index=False):
        lines.append(
            f"| {row.learning_rate:g} | {row.epsilon:g} | {row.epochs} | {row.wall_depth:.2f} | "
            f"{row.budget_depth:.2f} | {row.limited_by} | {row.first_failing_depth} |"
        )
    return "\n".join(lines)
