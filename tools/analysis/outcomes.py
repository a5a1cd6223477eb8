"""How each replicate of a sweep ended: success, stalled, died in training, born dead, diverged.

The depth-sweep report gives rates; this gives the whole partition of the replicates, read
from every finished experiment's own records (``models/<variant>/history.csv`` and
``units.csv``, ``data/evaluation/<variant>/predictions.csv``, as the experiment's commit and
DVC cache hold them) and classified by ``or_gate.evaluation.replicate_outcomes``, the
evaluation's own definitions. Nothing is retrained. Each experiment's counts are checked
against the rates the experiment itself recorded (its success and born-dead rates), so the
table cannot disagree with the metrics DVC shows. ``tools/outcome_report.py`` writes the table
and figure. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from or_gate.evaluation import OUTCOMES, replicate_outcomes
from or_gate.figures import new_figure, save_figure
from or_gate.files.records import TRAINING, prediction_columns
from or_gate.files.tables import read_csv, write_csv
from or_gate.runtime import DataError
from or_gate.task import COLLAPSE_SPLIT, is_regression

import numpy as np

from .sweep import Experiment, task_of

TABLE_COLUMNS = ("depth", "width", "variant", "replicates", *OUTCOMES, "experiment")
# Drawn bottom up: what worked, then what failed with the network alive, then the dead.
COLOURS = {
    "success": "#4daf4a",
    "stalled": "#ffbf00",
    "died_in_training": "#ff7f00",
    "born_dead": "#e41a1c",
    "diverged": "#6a3d9a",
}


@dataclass(frozen=True)
class OutcomeCounts:
    depth: int
    width: int
    variant: str
    replicates: int
    counts: dict  # outcome -> number of replicates
    experiment: str


def read_at(fs, path: str, columns: tuple[str, ...]):
    """A record table as an experiment's revision holds it (``fs``: a DVCFileSystem)."""
    try:
        with fs.open(path, "r", encoding="utf-8") as handle:
            return read_csv(handle, columns)
    except FileNotFoundError:
        raise DataError(f"{path}: not in the experiment's records (rerun it)") from None


def experiment_outcomes(root: Path, experiment: Experiment) -> list[OutcomeCounts]:
    """Every variant's outcome counts, from the records of one finished experiment."""
    from dvc.api import DVCFileSystem

    fs = DVCFileSystem(str(root), rev=experiment.name)
    params = experiment.params
    task = task_of(params)
    columns = prediction_columns(is_regression(task))
    found = []
    for variant in params.get("variants") or {}:
        training = {
            name: read_at(fs, f"models/{variant}/{name}.csv", TRAINING[name])
            for name in ("history", "units")
        }
        predictions = read_at(fs, f"data/evaluation/{variant}/predictions.csv", columns)
        by_split = {
            split: rows.pivot(index="replicate", columns="row", values="prediction").sort_index()
            for split, rows in predictions.groupby("split")
        }
        test = predictions[(predictions["split"] == "test") & (predictions["replicate"] == 0)]
        y_test = test.sort_values("row")["y"].to_numpy()
        outcomes = replicate_outcomes(
            y_test,
            by_split["test"].to_numpy(dtype=np.float32),
            by_split[COLLAPSE_SPLIT[task]].to_numpy(dtype=np.float32),
            training,
            task,
        )
        counts = {outcome: int(np.sum(outcomes == outcome)) for outcome in OUTCOMES}
        result = OutcomeCounts(
            depth=int(params["depth"]),
            width=int((params.get("model") or {}).get("width", 2)),
            variant=variant,
            replicates=len(outcomes),
            counts=counts,
            experiment=experiment.name,
        )
        check_against_metrics(result, experiment.metrics.get(variant) or {})
        found.append(result)
    return found


