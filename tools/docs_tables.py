"""Fill the generated tables in the docs from the results files, so no number is typed by hand.

A generated block in a Markdown file looks like::

    <!-- table: metrics -->
    ...rewritten by this command...
    <!-- end table -->

and is rendered from its source:

* ``metrics``: the committed ``metrics/<variant>.json`` (the default run);
* ``sweep``: ``plots/sweep/depth_sweep.csv`` (written by ``tools/sweep_report.py``);
* ``benchmark``: ``benchmarks/results.json`` (written by ``benchmarks/bench.py``).

    python tools/docs_tables.py            # rewrite README.md and docs/*.md in place
    python tools/docs_tables.py --check    # exit 1 if any block is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from or_gate.errors import run
from or_gate.tables import read_csv, read_json

BLOCK = re.compile(r"(<!-- table: (\w+) -->\n)(.*?)(<!-- end table -->)", re.S)


def metrics_table(root: Path) -> str:
    lines = [
        "| variant | test accuracy (min) | success rate | collapse rate | born dead | diverged | "
        "log10 gradient ratio at init | replicates |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted((root / "metrics").glob("*.json")):
        m = read_json(path)
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


RENDER = {"metrics": metrics_table, "sweep": sweep_table, "benchmark": benchmark_table}


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
