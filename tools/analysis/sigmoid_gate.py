"""Sigmoid's critical depth as an Adam gate: a model fitted to the records, registered before
the grid that tests it is trained.

The model (offered by a review of the dynamics, refined here against the atlas's records):

* *Phase A.* In the first ~15 epochs the output fits the mean label and the upper weights
  grow, whatever the initial scale. After it, a net whose bottom layers have not started
  learning passes its bottom hidden layer a gradient that falls a fixed number of decades per
  layer of depth.
* *The gate.* Adam's step is lr * m / (sqrt(v) + epsilon): a weight whose gradient is well
  below epsilon barely moves; one whose gradient reaches epsilon moves about lr a step. So
  the bottom layer starts learning (and the net learns OR) when its gradient after phase A
  reaches epsilon: the last depth that learns is the largest L with
  ``log10 g_bottom(L) >= log10 epsilon``, ``L_gate``.
* *The cascade.* Once ignited, layers saturate one at a time, bottom up, in about
  ``EPOCHS_PER_LAYER`` epochs each at the write-up's learning rate (Adam moves each weight
  about lr a step, so in proportion to 1 / lr), after ``PHASE_A_EPOCHS``: a budget of
  ``epochs`` epochs reaches ``L_cascade = (epochs - PHASE_A_EPOCHS) / EPOCHS_PER_LAYER``.
* *Prediction.* The last depth that learns is ``min(L_gate, L_cascade)``, rounded down; the
  first that fails is one deeper.

What comes from the records: g_bottom(L), the median over the atlas's 256 replicates of the
per-weight RMS gradient of the first hidden kernel at epoch ``AFTER_PHASE_A``, for the
write-up's sigmoid net at every depth the atlas ran (``gradient_profile``); the gate's line is
a least-squares fit over the depths whose nets have not ignited (``NOT_IGNITED``). What does
not: the cascade's two constants are the review's, not measured (the records are logged at
epochs 0, 1, 2, 4, ..., too coarse to time one layer's saturation); the grid tests them too.
``tools/analysis/sigmoid_timeline.py`` measured them afterwards, at every epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AFTER_PHASE_A = 16  # a logged epoch (log-spaced) just after phase A
NOT_IGNITED = range(8, 21)  # depths whose first hidden layer never learns at epsilon 1e-7
PHASE_A_EPOCHS, EPOCHS_PER_LAYER, AT_LEARNING_RATE = 35.0, 17.0, 1e-3  # the review's
# the review's phase A: the gradient then falls 0.8 decades a layer; upper weights near 0.55
DECADES_PER_LAYER_AFTER_PHASE_A, UPPER_WEIGHTS_AFTER_PHASE_A = 0.8, 0.55
KERAS_EPSILON = 1e-7  # what train.epsilon: null leaves Adam with
# The grid the prediction is registered for (docs/sigmoid.md): Keras' default epsilon is 1e-7.
EPSILONS = (1e-3, 1e-5, 1e-7, 1e-9, 1e-11, 1e-13, 1e-15)
EPOCHS = (100, 200, 400, 800)
LEARNING_RATES = (1e-3, 3e-3)
PROFILE = "plots/sigmoid_gate/gradient_profile.csv"
PROFILE_COLUMNS = ("depth", "log10_rms_gradient", "replicates")
PREDICTIONS = "docs/registered/sigmoid_critical_depth.csv"
KERNEL_WEIGHTS = 4  # the write-up's width-2 hidden kernel: 2 x 2


def gradient_profile(records: dict[int, object]) -> list[tuple[int, float, int]]:
    """(depth, median log10 per-weight RMS gradient of the first hidden kernel at
    AFTER_PHASE_A, replicates) for each depth: ``records`` maps a depth to that net's
    ``gradients.csv`` table. Exact zeros (a gradient below float32's range) are left out."""
    found = []
    for depth, table in sorted(records.items()):
        at = table[(table["epoch"] == AFTER_PHASE_A) & (table["role"] == "hidden")]
        first = at[at["layer"] == at["layer"].min()]
        norms = first["kernel_gradient_norm"].to_numpy()
        norms = norms[norms > 0]
        if norms.size:
            rms = np.log10(norms / math.sqrt(KERNEL_WEIGHTS))
            found.append((depth, float(np.median(rms)), int(norms.size)))
    return found


@dataclass(frozen=True)
class Gate:
    """log10 g_bottom(L) = intercept - decades_per_layer * L, over NOT_IGNITED."""

    intercept: float
    decades_per_layer: float

    @classmethod
    def fit(cls, profile: list[tuple[int, float, int]]) -> Gate:
        depths = np.array([d for d, _, _ in profile if d in NOT_IGNITED], float)
        values = np.array([v for d, v, _ in profile if d in NOT_IGNITED])
        slope, intercept = np.polyfit(depths, values, 1)
        return cls(float(intercept), float(-slope))

    @classmethod
    def committed(cls, root: Path) -> Gate:
        """The gate fitted to the committed profile (``PROFILE``)."""
        from or_gate.files.tables import read_csv

        profile = read_csv(root / PROFILE, PROFILE_COLUMNS)
        return cls.fit(list(profile.itertuples(index=False, name=None)))

    def last_depth(self, epsilon: float) -> float:
        """The depth at which the bottom gradient after phase A equals epsilon."""
        return (self.intercept - math.log10(epsilon)) / self.decades_per_layer


def cascade_depth(epochs: int, learning_rate: float) -> float:
    return (epochs - PHASE_A_EPOCHS) / (EPOCHS_PER_LAYER * AT_LEARNING_RATE / learning_rate)


def predictions(gate: Gate) -> list[dict]:
    """The registered grid: every epsilon x epochs x learning rate."""
    rows = []
    for learning_rate in LEARNING_RATES:
        for epochs in EPOCHS:
            for epsilon in EPSILONS:
                by_gate, by_cascade = gate.last_depth(epsilon), cascade_depth(epochs, learning_rate)
                last = max(0, math.floor(min(by_gate, by_cascade)))
                rows.append(
                    {
                        "epsilon": epsilon,
                        "epochs": epochs,
                        "learning_rate": learning_rate,
                        "gate_depth": round(by_gate, 2),
                        "cascade_depth": round(by_cascade, 2),
                        "limited_by": "gate" if by_gate <= by_cascade else "cascade",
                        "last_learning_depth": last,
                        "first_failing_depth": last + 1,
                    }
                )
    return rows


def summary(root: Path) -> str:
    """The measured gate and the registered predictions, for docs/sigmoid.md."""
    from or_gate.files.tables import read_csv

    profile = read_csv(root / PROFILE, PROFILE_COLUMNS)
    measured = dict(zip(profile["depth"], profile["log10_rms_gradient"], strict=True))
    gate = Gate.committed(root)
    predicted = read_csv(root / PREDICTIONS)
    lines = [
        f"After phase A (epoch {AFTER_PHASE_A}) the write-up's sigmoid net's first hidden "
        f"layer gets a gradient (per-weight RMS, median of the atlas's replicates) of "
        f"10^{measured[6]:.2f} at depth 6 and 10^{measured[7]:.2f} at depth 7: Keras' epsilon, "
        "10^-7, lies between them, where the atlas's transition is. Over the depths that never "
        f"ignite ({NOT_IGNITED.start}-{NOT_IGNITED.stop - 1}) it falls "
        f"{gate.decades_per_layer:.2f} decades a layer: log10 g = {gate.intercept:.2f} - "
        f"{gate.decades_per_layer:.2f} L (`{PROFILE}`).",
        "",
        "Registered first failing depth (`" + PREDICTIONS + "`), by epsilon and epochs:",
        "",
    ]
    for learning_rate, by_rate in predicted.groupby("learning_rate"):
        table = by_rate.pivot(index="epsilon", columns="epochs", values="first_failing_depth")
        lines += [
            f"| learning rate {learning_rate:g}: epsilon | "
            + " | ".join(f"{e} epochs" for e in table.columns)
            + " |",
            "|---" * (len(table.columns) + 1) + "|",
        ]
        for epsilon, row in table.sort_index(ascending=False).iterrows():
            lines.append(f"| {epsilon:g} | " + " | ".join(str(v) for v in row) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


CELL_KEYS = ["epsilon", "epochs", "learning_rate"]  # what names a cell of a grid
GRID = "plots/sigmoid_grid/sigmoid_grid.csv"
GRID_FIGURE = "plots/sigmoid_grid/sigmoid_grid.png"
GRID_COLUMNS = (
    "epsilon",
    "epochs",
    "learning_rate",
    "depths_run",
    "measured_first_failing_depth",
    "predicted_first_failing_depth",
    "miss",
    "collapse_rate_at_first_failing",  # the first failing depth's (empty if none was run)
)


def read_grid(path: Path):
    """A grid table (``GRID_COLUMNS``); the transition and depths run stay text (``>9``)."""
    from or_gate.files.tables import read_csv

    return read_csv(path, GRID_COLUMNS, text=("depths_run", "measured_first_failing_depth"))


def first_failing(success_by_depth: dict[int, float]) -> int | None:
    """The first depth run whose success rate is below one half, if any."""
    return next((d for d in sorted(success_by_depth) if success_by_depth[d] < 0.5), None)


def compare(
    measured: dict[tuple, dict[int, float]], collapsed: dict[tuple, dict[int, float]], predicted
) -> list[tuple]:
    """Rows of GRID_COLUMNS: ``measured`` maps (epsilon, epochs, learning rate) to the
    sigmoid variant's success rate by depth, ``collapsed`` to its collapse rate (nets whose
    output is constant: they never started learning); ``predicted`` is the registered table.
    A transition outside the depths run is a bound (``<=3``, ``>7``) with no miss scored."""
    rows = []
    for (epsilon, epochs, learning_rate), by_depth in sorted(measured.items()):
        at = predicted[
            np.isclose(predicted["epsilon"], epsilon, rtol=1e-9, atol=0)
            & (predicted["epochs"] == epochs)
            & np.isclose(predicted["learning_rate"], learning_rate, rtol=1e-9, atol=0)
        ]
        if len(at) != 1:
            continue  # a cell the registration does not cover
        forecast = int(at["first_failing_depth"].iloc[0])
        found = first_failing(by_depth)
        depths = sorted(by_depth)
        missing = sorted(set(range(depths[0], depths[-1] + 1)) - set(depths))
        if missing:  # a first failing depth after a gap is only known to lie within it
            from or_gate.runtime import DataError

            raise DataError(
                f"epsilon {epsilon:g}, {epochs} epochs, learning rate {learning_rate:g}: "
                f"depths {', '.join(map(str, missing))} not run between {depths[0]} and "
                f"{depths[-1]}; a cell's depths must be consecutive (run the missing ones)"
            )
        if found is None:  # every depth run learned: the transition is deeper
            transition, miss = f">{depths[-1]}", ""
        elif found == depths[0] and found > 1:  # the shallowest run failed (depth 1 is exact)
            transition, miss = f"<={found}", ""
        else:
            transition, miss = found, found - forecast
        collapse = "" if found is None else collapsed[(epsilon, epochs, learning_rate)][found]
        run = f"{depths[0]}-{depths[-1]}"
        rows.append((epsilon, epochs, learning_rate, run, transition, forecast, miss, collapse))
    return rows


def draw_grid(root: Path, table_path: Path, path: Path) -> None:
    """The first failing depth against epsilon, one panel per learning rate, one colour per
    budget: registered (dashed, open) beside measured (solid, filled); a triangle is a bound
    (the transition lies beyond the depths run, in the direction it points)."""
    from or_gate.figures import new_figure, save_figure
    from or_gate.files.tables import read_csv

    from matplotlib.lines import Line2D

    grid = read_grid(table_path)
    predicted = read_csv(root / PREDICTIONS)
    figure, axes = new_figure(1, len(LEARNING_RATES), (10, 4.2), sharey=True, squeeze=False)
    figure.set_layout_engine("constrained")
    colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]  # Okabe-Ito: tell budgets apart
    for axis, learning_rate in zip(axes[0], LEARNING_RATES, strict=True):
        for colour, epochs in zip(colours, EPOCHS, strict=True):
            rate = np.isclose(predicted["learning_rate"], learning_rate, rtol=1e-9, atol=0)
            forecast = predicted[rate & (predicted["epochs"] == epochs)].sort_values("epsilon")
            x = -np.log10(forecast["epsilon"].to_numpy(float))
            axis.plot(x, forecast["first_failing_depth"], "--", color=colour, lw=1, marker="o",
                      mfc="none", ms=4)  # fmt: skip
            rate = np.isclose(grid["learning_rate"], learning_rate, rtol=1e-9, atol=0)
            ran = grid[rate & (grid["epochs"] == epochs)].sort_values("epsilon")
            if ran.empty:
                continue
            found = ran["measured_first_failing_depth"]
            known = ran[found.str.isdigit()]
            axis.plot(-np.log10(known["epsilon"].to_numpy(float)),
                      known["measured_first_failing_depth"].astype(int), "-o", color=colour,
                      lw=1.6, ms=5, label=f"{epochs} epochs")  # fmt: skip
            for bound, marker, step in ((">", "^", 1), ("<=", "v", 0)):
                beyond = ran[found.str.startswith(bound)]
                depth = beyond["measured_first_failing_depth"].str.lstrip("<=>").astype(int)
                axis.plot(-np.log10(beyond["epsilon"].to_numpy(float)), depth + step, marker,
                          color=colour, ms=7, ls="none")  # fmt: skip
        axis.set_xticks([-math.log10(e) for e in EPSILONS], [f"{e:g}" for e in EPSILONS])
        axis.set_xlabel("Adam's epsilon")
        axis.set_title(f"learning rate {learning_rate:g}", fontsize=10)
        axis.grid(alpha=0.3)
    axes[0, 0].set_ylabel("first failing depth (success below 1/2)")
    key = [
        Line2D([], [], color=colour, marker="o", label=f"{epochs} epochs")
        for colour, epochs in zip(colours, EPOCHS, strict=True)
    ]
    key.append(Line2D([], [], color="grey", ls="--", marker="o", mfc="none", label="registered"))
    if not grid["measured_first_failing_depth"].str.isdigit().all():  # bounds are drawn
        key += [
            Line2D([], [], color="grey", marker="^", ls="none", label="deeper than run"),
            Line2D([], [], color="grey", marker="v", ls="none", label="at or above the shallowest"),
        ]
    axes[0, 0].legend(handles=key, fontsize=8, loc="upper left")
    save_figure(figure, path)


def _least_miss(row) -> int:
    """How far a bound is from the prediction at the least (``>13`` against 11: 3)."""
    bound = int(row.measured_first_failing_depth.lstrip("<=>"))
    if row.measured_first_failing_depth.startswith("<="):
        return bound - row.predicted_first_failing_depth
    return bound + 1 - row.predicted_first_failing_depth


def _bound_miss(row) -> str:
    """The miss a bound allows (``<=3`` against 5: -2 or less)."""
    least = _least_miss(row)
    return (
        f"{least:+d} or less"
        if row.measured_first_failing_depth.startswith("<=")
        else f"{least:+d} or more"
    )


def in_table_order(cells):
    """Grid rows in the order every grid table lists them: by learning rate, then epochs, then
    epsilon from the largest."""
    return cells.sort_values(CELL_KEYS[::-1], ascending=[True, True, False])


def scored_table(grid) -> tuple[list[str], list[int]]:
    """A grid table's rows (``GRID_COLUMNS``) as Markdown, and the misses of the cells whose
    transition lies within the depths run."""
    lines = [
        "| epsilon | epochs | learning rate | depths run | predicted first failing | "
        "measured | miss | collapsed there |",
        "|---|---|---|---|---|---|---|---|",
    ]
    scored = []
    for row in in_table_order(grid).itertuples():
        known = row.measured_first_failing_depth.isdigit()  # else a bound: <=3, >7
        if known:
            scored.append(int(row.miss))
        lines.append(
            f"| {row.epsilon:g} | {row.epochs} | {row.learning_rate:g} | {row.depths_run} | "
            f"{row.predicted_first_failing_depth} | {row.measured_first_failing_depth} | "
            f"{f'{int(row.miss):+d}' if known else _bound_miss(row)} | "
            f"{_share(row.collapse_rate_at_first_failing)} |"
        )
    return lines, scored


def grid_summary(root: Path) -> str:
    """The grid's cells run so far, predicted against measured, with the misses."""

    grid = read_grid(root / GRID)
    lines, scored = scored_table(grid)
    exact = sum(miss == 0 for miss in scored)
    near = sum(abs(miss) <= 1 for miss in scored)
    bounds = grid[~grid["measured_first_failing_depth"].str.isdigit()]
    deeper = bounds[bounds["measured_first_failing_depth"].str.startswith(">")]
    shallower = bounds[bounds["measured_first_failing_depth"].str.startswith("<=")]
    # A bound's least miss: deeper than the deepest depth run, or at most the shallowest.
    deeper_by = [_least_miss(row) for row in deeper.itertuples()]
    shallower_by = [_least_miss(row) for row in shallower.itertuples()]
    lines.append(
        f"\n{len(grid)} of the {len(EPSILONS) * len(EPOCHS) * len(LEARNING_RATES)} registered "
        f"cells run; of the {len(scored)} whose transition lies within the depths run, "
        f"{exact} predicted exactly and {near} within one layer (`{GRID}`). "
        + (
            f"{len(deeper)} transitions lie deeper than every depth run"
            + (f", missed by {min(deeper_by):+d} layers or more" if deeper_by else "")
            + f"; {len(shallower)} at or above the shallowest"
            + (f", missed by {max(shallower_by):+d} or less" if shallower_by else "")
            + "."
            if len(bounds)
            else "Every transition lies within the depths run."
        )
    )
    cells = registered_cells(root, grid)
    lines.append(_budget_sentence(grid))
    lines.append(_regime_sentence(cells))
    lines.append(_slope_sentence(root, cells))
    return "\n".join(line for line in lines if line)


def registered_cells(root: Path, grid, predictions: str = PREDICTIONS):
    """The grid's rows beside their registered predictions (``limited_by`` among them);
    ``predictions``: which registration's file."""
    from or_gate.files.tables import read_csv

    predicted = read_csv(root / predictions, text=("limited_by",))
    return grid.merge(predicted, on=CELL_KEYS)


def _share(value) -> str:
    """A rate for the table; ``-`` where no depth run failed."""
    return "-" if value != value or value == "" else f"{float(value):.2f}"  # NaN: not run


def _budget_sentence(grid) -> str:
    """At Keras' epsilon, the transition against the budget: the gate makes it a wall."""
    parts = []
    for learning_rate, at in grid[np.isclose(grid["epsilon"], KERAS_EPSILON)].groupby(
        "learning_rate"
    ):
        at = at.sort_values("epochs")
        parts.append(
            f"{', '.join(at['measured_first_failing_depth'])} at "
            f"{', '.join(map(str, at['epochs']))} epochs with learning rate {learning_rate:g} "
            f"(registered: {', '.join(map(str, at['predicted_first_failing_depth']))})"
        )
    if not parts:
        return ""
    return f"At Keras' epsilon ({KERAS_EPSILON:g}) the first failing depth is {'; '.join(parts)}."


def _regime_sentence(cells) -> str:
    """Which limit the nets at the first failing depth met: the gate's nets never start (their
    output stays constant: collapsed), the cascade's start but do not finish in time.
    ``cells``: ``registered_cells``."""
    cells = cells[cells["collapse_rate_at_first_failing"].notna()]
    parts = []
    for limit in ("gate", "cascade"):
        rates = cells.loc[cells["limited_by"] == limit, "collapse_rate_at_first_failing"]
        if len(rates):
            parts.append(
                f"in {int((rates > 0.5).sum())} of the {len(rates)} cells the registration says "
                f"the {limit} limits"
            )
    if not parts:
        return ""
    return (
        "At the first failing depth most nets collapsed (a constant output: they never "
        f"started learning, as the gate says) {' and '.join(parts)}; elsewhere they started "
        "but did not finish."
    )


def _slope_sentence(root: Path, cells) -> str:
    """The gate's own claim, layers per decade of epsilon, against the cells it limits: one
    slope per budget and learning rate (the transition's level differs between them).
    ``cells``: ``registered_cells``."""
    cells = cells[cells["limited_by"] == "gate"]
    cells = cells[cells["measured_first_failing_depth"].str.isdigit()]
    slopes = []
    for (learning_rate, epochs), at in cells.groupby(["learning_rate", "epochs"]):
        if len(at) < 2:
            continue
        decades = -np.log10(at["epsilon"].to_numpy(float))
        depths = at["measured_first_failing_depth"].astype(int).to_numpy()
        slopes.append(
            f"{np.polyfit(decades, depths, 1)[0]:.2f} layers at {epochs} epochs and learning rate "
            f"{learning_rate:g} ({len(at)} cells, epsilon {at['epsilon'].max():g} to "
            f"{at['epsilon'].min():g})"
        )
    if not slopes:
        return ""
    gate = Gate.committed(root)
    from .sigmoid_timeline import TIMELINE, _timeline_cells

    timeline = [found["decades_per_layer"] for _, found in _timeline_cells(root, root / TIMELINE)]
    return (
        "Where the gate is the predicted limit and the transition lies within the depths run, "
        f"the measured transition moves per decade of epsilon {'; '.join(slopes)}. The gate "
        f"says {1 / gate.decades_per_layer:.2f} layers (one layer per "
        f"{gate.decades_per_layer:.2f} decades of the bottom gradient, the profile of nets that "
        f"never started); the gradient's fall after phase A in the timeline "
        f"({min(timeline):.2f} to {max(timeline):.2f} decades a layer) would say "
        f"{1 / max(timeline):.2f} to {1 / min(timeline):.2f}."
    )
