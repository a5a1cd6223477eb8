"""Regenerate the raw OR-gate data files in ``data/raw/`` (not a pipeline stage).

The write-up's ``OR-gate.data.csv`` and ``OR-gate-test.data.csv`` are lost; only their format
is known (headerless ``x1,x2,y``, a 7-row test file). This script writes stand-ins:

* a training file of ``--train-rows`` rows drawn uniformly from the OR truth table. The size
  matters: with 4 or 40 rows even one hidden sigmoid layer does not learn OR in 200 epochs
  at batch size 1, with 200 rows it does (measured with this pipeline);
* a 7-row test file that covers every truth-table row, in the order of the write-up's output.

The files are committed to git: the raw data is immutable input, and this command exists so
anyone can check where they came from::

    python -m stages.make_data --train-rows 200 --seed 2019 --out-dir data/raw

Running it again gives the same bytes (``tests/test_data_contract.py`` checks that).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from stages.errors import run

TRAIN_FILE = "OR-gate.data.csv"
TEST_FILE = "OR-gate-test.data.csv"

# The write-up printed 7 test predictions: low, high, high, low, low, high, high.
TEST_INPUTS = ((0, 0), (0, 1), (1, 0), (0, 0), (0, 0), (1, 1), (0, 1))


def or_gate(inputs: np.ndarray) -> np.ndarray:
    """The label of each row: x1 OR x2."""
    return np.logical_or(inputs[:, 0], inputs[:, 1]).astype(int)


def draw_training_rows(train_rows: int, seed: int) -> np.ndarray:
    """``train_rows`` rows of (x1, x2, y), inputs uniform over the four truth-table rows."""
    rng = np.random.default_rng(seed)
    inputs = rng.integers(0, 2, size=(train_rows, 2))
    return np.column_stack([inputs, or_gate(inputs)])


def test_rows() -> np.ndarray:
    inputs = np.array(TEST_INPUTS)
    return np.column_stack([inputs, or_gate(inputs)])


def write_rows(rows: np.ndarray, path: Path) -> None:
    path.write_text("".join(f"{x1},{x2},{y}\n" for x1, x2, y in rows), encoding="ascii")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.make_data", description=__doc__)
    parser.add_argument("--train-rows", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_rows(draw_training_rows(args.train_rows, args.seed), args.out_dir / TRAIN_FILE)
    write_rows(test_rows(), args.out_dir / TEST_FILE)
    print(
        f"wrote {args.out_dir / TRAIN_FILE} ({args.train_rows} rows) and {args.out_dir / TEST_FILE}"
    )


if __name__ == "__main__":
    run(main)
