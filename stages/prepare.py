"""Stage ``prepare``: check the raw OR-gate files and split them as Keras' ``fit`` would.

Reads ``data/raw/OR-gate.data.csv`` and ``data/raw/OR-gate-test.data.csv`` and
``train.validation_split``; writes ``train.csv``, ``validation.csv`` and ``test.csv`` into
the output directory. Validation is the LAST ``validation_split`` of the training rows, taken
before any shuffling, exactly as ``keras.Model.fit(validation_split=...)`` takes it. No
TensorFlow here: this stage runs in about a second.

    python -m stages.prepare --params params.yaml --raw-dir data/raw --out-dir data/prepared
"""

from __future__ import annotations

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


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages.prepare", __doc__, ("raw-dir", "out-dir"))
    params = load_params(args.params)

    train_path, test_path = args.raw_dir / TRAIN_FILE, args.raw_dir / TEST_FILE
    with phase("prepare", f"reading and checking {train_path} and {test_path}"):
        training_rows = read_raw(train_path)
        test = read_raw(test_path)
    missing_inputs = missing_truth_table_inputs(test)
    if missing_inputs:
        raise DataError(
            f"{test_path}: no row for the truth-table input(s) "
            f"{', '.join(map(str, missing_inputs))}; the test set must cover all four"
        )
    train, validation = split_validation(training_rows, params.train.validation_split)
    missing = {0, 1} - set(train[:, 2].tolist())
    if missing:
        raise DataError(
            f"{train_path}: the training rows have no label {missing.pop()}; "
            "OR needs examples of both classes (0 and 1)"
        )

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in zip(SPLITS, (train, validation, test), strict=True):
        write_split(rows, args.out_dir / f"{name}.csv")
    print(
        f"prepare: {len(train)} train, {len(validation)} validation, {len(test)} test rows "
        f"-> {args.out_dir}"
    )


if __name__ == "__main__":
    run(main)
