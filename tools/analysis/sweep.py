"""Depth sweeps and the atlas: success and collapse against depth, with the theory.

Reads the experiments DVC knows (``dvc exp show --json``) and keeps, for each depth and
width, the newest finished experiment. For each variant it gives success, collapse and
born-dead rates with 95% Clopper-Pearson intervals, and, where the born-dead theory applies
(ReLU with zero biases and no skip connections), the probability that a width-w, depth-L net
is born dead, 1 - (1 - 2^-w)^L, with the range of rates the theory predicts for that many
replicates (the central 95% of Binomial(replicates, p) / replicates).
``tools/sweep_report.py`` writes the table and figure. No TensorFlow here.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from or_gate.architecture import Initializer
from or_gate.figures import variant_colours
from or_gate.runtime import DataError

from analysis.theory import born_dead_probability, born_dead_theory_applies

CONFIDENCE = 0.95
BOUNDS = {"maxval", "minval"}  # a uniform initializer's arguments
TABLE_COLUMNS = (
    "depth",
    "width",
    "variant",
    "activation",
    "initializer",
    "residual",
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
    width: int
    variant: str
    activation: str
    initializer: str
    residual: bool
    replicates: int
    success_rate: float
    collapse_rate: float
    born_dead_rate: float


def write_table(results: list[VariantResult], path: Path) -> None:
    """``depth_sweep.csv``: one row per depth and variant."""
    from or_gate.files.tables import write_csv

    rows = sorted(results, key=lambda r: (r.depth, r.width, r.variant))
    write_csv(path, TABLE_COLUMNS, ([getattr(r, c) for c in TABLE_COLUMNS] for r in rows))


def read_table(path: Path) -> list[VariantResult]:
    from or_gate.files.tables import read_csv

    table = read_csv(path, TABLE_COLUMNS)
    return [VariantResult(timestamp="", **row) for row in table.to_dict("records")]


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
        width = int((params.get("model") or {}).get("width", 2))
        for variant, spec in (params.get("variants") or {}).items():
            values = (metrics.get(f"metrics/{variant}.json") or {}).get("data")
            if not values:
                continue
            results.append(
                VariantResult(
                    experiment=name,
                    timestamp=data.get("timestamp") or "",
                    depth=int(params["depth"]),
                    width=width,
                    variant=variant,
                    activation=spec.get("activation", ""),
                    initializer=str(Initializer.of(spec.get("initializer", ""))),
                    residual=bool(spec.get("residual", False)),
                    replicates=int(values["replicates"]),
                    success_rate=float(values["success_rate"]),
                    collapse_rate=float(values["collapse_rate"]),
                    born_dead_rate=float(values["born_dead_rate"]),
                )
            )
    return results


def newest_per_depth(results: list[VariantResult]) -> list[VariantResult]:
    """For each depth, width and variant, the result of the newest experiment run there."""
    newest: dict[tuple, VariantResult] = {}
    for result in results:
        cell = (result.depth, result.width, result.variant)
        if cell not in newest or result.timestamp >= newest[cell].timestamp:
            newest[cell] = result
    return list(newest.values())


def uniform_scale(result: VariantResult) -> float | None:
    """s, for a sigmoid variant whose hidden weights are uniform on [-s, s], else None."""
    if result.activation != "sigmoid" or result.residual:
        return None
    spec = Initializer.parse(result.initializer)
    bounds = dict(spec.arguments)
    if spec.name not in ("uniform", "random_uniform") or set(bounds) not in (set(), BOUNDS):
        return None
    maxval, minval = bounds.get("maxval", 0.05), bounds.get("minval", -0.05)  # Keras' defaults
    return maxval if maxval == -minval > 0 else None


def theory_applies(result: VariantResult) -> bool:
    return born_dead_theory_applies(result.activation, result.initializer, result.residual)


def clopper_pearson(rate: float, trials: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    interval = binomtest(round(rate * trials), trials).proportion_ci(CONFIDENCE, method="exact")
    return interval.low, interval.high


def theory_range(depth: int, trials: int, width: int = 2) -> tuple[float, float]:
    """The central 95% of the rates Binomial(trials, 1 - (1 - 2^-width)^depth) gives."""
    from scipy.stats import binom

    p = born_dead_probability(depth, width)
    tail = (1 - CONFIDENCE) / 2
    return binom.ppf(tail, trials, p) / trials, binom.ppf(1 - tail, trials, p) / trials


def theory_table(results: list[VariantResult]) -> str:
    lines = [
        "| experiment | variant | depth | width | replicates | born_dead_rate (95% CI) "
        "| collapse_rate (95% CI) | theory 1-(1-2^-width)^depth | theory's 95% range |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r.depth, r.width, r.variant)):
        if r.activation != "relu":
            continue
        dead_ci = clopper_pearson(r.born_dead_rate, r.replicates)
        collapse_ci = clopper_pearson(r.collapse_rate, r.replicates)
        if theory_applies(r):
            low, high = theory_range(r.depth, r.replicates, r.width)
            theory = f"{born_dead_probability(r.depth, r.width):.3f} | {low:.3f}-{high:.3f}"
        else:
            theory = "does not apply | "
        lines.append(
            f"| {r.experiment} | {r.variant} ({r.initializer}{', residual' * r.residual}) "
            f"| {r.depth} | {r.width} | {r.replicates} "
            f"| {r.born_dead_rate:.3f} ({dead_ci[0]:.3f}-{dead_ci[1]:.3f}) "
            f"| {r.collapse_rate:.3f} ({collapse_ci[0]:.3f}-{collapse_ci[1]:.3f}) | {theory} |"
        )
    return "\n".join(lines)


def _label(result: VariantResult, widths: set[int]) -> str:
    return result.variant if len(widths) == 1 else f"{result.variant}, width {result.width}"


def _draw_sigmoid_predictions(panel, results, lines, colours) -> None:
    """A dotted vertical line at the predicted critical depth of each uniform sigmoid variant
    (``tools/analysis/theory.py``), in the variant's colour."""
    from analysis.theory import sigmoid_critical_depth

    for variant, width in lines:
        first = next(r for r in results if (r.variant, r.width) == (variant, width))
        scale = uniform_scale(first)
        if scale is None:
            continue
        colour = colours[variant, width]
        depth = sigmoid_critical_depth(scale, width)
        panel.axvline(depth, color=colour, linestyle=":", linewidth=1.2)
        panel.text(
            depth,
            0.5,
            f" {variant}: theory L* = {depth:.1f}",
            color=colour,
            rotation=90,
            fontsize="x-small",
            va="center",
            ha="right",
        )


