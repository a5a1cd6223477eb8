"""Lu et al.'s published collapse rates beside this project's measurements.

``data/literature/lu_et_al.csv`` holds every number about Lu, Shin, Su and Karniadakis,
"Dying ReLU and Initialization: Theory and Numerical Examples" (arXiv 1903.06733) that the
sources reachable here give, each with its source; a row gives a range (``collapse_low`` to
``collapse_high``) where the source says "more than" or "about". Beside each, the project's
measurement of the nearest setting it has run (the OR gate, not their regression targets),
with its 95% Clopper-Pearson interval, read from the committed sweep tables.
"""

from __future__ import annotations

from pathlib import Path

from or_gate.files.tables import read_csv

from .sweep import clopper_pearson
from .sweep import read_table as read_rates

SOURCE = "data/literature/lu_et_al.csv"
FIXES, WIDTHS = "plots/fixes/fixes.csv", "plots/widths/widths.csv"
OUTCOMES_OF_WIDTHS = "plots/widths/widths_outcomes.csv"
DEAD = ("born_dead", "died_in_training", "diverged")
# their initializers -> the variant of ours that draws the same way (zero biases, He's scale)
OURS = {"symmetric": "relu_he", "he": "relu_he", "rai": "relu_rai"}
LABEL = {"relu_he": "He", "relu_rai": "RAI"}


def _theirs(row) -> str:
    low, high = row["collapse_low"], row["collapse_high"]
    if low == high:
        return f"{low:.3f}"
    return f"below {high:.2f}" if low == 0 else f"above {low:.2f}"


def _ours(result) -> str:
    low, high = clopper_pearson(result.collapse_rate, result.replicates)
    return f"{result.collapse_rate:.3f} ({low:.3f}-{high:.3f}), {result.replicates} nets"


def comparison_table(root: Path) -> str:
    """One line per published number: theirs, and ours at the nearest setting."""
    rows = read_csv(root / SOURCE, text=("paper", "experiment", "task", "initializer", "source"))
    fixes = {(r.width, r.variant): r for r in read_rates(root / FIXES)}
    widths = {(r.width, r.depth): r for r in read_rates(root / WIDTHS)}
    lines = [
        "| their experiment | width, depth | initialisation | their collapse | ours (OR gate) "
        "| ours, setting | their number's source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows.to_dict("records"):
        width = int(row["width"]) if row["width"] == row["width"] else None  # NaN: not given
        depth = int(row["depth"]) if row["depth"] == row["depth"] else None
        variant = OURS[row["initializer"]]
        if width is not None and (width, 10) in widths and variant == "relu_he":
            ours, setting = _ours(widths[width, 10]), f"He, width {width}, depth 10"
        else:
            chosen = fixes[width or 2, variant]
            setting = f"{LABEL[variant]}, width {chosen.width}, depth {chosen.depth}"
            ours = _ours(chosen)
        given = f"{width}, {depth}" if width else "not given"
        lines.append(
            f"| {row['experiment']} | {given} | {row['initializer']} | {_theirs(row)} | {ours} "
            f"| {setting} | {row['source']} |"
        )
    return "\n".join(lines)


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
