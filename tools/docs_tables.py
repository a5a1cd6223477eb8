"""Fill the generated tables in the docs from the results files, so no number is typed by hand.

A generated block in a Markdown file looks like::

    <!-- table: metrics -->
    ...rewritten by this command...
    <!-- end table -->

and is rendered from its source:

* ``metrics``: the committed ``data/evaluation/<variant>/summary.json`` of every variant with a
  ``metrics/<variant>.json`` (the default run);
* ``sweep``: ``plots/sweep/depth_sweep.csv`` (written by ``tools/sweep_report.py``);
* ``atlas``, ``atlas_depth_10``, ``atlas_claims`` (the headline claims as sentences):
  ``plots/atlas/atlas.csv`` (the same report, ``--name atlas``);
* ``fixes``, ``fixes_claims``: ``plots/fixes/fixes.csv`` (the fixes at depth 10, widths 2 and 3);
* ``outcomes``, ``outcomes_claims``: ``plots/fixes/fixes_outcomes.csv`` and
  ``plots/atlas/atlas_outcomes.csv`` (how every replicate ended, ``tools/outcome_report.py``);
* ``input_layer_verdict``: ``plots/input_layer/input_layer_outcomes.csv`` against the
  prediction registered in docs/fixes.md;
* ``sigmoid_gate``: ``plots/sigmoid_gate/gradient_profile.csv`` and the registered
  ``docs/registered/sigmoid_critical_depth.csv``; ``sigmoid_grid``: the grid's results
  against them, ``plots/sigmoid_grid/sigmoid_grid.csv`` (``tools/sigmoid_gate.py compare``);
  ``sigmoid_wall``: the revised model fitted to that grid and its registered predictions,
  ``docs/registered/sigmoid_wall.csv`` (``tools/sigmoid_gate.py revise``);
  ``sigmoid_wall_results``: the second grid against them, ``plots/sigmoid_wall/sigmoid_wall.csv``
  (``tools/sigmoid_gate.py compare --model wall``); ``sigmoid_regimes``: the model revised
  again, fitted to both grids, and its registered predictions,
  ``docs/registered/sigmoid_regimes.csv`` (``tools/sigmoid_gate.py revise --model regimes``);
  ``sigmoid_regimes_results``: the third grid against them,
  ``plots/sigmoid_regimes/sigmoid_regimes.csv`` (``tools/sigmoid_gate.py compare --model
  regimes``); ``sigmoid_slopes``: the model revised a third time, fitted to the three grids,
  and its registered predictions, ``docs/registered/sigmoid_slopes.csv``
  (``tools/sigmoid_gate.py revise --model slopes``); ``sigmoid_slopes_results``: the fourth
  grid against them, ``plots/sigmoid_slopes/sigmoid_slopes.csv`` (``tools/sigmoid_gate.py
  compare --model slopes``); ``sigmoid_budget``: the fourth revision (its budget a power law),
  fitted to the four grids, why its budget took that form, and its registered predictions,
  ``docs/registered/sigmoid_budget.csv`` (``tools/sigmoid_gate.py revise --model budget``);
  ``sigmoid_budget_results``: the fifth grid against them,
  ``plots/sigmoid_budget/sigmoid_budget.csv`` (``tools/sigmoid_gate.py compare --model
  budget``);
  ``sigmoid_timeline``: the model's constants measured at every epoch,
  ``plots/sigmoid_gate/timeline.csv`` (``tools/sigmoid_gate.py timeline``);
* ``sign_flip``, ``sign_flip_claims``, ``sign_flip_headline`` (README):
  ``plots/sign_flip/sign_flip.csv`` and its outcomes,
  beside the atlas's tables;
* ``literature``: ``plots/literature/literature.csv`` (``tools/literature_report.py``: Lu et
  al.'s numbers from ``data/literature/lu_et_al.csv``, with their sources, beside
  ``plots/lu_abs/lu_abs.csv`` and ``plots/widths/widths.csv``); ``widths_claims``: the widths
  sweep's tables; ``lu_abs_claims``, ``lu_abs_born_dead`` and ``lu_abs_sensitivity``: the |x|
  regression's sweeps (``plots/lu_abs*/``, ``tools/analysis/lu_regression.py``), the second
  beside the born-dead theory for a line (``tools/analysis/theory.py``);
* ``sigmoid_scales``: ``plots/sigmoid_scales/sigmoid_scales.csv``, beside the prediction of
  ``tools/analysis/theory.py``;
* ``benchmark``: ``benchmarks/results.json`` (written by ``benchmarks/bench.py``);
* ``sweep_engines``: its ``sweep_engines`` entry (``benchmarks/sweep_engines.py``).

    python tools/docs_tables.py            # rewrite README.md and docs/*.md in place
    python tools/docs_tables.py --check    # exit 1 if any block is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

from or_gate.files.tables import read_csv, read_json
from or_gate.runtime import DataError, run

BLOCK = re.compile(r"(<!-- table: (\w+) -->\n)(.*?)(<!-- end table -->)", re.S)


def metrics_table(root: Path) -> str:
    lines = [
        "| variant | test accuracy (min) | success rate | collapse rate | born dead | diverged | "
        "log10 gradient ratio at init | replicates |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted((root / "metrics").glob("*.json")):  # a variant's every number
        m = read_json(root / "data/evaluation" / path.stem / "summary.json")
        lines.append(
            f"| {path.stem} | {m['test']['accuracy']:.3f} ({m['test']['accuracy_min']:.3f}) "
            f"| {m['success_rate']:.2f} | {m['collapse_rate']:.2f} | {m['born_dead_rate']:.2f} "
            f"| {m['diverged_rate']:.2f} | {m['gradients']['log10_ratio_at_init']:.1f} "
            f"| {m['replicates']} |"
        )
    return "\n".join(lines)


def sweep_table(root: Path) -> str:
    sweep = read_csv(root / "plots/sweep/depth_sweep.csv")
    variants = sorted(sweep["variant"].unique())
    header = " | ".join(f"{v}: success / collapse / born dead" for v in variants)
    lines = [f"| depth | {header} |", "|---" * (len(variants) + 1) + "|"]
    for depth, rows in sweep.groupby("depth"):
        cells = []
        for variant in variants:
            row = rows[rows["variant"] == variant].iloc[0]
            cells.append(
                f"{row['success_rate']:.2f} / {row['collapse_rate']:.2f} / "
                f"{row['born_dead_rate']:.2f}"
            )
        lines.append(f"| {depth} | {' | '.join(cells)} |")
    replicates = sorted(sweep["replicates"].unique())
    lines.append(f"\n({', '.join(map(str, replicates))} replicates per variant and depth.)")
    return "\n".join(lines)


ATLAS_DEPTHS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30)


def _atlas(root: Path):
    from analysis import sweep

    return sweep.read_table(root / "plots/atlas/atlas.csv")


def _label(result) -> str:
    return f"{result.variant} ({result.activation}, {result.initializer}" + (
        ", residual)" if result.residual else ")"
    )


def atlas_table(root: Path) -> str:
    results = _atlas(root)
    variants = sorted({r.variant for r in results})
    cells = {(r.depth, r.variant): r for r in results}
    lines = [f"| depth | {' | '.join(variants)} |", "|---" * (len(variants) + 1) + "|"]
    for depth in ATLAS_DEPTHS:
        if not any((depth, v) in cells for v in variants):
            continue
        row = [
            f"{cells[depth, v].success_rate:.2f} / {cells[depth, v].collapse_rate:.2f}"
            if (depth, v) in cells
            else ""
            for v in variants
        ]
        lines.append(f"| {depth} | {' | '.join(row)} |")
    replicates = sorted({r.replicates for r in results})
    lines.append(
        f"\n(success / collapse; {', '.join(map(str, replicates))} replicates per cell; every "
        "depth from 1 to the deepest is in the table file.)"
    )
    return "\n".join(lines)


def atlas_depth_10_table(root: Path) -> str:
    from analysis.sweep import clopper_pearson, theory_applies
    from analysis.theory import born_dead_probability

    lines = [
        "| variant | success (95% CI) | collapse (95% CI) | born dead | theory |",
        "|---|---|---|---|---|",
    ]
    for r in sorted((r for r in _atlas(root) if r.depth == 10), key=lambda r: r.variant):
        success = clopper_pearson(r.success_rate, r.replicates)
        collapse = clopper_pearson(r.collapse_rate, r.replicates)
        theory = f"{born_dead_probability(10, r.width):.3f}" if theory_applies(r) else ""
        lines.append(
            f"| {_label(r)} | {r.success_rate:.3f} ({success[0]:.3f}-{success[1]:.3f}) "
            f"| {r.collapse_rate:.3f} ({collapse[0]:.3f}-{collapse[1]:.3f}) "
            f"| {r.born_dead_rate:.3f} | {theory} |"
        )
    return "\n".join(lines)


def _first_failing_depth(cells: dict, variant: str) -> int | None:
    """The first depth at which the variant succeeds in fewer than half its replicates."""
    depths = sorted(d for d, v in cells if v == variant)
    return next((d for d in depths if cells[d, variant].success_rate < 0.5), None)


def _check_directions(cells: dict, shallow: tuple[int, ...]) -> None:
    """The claims' words state directions; a table that no longer shows them stops the
    command, naming the claim."""
    he, rai = cells[10, "relu_he"], cells[10, "relu_rai"]
    holds = {
        "He helps training at depths 1, 3, 5": all(
            cells[d, "relu_he"].success_rate > cells[d, "relu"].success_rate for d in (1, 3, 5)
        ),
        "uniform collapses more than He": all(
            cells[d, "relu"].collapse_rate > cells[d, "relu_he"].collapse_rate for d in shallow
        ),
        "RAI cuts born dead and raises success at depth 10": (
            rai.born_dead_rate < he.born_dead_rate and rai.success_rate > he.success_rate
        ),
    }
    broken = [claim for claim, true in holds.items() if not true]
    if broken:
        raise DataError(f"plots/atlas/atlas.csv no longer shows: {'; '.join(broken)}")


def atlas_claims(root: Path) -> str:
    """The atlas's headline claims as sentences, every number read from its table."""
    from analysis.theory import born_dead_probability

    cells = {(r.depth, r.variant): r for r in _atlas(root)}
    replicates = sorted({r.replicates for r in cells.values()})

    def rates(variant: str, what: str, depths) -> str:
        return ", ".join(f"{getattr(cells[d, variant], what):.2f}" for d in depths)

    def gap(variant: str, what: str) -> str:
        """The largest distance from the born-dead theory over depths 1 to 10."""
        worst = max(
            abs(getattr(cells[d, variant], what) - born_dead_probability(d)) for d in range(1, 11)
        )
        return f"{worst:.2f}"

    shallow = (1, 2, 3, 5)
    theory = ", ".join(f"{born_dead_probability(d):.2f}" for d in shallow)
    he, uniform, rai = (cells[10, v] for v in ("relu_he", "relu", "relu_rai"))
    sigmoid_fails = _first_failing_depth(cells, "sigmoid")
    _check_directions(cells, shallow)
    steady = [
        v
        for v in ("tanh", "selu", "leaky_relu")
        if all(cells[d, v].success_rate >= 0.95 for d in range(1, 16) if (d, v) in cells)
    ]
    return "\n".join(
        [
            f"- Sigmoid with the write-up's uniform initialisation succeeds in fewer than half "
            f"its replicates from depth {sigmoid_fails} on.",
            f"- ReLU with He initialisation collapses close to the born-dead theory "
            f"1 - (3/4)^depth (within {gap('relu_he', 'collapse_rate')} at depths 1 to 10); "
            f"with the write-up's uniform initialisation it collapses more often (up to "
            f"{gap('relu', 'collapse_rate')} above): at depths {', '.join(map(str, shallow))}, "
            f"collapse {rates('relu', 'collapse_rate', shallow)} (uniform) and "
            f"{rates('relu_he', 'collapse_rate', shallow)} (He) against the theory's {theory}.",
            f"- He initialisation leaves the born-dead rate where the theory puts it (within "
            f"{gap('relu_he', 'born_dead_rate')} at depths 1 to 10), but it helps training: "
            f"success at depths 1, 3, 5 is "
            f"{rates('relu_he', 'success_rate', (1, 3, 5))} with He against "
            f"{rates('relu', 'success_rate', (1, 3, 5))} with the uniform initialiser.",
            f"- At depth 10, Lu et al.'s RAI cuts the born-dead rate by "
            f"{1 - rai.born_dead_rate / he.born_dead_rate:.0%} ({he.born_dead_rate:.3f} with He "
            f"to {rai.born_dead_rate:.3f}) and raises success "
            f"{rai.success_rate / he.success_rate:.0f}-fold ({he.success_rate:.3f} to "
            f"{rai.success_rate:.3f}); the uniform initialiser's born-dead rate there is "
            f"{uniform.born_dead_rate:.3f}, its success {uniform.success_rate:.3f}.",
            f"- {', '.join(steady)} succeed in at least 95% of replicates at every depth to 15.",
            f"- Residual connections: {cells[10, 'relu_res'].success_rate:.2f} success at "
            f"depth 10, {cells[20, 'relu_res'].success_rate:.2f} at 20.",
            f"\n({', '.join(map(str, replicates))} replicates per cell, from "
            "`plots/atlas/atlas.csv`. Replicate k's network at depth L is the first L layers of "
            "its network at depth L + 1 (seed + k at every depth), so neighbouring depths are "
            "not independent samples: a run of equal rates over several depths can be one "
            "surviving network seen again. Each depth on its own is an honest sample.)",
        ]
    )


