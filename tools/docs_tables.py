"""Fill the generated tables in the docs from the results files, so no number is typed by hand.

A generated block in a Markdown file looks like::

    <!-- table: metrics -->
    ...rewritten by this command...
    <!-- end table -->

and is rendered from its source:

* ``metrics``: the committed ``data/evaluation/<variant>/summary.json`` of every variant with a
  ``metrics/<variant>.json`` (the default run);
* ``sweep``: ``plots/sweep/depth_sweep.csv`` (written by ``tools/sweep_report.py``);
* ``atlas``, ``atlas_depth_10``: ``plots/atlas/atlas.csv`` (the same report, ``--name atlas``);
* ``sigmoid_scales``: ``plots/sigmoid_scales/sigmoid_scales.csv``, beside the prediction of
  ``tools/analysis/theory.py``;
* ``benchmark``: ``benchmarks/results.json`` (written by ``benchmarks/bench.py``).

    python tools/docs_tables.py            # rewrite README.md and docs/*.md in place
    python tools/docs_tables.py --check    # exit 1 if any block is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from or_gate.files.tables import read_csv, read_json
from or_gate.runtime import run

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


RENDER = {
    "metrics": metrics_table,
    "sweep": sweep_table,
    "atlas": atlas_table,
    "atlas_depth_10": atlas_depth_10_table,
    "sigmoid_scales": sigmoid_scales_table,
    "benchmark": benchmark_table,
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