def check_against_metrics(result: OutcomeCounts, metrics: dict) -> None:
    """The counts must say what the experiment's metrics say: its success rate exactly, and no
    more born-dead outcomes than its born-dead rate (a born-dead replicate that diverged counts
    as diverged)."""
    recorded = {key: round(metrics[key] * result.replicates) for key in metrics}
    problems = []
    if "success_rate" in recorded and recorded["success_rate"] != result.counts["success"]:
        problems.append(
            f"{result.counts['success']} successes, its metrics say {recorded['success_rate']}"
        )
    if "born_dead_rate" in recorded and result.counts["born_dead"] > recorded["born_dead_rate"]:
        problems.append(
            f"{result.counts['born_dead']} born dead, its metrics say {recorded['born_dead_rate']}"
        )
    if problems:
        raise DataError(
            f"experiment {result.experiment!r}, {result.variant}: the records give "
            f"{'; '.join(problems)} (records and metrics of different runs?)"
        )


def write_table(results: list[OutcomeCounts], path: Path) -> None:
    rows = sorted(results, key=lambda r: (r.depth, r.width, r.variant))
    write_csv(
        path,
        TABLE_COLUMNS,
        (
            [
                r.depth,
                r.width,
                r.variant,
                r.replicates,
                *(r.counts[o] for o in OUTCOMES),
                r.experiment,
            ]
            for r in rows
        ),
    )


def read_table(path: Path) -> list[OutcomeCounts]:
    table = read_csv(path, TABLE_COLUMNS, text=("variant", "experiment"))
    return [
        OutcomeCounts(
            depth=int(row["depth"]),
            width=int(row["width"]),
            variant=row["variant"],
            replicates=int(row["replicates"]),
            counts={outcome: int(row[outcome]) for outcome in OUTCOMES},
            experiment=row["experiment"],
        )
        for row in table.to_dict("records")
    ]


def _legend(figure, panel) -> float:
    """The outcomes' legend in a row above the panels; returns where the panels may end."""
    top = 1 - 0.55 / figure.get_figheight()
    handles, labels = panel.get_legend_handles_labels()
    figure.legend(
        handles[::-1],
        labels[::-1],
        loc="lower center",
        bbox_to_anchor=(0.5, top),
        ncol=len(OUTCOMES),
        fontsize="small",
        frameon=False,
    )
    return top - 0.03


def _draw_one_depth(results: list[OutcomeCounts], path: Path) -> None:
    """A sweep of one depth: a stacked bar per variant (and width)."""
    cells = sorted(results, key=lambda r: (r.variant, r.width))
    several_widths = len({r.width for r in cells}) > 1
    names = [f"{r.variant}, width {r.width}" if several_widths else r.variant for r in cells]
    figure, panel = new_figure(1, 1, figsize=(9, 0.42 * len(cells) + 1.6))
    left = np.zeros(len(cells))
    for outcome in OUTCOMES:
        shares = np.array([r.counts[outcome] / r.replicates for r in cells])
        label = outcome.replace("_", " ")
        panel.barh(names, shares, left=left, color=COLOURS[outcome], label=label)
        left += shares
    panel.invert_yaxis()
    panel.set(xlim=(0, 1), xlabel=f"share of replicates, depth {cells[0].depth}")
    top = _legend(figure, panel)
    figure.subplots_adjust(left=0.22, right=0.97, bottom=0.7 / figure.get_figheight(), top=top)
    save_figure(figure, path)


