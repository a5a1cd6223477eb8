"""Depth-sweep report (and the atlas): success and collapse against depth, with the theory.

Reads the experiments DVC knows (through DVC's API, or a saved ``dvc exp show --json``) and
reports, for each depth, width and variant, the result of the experiments that finished
successfully (only those named with ``--experiments``, and only the variants named with
``--variants``, if given). Failed, queued and running experiments are listed with their reason
and never drawn. The experiments must agree on every parameter but the depth, the width and
the variants, or the report refuses, naming the parameter that differs. Writes
into ``--out-dir``:

* ``<name>.csv``: depth, width, variant, its activation, initializer and skip connections,
  replicates and the variant's success, collapse and born-dead rates;
* ``<name>.png``: success rate and collapse rate against depth, one line per variant (and
  width), 95% Clopper-Pearson intervals, and the born-dead probability of a zero-bias ReLU
  net of width w, 1 - (1 - 2^-w)^depth, drawn over them.

and prints, for every ReLU variant, the measured born-dead and collapse rates beside the
theory and the range of rates the theory predicts for that many replicates (the central 95% of
Binomial(replicates, p) / replicates). ``--from-csv`` redraws the figure from a table this
command wrote. No TensorFlow here.

    dvc exp run --queue -S 'depth=range(1,13)' && dvc queue start -j 2
    # ... when `dvc queue status` shows every experiment done:
    python tools/sweep_report.py --out-dir plots/sweep

The atlas (``docs/fixes.md`` gives its whole command sequence) is the same report over more
variants and depths: ``--name atlas --out-dir plots/atlas``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate.runtime import DataError, run

from analysis import sweep


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/sweep_report.py", description=__doc__)
    parser.add_argument("--exp-json", type=Path, help="saved `dvc exp show --json` output")
    parser.add_argument("--experiments", nargs="+", help="only these experiments (names)")
    parser.add_argument("--variants", nargs="+", help="only these variants (names)")
    parser.add_argument(
        "--from-csv", type=Path, help="redraw from a depth_sweep.csv this command wrote"
    )
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--name", default="depth_sweep", help="file stem of the table and figure")
    args = parser.parse_args(argv)

    if args.from_csv is not None:
        results = sweep.read_table(args.from_csv)
    else:
        document = sweep.load_experiments(args.exp_json)
        finished = sweep.finished_experiments(document, args.experiments, "sweep_report")
        results = sweep.variant_results(finished)
    if args.variants:
        unknown = set(args.variants) - {r.variant for r in results}
        if unknown:
            raise DataError(f"no finished experiment has variant(s) {', '.join(sorted(unknown))}")
        results = [r for r in results if r.variant in args.variants]
    table = args.out_dir / f"{args.name}.csv"
    sweep.write_report(results, args.out_dir, args.name, table=args.from_csv != table)


if __name__ == "__main__":
    run(main)
