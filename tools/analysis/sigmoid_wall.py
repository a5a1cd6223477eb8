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

from .sigmoid_gate import GRID, read_grid

BELOW_THE_WALL = 1.5  # layers: a transition this far above the wall is the budget's
OUTSIDE = 1e-3  # epsilon where Adam is gradient descent: outside the model
SLOW, FAST = 3e-4, 1e-2  # the second grid's learning rates: the budget's, the wall's
CELLS = tuple(
    [(epsilon, epochs, SLOW) for epsilon in (1e-7, 1e-11) for epochs in (100, 200, 400, 800)]
    + [(epsilon, epochs, FAST) for epsilon in (1e-5, 1e-7, 1e-11) for epochs in (100, 400)]
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
RESULTS_FIGURE = "plots/sigmoid_wall/sigmoid_wall.png"


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
        return cls.fit(read_grid(root / GRID))

    def wall(self, epsilon: float, learning_rate: float | None = None) -> float:
        """The learning rate does not move it: the claim the second grid tested."""
        return self.intercept + self.layers_per_decade * -math.log10(epsilon)

    def budget(self, learning_rate: float, epochs: int) -> float:
        return self.layers_per_lr_epoch * learning_rate * epochs


def predictions(model, cells=CELLS) -> list[tuple]:
    """Rows of PREDICTION_COLUMNS for every cell (epsilon, epochs, learning rate) from a model
    of two limits (``Wall``, ``sigmoid_regimes.Regimes``): its ``wall(epsilon, learning_rate)``
    and ``budget(learning_rate, epochs)``."""
    rows = []
    for epsilon, epochs, learning_rate in cells:
        wall, budget = model.wall(epsilon, learning_rate), model.budget(learning_rate, epochs)
        first_failing = whole_depth(min(wall, budget))
        limit = "wall" if wall <= budget else "budget"
        rows.append((epsilon, epochs, learning_rate, round(wall, 2), round(budget, 2), limit,
                     first_failing))  # fmt: skip
    return rows


def whole_depth(depth: float) -> int:
    """A model's depth as a first failing depth: rounded half up, after float noise (50 x 3e-4
    x 100 is 1.4999999999999998), and at least 1."""
    return max(1, math.floor(round(depth, 9) + 0.5))


def summary(root: Path) -> str:
    """The revised model as fitted, and its registered predictions, for docs/sigmoid.md."""
    model = Wall.committed(root)
    lines = [
        f"Fitted to the first grid (`{GRID}`): the wall is {model.intercept:.2f} + "
        f"{model.layers_per_decade:.2f} log10(1/epsilon) layers ({model.wall_cells} cells of "
        f"its longest budget), {model.wall(1e-7):.2f} at Keras' epsilon; the budget is "
        f"{model.layers_per_lr_epoch:.1f} x learning rate x epochs layers "
        f"({model.budget_cells} cells more than {BELOW_THE_WALL} layers above the wall), one "
        f"layer per {1 / (model.layers_per_lr_epoch * 1e-3):.0f} epochs at learning rate 1e-3.",
        "",
        *registered_table(root, PREDICTIONS),
    ]
    return "\n".join(lines)


def registered_table(root: Path, predictions_file: str) -> list[str]:
    """A registration's predictions (``PREDICTION_COLUMNS``) as a Markdown table, headed by
    where they are."""
    from or_gate.files.tables import read_csv

    predicted = read_csv(root / predictions_file, PREDICTION_COLUMNS, text=("limited_by",))
    lines = [
        f"Registered (`{predictions_file}`):",
        "",
        "| learning rate | epsilon | epochs | wall | budget | limited by | first failing depth |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in predicted.itertuples(index=False):
        lines.append(
            f"| {row.learning_rate:g} | {row.epsilon:g} | {row.epochs} | {row.wall_depth:.2f} | "
            f"{row.budget_depth:.2f} | {row.limited_by} | {row.first_failing_depth} |"
        )
    return lines


def results_summary(root: Path) -> str:
    """The second grid against the registered predictions, and the wall's claim that the
    learning rate does not move it (learning rate 1e-2 beside the first grid's longest
    runs)."""
    lines = scored_summary(root, RESULTS, PREDICTIONS, len(CELLS))
    lines.append(_wall_sentence(read_grid(root / RESULTS), read_grid(root / GRID)))
    return "\n".join(lines)


def scored_summary(root: Path, results: str, predictions_file: str, registered: int) -> list[str]:
    """A grid (``results``) against a registration of two limits (``predictions_file``, with
    ``registered`` cells): every cell with its miss, the score, the misses by the limit the
    registration named, and how the nets at each cell's first failing depth failed."""
    from .sigmoid_gate import in_table_order, registered_cells, scored_table

    grid = read_grid(root / results)
    lines, scored = scored_table(grid)
    bounds = int((~grid["measured_first_failing_depth"].str.isdigit()).sum())
    lines.append(
        f"\n{len(grid)} of the {registered} registered cells run; of the {len(scored)} whose "
        f"transition lies within the depths run, {sum(m == 0 for m in scored)} predicted "
        f"exactly and {sum(abs(m) <= 1 for m in scored)} within one layer (`{results}`)"
        + (f"; {bounds} lie outside the depths run." if bounds else ".")
    )
    cells = registered_cells(root, grid, predictions_file)
    cells = cells[cells["measured_first_failing_depth"].str.isdigit()]
    parts = []
    for limit in ("budget", "wall"):
        at = cells[cells["limited_by"] == limit]
        at = in_table_order(at)
        if len(at):
            misses = ", ".join(f"{int(m):+d}" for m in at["miss"])
            parts.append(f"the {limit} ({len(at)} cells): {misses}")
    if parts:
        lines.append(f"The misses where the registration said {'; '.join(parts)}.")
    regimes = []
    for limit in ("wall", "budget"):
        rates = cells.loc[cells["limited_by"] == limit, "collapse_rate_at_first_failing"]
        if len(rates):
            regimes.append(f"in {int((rates > 0.5).sum())} of the {len(rates)} {limit} cells")
    if regimes:
        lines.append(
            "At the first failing depth most nets collapsed (a constant output: they never "
            f"started) {' and '.join(regimes)}."
        )
    return lines


def _wall_sentence(grid, first) -> str:
    """Learning rate 1e-2's transitions by budget, beside the first grid's (``first``) at its
    longest budget: the wall the model says the learning rate does not move."""
    longest = first[first["epochs"] == first["epochs"].max()]
    walls = []
    fast = grid[np.isclose(grid["learning_rate"], FAST, rtol=1e-9, atol=0)]
    for epsilon, at in fast.sort_values(["epsilon", "epochs"], ascending=[False, True]).groupby(
        "epsilon", sort=False
    ):
        before = longest[np.isclose(longest["epsilon"], epsilon, rtol=1e-9, atol=0)]
        before = before.sort_values("learning_rate")
        walls.append(
            f"epsilon {epsilon:g}: {', '.join(at['measured_first_failing_depth'])} at "
            f"{', '.join(map(str, at['epochs']))} epochs (the first grid's "
            f"{first['epochs'].max()} epochs: "
            + ", ".join(
                f"{depth} at {rate:g}"
                for depth, rate in zip(
                    before["measured_first_failing_depth"], before["learning_rate"], strict=True
                )
            )
            + ")"
        )
    if not walls:
        return ""
    return f"At learning rate {FAST:g} the first failing depth is, by {'; '.join(walls)}."


def _depths(cells):
    """(depth to draw, marker) per cell: a transition beyond the depths run is drawn one past
    its bound as a triangle pointing the way it lies."""
    found = cells["measured_first_failing_depth"]
    for text in found:
        if text.isdigit():
            yield int(text), "o"
        elif text.startswith(">"):
            yield int(text[1:]) + 1, "^"
        else:
            yield int(text.removeprefix("<=")), "v"


def draw_results(root: Path, table_path: Path, path: Path) -> None:
    """Left, learning rate 3e-4: the first failing depth against the budget's epochs, one
    colour per epsilon, registered (dashed, open) beside measured (solid, filled). Right,
    learning rate 1e-2: against epsilon, one colour per budget, beside the first grid's
    longest runs at 1e-3 and 3e-3 (grey): the wall the model says the learning rate leaves."""
    panels = ((SLOW, "epsilon", "epochs"), (FAST, "epochs", "epsilon"))
    draw_registered(table_path, path, root / PREDICTIONS, panels, beside=read_grid(root / GRID))


def draw_registered(table_path: Path, path: Path, predictions: Path, panels, beside=None) -> None:
    """A grid against its registration, one panel per (learning rate, series, along): the
    first failing depth along epochs or epsilon, one colour per value of the other, registered
    (dashed, open) beside measured (solid, filled). ``beside``: an earlier grid whose longest
    runs are drawn in grey on the panels along epsilon."""
    from or_gate.figures import new_figure, save_figure
    from or_gate.files.tables import read_csv

    grid = read_grid(table_path)
    predicted = read_csv(predictions, PREDICTION_COLUMNS, text=("limited_by",))
    figure, axes = new_figure(1, len(panels), (5 * len(panels), 4.2))
    figure.set_layout_engine("constrained")
    colours = ["#0072B2", "#E69F00", "#009E73"]  # Okabe-Ito
    for axis, (rate, series, along) in zip(axes, panels, strict=True):
        ran = grid[np.isclose(grid["learning_rate"], rate, rtol=1e-9, atol=0)]
        told = predicted[np.isclose(predicted["learning_rate"], rate, rtol=1e-9, atol=0)]
        for colour, (value, forecast) in zip(colours, told.groupby(series), strict=False):
            forecast = forecast.sort_values(along)
            x = forecast[along] if along == "epochs" else -np.log10(forecast[along])
            axis.plot(x, forecast["first_failing_depth"], "--o", color=colour, lw=1, mfc="none",
                      ms=4)  # fmt: skip
            at = ran[np.isclose(ran[series], value, rtol=1e-9, atol=0)].sort_values(along)
            x = at[along] if along == "epochs" else -np.log10(at[along])
            drawn = list(_depths(at))
            label = f"epsilon {value:g}" if series == "epsilon" else f"{value} epochs"
            axis.plot(x, [d for d, _ in drawn], "-", color=colour, lw=1.6, label=label)
            for x_at, (depth, marker) in zip(x, drawn, strict=True):
                axis.plot(x_at, depth, marker, color=colour, ms=6)
        if along == "epochs":
            axis.set_xscale("log", base=2)
            ticks = sorted(set(told["epochs"]))
            axis.set_xticks(ticks, [str(epochs) for epochs in ticks])
        else:
            ticks = sorted(set(told["epsilon"]), reverse=True)
            if beside is not None:
                longest = beside[beside["epochs"] == beside["epochs"].max()]
                for style, (rate_before, at) in zip(":-", longest.groupby("learning_rate"),
                                                    strict=False):  # fmt: skip
                    at = at[at["measured_first_failing_depth"].str.isdigit()]
                    at = at.sort_values("epsilon")
                    depth = at["measured_first_failing_depth"].astype(int)
                    label = f"first grid, {rate_before:g}, {beside['epochs'].max()} epochs"
                    axis.plot(-np.log10(at["epsilon"]), depth, style, color="grey", lw=1,
                              label=label)  # fmt: skip
                ticks = sorted(set(longest["epsilon"]), reverse=True)
            axis.set_xticks([-math.log10(e) for e in ticks], [f"{e:g}" for e in ticks])
        axis.set_xlabel("epochs" if along == "epochs" else "Adam's epsilon")
        axis.set_title(f"learning rate {rate:g}", fontsize=10)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("first failing depth (dashed: registered)")
    save_figure(figure, path)