def draw_outcomes(results: list[OutcomeCounts], path: Path) -> None:
    """One panel per variant (and width): the share of replicates in each outcome against
    depth, stacked; a sweep of one depth is a stacked bar per variant."""
    if len({r.depth for r in results}) == 1:
        _draw_one_depth(results, path)
        return
    lines = sorted({(r.variant, r.width) for r in results})
    several_widths = len({width for _, width in lines}) > 1
    columns = min(3, len(lines))
    rows = -(-len(lines) // columns)
    figure, panels = new_figure(
        rows, columns, figsize=(4.2 * columns, 3.2 * rows + 0.6), sharex=True, sharey=True
    )
    panels = np.atleast_1d(panels).ravel()
    for panel, (variant, width) in zip(panels, lines, strict=False):
        cells = sorted(
            (r for r in results if (r.variant, r.width) == (variant, width)), key=lambda r: r.depth
        )
        depths = [r.depth for r in cells]
        shares = [[r.counts[o] / r.replicates for r in cells] for o in OUTCOMES]
        panel.stackplot(
            depths,
            shares,
            colors=[COLOURS[o] for o in OUTCOMES],
            labels=[o.replace("_", " ") for o in OUTCOMES],
            step="mid",
        )
        panel.set_title(f"{variant}, width {width}" if several_widths else variant)
        panel.set(xlim=(min(depths) - 0.5, max(depths) + 0.5), ylim=(0, 1))
    for panel in panels[len(lines) :]:
        panel.set_visible(False)
    for panel in panels[-columns:]:
        panel.set_xlabel("depth (hidden layers)")
    for panel in panels[::columns]:
        panel.set_ylabel("share of replicates")
    top = _legend(figure, panels[0])
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=top, wspace=0.08, hspace=0.3)
    save_figure(figure, path)


def write_report(
    results: list[OutcomeCounts], out_dir: Path, name: str, table: bool = True
) -> None:
    """``<name>_outcomes.csv`` (unless redrawing from it) and ``<name>_outcomes.png``: one row
    per depth, width and variant."""
    cells = {(r.depth, r.width, r.variant) for r in results}
    if len(cells) != len(results):
        raise DataError(
            "two experiments measure the same depth, width and variant; choose with --experiments"
        )
    if table:
        write_table(results, out_dir / f"{name}_outcomes.csv")
    draw_outcomes(results, out_dir / f"{name}_outcomes.png")
    print(f"outcomes: {len(results)} cells -> {out_dir}/{name}_outcomes.csv, .png")


def sweep_outcomes(root: Path, experiments: list[Experiment]) -> list[OutcomeCounts]:
    return [result for e in experiments for result in experiment_outcomes(root, e)]


# The committed sweeps' outcome tables (tools/docs_tables.py renders these into docs/fixes.md).
ATLAS_TABLE, FIXES_TABLE = "plots/atlas/atlas_outcomes.csv", "plots/fixes/fixes_outcomes.csv"


def _cells(root: Path, path: str) -> dict:
    return {(r.depth, r.width, r.variant): r for r in read_table(root / path)}


def _share(cell: OutcomeCounts, *outcomes: str) -> float:
    return sum(cell.counts[o] for o in outcomes) / cell.replicates


def fixes_table(root: Path) -> str:
    """Every variant of the fixes sweep (depth 10, widths 2 and 3): each outcome's share."""
    cells = _cells(root, FIXES_TABLE)
    names = [o.replace("_", " ") for o in OUTCOMES]
    lines = [f"| width | variant | {' | '.join(names)} |", "|---" * (len(OUTCOMES) + 2) + "|"]
    for (_, width, variant), r in sorted(cells.items()):
        lines.append(
            f"| {width} | {variant} | {' | '.join(f'{_share(r, o):.3f}' for o in OUTCOMES)} |"
        )
    replicates = sorted({r.replicates for r in cells.values()})
    depths = sorted({depth for depth, _, _ in cells})
    lines.append(
        f"\n(depth {', '.join(map(str, depths))}; {', '.join(map(str, replicates))} replicates "
        f"per cell, from `{FIXES_TABLE}`.)"
    )
    return "\n".join(lines)


SHALLOW = (1, 2, 3, 5)
NEVER_DIE = ("sigmoid", "sigmoid_glorot", "tanh", "leaky_relu", "relu_res")
DYING = ("born_dead", "died_in_training", "diverged")


