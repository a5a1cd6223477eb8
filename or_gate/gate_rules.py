"""The rules of the metrics gate (``.ci/metric_rules.yaml``): data, not code.

* ``limits``: per metric pattern (and variant pattern), the largest allowed ``max_drop``,
  ``max_rise`` or ``max_change`` against the baseline;
* ``expectations``: absolute bounds (``at_least``/``at_most``) that encode the science, each
  applying only ``when`` the workspace's params.yaml has the given values;
* ``intended``: changes declared in the commit that makes them, each with its ``reason``.

A rules file that breaks this shape is refused with one line naming the entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from or_gate.errors import StageError

import yaml

LIMIT_KINDS = ("max_drop", "max_rise", "max_change")


@dataclass(frozen=True)
class Limit:
    metric: str  # fnmatch pattern over dotted keys, e.g. "test.*"
    variants: str
    kind: str  # one of LIMIT_KINDS
    bound: float


@dataclass(frozen=True)
class Expectation:
    variant: str
    metric: str
    at_least: float | None
    at_most: float | None
    when: dict = field(default_factory=dict)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StageError(f"{where}: {value!r} is not a finite number")
    return float(value)


@dataclass(frozen=True)
class Intended:
    """A change to the results declared with the commit that makes it."""

    metric: str  # fnmatch pattern; "(file)" for a metrics file that appears or disappears
    variants: str
    reason: str


class Rules(NamedTuple):
    limits: list[Limit]
    expectations: list[Expectation]
    intended: list[Intended]


SECTIONS = ("limits", "expectations", "intended")


def load_rules(path: Path) -> Rules:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise StageError(f"{path}: rules file not found") from None
    except yaml.YAMLError as error:
        raise StageError(f"{path}: not valid YAML ({error.__class__.__name__})") from None
    unknown = set(document) - set(SECTIONS)
    if unknown:
        raise StageError(
            f"{path}: unknown section {sorted(unknown)}; allowed: {', '.join(SECTIONS)}"
        )
    return Rules(_limits(document, path), _expectations(document, path), _intended(document, path))


def _intended(document: dict, path: Path) -> list[Intended]:
    intended = []
    for index, item in enumerate(document.get("intended") or []):
        if set(item) - {"metric", "variants", "reason"} or not str(item.get("reason", "")).strip():
            raise StageError(
                f"{path}: intended[{index}]: expected 'metric', optional 'variants' and a "
                f"non-empty 'reason'; got {sorted(item)}"
            )
        intended.append(
            Intended(str(item["metric"]), str(item.get("variants", "*")), item["reason"])
        )
    return intended


def _limits(document: dict, path: Path) -> list[Limit]:
    limits = []
    for index, item in enumerate(document.get("limits") or []):
        where = f"{path}: limits[{index}]"
        kinds = [k for k in LIMIT_KINDS if k in item]
        extra = set(item) - {"metric", "variants", *LIMIT_KINDS}
        if "metric" not in item or len(kinds) != 1 or extra:
            raise StageError(
                f"{where}: expected 'metric', optional 'variants' and exactly one of "
                f"{', '.join(LIMIT_KINDS)}; got {sorted(item)}"
            )
        bound = _number(item[kinds[0]], f"{where}.{kinds[0]}")
        limits.append(Limit(str(item["metric"]), str(item.get("variants", "*")), kinds[0], bound))
    return limits


def _expectations(document: dict, path: Path) -> list[Expectation]:
    expectations = []
    for index, item in enumerate(document.get("expectations") or []):
        where = f"{path}: expectations[{index}]"
        extra = set(item) - {"variant", "metric", "at_least", "at_most", "when"}
        if {"variant", "metric"} - set(item) or extra or not {"at_least", "at_most"} & set(item):
            raise StageError(
                f"{where}: expected 'variant', 'metric', 'at_least' and/or 'at_most', "
                f"optional 'when'; got {sorted(item)}"
            )
        expectations.append(
            Expectation(
                str(item["variant"]),
                str(item["metric"]),
                _number(item["at_least"], f"{where}.at_least") if "at_least" in item else None,
                _number(item["at_most"], f"{where}.at_most") if "at_most" in item else None,
                dict(item.get("when") or {}),
            )
        )
    return expectations
