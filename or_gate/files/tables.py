"""The CSV tables and JSON documents the pipeline writes, and reading them back.

Numbers are written in their shortest exact form (a float32 as float32, a float64 as
float64), so the same results give the same bytes, and read back exactly (pandas 3 parses
floats round-trip by default). Non-finite numbers never reach a file: vega cannot draw them and
``dvc metrics diff`` chokes on a bare NaN (it is not JSON). A non-finite number is an empty
CSV cell (read back as NaN) and a JSON ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from or_gate.runtime import DataError

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        # str() of a NumPy scalar is the shortest string that reads back to the same value
        # in its own precision.
        return str(value) if math.isfinite(value) else ""
    text = str(value)
    if any(special in text for special in ',"\n'):  # e.g. an initializer with arguments
        return '"' + text.replace('"', '""') + '"'
    return text


def format_column(values: np.ndarray) -> np.ndarray:
    """``format_cell`` of every element of a numeric array, as an array of the same shape.

    Whole columns at once for the tables that grow with the replicates: integers by NumPy's
    own conversion, floats by formatting each distinct value once (accuracies and unit shares
    take a handful of values; ``tests/test_records.py`` checks the result equals
    ``format_cell`` element by element).
    """
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        return values.astype(str)
    if values.dtype.kind not in "f":  # text (a variant's name): cell by cell
        text = [format_cell(value) for value in values.ravel().tolist()]
        return np.array(text or [""], dtype=str)[: values.size].reshape(values.shape)
    # distinct by bit pattern, so that -0.0 and 0.0 (equal as numbers) keep their own text
    bits = np.ascontiguousarray(values).view(f"u{values.dtype.itemsize}")
    unique, inverse = np.unique(bits, return_inverse=True)
    text = [format_cell(value) for value in unique.view(values.dtype)]
    return np.array(text or [""], dtype=str)[inverse.reshape(values.shape)]


def write_csv(
    path: str | Path, columns: Sequence[str] | None, rows: Iterable[Sequence[Any]]
) -> None:
    """Every CSV the project writes: a header of ``columns`` (none if None, as in the raw
    files' format), then one line per row, each cell by :func:`format_cell`."""
    lines = (",".join(format_cell(value) for value in row) for row in rows)
    write_csv_text(path, columns, lines)


def write_table(path: str | Path, table: pd.DataFrame) -> None:
    """A pandas table, column by column as :func:`format_column` formats it."""
    cells = [format_column(table[column].to_numpy()) for column in table.columns]
    # the cells are formatted once: a text cell quoted by format_cell stays quoted once
    write_csv_text(path, list(table.columns), map(",".join, zip(*cells, strict=True)))


def write_csv_text(path: str | Path, columns: Sequence[str] | None, texts: Iterable[str]) -> None:
    """A table whose rows are already formatted: ``texts`` are lines, or blocks of lines."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [] if columns is None else [",".join(columns)]
    path.write_text("\n".join([*header, *texts]) + "\n", encoding="utf-8")


def read_csv(
    path: str | Path, columns: Sequence[str] = (), text: Sequence[str] = ()
) -> pd.DataFrame:
    """A table written by :func:`write_csv`; ``columns`` it must have; ``text`` columns stay
    text. Only an empty cell is missing (the writers' mark of a non-finite number): a name
    such as ``nan``, ``null`` or ``true`` reads back as itself, not as NaN or a boolean."""
    import pandas as pd

    try:
        table = pd.read_csv(
            path, dtype=dict.fromkeys(text, str), keep_default_na=False, na_values=[""]
        )
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run `dvc repro`)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV table ({type(error).__name__})") from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def finite_or_none(value: Any) -> Any:
    """Recursively turn NumPy numbers into Python ones and non-finite floats into None."""
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(item) for item in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def write_json(path: str | Path, document: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(finite_or_none(document), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def read_json(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run `dvc repro`)") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON (line {error.lineno})") from None