def _check_claims(atlas: dict, fixes: dict, rates: dict) -> None:
    """The claims' words (more, exactly, never) against the tables; a table that no longer
    shows one stops the command, naming it."""
    uniform = [atlas[d, 2, "relu"] for d in SHALLOW]
    he = [atlas[d, 2, "relu_he"] for d in SHALLOW]
    rai = fixes[10, 2, "relu_rai"]
    holds = {
        "uniform ReLU dies in training more than He at depths 1, 2, 3, 5": all(
            _share(u, "died_in_training") > _share(h, "died_in_training")
            for u, h in zip(uniform, he, strict=True)
        ),
        "uniform ReLU's collapses at depths 1, 2, 3, 5 are its dead nets": all(
            round(rates[d, "relu"].collapse_rate * c.replicates) == sum(c.counts[o] for o in DYING)
            for d, c in zip(SHALLOW, uniform, strict=True)
        ),
        "RAI's collapses at depth 10 are its born-dead and died-in-training replicates": (
            _share(rai, "died_in_training") > 0 and _share(rai, "stalled", "diverged") == 0
        ),
        f"{', '.join(NEVER_DIE)} never die": all(
            _share(cell, *DYING) == 0 for (_, _, v), cell in atlas.items() if v in NEVER_DIE
        ),
        "SELU's deaths are died-in-training only": all(
            _share(c, *DYING) == _share(c, "died_in_training")
            for (_, _, v), c in atlas.items()
            if v == "selu"
        ),
    }
    broken = [claim for claim, true in holds.items() if not true]
    if broken:
        raise DataError(f"the outcome tables no longer show: {'; '.join(broken)}")


def claims(root: Path, atlas_rates: list) -> str:
    """What the outcomes say, as sentences, every number read from the tables; ``atlas_rates``
    is the atlas's rate table (``sweep.read_table``) of the same experiments."""
    atlas, fixes = _cells(root, ATLAS_TABLE), _cells(root, FIXES_TABLE)
    _check_claims(atlas, fixes, {(r.depth, r.variant): r for r in atlas_rates if r.width == 2})

    def listed(variant: str, outcome: str) -> str:
        return ", ".join(f"{_share(atlas[d, 2, variant], outcome):.2f}" for d in SHALLOW)

    rai, rai_3 = fixes[10, 2, "relu_rai"], fixes[10, 3, "relu_rai"]
    replicates = {c.replicates for c in atlas.values()}
    selu = sorted((d, c) for (d, _, v), c in atlas.items() if v == "selu")
    selu_dead = [(d, c.counts["died_in_training"]) for d, c in selu if _share(c, *DYING) > 0]
    return "\n".join(
        [
            f"- ReLU with the write-up's uniform initialiser also dies during training: at "
            f"depths {', '.join(map(str, SHALLOW))}, {listed('relu', 'died_in_training')} of "
            "its replicates start alive and are dead (a layer blocked) after the last epoch, "
            f"against {listed('relu_he', 'died_in_training')} with He initialisation; born dead "
            f"{listed('relu', 'born_dead')} (uniform) and {listed('relu_he', 'born_dead')} (He). "
            "Its collapses there are exactly its born-dead and died-in-training nets: dying in "
            "training is why the uniform initialiser collapses more often than the born-dead "
            "theory predicts.",
            f"- At depth 10 (width 2, {rai.replicates} replicates) RAI's collapses are nets "
            f"born dead ({_share(rai, 'born_dead'):.3f}) and nets that died in training "
            f"({_share(rai, 'died_in_training'):.3f}); none stalled alive. At width 3: "
            f"{_share(rai_3, 'born_dead'):.3f} and {_share(rai_3, 'died_in_training'):.3f}.",
            "- Sigmoid (both scales), tanh, leaky ReLU and residual ReLU nets never die, at any "
            "depth of the atlas: every failure of theirs is a net still passing gradient "
            "through every layer that did not learn (stalled). SELU nets die in training in "
            f"{len(selu_dead)} cells, at most {max((n for _, n in selu_dead), default=0)} of "
            f"{selu[0][1].replicates} replicates (depths "
            f"{', '.join(str(d) for d, _ in selu_dead)}); their other failures stall.",
            f"\n(From `{ATLAS_TABLE}` ({', '.join(map(str, sorted(replicates)))} replicates per "
            f"cell) and `{FIXES_TABLE}`, written by "
            "`tools/sweep.py report` from the sweeps' own records.)",
        ]
    )


