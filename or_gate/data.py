"""The OR-gate data: the truth table, the raw files and the prepared splits.

Two file formats, each read and written here only:

* raw files (``data/raw/``, the write-up's format): headerless ``x1,x2,y`` rows of 0/1;
* prepared splits (``data/prepared/{train,validation,test}.csv``): the same columns with a
  header, read as float32 ``(x, y)``.

A raw row that is not two 0/1 inputs and a 0/1 label is refused with one line naming the file
and line. No TensorFlow here.
"""

from __future__ import annotations

import math
from pathlib import Path

from or_gate.errors import DataError

import numpy as np

TRAIN_FILE = "OR-gate.data.csv"
TEST_FILE = "OR-gate-test.data.csv"
COLUMNS = ("x1", "x2", "y")
SPLITS = ("train", "validation", "test")
TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


def or_gate(inputs: np.ndarray) -> np.ndarray:
    """The label of each row: x1 OR x2."""
    return np.logical_or(inputs[:, 0], inputs[:, 1]).astype(int)


def _parse_raw_field(path: Path, number: int, column: str, field: str) -> int:
    try:
        value = float(field)
    except ValueError:
        raise DataError(f"{path}:{number}: {column} = {field.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}:{number}: {column} = {field.strip()!r} is not finite")
    if value not in (0.0, 1.0):
        what = "label" if column == "y" else "input"
        raise DataError(f"{path}:{number}: {what} {column} = {field.strip()!r}; expected 0 or 1")
    return int(value)


def read_raw(path: Path) -> np.ndarray:
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
        rows.append(
            [
                _parse_raw_field(path, number, column, field)
                for column, field in zip(COLUMNS, fields, strict=True)
            ]
        )
    if not rows:
        raise DataError(f"{path}: the file has no rows; expected lines of x1,x2,y")
    return np.array(rows, dtype=int)


def write_raw(rows: np.ndarray, path: Path) -> None:
    path.write_text("".join(f"{x1},{x2},{y}\n" for x1, x2, y in rows), encoding="ascii")


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


def read_split(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
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
