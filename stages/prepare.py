"""Stage ``prepare``: check the raw OR-gate files and split them as Keras' ``fit`` would.

Reads ``data/raw/OR-gate.data.csv`` and ``data/raw/OR-gate-test.data.csv`` (headerless
``x1,x2,y``) and ``train.validation_split``; writes ``train.csv``, ``validation.csv`` and
``test.csv`` (with a header) into the output directory. Validation is the LAST
``validation_split`` of the training rows, taken before any shuffling, exactly as
``keras.Model.fit(validation_split=...)`` takes it.

Any row that is not two 0/1 inputs and a 0/1 label stops the stage with one line naming the
file and line. No TensorFlow here: this stage runs in about a second.

    python -m stages.prepare --params params.yaml --raw-dir data/raw --out-dir data/prepared
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from stages.errors import DataError, run
from stages.make_data import TEST_FILE, TRAIN_FILE
from stages.params import load_params

COLUMNS = ("x1", "x2", "y")
SPLITS = ("train", "validation", "test")


def read_raw_rows(path: Path) -> np.ndarray:
    """Parse a headerless ``x1,x2,y`` file of 0/1 values into an (n, 3) int array."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(COLUMNS):
            raise DataError(
                f"{path}:{number}: {len(fields)} fields in {line.strip()!r}; expected 3 (x1,x2,y)"
            )
        row = []
        for column, field in zip(COLUMNS, fields, strict=True):
            try:
                value = float(field)
            except ValueError:
                raise DataError(
                    f"{path}:{number}: {column} = {field.strip()!r} is not a number"
                ) from None
            if not math.isfinite(value):
                raise DataError(f"{path}:{number}: {column} = {field.strip()!r} is not finite")
            if value not in (0.0, 1.0):
                what = "label" if column == "y" else "input"
                raise DataError(
                    f"{path}:{number}: {what} {column} = {field.strip()!r}; expected 0 or 1"
                )
            row.append(int(value))
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: the file has no rows; expected lines of x1,x2,y")
    return np.array(rows, dtype=int)


def split_validation(rows: np.ndarray, validation_split: float) -> tuple[np.ndarray, np.ndarray]:
    """The first rows for training, the last ``validation_split`` for validation (as Keras)."""
    if validation_split == 0:
        return rows, rows[:0]
    split_at = math.floor(len(rows) * (1.0 - validation_split))  # Keras' own formula
    if split_at in (0, len(rows)):
        raise DataError(
            f"validation_split {validation_split} of {len(rows)} training rows leaves "
            f"{split_at} for training and {len(rows) - split_at} for validation; "
            "both must be non-empty (use more rows or another split)"
        )
    return rows[:split_at], rows[split_at:]


def write_split(rows: np.ndarray, path: Path) -> None:
    lines = [",".join(COLUMNS)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def load_split(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a prepared split as float32 ``(x, y)`` with shapes (n, 2) and (n,)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run `dvc repro prepare`)") from None
    if not lines or lines[0] != ",".join(COLUMNS):
        raise DataError(f"{path}: header {lines[:1]}; expected {','.join(COLUMNS)!r}")
    values = [[float(v) for v in line.split(",")] for line in lines[1:] if line]
    table = np.array(values, dtype=np.float32).reshape(-1, len(COLUMNS))
    return table[:, :2], table[:, 2]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.prepare", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    params = load_params(args.params)

    train_path = args.raw_dir / TRAIN_FILE
    training_rows = read_raw_rows(train_path)
    test = read_raw_rows(args.raw_dir / TEST_FILE)
    train, validation = split_validation(training_rows, params.validation_split)
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
