"""How every replicate of a sweep ended: success, stalled, died in training, born dead, diverged.

Reads the records of the experiments DVC knows (through DVC's API: each experiment's commit
and the DVC cache, so run it where the sweep ran or after `dvc exp pull`), only those that
finished successfully (and only those named with ``--experiments``), and classifies each
replicate by the evaluation's own definitions (``or_gate/evaluation.py``,
``replicate_outcomes``). The experiments must agree on every parameter but the depth, the
width and the variants. Each experiment's counts are checked against its own recorded
success and born-dead rates. Writes into ``--out-dir``:

* ``<name>_outcomes.csv``: depth, width, variant, replicates, the number of replicates of
  each outcome, and the experiment;
* ``<name>_outcomes.png``: one panel per variant, the shares stacked against depth.

``--from-csv`` redraws the figure from a table this command wrote. No TensorFlow here.

    python tools/outcome_report.py --name atlas --out-dir plots/atlas
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate.runtime import run

from analysis import outcomes, sweep


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/outcome_report.py", description=__doc__)
    parser.add_argument("--experiments", nargs="+", help="only these experiments (names)")
    parser.add_argument("--from-csv", type=Path, help="redraw from a table this command wrote")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--name", default="depth_sweep", help="file stem of the table and figure")
    args = parser.parse_args(argv)

    if args.from_csv is not None:
        results = outcomes.read_table(args.from_csv)
    else:
        document = sweep.load_experiments(None)
        finished = sweep.finished_experiments(document, args.experiments, "outcome_report")
        results = outcomes.sweep_outcomes(Path("."), finished)
    table = args.from_csv != args.out_dir / f"{args.name}_outcomes.csv"
    outcomes.write_report(results, args.out_dir, args.name, table=table)


if __name__ == "__main__":
    run(main)
