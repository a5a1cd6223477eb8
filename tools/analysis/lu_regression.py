"""Lu et al.'s first example, f(x) = |x|, run as this project's regression task: what it says.

The sources reachable here give their experiment's target, width (2), depth (10), number of
runs (1,000) and initialisation (symmetric), and its result (more than 90% collapse to a
constant); not its input range, data, optimizer, epochs or how a collapse was judged. So the
main sweep (``plots/lu_abs/``) runs the project's own settings, and each sensitivity sweep
changes one of the settings the sources leave open, at depth 10 (``SENSITIVITY``: its name
and the overrides its command adds, which ``tests/test_literature.py`` finds in the docs'
command that runs it). Every number below is read from the committed tables.
"""

from __future__ import annotations

from pathlib import Path

from .outcomes import read_table as read_outcomes
from .sweep import binomial_range, clopper_pearson
from .sweep import rate_with_interval as _rate  # a rate and its 95% interval, as text
from .sweep import read_table as read_rates
from .theory import born_dead_on_a_line, born_dead_probability, second_layer_dead_on_a_line

MAIN = "lu_abs"
# sweep name -> what its command sets beyond the main sweep's (at depth 10)
SENSITIVITY = {
    "lu_abs": "",
    "lu_abs_slow": "-S train.learning_rate=0.0001",
    "lu_abs_wide": "-S task.low=-3.0 -S task.high=3.0",
    "lu_abs_long": "-S train.epochs=1000",
}
DEPTH = 10
# Their numbers this reading compares with (data/literature/lu_et_al.csv, with sources):
# |x| at width 2, depth 10, symmetric: more than 0.90; their other one-dimensional targets.
THEIR_ABS_BOUND = 0.90


def depth_ten_cell(root: Path, name: str, variant: str):
    """(rates, outcome counts) of a sweep's depth-10 cell of ``variant``."""
    folder = root / "plots" / name
    (rates,) = [
        r for r in read_rates(folder / f"{name}.csv") if (r.depth, r.variant) == (DEPTH, variant)
    ]
    (outcomes,) = [
        o
        for o in read_outcomes(folder / f"{name}_outcomes.csv")
        if (o.depth, o.variant) == (DEPTH, variant)
    ]
    return rates, outcomes


def _against(value: float, rate: float, replicates: int, what: str) -> str:
    """Where ``value`` lies against our ``what`` interval, given to four places (at three, a
    value just outside it can print as its end)."""
    low, high = clopper_pearson(rate, replicates)
    side = "below" if value < low else "above" if value > high else "inside"
    return f"{side} our {what} interval ({low:.4f}-{high:.4f})"


def their_rates(root: Path) -> dict[str, list[float]]:
    """Their collapse rates on their other one-dimensional targets, by initialisation."""
    from or_gate.files.tables import read_csv

    from .literature import SOURCE

    rows = read_csv(root / SOURCE, text=("paper", "experiment", "task", "initializer", "source"))
    one_dimensional = rows[rows["experiment"].str.contains("one-dimensional")]
    found: dict[str, list[float]] = {}
    for row in one_dimensional.to_dict("records"):
        kind = "rai" if row["initializer"] == "rai" else "he"
        found.setdefault(kind, []).append(row["collapse_low"])
    return found