INPUT_LAYER_TABLE = "plots/input_layer/input_layer_outcomes.csv"
RATES_OF = {INPUT_LAYER_TABLE: "plots/input_layer/input_layer.csv"}  # the same sweep's rates
# The registered prediction (docs/fixes.md, committed before the sweep ran): without the input
# layer, RAI's collapse is within this of its born-dead rate, and so is its death in training.
PREDICTED_GAP = 0.05


def input_layer_verdict(root: Path) -> str:
    """The registered RAI hypothesis against its sweep: each prediction held or not, with the
    numbers, every one read from the sweep's outcome table."""
    from .sweep import clopper_pearson
    from .sweep import read_table as read_rates

    cells = {r.variant: r for r in read_table(root / INPUT_LAYER_TABLE)}
    rates = {r.variant: r for r in read_rates(root / RATES_OF[INPUT_LAYER_TABLE])}
    rai, direct = cells["relu_rai"], cells["relu_rai_direct"]
    he, he_direct = cells["relu_he"], cells["relu_he_direct"]
    collapse = rates["relu_rai_direct"].collapse_rate
    born_dead, died = _share(direct, "born_dead"), _share(direct, "died_in_training")
    high = clopper_pearson(born_dead, direct.replicates)[1]
    held = {True: "held", False: "did not hold"}
    first = collapse <= max(high, born_dead + PREDICTED_GAP)
    second = died <= PREDICTED_GAP
    if first or second:  # docs/fixes.md's reading of the result assumes both failed
        raise DataError(f"{INPUT_LAYER_TABLE} no longer shows: both predictions failed")
    # Without the input layer the first hidden layer sees x itself: (0, 0), where a zero-bias
    # unit passes nothing, and three points in the positive quadrant, where it is dead only if
    # both its weights are negative (1/4): the layer dies with 1/16 instead of 1/4.
    depth, width = he_direct.depth, he_direct.width
    first_layer = (1 - 2.0**-width) ** (depth - 1) * (1 - 4.0**-width)
    he_interval = clopper_pearson(_share(he_direct, "born_dead"), he_direct.replicates)
    return "\n".join(
        [
            "**Result: refuted** (both predictions failed).",
            "",
            f"- Prediction 1 {held[first]}: without the input layer RAI collapses in "
            f"{collapse:.3f}, born dead {born_dead:.3f} (95% interval up to {high:.3f}; the "
            f"prediction allowed up to {max(high, born_dead + PREDICTED_GAP):.3f}).",
            f"- Prediction 2 {held[second]}: {died:.3f} die in training (allowed "
            f"{PREDICTED_GAP:.2f}; {_share(rai, 'died_in_training'):.3f} with the input layer).",
            f"- What the identity input layer did change: born dead "
            f"{_share(rai, 'born_dead'):.3f} to {born_dead:.3f}, died in training "
            f"{_share(rai, 'died_in_training'):.3f} to {died:.3f}, success "
            f"{_share(rai, 'success'):.3f} to {_share(direct, 'success'):.3f}.",
            f"- The He control: born dead {_share(he, 'born_dead'):.3f} with the input layer, "
            f"{_share(he_direct, 'born_dead'):.3f} (95% interval {he_interval[0]:.3f}-"
            f"{he_interval[1]:.3f}) without it, where a first hidden layer that sees x itself "
            f"dies with probability 1/{4**width} instead of 1/{2**width}: "
            f"1 - (1 - 2^-{width})^{depth - 1} (1 - 4^-{width}) = {1 - first_layer:.3f}.",
            f"\n(Width {width}, depth {depth}, {direct.replicates} replicates per variant, from "
            f"`{INPUT_LAYER_TABLE}` and `{RATES_OF[INPUT_LAYER_TABLE]}`.)",
        ]
    )
