"""The depth sweep: success and collapse against depth, with the born-dead theory.

Reads the experiments DVC knows (``dvc exp show --json``) and keeps, for each depth, the
newest finished experiment at that depth. For each variant it gives success, collapse and
born-dead rates with 95% Clopper-Pearson intervals, and, for ReLU variants, the born-dead
probability of a width-2 ReLU net, 1 - (3/4)^depth, with the range of rates the theory
predicts for that many replicates (the central 95% of Binomial(replicates, p) / replicates).
``tools/sweep_report.py`` writes the table and figure. No TensorFlow here.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from or_gate.colours import variant_colours
from or_gate.errors import DataError

CONFIDENCE = 0.95
TABLE_COLUMNS = (
    "depth",
    "variant",
    "activation",
    "initializer",
    "replicates",
    "success_rate",
    "collapse_rate",
    "born_dead_rate",
    "experiment",
)


@dataclass(frozen=True)
class VariantResult:
    experiment: str
    timestamp: str
    depth: int
    variant: str
    activation: str
    initializer: str
    replicates: int
    success_rate: float
    collapse_rate: float
    born_dead_rate: float


def write_table(results: list[VariantResult], path: Path) -> None:
    """``depth_sweep.csv``: one row per depth and variant."""
    from or_gate.tables import write_csv

    rows = sorted(results, key=lambda r: (r.depth, r.variant))
    write_csv(path, TABLE_COLUMNS, ([getattr(r, c) for c in TABLE_COLUMNS] for r in rows))


def read_table(path: Path) -> list[VariantResult]:
    from or_gate.tables import read_csv

    table = read_csv(path, TABLE_COLUMNS)
    return [VariantResult(timestamp="", **row) for row in table.to_dict("records")]


def born_dead_probability(depth: int) -> float:
    """A zero-bias width-2 ReLU layer is all dead with probability 1/4 (both units negative
    on every input), so some layer of ``depth`` is with probability 1 - (3/4)**depth."""
    return 1 - 0.75**depth


def load_experiments(source: Path | None) -> list:
    if source is not None:
        try:
            return json.loads(source.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise DataError(
                f"{source}: cannot read `dvc exp show --json` output ({error})"
            ) from None
    result = subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise DataError(f"`dvc exp show --json` failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout)


def _revisions(document: list):
    """Every experiment revision in `dvc exp show --json` output, with its name."""
    for baseline in document:
        for experiment in baseline.get("experiments") or []:
            name = experiment.get("name")
            for revision in experiment.get("revs") or []:
                yield revision.get("name") or name or revision.get("rev"), revision


def variant_results(document: list) -> list[VariantResult]:
    results = []
    for name, revision in _revisions(document):
        data = revision.get("data") or {}
        params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
        metrics = data.get("metrics") or {}
        if "depth" not in params or not metrics:
            continue  # a failed or still-running experiment
        for variant, spec in (params.get("variants") or {}).items():
            values = (metrics.get(f"metrics/{variant}.json") or {}).get("data")
            if not values:
                continue
            results.append(
                VariantResult(
                    experiment=name,
                    timestamp=data.get("timestamp") or "",
                    depth=int(params["depth"]),
                    variant=variant,
                    activation=spec.get("activation", ""),
                    initializer=spec.get("initializer", ""),
                    replicates=int(values["replicates"]),
                    success_rate=float(values["success_rate"]),
                    collapse_rate=float(values["collapse_rate"]),
                    born_dead_rate=float(values["born_dead_rate"]),
                )
            )
    return results


def newest_per_depth(results: list[VariantResult]) -> list[VariantResult]:
    newest: dict[int, str] = {}
    stamps: dict[int, str] = {}
    for result in results:
        if result.timestamp >= stamps.get(result.depth, ""):
            newest[result.depth], stamps[result.depth] = result.experiment, result.timestamp
    return [r for r in results if newest[r.depth] == r.experiment]


def clopper_pearson(rate: float, trials: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    interval = binomtest(round(rate * trials), trials).proportion_ci(CONFIDENCE, method="exact")
    return interval.low, interval.high


def theory_range(depth: int, trials: int) -> tuple[float, float]:
    """The central 95% of the rates Binomial(trials, 1 - (3/4)^depth) gives."""
    from scipy.stats import binom

    p = born_dead_probability(depth)
    tail = (1 - CONFIDENCE) / 2
    return binom.ppf(tail, trials, p) / trials, binom.ppf(1 - tail, trials, p) / trials


def theory_table(results: list[VariantResult]) -> str:
    lines = [
        "| experiment | variant | depth | replicates | born_dead_rate (95% CI) "
        "| collapse_rate (95% CI) | theory 1-(3/4)^depth | theory's 95% range |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r.depth, r.variant)):
        if r.activation != "relu":
            continue
        low, high = theory_range(r.depth, r.replicates)
        dead_ci = clopper_pearson(r.born_dead_rate, r.replicates)
        collapse_ci = clopper_pearson(r.collapse_rate, r.replicates)
        lines.append(
            f"| {r.experiment} | {r.variant} ({r.initializer}) | {r.depth} | {r.replicates} "
            f"| {r.born_dead_rate:.3f} ({dead_ci[0]:.3f}-{dead_ci[1]:.3f}) "
            f"| {r.collapse_rate:.3f} ({collapse_ci[0]:.3f}-{collapse_ci[1]:.3f}) "
            f"| {born_dead_probability(r.depth):.3f} | {low:.3f}-{high:.3f} |"
        )
    return "\n".join(lines)


def draw_depth_sweep(results: list[VariantResult], path: Path) -> None:
    """Success and collapse rate against depth, one line per variant (``or_gate/sweep.py``)."""
    from or_gate.figures import new_figure, save_figure

    import numpy as np

    variants = sorted({r.variant for r in results})
    colours = variant_colours(variants)
    figure, panels = new_figure(1, 2, figsize=(11, 4.2), sharey=True)
    for panel, column in zip(panels, ("success_rate", "collapse_rate"), strict=True):
        for variant in variants:
            rows = sorted((r for r in results if r.variant == variant), key=lambda r: r.depth)
            depths = [r.depth for r in rows]
            rates = np.array([getattr(r, column) for r in rows])
            intervals = np.array([clopper_pearson(getattr(r, column), r.replicates) for r in rows])
            panel.plot(depths, rates, marker="o", color=colours[variant], label=variant)
            panel.fill_between(
                depths, intervals[:, 0], intervals[:, 1], color=colours[variant], alpha=0.12
            )
            if column == "collapse_rate" and rows[0].activation == "relu":
                born_dead = [r.born_dead_rate for r in rows]
                panel.plot(
                    depths, born_dead, "x:", color=colours[variant], label=f"{variant}: born dead"
                )
        depths = np.arange(1, max(r.depth for r in results) + 1)
        if column == "collapse_rate":
            panel.plot(
                depths,
                born_dead_probability(depths),
                "k--",
                label="born dead, theory: 1 - (3/4)^depth",
            )
        panel.set(
            title=column.replace("_", " "), xlabel="depth (hidden layers)", ylim=(-0.05, 1.05)
        )
        panel.set_xticks(depths)
        panel.legend(fontsize="small", loc="center right")
    panels[0].set_ylabel("share of replicates (bands: 95% intervals)")
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.06)
    save_figure(figure, path)
