"""Sigmoid's critical depth, revised a third time after the third grid, and registered before
a fourth grid at learning rates no grid ran.

The third grid (docs/sigmoid.md) kept the second revision's two limits and the way each fails
(every cell failed the way its limit said), but its wall was a layer or two off at the fastest
learning rates: there the wall gains fewer layers per decade of epsilon (about 1.2 at learning
rate 1e-3, about one at 1e-2, under one at 3e-2). A wall that only shifts with the learning
rate cannot say that. So this model lets the wall's slope in epsilon move with the learning
rate, and fits everything else as the second revision does (``Regimes``: each limit to the
cells that failed its way; epsilon 1e-3 left out), now to all three committed grids:

* the wall, ``a + (b + c log10(lr)) log10(1 / epsilon) + d log10(lr)``;
* the budget, ``k lr epochs + e``, as before.

Its test, ``CELLS``: learning rates 6e-2 (beyond every grid), 2e-2 and 2e-3 (between the
grids' rates), at epsilons no grid ran; at 2e-3 both a long budget (the wall's) and a short one
(the budget's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from .sigmoid_gate import GRID
from .sigmoid_regimes import COLLAPSED, Regimes, beside_earlier, signed
from .sigmoid_regimes import RESULTS as THIRD_GRID
from .sigmoid_wall import RESULTS as SECOND_GRID
from .sigmoid_wall import draw_registered, registered_table, scored_summary

FASTEST, FAST, SLOW = 6e-2, 2e-2, 2e-3  # the fourth grid's learning rates
CELLS = tuple(
    [(epsilon, 100, FASTEST) for epsilon in (1e-7, 1e-11)]
    + [(epsilon, 150, FAST) for epsilon in (1e-8, 1e-12, 1e-15)]
    + [(epsilon, 800, SLOW) for epsilon in (1e-8, 1e-12, 1e-14)]
    + [(epsilon, 100, SLOW) for epsilon in (1e-12, 1e-14)]
)
PREDICTIONS = "docs/registered/sigmoid_slopes.csv"  # columns: sigmoid_wall.PREDICTION_COLUMNS
RESULTS = "plots/sigmoid_slopes/sigmoid_slopes.csv"  # the fourth grid, as compare writes it
RESULTS_FIGURE = "plots/sigmoid_slopes/sigmoid_slopes.png"


@dataclass(frozen=True)
class Slopes(Regimes):
    """``Regimes`` whose wall's slope in epsilon moves with the learning rate:
    wall(epsilon, lr) = intercept + (layers_per_decade + slope_per_lr_decade log10(lr))
    log10(1 / epsilon) + layers_per_lr_decade log10(lr)."""

    slope_per_lr_decade: float = 0.0

    WALL_TERMS: ClassVar[dict] = {
        **Regimes.WALL_TERMS,
        "slope_per_lr_decade": lambda decades, log_rate: decades * log_rate,
    }
    GRIDS: ClassVar[tuple[str, ...]] = (GRID, SECOND_GRID, THIRD_GRID)


def summary(root: Path) -> str:
    """The model as fitted, and its registered predictions, for docs/sigmoid.md."""
    model = Slopes.committed(root)
    slope_at = {
        rate: model.layers_per_decade + model.slope_per_lr_decade * math.log10(rate)
        for rate in (1e-3, 3e-2)
    }
    lines = [
        f"Fitted to the three grids (`{'`, `'.join(Slopes.GRIDS)}`): the wall is "
        f"{model.intercept:.2f} + ({model.layers_per_decade:.2f} "
        f"{signed(model.slope_per_lr_decade)} log10(learning rate)) log10(1/epsilon) "
        f"{signed(model.layers_per_lr_decade)} log10(learning rate) layers ("
        f"{model.wall_cells} cells where more than {COLLAPSED:g} of the nets at the first "
        f"failing depth collapsed): "
        + ", ".join(
            f"{slope:.2f} layers per decade of epsilon at {rate:g}"
            for rate, slope in slope_at.items()
        )
        + f", {model.wall(1e-7, 1e-3):.2f} at Keras' epsilon and learning rate 1e-3; the "
        f"budget is {model.layers_per_lr_epoch:.1f} x learning rate x epochs "
        f"{signed(model.budget_offset)} layers (the other {model.budget_cells} cells).",
        "",
        *registered_table(root, PREDICTIONS),
    ]
    return "\n".join(lines)


def results_summary(root: Path) -> str:
    """The fourth grid against the registered predictions, and beside it what the second
    revision (``Regimes``, fixed by the first two grids before this one ran) gives."""
    lines = scored_summary(root, RESULTS, PREDICTIONS, len(CELLS))
    lines += beside_earlier(
        root, RESULTS, CELLS, Regimes.committed(root),
        "The second revision, fitted to the first two grids,",
    )  # fmt: skip
    return "\n".join(lines)


def draw_results(root: Path, table_path: Path, path: Path) -> None:
    """One panel per learning rate: at 6e-2, 2e-2 and 2e-3 the first failing depth against
    epsilon, one colour per budget; registered (dashed, open) beside measured (solid,
    filled)."""
    panels = tuple((rate, "epochs", "epsilon") for rate in (FASTEST, FAST, SLOW))
    draw_registered(table_path, path, root / PREDICTIONS, panels)
