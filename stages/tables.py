"""Small CSV and JSON writers shared by the stages.

Numbers are written in their shortest exact form (a float32 as float32, a float64 as
float64), so the same results give the same bytes. Non-finite numbers never reach a file:
vega cannot draw them and ``dvc metrics diff`` chokes on a bare NaN (it is not JSON).
A non-finite number is an empty CSV cell and a JSON ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        # str() of a NumPy scalar is the shortest string that reads back to the same value
        # in its own precision.
        return str(value) if math.isfinite(value) else ""
    return str(value)


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)]
    lines += [",".join(format_cell(value) for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


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