def _fixes(root: Path) -> dict:
    from analysis import sweep

    return {(r.width, r.variant): r for r in sweep.read_table(root / "plots/fixes/fixes.csv")}


def fixes_table(root: Path) -> str:
    """Every variant at depth 10, widths 2 and 3: the rates with their 95% intervals, and the
    born-dead theory with the central 95% of the rates it gives for that many replicates."""
    from analysis.sweep import clopper_pearson, theory_applies, theory_range
    from analysis.theory import born_dead_probability

    cells = _fixes(root)
    lines = [
        "| width | variant | born dead (95% CI) | theory, its 95% range | collapse (95% CI) "
        "| success |",
        "|---|---|---|---|---|---|",
    ]
    for (width, _), r in sorted(cells.items()):
        dead = clopper_pearson(r.born_dead_rate, r.replicates)
        collapse = clopper_pearson(r.collapse_rate, r.replicates)
        theory = ""
        if theory_applies(r):
            low, high = theory_range(r.depth, r.replicates, width)
            theory = f"{born_dead_probability(r.depth, width):.3f}, {low:.3f}-{high:.3f}"
        lines.append(
            f"| {width} | {_label(r)} | {r.born_dead_rate:.3f} ({dead[0]:.3f}-{dead[1]:.3f}) "
            f"| {theory} | {r.collapse_rate:.3f} ({collapse[0]:.3f}-{collapse[1]:.3f}) "
            f"| {r.success_rate:.3f} |"
        )
    depths = sorted({r.depth for r in cells.values()})
    replicates = sorted({r.replicates for r in cells.values()})
    lines.append(
        f"\n(depth {', '.join(map(str, depths))}; {', '.join(map(str, replicates))} replicates "
        "per cell, from `plots/fixes/fixes.csv`.)"
    )
    return "\n".join(lines)