def claims(root: Path) -> str:
    """Their numbers beside the main sweep's depth-10 cells."""
    he, he_outcomes = depth_ten_cell(root, MAIN, "relu_he")
    rai, rai_outcomes = depth_ten_cell(root, MAIN, "relu_rai")
    theirs = their_rates(root)
    n = he.replicates
    holds = clopper_pearson(he.collapse_rate, n)[0] > THEIR_ABS_BOUND

    def where(values: list[float], result) -> str:
        return "; ".join(
            f"{v:.3f} lies {_against(v, result.collapse_rate, n, 'collapse')} and "
            f"{_against(v, result.born_dead_rate, n, 'born-dead')}"
            for v in values
        )

    rai_died = rai_outcomes.counts["died_in_training"] / rai.replicates
    dead = ("born_dead", "died_in_training", "diverged")
    alive = round(he.collapse_rate * n) - sum(he_outcomes.counts[o] for o in dead)
    return "\n".join(
        [
            f"- |x|, width 2, depth 10, their symmetric initialisation: more than "
            f"{THEIR_ABS_BOUND:.2f} collapse. Ours, He without biases: {_rate(he.collapse_rate, n)}"
            f" of {n} collapse, {_rate(he.born_dead_rate, n)} born dead. Their bound "
            + ("holds: our whole interval lies above it." if holds else "does not hold here."),
            "- Their He nets on two other one-dimensional targets (depth and width not given): "
            f"{where(theirs['he'], he)}.",
            f"- Their RAI nets on those targets; ours on |x|: {_rate(rai.collapse_rate, n)} "
            f"collapse, {_rate(rai.born_dead_rate, n)} born dead, {rai_died:.3f} died in "
            f"training: {where(theirs['rai'], rai)}.",
            f"- He's collapses beyond the born dead: {he_outcomes.counts['died_in_training']} "
            f"nets died in training, {alive} alive nets answer the same everywhere.",
        ]
    )


def sensitivity_table(root: Path) -> str:
    """The depth-10 cells of every sweep that changes a setting the sources leave open."""
    lines = [
        "| what the sweep changes | He: collapse | He: born dead | RAI: collapse "
        "| RAI: born dead | RAI: died in training | RAI: success |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, overrides in SENSITIVITY.items():
        he, _ = depth_ten_cell(root, name, "relu_he")
        rai, rai_outcomes = depth_ten_cell(root, name, "relu_rai")
        n = rai.replicates
        lines.append(
            f"| {f'`{overrides}`' if overrides else 'nothing (the main sweep)'} "
            f"| {_rate(he.collapse_rate, he.replicates)} "
            f"| {_rate(he.born_dead_rate, he.replicates)} | {_rate(rai.collapse_rate, n)} "
            f"| {_rate(rai.born_dead_rate, n)} "
            f"| {rai_outcomes.counts['died_in_training'] / n:.3f} | {rai.success_rate:.3f} |"
        )
    replicates = sorted(
        {depth_ten_cell(root, name, "relu_he")[0].replicates for name in SENSITIVITY}
    )
    lines.append(
        f"\n(Width 2, depth {DEPTH}, {', '.join(map(str, replicates))} replicates per variant, "
        "95% Clopper-Pearson intervals, from "
        + ", ".join(f"`plots/{name}/{name}.csv`" for name in SENSITIVITY)
        + " and their outcome tables.)"
    )
    return "\n".join(lines)


def born_dead_table(root: Path) -> str:
    """The He nets' born-dead rate at every depth of the main sweep beside the theory for a
    line (``theory.born_dead_on_a_line``) and, for contrast, the OR gate's cone theory."""
    he = sorted(
        (r for r in read_rates(root / "plots" / MAIN / f"{MAIN}.csv") if r.variant == "relu_he"),
        key=lambda r: r.depth,
    )
    (width,) = {r.width for r in he}
    line = born_dead_on_a_line(he[-1].depth, width)
    lines = [
        "| depth | born dead, measured (95% CI) | theory on a line | its 95% range "
        "| inside | the OR gate's cone theory |",
        "|---|---|---|---|---|---|",
    ]
    inside = 0
    for r in he:
        expected = line[r.depth - 1]
        low, high = binomial_range(expected, r.replicates)
        fits = low <= r.born_dead_rate <= high
        inside += fits
        lines.append(
            f"| {r.depth} | {_rate(r.born_dead_rate, r.replicates)} | {expected:.3f} "
            f"| {low:.3f}-{high:.3f} | {'yes' if fits else 'no'} "
            f"| {born_dead_probability(r.depth, width):.3f} |"
        )
    lines.append(
        f"\n{inside} of {len(he)} measured rates lie inside the line theory's range (width "
        f"{width}, {he[0].replicates} replicates per depth, from `plots/{MAIN}/{MAIN}.csv`; the "
        f"theory's second layer: {second_layer_dead_on_a_line(width):.5f} exactly)."
    )
    return "\n".join(lines)
