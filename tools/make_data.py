"""Regenerate the raw OR-gate data files in ``data/raw/`` (not a pipeline stage).

The write-up's ``OR-gate.data.csv`` and ``OR-gate-test.data.csv`` are lost; only their format
is known (headerless ``x1,x2,y``, a 7-row test file). This command writes stand-ins:

* a training file of ``--train-rows`` rows drawn uniformly from the OR truth table. The size
  matters: with 4 or 40 rows even one hidden sigmoid layer does not learn OR in 200 epochs
  at batch size 1, with 200 rows it does (measured with this pipeline);
* a 7-row test file that covers every truth-table row, in the order of the write-up's output.

The files are committed to git: the raw data is immutable input, and this command exists so
anyone can check where they came from::

    python tools/make_data.py --train-rows 200 --seed 2019 --out-dir data/raw

Running it again gives the same bytes (``tests/test_data.py`` checks that).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate.files.data import TEST_FILE, TRAIN_FILE, or_labels, write_raw
from or_gate.runtime import run

import numpy as np

# The write-up printed 7 test predictions: low, high, high, low, low, high, high.
WRITE_UP_TEST_INPUTS = ((0, 0), (0, 1), (1, 0), (0, 0), (0, 0), (1, 1), (0, 1))


def draw_training_rows(train_rows: int, seed: int) -> np.ndarray:
    """``train_rows`` rows of (x1, x2, y), inputs uniform over the four truth-table rows."""
    inputs = np.random.default_rng(seed).integers(0, 2, size=(train_rows, 2))
    return np.column_stack([inputs, or_labels(inputs)])


def write_up_test_rows() -> np.ndarray:
    inputs = np.array(WRITE_UP_TEST_INPUTS)
    return np.column_stack([inputs, or_labels(inputs)])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/make_data.py", description=__doc__)
    parser.add_argument("--train-rows", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_raw(draw_training_rows(args.train_rows, args.seed), args.out_dir / TRAIN_FILE)
    write_raw(write_up_test_rows(), args.out_dir / TEST_FILE)
    print(f"wrote {args.out_dir / TRAIN_FILE} ({args.train_rows} rows) and {TEST_FILE}")


if __name__ == "__main__":
    run(main)
