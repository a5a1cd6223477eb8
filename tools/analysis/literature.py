"""Lu et al.'s published collapse rates beside this project's measurements.

``data/literature/lu_et_al.csv`` holds every number about Lu, Shin, Su and Karniadakis,
"Dying ReLU and Initialization: Theory and Numerical Examples" (arXiv 1903.06733) that the
sources reachable here give, each with its source; a row gives a range (``collapse_low`` to
``collapse_high``) where the source says "more than" or "about". Beside each, the project's
measurement of the nearest setting it has run, with its 95% Clopper-Pearson interval, read
from the committed sweep tables: for their regression targets, the project's regression on
their first one, f(x) = |x| (``or_gate/task.py``; the settings their sources do not give are
the project's, stated in docs/literature.md); for their per-width numbers, the OR gate.
``tools/literature_report.py`` writes the comparison (``plots/literature/literature.csv``)
and its figure; the docs' table is generated from the committed comparison.
"""

from __future__ import annotations

from pathlib import Path

from or_gate.files.tables import read_csv, write_table

import pandas as pd

from .sweep import clopper_pearson
from .sweep import read_table as read_rates

SOURCE = "data/literature/lu_et_al.csv"
WIDTHS = "plots/widths/widths.csv"
# Their first example's target, |x|, as this project's regression task (or_gate/task.py)
REGRESSION = "plots/lu_abs/lu_abs.csv"
TASK_LABEL = {"or_gate": "OR gate", "abs": "|x|"}
OUTCOMES_OF_WIDTHS = "plots/widths/widths_outcomes.csv"
DEAD = ("born_dead", "died_in_training", "diverged")
# their initializers -> the variant of ours that draws the same way (zero biases, He's scale)
OURS = {"symmetric": "relu_he", "he": "relu_he", "rai": "relu_rai"}
LABEL = {"relu_he": "He", "relu_rai": "RAI"}


TABLE = "plots/literature/literature.csv"
FIGURE = "plots/literature/literature.png"
TABLE_COLUMNS = (
    "experiment",
    "width",
    "depth",
    "initializer",
    "theirs_low",
    "theirs_high",
    "ours_variant",
    "ours_task",
    "ours_width",
    "ours_depth",
    "ours_replicates",
    "ours_collapse",
    "ours_low",
    "ours_high",
    "ours_born_dead",
    "source",
)
TEXT = ("experiment", "initializer", "ours_variant", "ours_task", "source")


def _given(value) -> int | None:
    """A whole number, or None where the source does not give one (an empty cell: NaN)."""
    return None if value is None or value != value else int(value)


def comparisons(root: Path) -> pd.DataFrame:
    """One row per published number (``TABLE_COLUMNS``): theirs as a range (one number where
    the source gives one), and ours at the nearest setting with its 95% interval: for their
    regression targets, our regression on their first one, |x| (width 2, depth 10); where
    their width is given without a task, the OR gate's widths sweep (He, depth 10)."""
    rows = read_csv(root / SOURCE, text=("paper", "experiment", "task", "initializer", "source"))
    regression = {(r.width, r.depth, r.variant): r for r in read_rates(root / REGRESSION)}
    widths = {(r.width, r.depth): r for r in read_rates(root / WIDTHS)}
    table = []
    for row in rows.to_dict("records"):
        width, depth = _given(row["width"]), _given(row["depth"])
        variant = OURS[row["initializer"]]
        # their regression targets: our |x| at width 2, depth 10; their widths: the OR gate's
        ours = regression[2, 10, variant] if row["task"] == "regression" else widths[width, 10]
        low, high = clopper_pearson(ours.collapse_rate, ours.replicates)
        table.append(
            (
                row["experiment"],
                width,
                depth,
                row["initializer"],
                row["collapse_low"],
                row["collapse_high"],
                variant,
                ours.task,
                ours.width,
                ours.depth,
                ours.replicates,
                ours.collapse_rate,
                low,
                high,
                ours.born_dead_rate,
                row["source"],
            )
        )
    return _width_and_depth_as_given(pd.DataFrame(table, columns=list(TABLE_COLUMNS)))