def _line_colours(lines: list[tuple[str, int]], widths: set[int]) -> dict:
    """One colour per variant, or per variant and width where the figure has several widths."""
    names = {(v, w): f"{v}@{w}" if len(widths) > 1 else v for v, w in lines}
    by_name = variant_colours(names.values())
    return {line: by_name[name] for line, name in names.items()}


def draw_depth_sweep(results: list[VariantResult], path: Path) -> None:
    """Success and collapse rate against depth, one line per variant (and width), 95% bands,
    and the born-dead theory for every width where it applies."""
    from or_gate.figures import new_figure, save_figure

    import numpy as np

    widths = {r.width for r in results}
    lines = sorted({(r.variant, r.width) for r in results})
    colours = _line_colours(lines, widths)
    many = len(lines) > 4
    figure, panels = new_figure(1, 2, figsize=(13 if many else 11, 4.6), sharey=True)
    depths = np.arange(1, max(r.depth for r in results) + 1)
    for panel, column in zip(panels, ("success_rate", "collapse_rate"), strict=True):
        for variant, width in lines:
            rows = sorted(
                (r for r in results if (r.variant, r.width) == (variant, width)),
                key=lambda r: r.depth,
            )
            colour = colours[variant, width]
            xs = [r.depth for r in rows]
            rates = np.array([getattr(r, column) for r in rows])
            intervals = np.array([clopper_pearson(getattr(r, column), r.replicates) for r in rows])
            panel.plot(
                xs, rates, marker="o", markersize=3, color=colour, label=_label(rows[0], widths)
            )
            panel.fill_between(xs, intervals[:, 0], intervals[:, 1], color=colour, alpha=0.12)
            if column == "collapse_rate" and rows[0].activation == "relu":
                panel.plot(
                    xs,
                    [r.born_dead_rate for r in rows],
                    "x",
                    markersize=4,
                    color=colour,
                    label=f"{_label(rows[0], widths)}: born dead",
                )
        if column == "success_rate":
            _draw_sigmoid_predictions(panel, results, lines, colours)
        if column == "collapse_rate":
            for width in sorted({r.width for r in results if theory_applies(r)}):
                panel.plot(
                    depths,
                    born_dead_probability(depths, width),
                    "k--",
                    linewidth=1,
                    label=f"born dead, theory: 1 - (1 - 2^-{width})^depth",
                )
        panel.set(
            title=column.replace("_", " "), xlabel="depth (hidden layers)", ylim=(-0.05, 1.05)
        )
        panel.set_xticks(depths if len(depths) <= 15 else depths[depths % 5 == 0])
    panels[0].set_ylabel("share of replicates (bands: 95% intervals)")
    if many:
        panels[1].legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        figure.subplots_adjust(left=0.06, right=0.78, bottom=0.12, top=0.9, wspace=0.06)
    else:
        panels[1].legend(fontsize="small", loc="center right")
        figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.06)
    save_figure(figure, path)
