"""The metrics gate: fail when results drift from the committed baseline.

Run as ``python tools/check_metrics.py [--baseline REV] [--rules .ci/metric_rules.yaml]``.

Compares every metrics file DVC tracks (``metrics/<variant>.json``) in the workspace with the
same file at ``REV`` (default ``HEAD``: the committed results), key by key, through DVC's own
Python API (``Repo.metrics.show``), and applies the rules in ``--rules`` (data, not code):

* ``limits``: per metric pattern (and variant pattern), the largest allowed ``max_drop``,
  ``max_rise`` or ``max_change`` against the baseline;
* ``expectations``: absolute bounds (``at_least``/``at_most``) that encode the science, each
  applying only ``when`` the workspace's params.yaml has the given values;
* ``intended``: changes declared in the commit that makes them (a new key, a moved value,
  each with its ``reason``). A failed comparison they cover passes with the reason shown; a
  broken expectation never does. Declarations that covered nothing are reported, so they can
  be removed once the change has landed.

It fails on a broken rule, a metrics file or key that appeared or disappeared, and a value
that is not a finite number; it cannot compare when a file cannot be read or parsed or REV is
unknown. ``dvc metrics diff`` gives no verdict and exits 0 even then, hence this gate.

Prints a Markdown table (variant, metric, baseline, now, change, limit, verdict), appends it to
``$GITHUB_STEP_SUMMARY`` when that is set, and names the variant and key on every failing line.
Exit status: 0 all holds, 1 regression, 2 could not compare.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from or_gate.runtime import StageError

import yaml

PASS, FAIL, ERROR = "ok", "FAIL", "ERROR"


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


@dataclass
class Row:
    variant: str
    metric: str
    baseline: Any = None
    now: Any = None
    change: float | None = None
    limit: str = ""
    verdict: str = PASS
    note: str = ""


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(document, dict):
        return {prefix.rstrip("."): document}
    flat: dict[str, Any] = {}
    for key, value in document.items():
        flat.update(flatten(value, f"{prefix}{key}."))
    return flat


def collect_metrics(root: Path, baseline: str) -> tuple[dict, dict]:
    """{variant: flat metrics, or an error string} for the workspace and the baseline."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.scm import RevError

    try:
        with Repo(str(root)) as repo:
            shown = repo.metrics.show(revs=[baseline])
    except RevError:
        raise StageError(f"unknown baseline revision {baseline!r}") from None
    except DvcException as error:
        raise StageError(f"DVC could not read the metrics: {error}") from None

    def by_variant(rev: str) -> dict:
        entry = shown.get(rev) or {}
        if "error" in entry:
            raise StageError(f"DVC could not read the metrics at {rev}: {entry['error']}")
        files = entry.get("data") or {}
        return {
            Path(name).stem: (flatten(item["data"]) if "data" in item else str(item.get("error")))
            for name, item in files.items()
        }

    return by_variant("workspace"), by_variant(baseline)


def params_match(when: dict, params: dict) -> bool:
    flat = flatten(params)
    return all(flat.get(key) == value for key, value in when.items())


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def compare(now: dict, baseline: dict, limits: list[Limit]) -> list[Row]:
    rows = []
    for variant in sorted(set(now) | set(baseline)):
        if variant not in now or variant not in baseline:
            side = "appeared" if variant not in baseline else "disappeared"
            rows.append(Row(variant, "(file)", verdict=FAIL, note=f"metrics file {side}"))
            continue
        for side, metrics in (("now", now[variant]), ("baseline", baseline[variant])):
            if isinstance(metrics, str):
                rows.append(Row(variant, "(file)", verdict=ERROR, note=f"{side}: {metrics}"))
        if isinstance(now[variant], str) or isinstance(baseline[variant], str):
            continue
        for metric in sorted(set(now[variant]) | set(baseline[variant])):
            row = Row(variant, metric, baseline[variant].get(metric), now[variant].get(metric))
            rows.append(row)
            if metric not in now[variant] or metric not in baseline[variant]:
                # DVC drops null values, so a null (our non-finite marker) shows as missing.
                gone = "appeared" if metric not in baseline[variant] else "disappeared (or is null)"
                row.verdict, row.note = FAIL, f"key {gone}"
                continue
            if not (_finite(row.now) and _finite(row.baseline)):
                row.verdict, row.note = FAIL, "not a finite number"
                continue
            row.change = row.now - row.baseline
            for limit in limits:
                if not (
                    fnmatch.fnmatchcase(metric, limit.metric)
                    and fnmatch.fnmatchcase(variant, limit.variants)
                ):
                    continue
                row.limit = f"{limit.kind.replace('_', ' ')} {limit.bound:g}"
                moved = {"max_drop": -row.change, "max_rise": row.change}.get(
                    limit.kind, abs(row.change)
                )
                if moved > limit.bound + 1e-12:
                    row.verdict = FAIL
                    row.note = f"{limit.kind.replace('_', ' ')} {limit.bound:g} exceeded"
    return rows


def apply_intended(rows: list[Row], intended: list[Intended]) -> list[Intended]:
    """A failed comparison that a declared change covers passes, saying so; the science
    (expectations) is never excused. Returns the declarations that covered nothing."""
    used = set()
    for row in rows:
        if row.verdict != FAIL:
            continue
        for index, change in enumerate(intended):
            if fnmatch.fnmatchcase(row.metric, change.metric) and fnmatch.fnmatchcase(
                row.variant, change.variants
            ):
                row.verdict, row.note = PASS, f"intended: {change.reason} (was: {row.note})"
                used.add(index)
                break
    return [change for index, change in enumerate(intended) if index not in used]


def check_expectations(now: dict, expectations: list[Expectation], params: dict) -> list[Row]:
    rows = []
    for expected in expectations:
        if not params_match(expected.when, params):
            continue
        bounds = []
        if expected.at_least is not None:
            bounds.append(f">= {expected.at_least:g}")
        if expected.at_most is not None:
            bounds.append(f"<= {expected.at_most:g}")
        row = Row(expected.variant, expected.metric, limit="expect " + " and ".join(bounds))
        rows.append(row)
        metrics = now.get(expected.variant)
        row.now = metrics.get(expected.metric) if isinstance(metrics, dict) else None
        if not _finite(row.now):
            row.verdict, row.note = FAIL, "expected metric missing or not a finite number"
        elif (expected.at_least is not None and row.now < expected.at_least) or (
            expected.at_most is not None and row.now > expected.at_most
        ):
            when = ", ".join(f"{k}={v}" for k, v in expected.when.items())
            row.verdict = FAIL
            row.note = "the science does not hold" + (f" at {when}" if when else "")
    return rows


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def markdown(rows: list[Row], baseline: str) -> str:
    lines = [
        f"| variant | metric | baseline ({baseline}) | now | change | limit | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        change = "" if row.change is None else f"{row.change:+.6g}"
        verdict = row.verdict + (f": {row.note}" if row.note else "")
        lines.append(
            f"| {row.variant} | {row.metric} | {cell(row.baseline)} | {cell(row.now)} "
            f"| {change} | {row.limit} | {verdict} |"
        )
    return "\n".join(lines)