def _width_and_depth_as_given(table: pd.DataFrame) -> pd.DataFrame:
    """Width and depth as whole numbers, or None where the source does not give them."""
    for column in ("width", "depth"):
        table[column] = pd.Series([_given(v) for v in table[column]], dtype=object)
    return table


def read_table(path: Path) -> pd.DataFrame:
    return _width_and_depth_as_given(read_csv(path, TABLE_COLUMNS, text=TEXT))


def _theirs(row) -> str:
    low, high = row["theirs_low"], row["theirs_high"]
    if low == high:
        return f"{low:.3f}"
    return f"below {high:.2f}" if low == 0 else f"above {low:.2f}"


def comparison_table(root: Path) -> str:
    """One line per published number: theirs, and ours at the nearest setting."""
    lines = [
        "| their experiment | width, depth | initialisation | their collapse | ours "
        "| ours, setting | their number's source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in read_table(root / TABLE).to_dict("records"):
        given = "not given" if row["width"] is None else f"{row['width']}, {row['depth']}"
        ours = (
            f"{row['ours_collapse']:.3f} ({row['ours_low']:.3f}-{row['ours_high']:.3f}), "
            f"{row['ours_replicates']} nets"
        )
        setting = f"{LABEL[row['ours_variant']]}, width {row['ours_width']}, depth " + (
            f"{row['ours_depth']}, {TASK_LABEL[row['ours_task']]}"
        )
        cells = (row["experiment"], given, row["initializer"], _theirs(row), ours, setting)
        lines.append("| " + " | ".join(map(_cell, (*cells, row["source"]))) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """A table cell's text, its pipes escaped (|x| would split the cell in three)."""
    return str(text).replace("|", "\\|")


THEIRS, OURS_LABEL = "Lu et al., as the source gives it", "ours, nearest setting (95% interval)"
BOUND = "Lu et al.: a bound (more than / less than)"
THEORY = "born dead, zero-bias ReLU on the OR gate: 1 - (1 - 2^-w)^depth"
OURS_DEAD = "ours: born dead"


def _draw_row(panel, y: int, row: dict) -> None:
    """One published number (at y - 0.12) and ours (at y + 0.12)."""
    from .theory import born_dead_probability

    low, high = row["theirs_low"], row["theirs_high"]
    if low == high:
        panel.plot(low, y - 0.12, "D", color="black", label=THEIRS)
    else:  # a bound: the range it allows, an arrowhead at the bound pointing into it
        style = {"color": "black", "alpha": 0.45, "label": BOUND}
        panel.plot([low, high], [y - 0.12] * 2, linewidth=4, solid_capstyle="butt", **style)
        below = low == 0
        panel.plot(high if below else low, y - 0.12, "<" if below else ">", **style)
    errors = [[row["ours_collapse"] - row["ours_low"]], [row["ours_high"] - row["ours_collapse"]]]
    panel.errorbar(
        row["ours_collapse"],
        y + 0.12,
        xerr=errors,
        fmt="o",
        color="tab:blue",
        capsize=3,
        label=OURS_LABEL,
    )
    panel.plot(row["ours_born_dead"], y + 0.12, "o", mfc="none", color="tab:blue", label=OURS_DEAD)
    if row["ours_task"] == "or_gate" and row["initializer"] != "rai":  # what the theory is of
        theory = born_dead_probability(row["depth"], row["width"])
        panel.plot(theory, y - 0.12, "x", color="tab:red", markersize=8, label=THEORY)


def _row_label(row: dict) -> str:
    given = (
        "width, depth not given"
        if row["width"] is None
        else f"width {row['width']}, depth {row['depth']}"
    )
    ours = f"{LABEL[row['ours_variant']]}, width {row['ours_width']}, depth {row['ours_depth']}"
    ours += f", {TASK_LABEL[row['ours_task']]}"
    return f"{row['experiment']}\n{row['initializer']}, {given}; ours: {ours}"


def draw_comparison(table: pd.DataFrame, path: Path) -> None:
    """One line per published number, top to bottom in the source's order: theirs (a diamond
    where the source gives one number, a bar over the range where it gives a bound), ours
    below it with its 95% interval and its born-dead rate, and, where ours is the OR gate, the
    born-dead probability of a zero-bias ReLU net of that width and depth."""
    from or_gate.figures import new_figure, save_figure

    rows = table.to_dict("records")
    figure, panel = new_figure(1, 1, figsize=(9.0, 0.55 * len(rows) + 1.6))
    for y, row in enumerate(rows):
        _draw_row(panel, y, row)
    panel.set_yticks(range(len(rows)), [_row_label(row) for row in rows], fontsize=7.5)
    panel.invert_yaxis()
    panel.set(xlim=(0, 1), xlabel="collapse probability (the net answers the same to every input)")
    panel.grid(axis="x", alpha=0.3)
    handles = dict(zip(*reversed(panel.get_legend_handles_labels()), strict=True))
    figure.legend(
        [handles[label] for label in (THEIRS, BOUND, OURS_LABEL, OURS_DEAD, THEORY)],
        [THEIRS, BOUND, OURS_LABEL, OURS_DEAD, THEORY],
        loc="upper center",
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    height = figure.get_figheight()
    figure.subplots_adjust(left=0.42, right=0.97, bottom=0.7 / height, top=1 - 0.95 / height)
    save_figure(figure, path)


def write_report(root: Path, out_dir: Path, from_csv: Path | None = None) -> None:
    """``literature.csv`` (the comparison, unless redrawing from it) and ``literature.png``."""
    table = comparisons(root) if from_csv is None else read_table(from_csv)
    if from_csv is None or from_csv != out_dir / "literature.csv":
        write_table(out_dir / "literature.csv", table)
    draw_comparison(table, out_dir / "literature.png")


def widths_claims(root: Path) -> str:
    """What the widths sweep says, every number read from its tables."""
    from .outcomes import read_table as read_outcomes
    from .sweep import theory_range
    from .theory import born_dead_probability

    rates = read_rates(root / WIDTHS)
    outcomes = {(r.width, r.depth): r for r in read_outcomes(root / OUTCOMES_OF_WIDTHS)}
    inside = [
        r
        for r in rates
        if theory_range(r.depth, r.replicates, r.width)[0]
        <= r.born_dead_rate
        <= theory_range(r.depth, r.replicates, r.width)[1]
    ]
    died = {key: o.counts["died_in_training"] / o.replicates for key, o in outcomes.items()}
    worst = max(died, key=died.get)
    alive = max(  # collapses that are not dead nets: alive, answering the same to every input
        round(r.collapse_rate * r.replicates)
        - sum(outcomes[r.width, r.depth].counts[o] for o in DEAD)
        for r in rates
    )
    lines = [
        f"- Born dead follows 1 - (1 - 2^-width)^depth: {len(inside)} of {len(rates)} cells "
        "lie inside the central 95% of the rates the theory gives for their replicates.",
        "- The collapses beyond it are nets that die in training (at most "
        f"{died[worst]:.3f} of a cell's replicates, at width {worst[0]}, depth {worst[1]}); "
        f"in no cell are more than {alive} of the collapses nets still alive.",
        "",
        "| width | " + " | ".join(f"depth {d}" for d in sorted({r.depth for r in rates})) + " |",
        "|---" * (1 + len({r.depth for r in rates})) + "|",
    ]
    for width in sorted({r.width for r in rates}):
        row = sorted((r for r in rates if r.width == width), key=lambda r: r.depth)
        cells = [
            f"{r.collapse_rate:.2f} / {r.born_dead_rate:.2f} / "
            f"{born_dead_probability(r.depth, r.width):.2f}"
            for r in row
        ]
        lines.append(f"| {width} | " + " | ".join(cells) + " |")
    replicates = ", ".join(map(str, sorted({r.replicates for r in rates})))
    lines.append(
        f"\n(collapse / born dead / theory; {replicates} replicates per cell, from `{WIDTHS}` "
        f"and `{OUTCOMES_OF_WIDTHS}`.)"
    )
    return "\n".join(lines)
