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

from or_gate.errors import DataError

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


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)]
    lines += [",".join(format_cell(value) for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_csv(path: str | Path, columns: Sequence[str] = ()) -> pd.DataFrame:
    """A table written by :func:`write_csv`; ``columns`` it must have."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
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
