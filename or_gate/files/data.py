"""The OR-gate data: the truth table, the raw files and the prepared splits.

Two file formats, each read and written here only:

* raw files (``data/raw/``, the write-up's format): headerless ``x1,x2,y`` rows of 0/1;
* prepared splits (``data/prepared/{train,validation,test}.csv``): the same columns with a
  header, read as float32 ``(x, y)``; a regression task's (``or_gate/task.py``) are ``x,y``
  rows of float32 numbers.

A raw row that is not two 0/1 inputs and a 0/1 label, or whose label is not x1 OR x2, is
refused with one line naming the file and line: these files are the OR gate, and label noise,
if it is ever wanted, is a parameter, not a corrupted file. No TensorFlow here.
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path

from or_gate.files.tables import format_column, write_csv, write_csv_text
from or_gate.runtime import DataError

import numpy as np

TRAIN_FILE = "OR-gate.data.csv"
TEST_FILE = "OR-gate-test.data.csv"
COLUMNS = ("x1", "x2", "y")
SPLITS = ("train", "validation", "test")
TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


def or_labels(inputs: np.ndarray) -> np.ndarray:
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
    """Parse a headerless ``x1,x2,y`` file of OR-gate rows into an (n, 3) int8 array."""
    values = array("b")  # one byte per value: a 10-million-row file takes 30 MB
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    values.extend(_parse_raw_row(path, number, line))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    if not values:
        raise DataError(f"{path}: the file has no rows; expected lines of x1,x2,y")
    return np.frombuffer(values, dtype=np.int8).reshape(-1, len(COLUMNS))


def _parse_raw_row(path: Path, number: int, line: str) -> list[int]:
    fields = line.split(",")  # float() strips each field's whitespace, the line's end too
    if len(fields) != len(COLUMNS):
        raise DataError(
            f"{path}:{number}: {len(fields)} fields in {line.strip()!r}; expected 3 (x1,x2,y)"
        )
    x1, x2, y = (
        _parse_raw_field(path, number, column, field)
        for column, field in zip(COLUMNS, fields, strict=True)
    )
    if y != (x1 | x2):
        raise DataError(
            f"{path}:{number}: label y = {y} contradicts OR({x1}, {x2}) = {x1 | x2}; "
            "expected the OR gate's truth table"
        )
    return [x1, x2, y]


def missing_truth_table_inputs(rows: np.ndarray) -> list[tuple[int, int]]:
    """The truth-table inputs (x1, x2) that no row has."""
    present = {(int(x1), int(x2)) for x1, x2 in np.unique(rows[:, :2], axis=0)}
    return [(x1, x2) for x1, x2 in TRUTH_TABLE.astype(int).tolist() if (x1, x2) not in present]


def write_raw(rows: np.ndarray, path: Path) -> None:
    write_csv(path, None, rows.tolist())  # the write-up's format: no header


def count_rows(path: Path) -> int:
    """The rows of a raw file (its non-empty lines), without parsing them: what ``validate``
    plans with before ``prepare`` checks them."""
    try:
        with open(path, "rb") as lines:
            return sum(1 for line in lines if line.strip())
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None


def split_sizes(count: int, validation_split: float) -> tuple[int, int]:
    """How many of ``count`` training rows train and how many validate: the last
    ``validation_split`` validate, by Keras' own formula; both must be non-empty."""
    if validation_split == 0:
        return count, 0
    split_at = math.floor(count * (1.0 - validation_split))  # Keras' own formula
    if split_at in (0, count):
        raise DataError(
            f"validation_split {validation_split} of {count} training rows leaves "
            f"{split_at} for training and {count - split_at} for validation; "
            "both must be non-empty (use more rows or another split)"
        )
    return split_at, count - split_at


def split_validation(rows: np.ndarray, validation_split: float) -> tuple[np.ndarray, np.ndarray]:
    """The first rows for training, the last ``validation_split`` for validation (as Keras)."""
    train, _ = split_sizes(len(rows), validation_split)
    return rows[:train], rows[train:]


# The prepared splits' headers: the OR gate's, and a one-input regression target's.
SPLIT_COLUMNS = (COLUMNS, ("x", "y"))


def write_split(rows: np.ndarray, path: Path) -> None:
    """Rows of inputs and a target: the OR gate's 0/1 integers, or a regression task's
    float32 numbers, each written in its shortest exact form."""
    (columns,) = [c for c in SPLIT_COLUMNS if len(c) == rows.shape[1]]
    cells = [format_column(rows[:, j]) for j in range(rows.shape[1])]
    write_csv_text(path, columns, map(",".join, zip(*cells, strict=True)))


def read_split(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a prepared split as float32 ``(x, y)`` with shapes (n, inputs) and (n,)."""
    path = Path(path)
    as_prepared = "a split as prepare writes it (run `dvc repro prepare`)"
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run `dvc repro prepare`)") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not ASCII text; expected {as_prepared}") from None
    headers = [",".join(columns) for columns in SPLIT_COLUMNS]
    if not lines or lines[0] not in headers:
        expected = " or ".join(map(repr, headers))
        raise DataError(f"{path}: header {lines[:1]}; expected {expected}")
    width = len(lines[0].split(","))
    try:
        values = [[float(v) for v in line.split(",")] for line in lines[1:] if line]
        table = np.array(values, dtype=np.float32).reshape(-1, width)
    except ValueError:  # a field that is no number, or rows of other lengths
        raise DataError(
            f"{path}: rows that are not {width} numbers; expected {as_prepared}"
        ) from None
    return table[:, :-1], table[:, -1]
