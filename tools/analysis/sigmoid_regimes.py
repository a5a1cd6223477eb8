"""Sigmoid's critical depth, revised a second time after the second grid, and registered before
a third grid at learning rates neither grid ran.

The second grid (docs/sigmoid.md) kept the revised model's two limits in shape and missed them
by a layer, always shallower. Its misses named what the model left out: the wall is not one
depth per epsilon whatever the learning rate (at 1e-2 it lies a layer or two shallower than at
1e-3 and 3e-3), and the budget's line through the origin was fitted to one grid's cells. Both
grids also recorded *how* each cell failed, which says which limit acted without looking at
the depth: at a wall most nets at the first failing depth collapse (a constant output: they
never started); at a budget they started and ran out of epochs.

So this model keeps the two limits and fits each to the cells where its own way of failing
was seen, in both committed grids (epsilon 1e-3, another regime, left out as before):

* the wall, ``a + b log10(1 / epsilon) + c log10(lr)``, to the cells where more than
  ``COLLAPSED`` of the nets at the first failing depth collapsed;
* the budget, ``k lr epochs + d`` (its own intercept: whatever delay there is before the
  first layer moves), to every other cell.

The first failing depth is the smaller of the two, rounded half up, as before
(``sigmoid_wall.predictions``). Its test, ``CELLS``: learning rate 3e-2 (the wall's: does it
keep falling beyond 1e-2?), 5e-3 (between the grids' rates) and 6e-4 (the budget's), at
epsilons no grid ran at those rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from .sigmoid_gate import GRID, in_table_order, read_grid
from .sigmoid_wall import (
    OUTSIDE,
    Wall,
    draw_registered,
    predictions,
    registered_table,
    scored_summary,
)
from .sigmoid_wall import RESULTS as SECOND_GRID

COLLAPSED = 0.5  # share of collapsed nets at the first failing depth above which the wall acted
WALL_RATE, BETWEEN_RATE, BUDGET_RATE = 3e-2, 5e-3, 6e-4  # the third grid's learning rates
CELLS = tuple(
    [(epsilon, epochs, WALL_RATE) for epsilon in (1e-6, 1e-9, 1e-13) for epochs in (100, 300)]
    + [(epsilon, 200, BETWEEN_RATE) for epsilon in (1e-9, 1e-13)]
    + [(epsilon, epochs, BUDGET_RATE) for epsilon in (1e-9, 1e-13) for epochs in (150, 300, 600)]
)
PREDICTIONS = "docs/registered/sigmoid_regimes.csv"  # columns: sigmoid_wall.PREDICTION_COLUMNS
RESULTS = "plots/sigmoid_regimes/sigmoid_regimes.csv"  # the third grid, as compare writes it
RESULTS_FIGURE = "plots/sigmoid_regimes/sigmoid_regimes.png"


@dataclass(frozen=True)
class Regimes:
    """wall(epsilon, lr) = intercept + layers_per_decade log10(1 / epsilon)
    + layers_per_lr_decade log10(lr); budget(lr, epochs) = layers_per_lr_epoch lr epochs
    + budget_offset."""

    intercept: float
    layers_per_decade: float
    layers_per_lr_decade: float
    layers_per_lr_epoch: float
    budget_offset: float
    wall_cells: int
    budget_cells: int

    # the wall's terms: coefficient's field -> the term at (decades of 1 / epsilon, log10 lr)
    WALL_TERMS: ClassVar[dict] = {
        "intercept": lambda decades, log_rate: decades * 0 + 1,
        "layers_per_decade": lambda decades, log_rate: decades,
        "layers_per_lr_decade": lambda decades, log_rate: log_rate,
    }
    GRIDS: ClassVar[tuple[str, ...]] = (GRID, SECOND_GRID)  # what ``committed`` fits

    @classmethod
    def fit(cls, grids) -> Regimes:
        """Both lines from grid tables (``GRID_COLUMNS``): only cells whose transition lies
        within the depths run, epsilon 1e-3 left out; each line fitted to its own regime's
        cells."""
        known = fitted_cells(grids)
        depth, rate = known["depth"].to_numpy(float), known["learning_rate"].to_numpy(float)
        collapsed = known["at_wall"].to_numpy()
        decades = -np.log10(known["epsilon"].to_numpy(float))
        design = np.column_stack(
            [term(decades, np.log10(rate)) for term in cls.WALL_TERMS.values()]
        )
        wall, *_ = np.linalg.lstsq(design[collapsed], depth[collapsed], rcond=None)
        distance = rate * known["epochs"].to_numpy(float)
        slope, offset = np.polyfit(distance[~collapsed], depth[~collapsed], 1)
        return cls(
            **{name: float(value) for name, value in zip(cls.WALL_TERMS, wall, strict=True)},
            layers_per_lr_epoch=float(slope),
            budget_offset=float(offset),
            wall_cells=int(collapsed.sum()),
            budget_cells=int((~collapsed).sum()),
        )

    @classmethod
    def committed(cls, root: Path) -> Regimes:
        """The model fitted to the committed grids it names (``GRIDS``)."""
        return cls.fit([read_grid(root / path) for path in cls.GRIDS])

    def wall(self, epsilon: float, learning_rate: float) -> float:
        decades, log_rate = -math.log10(epsilon), math.log10(learning_rate)
        return sum(
            getattr(self, name) * term(decades, log_rate) for name, term in self.WALL_TERMS.items()
        )

    def budget(self, learning_rate: float, epochs: int) -> float:
        return self.layers_per_lr_epoch * learning_rate * epochs + self.budget_offset


def fitted_cells(grids):
    """The cells of grid tables (``GRID_COLUMNS``) a model of two limits is fitted to: those
    whose transition lies within the depths run, epsilon 1e-3 left out; with their ``depth``
    and whether the wall stopped them (``at_wall``: more than ``COLLAPSED`` of the nets at the
    first failing depth collapsed)."""
    import pandas as pd

    known = pd.concat(grids, ignore_index=True)
    known = known[known["measured_first_failing_depth"].astype(str).str.isdigit()]
    known = known[~np.isclose(known["epsilon"], OUTSIDE, rtol=1e-9, atol=0)]
    return known.assign(
        depth=known["measured_first_failing_depth"].astype(int),
        at_wall=known["collapse_rate_at_first_failing"] > COLLAPSED,
    )


def summary(root: Path) -> str:
    """The model as fitted, and its registered predictions, for docs/sigmoid.md."""
    model = Regimes.committed(root)
    lines = [
        f"Fitted to both grids (`{GRID}`, `{SECOND_GRID}`): the wall is "
        f"{model.intercept:.2f} + {model.layers_per_decade:.2f} log10(1/epsilon) "
        f"{signed(model.layers_per_lr_decade)} log10(learning rate) layers ({model.wall_cells} "
        f"cells where more than {COLLAPSED:g} of the nets at the first failing depth "
        f"collapsed), {model.wall(1e-7, 1e-3):.2f} at Keras' epsilon and learning rate 1e-3; "
        f"the budget is {model.layers_per_lr_epoch:.1f} x learning rate x epochs "
        f"{signed(model.budget_offset)} layers (the other {model.budget_cells} cells).",
        "",
        *registered_table(root, PREDICTIONS),
    ]
    return "\n".join(lines)


def results_summary(root: Path) -> str:
    """The third grid against the registered predictions, and beside it what the first
    revision (``Wall``, fixed by the first grid before this one ran) gives for the same cells."""
    lines = scored_summary(root, RESULTS, PREDICTIONS, len(CELLS))
    earlier = Wall.committed(root)
    lines += beside_earlier(
        root, RESULTS, CELLS, earlier, "The first revision, fitted to the first grid alone,"
    )
    return "\n".join(lines)


def beside_earlier(root: Path, results: str, cells, earlier, who: str) -> list[str]:
    """What an earlier model of two limits (``earlier``, fixed before the grid ``results`` ran)
    gives for the same ``cells``: its score, and its misses in the table's order."""
    grid = in_table_order(read_grid(root / results))
    given = {row[:3]: row[-1] for row in predictions(earlier, cells)}
    misses = [
        int(row.measured_first_failing_depth) - given[(row.epsilon, row.epochs, row.learning_rate)]
        for row in grid.itertuples()
        if row.measured_first_failing_depth.isdigit()  # else a bound: not scored
    ]
    if not misses:
        return []
    return [
        f"{who} gives for the same {len(misses)} cells {sum(m == 0 for m in misses)} exactly "
        f"and {sum(abs(m) <= 1 for m in misses)} within one layer (misses "
        f"{', '.join(f'{m:+d}' for m in misses)}, in the table's order)."
    ]


def draw_results(root: Path, table_path: Path, path: Path) -> None:
    """One panel per learning rate: at 3e-2 and 5e-3 (the wall's) the first failing depth
    against epsilon, one colour per budget; at 6e-4 (the budget's) against epochs, one colour
    per epsilon; registered (dashed, open) beside measured (solid, filled)."""
    panels = (
        (WALL_RATE, "epochs", "epsilon"),
        (BETWEEN_RATE, "epochs", "epsilon"),
        (BUDGET_RATE, "epsilon", "epochs"),
    )
    draw_registered(table_path, path, root / PREDICTIONS, panels)


def signed(value: float) -> str:
    """A term of a sum: '+ 0.93' or '- 0.93'."""
    return f"{'-' if value < 0 else '+'} {abs(value):.2f}"
