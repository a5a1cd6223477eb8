"""Depth-sweep report: success and collapse against depth, with the born-dead theory.

Reads the experiments DVC knows (``dvc exp show --json``, or a file saved from it) and, for
each depth, the newest experiment at that depth (or only the ones named with
``--experiments``). Writes into ``--out-dir``:

* ``depth_sweep.csv``: depth, variant, replicates and the variant's success, collapse and
  born-dead rates;
* ``depth_sweep.png``: success rate and collapse rate against depth, one line per variant,
  95% Clopper-Pearson intervals, and the born-dead probability of a width-2 ReLU net,
  1 - (3/4)^depth, drawn over them.

and prints, for every ReLU variant, the measured born-dead and collapse rates beside the
theory and the range of rates the theory predicts for that many replicates (the central 95% of
Binomial(replicates, 1 - (3/4)^depth) / replicates). No TensorFlow here.

    dvc exp run --queue -S 'depth=range(1,13)' && dvc queue start -j 2
    # ... when `dvc queue status` shows every experiment done:
    python -m stages.sweep_report --out-dir plots/sweep
"""

from __future__ import annotations

import argparse
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stages.errors import DataError, run
from stages.tables import write_csv

CONFIDENCE = 0.95


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


def draw(results: list[VariantResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    variants = sorted({r.variant for r in results})
    figure, panels = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for panel, column in zip(panels, ("success_rate", "collapse_rate"), strict=True):
        for index, variant in enumerate(variants):
            rows = sorted((r for r in results if r.variant == variant), key=lambda r: r.depth)
            depths = [r.depth for r in rows]
            rates = np.array([getattr(r, column) for r in rows])
            intervals = np.array([clopper_pearson(getattr(r, column), r.replicates) for r in rows])
            panel.plot(depths, rates, marker="o", color=f"C{index}", label=variant)
            panel.fill_between(
                depths, intervals[:, 0], intervals[:, 1], color=f"C{index}", alpha=0.12
            )
            if column == "collapse_rate" and rows[0].activation == "relu":
                born_dead = [r.born_dead_rate for r in rows]
                panel.plot(
                    depths, born_dead, "x:", color=f"C{index}", label=f"{variant}: born dead"
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
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.sweep_report", description=__doc__)
    parser.add_argument("--exp-json", type=Path, help="saved `dvc exp show --json` output")
    parser.add_argument("--experiments", nargs="+", help="only these experiments (names)")
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    results = variant_results(load_experiments(args.exp_json))
    if args.experiments:
        unknown = set(args.experiments) - {r.experiment for r in results}
        if unknown:
            raise DataError(f"no finished experiment named {', '.join(sorted(unknown))}")
        results = [r for r in results if r.experiment in args.experiments]
    results = newest_per_depth(results)
    if not results:
        raise DataError("no finished experiments with metrics; run a sweep first (see --help)")

    write_csv(
        args.out_dir / "depth_sweep.csv",
        (
            "depth",
            "variant",
            "activation",
            "initializer",
            "replicates",
            "success_rate",
            "collapse_rate",
            "born_dead_rate",
            "experiment",
        ),
        (
            (
                r.depth,
                r.variant,
                r.activation,
                r.initializer,
                r.replicates,
                r.success_rate,
                r.collapse_rate,
                r.born_dead_rate,
                r.experiment,
            )
            for r in sorted(results, key=lambda r: (r.depth, r.variant))
        ),
    )
    draw(results, args.out_dir / "depth_sweep.png")
    depths = sorted({r.depth for r in results})
    print(
        f"sweep_report: {len(depths)} depths ({depths[0]}-{depths[-1]}), "
        f"{len({r.variant for r in results})} variants -> {args.out_dir}"
    )
    print(theory_table(results))


if __name__ == "__main__":
    run(main)
