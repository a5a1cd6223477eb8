"""Stage ``prepare``: the task's rows, split as Keras' ``fit`` would split them.

Reads ``params.yaml`` (``task``, ``train.validation_split``). The OR gate's rows are
``data/raw/OR-gate.data.csv`` and ``data/raw/OR-gate-test.data.csv``, checked here; a
regression task's are drawn (``or_gate/task.py``: ``task.points`` training rows from
``default_rng(task.seed)``, and an even grid over the input range to test on). Writes
``train.csv``, ``validation.csv`` and ``test.csv`` into the output directory. Validation is
the LAST ``validation_split`` of the training rows, taken before any shuffling, exactly as
``keras.Model.fit(validation_split=...)`` takes it. No TensorFlow here: this stage runs in
about a second.

    python -m stages.prepare --params params.yaml --raw-dir data/raw --out-dir data/prepared
"""

from __future__ import annotations

from pathlib import Path

from or_gate.files.data import (
    SPLITS,
    TEST_FILE,
    TRAIN_FILE,
    missing_truth_table_inputs,
    read_raw,
    split_validation,
    write_split,
)
from or_gate.params import load_params
from or_gate.runtime import DataError, phase, run, stage_arguments
from or_gate.task import grid_rows, is_regression, regression_rows

import numpy as np


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages.prepare", __doc__, ("raw-dir", "out-dir"))
    params = load_params(args.params)
    if is_regression(params.task.name):
        training_rows, test = regression_rows(params.task), grid_rows(params.task)
        train, validation = split_validation(training_rows, params.train.validation_split)
    else:
        train, validation, test = or_gate_rows(args.raw_dir, params.train.validation_split)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in zip(SPLITS, (train, validation, test), strict=True):
        write_split(rows, args.out_dir / f"{name}.csv")
    print(
        f"prepare: {params.task.name}: {len(train)} train, {len(validation)} validation, "
        f"{len(test)} test rows -> {args.out_dir}"
    )


def or_gate_rows(raw_dir: Path, validation_split: float) -> tuple[np.ndarray, ...]:
    """The raw files' rows, checked: (train, validation, test)."""
    train_path, test_path = raw_dir / TRAIN_FILE, raw_dir / TEST_FILE
    with phase("prepare", f"reading and checking {train_path} and {test_path}"):
        training_rows = read_raw(train_path)
        test = read_raw(test_path)
    missing_inputs = missing_truth_table_inputs(test)
    if missing_inputs:
        raise DataError(
            f"{test_path}: no row for the truth-table input(s) "
            f"{', '.join(map(str, missing_inputs))}; the test set must cover all four"
        )
    train, validation = split_validation(training_rows, validation_split)
    missing = {0, 1} - set(train[:, 2].tolist())
    if missing:
        raise DataError(
            f"{train_path}: the training rows have no label {missing.pop()}; "
            "OR needs examples of both classes (0 and 1)"
        )
    return train, validation, test


if __name__ == "__main__":
    run(main)
