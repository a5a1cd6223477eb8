"""The metrics gate: fail when results drift from the committed baseline.

    python tools/check_metrics.py [--baseline REV] [--rules .ci/metric_rules.yaml]

Compares every ``metrics/<variant>.json`` in the workspace with REV's (default ``HEAD``) and
applies the rules in ``--rules``; see ``tools/analysis/gate.py`` for what it checks. Prints a
Markdown table (also appended to ``$GITHUB_STEP_SUMMARY`` when that is set) and one line per
failure. Exit status: 0 all holds, 1 regression, 2 could not compare.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from or_gate.params import read_yaml
from or_gate.runtime import StageError, run

from analysis.gate import (
    ERROR,
    PASS,
    cell,
    collect_metrics,
    decide,
    load_rules,
    markdown,
    summary,
)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/check_metrics.py", description=__doc__)
    parser.add_argument("--baseline", default="HEAD", help="git revision to compare with")
    parser.add_argument("--rules", type=Path, default=Path(".ci/metric_rules.yaml"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument(
        "--expectations-only",
        action="store_true",
        help="check only the science (expectations), not moves against the baseline; "
        "fails if no expectation applies to the workspace's params",
    )
    args = parser.parse_args(argv)

    rules = load_rules(args.rules)
    params = read_yaml(args.params) or {}  # as DVC and the stages read it
    now, baseline = collect_metrics(args.repo, args.baseline)
    if not now and not baseline:
        raise StageError("no metrics files found in the workspace or at the baseline")
    rows, unused = decide(rules, now, baseline, params, args.rules, args.expectations_only)
    if args.expectations_only and not rows:  # only the science is checked: none applies
        raise StageError(f"no expectation in {args.rules} applies to {args.params}")
    table = markdown(rows, args.baseline)
    print(table)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(f"### Metrics gate against `{args.baseline}`\n\n{table}\n\n")

    for change in unused if not args.expectations_only else []:
        print(
            f"check_metrics: note: declared change not seen ({', '.join(change.variants)} "
            f"{', '.join(change.metrics)}: {change.reason}); remove it from {args.rules} once "
            "it has landed"
        )
    failures = [r for r in rows if r.verdict != PASS]
    for row in failures:
        print(
            f"check_metrics: {row.verdict} {row.variant} {row.metric}: {row.note} "
            f"(baseline {cell(row.baseline) or '-'}, now {cell(row.now) or '-'})",
            file=sys.stderr,
        )
    if any(r.verdict == ERROR for r in rows):
        sys.exit(2)
    if failures:
        sys.exit(1)
    against = "the science" if args.expectations_only else args.baseline
    print("\n" + summary(rows, against))


if __name__ == "__main__":
    run(main)