def fixes_claims(root: Path) -> str:
    """What the fixes table says, as sentences, every number read from it."""
    from analysis.sweep import clopper_pearson
    from analysis.theory import born_dead_probability

    cells = _fixes(root)
    he, rai, res = (cells[2, v] for v in ("relu_he", "relu_rai", "relu_res"))
    he3, rai3 = cells[3, "relu_he"], cells[3, "relu_rai"]
    holds = {
        "RAI is born dead less often than He": rai.born_dead_rate < he.born_dead_rate,
        "RAI collapses more often than it is born dead": rai.collapse_rate > rai.born_dead_rate,
        "width 3 collapses less than width 2": he3.collapse_rate < he.collapse_rate,
    }
    broken = [claim for claim, true in holds.items() if not true]
    if broken:
        raise DataError(f"plots/fixes/fixes.csv no longer shows: {'; '.join(broken)}")
    res_high = clopper_pearson(res.collapse_rate, res.replicates)[1]
    he_low = clopper_pearson(he.collapse_rate, he.replicates)[0]
    return "\n".join(
        [
            f"- He initialisation is born dead in {he.born_dead_rate:.3f} at width 2 "
            f"(theory 1 - (3/4)^10 = {born_dead_probability(10, 2):.3f}) and "
            f"{he3.born_dead_rate:.3f} at width 3 (1 - (7/8)^10 = "
            f"{born_dead_probability(10, 3):.3f}); it collapses in {he.collapse_rate:.3f} and "
            f"{he3.collapse_rate:.3f}.",
            f"- RAI is born dead in {rai.born_dead_rate:.3f} against He's "
            f"{he.born_dead_rate:.3f}, but collapses in {rai.collapse_rate:.3f} (width 2) and "
            f"{rai3.collapse_rate:.3f} (width 3).",
            f"- Residual connections collapse in {res.collapse_rate:.3f} (95% interval up to "
            f"{res_high:.3f}), against He's {he.collapse_rate:.3f} (interval from "
            f"{he_low:.3f}).",
        ]
    )


