"""Lu et al.'s published collapse rates beside this project's: a table and a figure.

Reads ``data/literature/lu_et_al.csv`` (every number of theirs the reachable sources give,
each with its source) and the committed sweep tables (``plots/lu_abs/lu_abs.csv``, the
regression on their first target |x|; ``plots/widths/widths.csv``, the OR gate by width), and
writes into ``--out-dir``:

* ``literature.csv``: one row per published number: their collapse rate (a range where the
  source gives a bound), and ours at the nearest setting the project has run, with its 95%
  Clopper-Pearson interval;
* ``literature.png``: the two side by side, with the born-dead probability of a zero-bias
  ReLU net where the source gives the width and depth.

``--from-csv`` redraws the figure from a table this command wrote. No TensorFlow here.

    python tools/literature_report.py --out-dir plots/literature
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate.runtime import run

from analysis import literature


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/literature_report.py", description=__doc__)
    parser.add_argument("--from-csv", type=Path, help="redraw from a table this command wrote")
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    literature.write_report(Path("."), args.out_dir, args.from_csv)
    print(
        f"literature_report: {args.out_dir / 'literature.csv'}, {args.out_dir / 'literature.png'}"
    )


if __name__ == "__main__":
    run(main)
