"""The metrics gate: fail when results drift from the committed baseline, and fail loudly.

Run as ``python tools/check_metrics.py [--baseline REV] [--rules .ci/metric_rules.yaml]``.

Compares every metrics file DVC tracks (``metrics/<variant>.json``, the metrics DVC shows) and
its variant's summary of every number (``data/evaluation/<variant>/summary.json``) in the
workspace with the same files at ``REV`` (default ``HEAD``: the committed results), key by key,
through DVC's own Python API (``Repo.metrics.show``), and applies the rules in ``--rules``
(data, not code), declared here once (:class:`Rules`) and validated like ``params.yaml``, one
line per bad entry:

* ``limits``: per metric pattern (and variant pattern), the largest allowed ``max_drop``,
  ``max_rise`` or ``max_change`` against the baseline (a number >= 0);
* ``expectations``: absolute bounds (``at_least``/``at_most``) that encode the science, each
  applying only ``when`` the workspace's params.yaml has the given values;
* ``intended``: changes declared in the commit that makes them, naming their metrics and
  variants explicitly (no patterns: a catch-all would excuse any regression), with a
  ``reason``. A failed comparison they cover passes with the reason shown, in the table and in
  the summary line; a broken expectation never does. Declarations that covered nothing are
  noted, so they can be removed once the change has landed.

A rule that can match nothing is a typo that would switch a check off, so the gate refuses
(exit 2, naming the entry) a limit whose metric or variant pattern matches no metric or
variant, an expectation whose metric no variant has, a ``when`` key that is no parameter, and
an intended entry naming a metric or variant that does not exist. It fails (exit 1) on a
broken rule, a metrics file or key that appeared or disappeared, and a value that is not a
finite number; it cannot compare (exit 2) when a file cannot be read or parsed, REV is unknown
or empty, or the rules file is empty. ``dvc metrics diff`` gives no verdict and exits 0 even
then, hence this gate.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from or_gate.evaluation import HEADLINE
from or_gate.params import read_yaml, suggestion
from or_gate.runtime import StageError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

PASS, FAIL, ERROR = "ok", "FAIL", "ERROR"
FILE = "(file)"  # the "metric" of a metrics file that appeared or disappeared
# A move is compared with its limit after float subtraction (0.6 - 0.4 is 0.19999999999999996),
# so a move of exactly the limit is allowed this much rounding; anything larger fails.
FLOAT_SLACK = 1e-12

Tolerance = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Bound = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Name = Annotated[str, StringConstraints(pattern=r"^[^*?\[\]]+$")]  # explicit: no pattern


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Limit(Rule):
    metric: Text  # fnmatch pattern over dotted keys, e.g. "test.*"
    variants: Text = "*"
    max_drop: Tolerance | None = None
    max_rise: Tolerance | None = None
    max_change: Tolerance | None = None

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Limit:
        if len(self.bounds) != 1:
            raise ValueError("expected exactly one of max_drop, max_rise, max_change")
        return self

    @property
    def bounds(self) -> dict[str, float]:
        kinds = {"max_drop": self.max_drop, "max_rise": self.max_rise}
        kinds["max_change"] = self.max_change
        return {kind: bound for kind, bound in kinds.items() if bound is not None}

    @property
    def kind(self) -> str:
        return next(iter(self.bounds))

    @property
    def bound(self) -> float:
        return self.bounds[self.kind]


class Expectation(Rule):
    variant: Name
    metric: Name
    at_least: Bound | None = None
    at_most: Bound | None = None
    when: dict[Text, str | int | float | bool] = {}

    @model_validator(mode="after")
    def _a_bound_that_can_fail(self) -> Expectation:
        if self.at_least is None and self.at_most is None:
            raise ValueError("expected at_least and/or at_most (without one it can never fail)")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(f"at_least {self.at_least:g} is above at_most {self.at_most:g}")
        return self


class Intended(Rule):
    """A change to the results declared with the commit that makes it."""

    metrics: list[Name] = Field(min_length=1)  # dotted keys, or "(file)"
    variants: list[Name] = Field(min_length=1)
    reason: Text


class Rules(Rule):
    limits: list[Limit] = []
    expectations: list[Expectation] = []
    intended: list[Intended] = []

    @model_validator(mode="after")
    def _checks_something(self) -> Rules:
        if not (self.limits or self.expectations):
            raise ValueError("no limits and no expectations: the gate would check nothing")
        return self


def _describe(error: dict) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    where = where.lstrip(".") or "the document"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if error["type"] == "missing":
        return f"{where}: missing"
    value = f"{error['input']!r} is not allowed: " if error["type"] != "value_error" else ""
    return f"{where}: {value}{error['msg'].removeprefix('Value error, ')}"


def load_rules(path: Path) -> Rules:
    """The rules file, validated; :class:`StageError` with one line naming a bad entry."""
    from pydantic import ValidationError

    document = read_yaml(path)
    if not document:
        raise StageError(f"{path}: the rules file is empty; the gate would check nothing")
    try:
        return Rules.model_validate(document)
    except ValidationError as error:
        raise StageError(f"{path}: {_describe(error.errors()[0])}") from None


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(document, dict):
        return {prefix.rstrip("."): document}
    flat: dict[str, Any] = {}
    for key, value in document.items():
        flat.update(flatten(value, f"{prefix}{key}."))
    return flat


def check_rules_match(rules: Rules, metrics: list[dict], params: dict, path: Path) -> None:
    """Refuse a rule that cannot match anything (a typo that would switch a check off).
    ``metrics``: the sides compared ({variant: flat metrics}); ``params``: the workspace's."""
    variants = {v for side in metrics for v in side}
    keys = {
        k
        for side in metrics
        for values in side.values()
        if isinstance(values, dict)
        for k in values
    }
    known = sorted(keys)

    def refuse(where: str, what: str, value: str, choices) -> None:
        raise StageError(
            f"{path}: {where}: {what} {value!r} matches nothing{suggestion(value, choices)}"
        )

    for index, limit in enumerate(rules.limits):
        if not any(fnmatch.fnmatchcase(key, limit.metric) for key in keys):
            refuse(f"limits[{index}]", "metric", limit.metric, known)
        if not any(fnmatch.fnmatchcase(variant, limit.variants) for variant in variants):
            refuse(f"limits[{index}]", "variants", limit.variants, sorted(variants))
    parameters = flatten(params)
    for index, expected in enumerate(rules.expectations):
        if expected.metric not in keys:
            refuse(f"expectations[{index}]", "metric", expected.metric, known)
        for key in expected.when:
            if key not in parameters:
                refuse(f"expectations[{index}].when", "parameter", key, sorted(parameters))
    for index, change in enumerate(rules.intended):
        for metric in change.metrics:
            if metric != FILE and metric not in keys:
                refuse(f"intended[{index}]", "metric", metric, known)
        for variant in change.variants:
            if variant not in variants:
                refuse(f"intended[{index}]", "variant", variant, sorted(variants))


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
    excused_by: str = ""  # the reason of the intended change that made a failure pass