def sigmoid_scales_table(root: Path) -> str:
    from analysis import sweep, theory

    results = sweep.read_table(root / "plots/sigmoid_scales/sigmoid_scales.csv")
    lines = [
        "| variant | scale s | predicted L* | predicted first depth with success < 1/2 "
        "| measured first depth with success < 1/2 | success rate there and one layer above "
        "| within one layer |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in sorted({r.variant for r in results}):
        rows = sorted((r for r in results if r.variant == variant), key=lambda r: r.depth)
        scale = sweep.uniform_scale(rows[0])
        critical = theory.sigmoid_critical_depth(scale, rows[0].width)
        predicted = theory.first_failing_depth(critical)
        failing = next((r for r in rows if r.success_rate < 0.5), None)
        if failing is None:
            measured, around, verdict = f"none up to {rows[-1].depth}", "", "no"
        else:
            above = next((r for r in rows if r.depth == failing.depth - 1), None)
            around = f"{failing.success_rate:.2f}" + (
                f", {above.success_rate:.2f} at {above.depth}" if above else ""
            )
            measured = str(failing.depth)
            verdict = "yes" if abs(failing.depth - predicted) <= 1 else "no"
        lines.append(
            f"| {variant} | {scale:g} | {critical:.2f} | {predicted} | {measured} | {around} "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def benchmark_table(root: Path) -> str:
    results = read_json(root / "benchmarks/results.json")
    machine = results["machine"]
    lines = [
        f"Measured {results['date']} on {machine.get('cpu', machine.get('processor', '?'))}, "
        f"{machine.get('cores', '?')} cores, Python {machine['python']}, TensorFlow "
        f"{machine['tensorflow']}, DVC {machine['dvc']}.",
        "",
        "| target | measured | limit | verdict |",
        "|---|---|---|---|",
    ]
    for target in results["targets"]:
        bound = ">=" if target["at_least"] else "<="
        lines.append(
            f"| {target['target']} | {float(target['value']):.2f} {target['unit']} "
            f"| {bound} {target['limit']:g} {target['unit']} | {target['verdict']} |"
        )
    return "\n".join(lines)


def sweep_engines_table(root: Path) -> str:
    found = read_json(root / "benchmarks/results.json")["sweep_engines"]
    cell = found["cell_seconds"]
    ratio, worst = found["dask_over_queue"], found["overhead_max"]
    return "\n".join(
        [
            f"Measured {found['date']}: {found['cells']} depths x {found['replicates']} "
            f"replicates, {found['workers']} cells at a time on each engine.",
            "",
            "| | measured | target | verdict |",
            "|---|---|---|---|",
            f"| Dask sweep (`tools/sweep.py run`, local cluster) | {found['dask_seconds']:.0f} s "
            "| | |",
            f"| `dvc exp run --queue` + `dvc queue start -j {found['workers']}` "
            f"| {found['queue_seconds']:.0f} s | | |",
            f"| Dask / queue | {ratio:.2f} x | <= 1.00 x | {'PASS' if ratio <= 1.0 else 'FAIL'} |",
            f"| a cell's clone + push over its run, median | "
            f"{100 * found['overhead_median']:.1f}% | < 10% | "
            f"{'PASS' if found['overhead_median'] < 0.1 else 'FAIL'} |",
            f"| the same, worst cell | {100 * worst:.1f}% | < 10% "
            f"| {'PASS' if worst < 0.1 else 'FAIL'} |",
            f"| a cell, mean seconds: clone, run, push | {cell['clone']:.1f}, {cell['run']:.1f}, "
            f"{cell['push']:.1f} | | |",
            f"| the sweep's report (nothing to pull locally) | {found['report_seconds']:.1f} s "
            "| | |",
        ]
    )


def outcomes_claims(root: Path) -> str:
    from analysis import outcomes

    return outcomes.claims(root, _atlas(root))


def _analysis(module: str, function: str):
    """A block rendered by ``tools/analysis/<module>.py``'s ``function(root)``, imported only
    when a page has that block."""

    def render_block(root: Path) -> str:
        return getattr(importlib.import_module(f"analysis.{module}"), function)(root)

    return render_block


RENDER = {
    "metrics": metrics_table,
    "sweep": sweep_table,
    "atlas": atlas_table,
    "atlas_depth_10": atlas_depth_10_table,
    "atlas_claims": atlas_claims,
    "fixes": fixes_table,
    "fixes_claims": fixes_claims,
    "outcomes": _analysis("outcomes", "fixes_table"),
    "outcomes_claims": outcomes_claims,
    "input_layer_verdict": _analysis("outcomes", "input_layer_verdict"),
    "sign_flip": _analysis("sign_flip", "table"),
    "sign_flip_claims": _analysis("sign_flip", "claims"),
    "sign_flip_headline": _analysis("sign_flip", "headline"),
    "literature": _analysis("literature", "comparison_table"),
    "widths_claims": _analysis("literature", "widths_claims"),
    "lu_abs_claims": _analysis("lu_regression", "claims"),
    "lu_abs_born_dead": _analysis("lu_regression", "born_dead_table"),
    "lu_abs_sensitivity": _analysis("lu_regression", "sensitivity_table"),
    "sigmoid_gate": _analysis("sigmoid_gate", "summary"),
    "sigmoid_grid": _analysis("sigmoid_gate", "grid_summary"),
    "sigmoid_wall": _analysis("sigmoid_wall", "summary"),
    "sigmoid_wall_results": _analysis("sigmoid_wall", "results_summary"),
    "sigmoid_regimes": _analysis("sigmoid_regimes", "summary"),
    "sigmoid_regimes_results": _analysis("sigmoid_regimes", "results_summary"),
    "sigmoid_slopes": _analysis("sigmoid_slopes", "summary"),
    "sigmoid_slopes_results": _analysis("sigmoid_slopes", "results_summary"),
    "sigmoid_budget": _analysis("sigmoid_budget", "summary"),
    "sigmoid_budget_results": _analysis("sigmoid_budget", "results_summary"),
    "sigmoid_timeline": _analysis("sigmoid_timeline", "timeline_summary"),
    "sigmoid_scales": sigmoid_scales_table,
    "benchmark": benchmark_table,
    "sweep_engines": sweep_engines_table,
}


def render(text: str, root: Path) -> str:
    return BLOCK.sub(lambda m: f"{m[1]}{RENDER[m[2]](root)}\n{m[4]}", text)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/docs_tables.py", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--check", action="store_true", help="only report stale blocks")
    args = parser.parse_args(argv)
    stale = []
    for path in [args.root / "README.md", *sorted((args.root / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        new = render(text, args.root)
        if new != text:
            stale.append(str(path))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "stale" if args.check else "rewrote"
    print(f"docs_tables: {verb}: {', '.join(stale) or 'nothing'}")
    if args.check and stale:
        sys.exit(1)


if __name__ == "__main__":
    run(main)
