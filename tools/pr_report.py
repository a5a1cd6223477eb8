"""The pull-request report: what changed between two revisions, as one Markdown page with images.

    python tools/pr_report.py --base origin/main [--head workspace] --out-dir pr-report

Writes into ``--out-dir``:

* ``report.md``: the metrics gate's verdict and table (``tools/check_metrics.py``'s rules, here
  comparing HEAD with BASE), then ``dvc metrics diff BASE HEAD --md`` over ``metrics/`` and
  each variant's summary of every number (what changed), ``dvc params diff BASE HEAD --md``
  (the params that changed) and the charts;
* ``<chart>.png``: each chart of ``dvc plots diff BASE HEAD`` rendered with the project's
  templates by vl-convert (no browser), both revisions in one chart, linked from the report.

``--head`` is a revision or ``workspace`` (the default: the checkout as it is, which in CI is
the pull request's merge commit). CI posts ``report.md`` as one comment on the pull request,
updated on every push, and puts it in the job summary (``.github/workflows/ci.yml``). Exit
status 0 whatever the gate says (the gate's own step fails the build), 2 when the revisions
cannot be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path

from or_gate.runtime import StageError, run

from analysis.gate import (
    PASS,
    SUMMARY,
    collect_metrics,
    decide,
    load_rules,
    markdown,
    summary,
)

WATERMARK = "<!-- or-gate pull-request report -->"  # finds the comment again to update it


def dvc_prints(args: list[str], repo: Path) -> str:
    """What a DVC command prints (its documented Markdown or JSON output)."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    done = subprocess.run(["dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no output)"]
        said = next((line for line in lines if line.startswith("ERROR")), lines[-1])
        raise StageError(f"dvc {' '.join(args)} failed: {said}")
    return done.stdout


def has_rows(table: str) -> bool:
    """Whether a Markdown table DVC printed has a row beyond its header and rule."""
    return len([line for line in table.splitlines() if line.startswith("|")]) > 2


def revisions(base: str, head: str) -> list[str]:
    return [base] if head == "workspace" else [base, head]


def gate_section(now: dict, baseline: dict, params: dict, base: str, rules_path: Path) -> str:
    """The gate's verdict line and table, decided as check_metrics decides them."""
    rows, _ = decide(load_rules(rules_path), now, baseline, params, rules_path)
    failed = [row for row in rows if row.verdict != PASS]
    if failed:
        verdict = (
            f"**The metrics gate fails**: {len(failed)} of {len(rows)} checks against `{base}`"
        )
        shown = failed
    else:
        verdict = summary(rows, f"`{base}`").removeprefix("check_metrics: ")
        verdict = "**The metrics gate passes**: " + verdict
        shown = [row for row in rows if row.change]  # what moved, within its limits
    table = markdown(shown, base) if shown else "No metric moved."
    return f"{verdict}\n\n{table}"


def chart_images(repo: Path, base: str, head: str, out_dir: Path) -> list[tuple[str, str]]:
    """Each chart of ``dvc plots diff`` as a PNG in ``out_dir``: [(chart id, file name)]."""
    import vl_convert

    shown = json.loads(dvc_prints(["plots", "diff", *revisions(base, head), "--json"], repo))
    images = []
    for chart, renderings in sorted((shown.get("data") or {}).items()):
        for rendering in renderings:
            if rendering.get("type") != "vega":
                continue  # the figures are PNGs already, one per revision: in plots/figures/
            name = re.sub(r"[^\w.-]+", "_", chart) + ".png"
            (out_dir / name).write_bytes(vl_convert.vegalite_to_png(rendering["content"]))
            images.append((chart, name))
    return images


def report(repo: Path, base: str, head: str, rules: Path, out_dir: Path) -> str:
    import dvc.api

    out_dir.mkdir(parents=True, exist_ok=True)
    against = f"`{base}` → `{head}`"
    now, baseline = collect_metrics(repo, base, head)
    params_now = dvc.api.params_show(repo=str(repo), rev=None if head == "workspace" else head)
    # what DVC shows (metrics/) and every number beside it (each variant's summary)
    targets = ["metrics", *(SUMMARY.format(variant=v) for v in sorted({*now, *baseline}))]
    metrics = dvc_prints(
        ["metrics", "diff", *revisions(base, head), "--md", "--targets", *targets], repo
    ).strip()
    params = dvc_prints(["params", "diff", *revisions(base, head), "--md"], repo).strip()
    charts = chart_images(repo, base, head, out_dir)
    parts = [
        WATERMARK,
        f"## What this pull request changes: {against}",
        "### Metrics gate",
        gate_section(now, baseline, params_now, base, rules),
        "### `dvc metrics diff`",
        metrics if has_rows(metrics) else "No metric changed.",
        "### `dvc params diff`",
        params if has_rows(params) else "No parameter changed.",
        "### Charts (`dvc plots diff`): median over replicates, interquartile band",
        "\n".join(f"![{chart}](./{name})" for chart, name in charts) or "No charts.",
    ]
    text = "\n\n".join(parts) + "\n"
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    return text


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/pr_report.py", description=__doc__)
    parser.add_argument("--base", required=True, help="the revision to compare with")
    parser.add_argument("--head", default="workspace", help="a revision, or workspace")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--rules", type=Path, default=Path(".ci/metric_rules.yaml"))
    parser.add_argument("--repo", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    report(args.repo, args.base, args.head, args.rules, args.out_dir)
    print(f"pr_report: wrote {args.out_dir / 'report.md'}")


if __name__ == "__main__":
    run(main)