# Where each variant's every number is, beside the metrics DVC shows (stages/evaluate.py).
SUMMARY = "data/evaluation/{variant}/summary.json"


def collect_metrics(root: Path, baseline: str, head: str = "workspace") -> tuple[dict, dict]:
    """{variant: flat metrics, or an error string} at ``head`` (the workspace, or a revision)
    and at the baseline: the metrics files DVC tracks, each with its variant's summary (every
    number) where there is one."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.scm import RevError

    for flag, revision in (("--baseline", baseline), ("--head", head)):
        if not revision.strip():
            raise StageError(f"{flag}: an empty revision; give a commit, branch or tag (HEAD)")
    revs = [baseline] if head == "workspace" else [baseline, head]
    try:
        with Repo(str(root)) as repo:
            shown = repo.metrics.show(revs=revs)
            variants = {
                Path(name).stem for entry in shown.values() for name in (entry.get("data") or {})
            }
            targets = [SUMMARY.format(variant=variant) for variant in sorted(variants)]
            summaries = repo.metrics.show(targets=targets, revs=revs) if targets else {}
    except RevError as error:
        unknown = head if head != "workspace" and repr(head) in str(error) else baseline
        which = "head" if unknown is head and unknown != baseline else "baseline"
        raise StageError(f"unknown {which} revision {unknown!r}") from None
    except DvcException as error:
        raise StageError(f"DVC could not read the metrics: {error}") from None

    def by_variant(rev: str) -> dict:
        entry = shown.get(rev) or {}
        if "error" in entry:
            raise StageError(f"DVC could not read the metrics at {rev}: {entry['error']}")
        found = {}
        for name, item in (entry.get("data") or {}).items():
            if "data" not in item:
                found[Path(name).stem] = str(item.get("error"))
                continue
            summary = ((summaries.get(rev) or {}).get("data") or {}).get(
                SUMMARY.format(variant=Path(name).stem), {}
            )
            # the headline from the metrics file, which is what DVC shows (the summary repeats
            # it); the summary's other numbers beside it
            rest = {k: v for k, v in summary.get("data", {}).items() if k not in HEADLINE}
            found[Path(name).stem] = flatten({**rest, **item["data"]})
        return found

    return by_variant(head), by_variant(baseline)


def params_match(when: dict, params: dict) -> bool:
    flat = flatten(params)
    return all(flat.get(key) == value for key, value in when.items())


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _moved(limit: Limit, change: float) -> float:
    """How far a change goes in the direction the limit bounds."""
    return {"max_drop": -change, "max_rise": change}.get(limit.kind, abs(change))


def compare(now: dict, baseline: dict, limits: list[Limit]) -> list[Row]:
    rows = []
    for variant in sorted(set(now) | set(baseline)):
        if variant not in now or variant not in baseline:
            side = "appeared" if variant not in baseline else "disappeared"
            rows.append(Row(variant, FILE, verdict=FAIL, note=f"metrics file {side}"))
            continue
        for side, metrics in (("now", now[variant]), ("baseline", baseline[variant])):
            if isinstance(metrics, str):
                rows.append(Row(variant, FILE, verdict=ERROR, note=f"{side}: {metrics}"))
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
                words = limit.kind.replace("_", " ")
                row.limit = f"{words} {limit.bound:g}"
                if _moved(limit, row.change) > limit.bound + FLOAT_SLACK:
                    row.verdict, row.note = FAIL, f"{words} {limit.bound:g} exceeded"
    return rows


def apply_intended(rows: list[Row], intended: list[Intended]) -> list[Intended]:
    """A failed comparison that a declared change covers passes, saying so; the science
    (expectations) is never excused. Returns the declarations that covered nothing."""
    used = set()
    for row in rows:
        if row.verdict != FAIL:
            continue
        for index, change in enumerate(intended):
            if row.metric in change.metrics and row.variant in change.variants:
                row.verdict, row.note = PASS, f"intended: {change.reason} (was: {row.note})"
                row.excused_by = change.reason
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


def decide(
    rules: Rules,
    now: dict,
    baseline: dict,
    params: dict,
    path: Path,
    expectations_only: bool = False,
) -> tuple[list[Row], list[Intended]]:
    """The gate's rows, and the declared changes that covered nothing: rules that match
    nothing refused; the moves against the baseline (none with ``expectations_only``), which
    a declared change may excuse; then the science, which nothing excuses."""
    check_rules_match(rules, [now] if expectations_only else [now, baseline], params, path)
    science = check_expectations(now, rules.expectations, params)
    moves = [] if expectations_only else compare(now, baseline, rules.limits)
    unused = apply_intended(moves, rules.intended)
    return moves + science, unused


def summary(rows: list[Row], against: str) -> str:
    """The last line when every check holds, naming the declared changes that excused any."""
    checked = sum(1 for row in rows if row.metric != FILE)
    excused: dict[str, list[str]] = {}
    for row in rows:
        if row.excused_by:
            excused.setdefault(row.excused_by, []).append(f"{row.variant} {row.metric}")
    line = f"check_metrics: all {checked} checks hold against {against}"
    if excused:
        count = sum(len(where) for where in excused.values())
        reasons = "; ".join(f"{reason} ({', '.join(where)})" for reason, where in excused.items())
        line += f", {count} of them only by a declared change: {reasons}"
    return line


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
