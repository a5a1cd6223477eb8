"""The metrics gate's logic, in-process (tools/analysis/gate.py): each rule at its boundary.

tests/test_check_metrics.py runs the command against a real DVC repository; these call the
functions it is made of, with numbers worked out by hand.
"""

from __future__ import annotations

import math

from or_gate.runtime import StageError

import pytest

from tools.analysis.gate import (
    ERROR,
    FAIL,
    FLOAT_SLACK,
    PASS,
    Expectation,
    Intended,
    Limit,
    Row,
    Rules,
    apply_intended,
    cell,
    check_expectations,
    check_rules_match,
    compare,
    decide,
    flatten,
    load_rules,
    markdown,
    params_match,
    summary,
)

NOW = {"relu": {"success_rate": 0.4, "test.accuracy": 0.8}, "sigmoid": {"success_rate": 1.0}}
BASE = {"relu": {"success_rate": 0.6, "test.accuracy": 0.8}, "sigmoid": {"success_rate": 1.0}}


def verdicts(rows: list[Row]) -> dict[tuple[str, str], str]:
    return {(row.variant, row.metric): row.verdict for row in rows}


def test_flatten_joins_nested_keys_with_dots():
    assert flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}}) == {"a": 1, "b.c": 2, "b.d.e": 3}
    assert flatten(5, "x.") == {"x": 5}


@pytest.mark.parametrize(
    ("kind", "bound", "verdict"),
    [
        ("max_drop", 0.2, PASS),  # 0.6 -> 0.4 is a drop of 0.2 (in floats, 0.2000...)
        ("max_drop", 0.19, FAIL),
        ("max_rise", 0.0, PASS),  # a drop is no rise
        ("max_change", 0.2, PASS),
        ("max_change", 0.1, FAIL),
    ],
)
def test_a_limit_bounds_the_move_in_its_direction(kind, bound, verdict):
    rows = compare(NOW, BASE, [Limit(metric="success_rate", variants="*", **{kind: bound})])
    assert verdicts(rows)[("relu", "success_rate")] == verdict
    assert verdicts(rows)[("sigmoid", "success_rate")] == PASS
    row = next(r for r in rows if (r.variant, r.metric) == ("relu", "success_rate"))
    assert row.change == pytest.approx(-0.2)
    assert row.limit == f"{kind.replace('_', ' ')} {bound:g}"
    if verdict == FAIL:
        assert row.note == f"{kind.replace('_', ' ')} {bound:g} exceeded"


def test_a_rise_fails_a_max_rise_and_passes_a_max_drop():
    now = {"relu": {"collapse_rate": 0.5}}
    base = {"relu": {"collapse_rate": 0.2}}
    rise = compare(now, base, [Limit(metric="collapse_rate", max_rise=0.2)])
    drop = compare(now, base, [Limit(metric="collapse_rate", max_drop=0.0)])
    assert [r.verdict for r in rise] == [FAIL] and [r.verdict for r in drop] == [PASS]


def test_the_float_slack_is_tiny():
    base = {"relu": {"x": 1.0}}
    limit = [Limit(metric="x", max_drop=0.5)]
    assert compare({"relu": {"x": 0.5 - FLOAT_SLACK / 2}}, base, limit)[0].verdict == PASS
    assert compare({"relu": {"x": 0.5 - 1e-9}}, base, limit)[0].verdict == FAIL
    assert FLOAT_SLACK < 1e-9


def test_a_limit_applies_to_its_metric_and_variant_patterns_only():
    limits = [Limit(metric="test.*", variants="rel*", max_change=0.0)]
    now = {"relu": {"test.accuracy": 0.7, "success_rate": 0.0}, "sig": {"test.accuracy": 0.1}}
    base = {"relu": {"test.accuracy": 0.8, "success_rate": 1.0}, "sig": {"test.accuracy": 0.9}}
    assert verdicts(compare(now, base, limits)) == {
        ("relu", "success_rate"): PASS,  # not test.*
        ("relu", "test.accuracy"): FAIL,
        ("sig", "test.accuracy"): PASS,  # not rel*
    }


def test_keys_and_files_that_appear_or_disappear_fail_and_unreadable_files_are_errors():
    rows = compare(
        {"relu": {"a": 1.0, "new": 2.0}, "tanh": {"a": 1.0}, "elu": "broken JSON"},
        {"relu": {"a": 1.0, "gone": 3.0}, "selu": {"a": 1.0}, "elu": {"a": 1.0}},
        [],
    )
    notes = {(r.variant, r.metric): (r.verdict, r.note) for r in rows}
    assert notes[("relu", "new")] == (FAIL, "key appeared")
    assert notes[("relu", "gone")] == (FAIL, "key disappeared (or is null)")
    assert notes[("tanh", "(file)")] == (FAIL, "metrics file appeared")
    assert notes[("selu", "(file)")] == (FAIL, "metrics file disappeared")
    assert notes[("elu", "(file)")] == (ERROR, "now: broken JSON")
    assert notes[("relu", "a")] == (PASS, "")


@pytest.mark.parametrize("bad", [math.nan, math.inf, None, "0.5", True])
def test_a_value_that_is_not_a_finite_number_fails(bad):
    [row] = compare({"relu": {"a": bad}}, {"relu": {"a": 0.5}}, [])
    assert (row.verdict, row.note) == (FAIL, "not a finite number")


def test_a_declared_change_excuses_exactly_its_metrics_and_variants():
    rows = compare(NOW, BASE, [Limit(metric="success_rate", max_drop=0.0)])
    rows += compare({"relu": {"extra": 1.0}}, {"relu": {}}, [])
    declared = [
        Intended(metrics=["success_rate"], variants=["sigmoid"], reason="not relu"),
        Intended(metrics=["success_rate"], variants=["relu"], reason="a new test set"),
        Intended(metrics=["test.accuracy"], variants=["relu"], reason="unused"),
    ]
    unused = apply_intended(rows, declared)
    relu = next(r for r in rows if (r.variant, r.metric) == ("relu", "success_rate"))
    assert (relu.verdict, relu.excused_by) == (PASS, "a new test set")
    assert relu.note == "intended: a new test set (was: max drop 0 exceeded)"
    extra = next(r for r in rows if r.metric == "extra")
    assert extra.verdict == FAIL and extra.excused_by == ""  # no declaration names it
    assert [change.reason for change in unused] == ["not relu", "unused"]


def test_an_expectation_holds_at_its_bound_and_only_when_its_params_match():
    params = {"depth": 10, "train": {"epochs": 200}}
    rows = check_expectations(
        {"relu": {"collapse_rate": 0.8}},
        [
            Expectation(variant="relu", metric="collapse_rate", at_least=0.8),
            Expectation(variant="relu", metric="collapse_rate", at_most=0.8, when={"depth": 10}),
            Expectation(variant="relu", metric="collapse_rate", at_least=0.81, when={"depth": 10}),
            Expectation(variant="relu", metric="collapse_rate", at_least=0.9, when={"depth": 1}),
            Expectation(variant="relu", metric="collapse_rate", at_most=0.7),
            Expectation(variant="tanh", metric="collapse_rate", at_most=0.5),
        ],
        params,
    )
    assert [r.verdict for r in rows] == [PASS, PASS, FAIL, FAIL, FAIL]  # depth=1 not checked
    assert rows[2].note == "the science does not hold at depth=10"
    assert rows[3].note == "the science does not hold"
    assert rows[4].note == "expected metric missing or not a finite number"
    assert rows[1].limit == "expect <= 0.8" and rows[2].limit == "expect >= 0.81"
    both = Expectation(variant="relu", metric="collapse_rate", at_least=0.5, at_most=0.9)
    assert check_expectations({"relu": {"collapse_rate": 0.8}}, [both], params)[0].limit == (
        "expect >= 0.5 and <= 0.9"
    )
    assert params_match({"train.epochs": 200}, params)
    assert not params_match({"train.epochs": 100}, params)


def test_the_rules_file_is_declared_and_read_as_dvc_reads_yaml(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "limits:\n  - {metric: 'test.*', max_drop: 0.02}\n"
        "expectations:\n  - {variant: relu, metric: collapse_rate, at_least: 0.8, "
        "when: {depth: 010}}\n"  # YAML 1.2, as DVC reads params: 10
        "intended:\n  - {metrics: [a], variants: [relu], reason: r}\n"
    )
    rules = load_rules(path)
    assert rules.limits[0].kind == "max_drop" and rules.limits[0].bound == 0.02
    assert rules.limits[0].variants == "*"
    assert rules.expectations[0].when == {"depth": 10}
    assert rules.intended[0] == Intended(metrics=["a"], variants=["relu"], reason="r")


@pytest.mark.parametrize(
    ("rules", "line"),
    [
        (
            "limits:\n  - {metric: x, max_drop: -1}\n",
            "limits[0].max_drop: -1 is not allowed: Input should be greater than or equal to 0",
        ),
        (
            "limits:\n  - {metric: x, max_drop: .nan}\n",
            "limits[0].max_drop: nan is not allowed: Input should be a finite number",
        ),
        (
            "limits:\n  - {metric: x}\n",
            "limits[0]: expected exactly one of max_drop, max_rise, max_change",
        ),
        (
            "limits:\n  - {metric: x, max_drop: 0.1, max_rise: 0.1}\n",
            "limits[0]: expected exactly one of max_drop, max_rise, max_change",
        ),
        ("limits:\n  - {metric: x, max_drop: 0.1, colour: red}\n", "limits[0].colour: unknown key"),
        ("limits:\n  - {max_drop: 0.1}\n", "limits[0].metric: missing"),
        ("limits: 5\n", "limits: 5 is not allowed: Input should be a valid list"),
        (
            "expectations:\n  - {variant: relu, metric: m}\n",
            "expectations[0]: expected at_least and/or at_most (without one it can never fail)",
        ),
        (
            "limits: []\n",
            "the document: no limits and no expectations: the gate would check nothing",
        ),
        (
            "intended:\n  - {metrics: [a], variants: [b]}\nlimits:\n  - {metric: x, max_drop: 1}\n",
            "intended[0].reason: missing",
        ),
    ],
)
def test_a_broken_rules_file_is_one_line_naming_the_entry(tmp_path, rules, line):
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    with pytest.raises(StageError) as refused:
        load_rules(path)
    assert str(refused.value) == f"{path}: {line}"


def test_a_rule_must_match_a_metric_a_variant_or_a_parameter_that_exists(tmp_path):
    metrics = [{"relu": {"success_rate": 1.0, "test.accuracy": 1.0}}]
    params = {"depth": 1, "train": {"epochs": 200}}

    def refused(**rules) -> str:
        with pytest.raises(Exception) as caught:
            check_rules_match(Rules(**rules), metrics, params, tmp_path / "r.yaml")
        return str(caught.value)

    ok = Rules(
        limits=[Limit(metric="test.*", variants="re*", max_drop=0.1)],
        expectations=[
            Expectation(
                variant="relu", metric="success_rate", at_least=0.0, when={"train.epochs": 200}
            )
        ],
        intended=[Intended(metrics=["(file)", "success_rate"], variants=["relu"], reason="r")],
    )
    check_rules_match(ok, metrics, params, tmp_path / "r.yaml")
    assert "limits[0]: metric 'test' matches nothing" in refused(
        limits=[Limit(metric="test", max_drop=0.1)]
    )
    assert "limits[0]: variants 'sig*' matches nothing" in refused(
        limits=[Limit(metric="test.*", variants="sig*", max_drop=0.1)]
    )
    assert "expectations[0]: metric 'success' matches nothing" in refused(
        expectations=[Expectation(variant="relu", metric="success", at_least=0.0)]
    )
    assert "expectations[0].when: parameter 'epochs' matches nothing" in refused(
        expectations=[
            Expectation(variant="relu", metric="success_rate", at_least=0.0, when={"epochs": 1})
        ]
    )
    assert "intended[0]: variant 'tanh' matches nothing" in refused(
        limits=[Limit(metric="test.*", max_drop=0.1)],
        intended=[Intended(metrics=["success_rate"], variants=["tanh"], reason="r")],
    )
    # a declared change naming a metric that no side has would excuse nothing, silently
    assert refused(
        limits=[Limit(metric="test.*", max_drop=0.1)],
        intended=[
            Intended(metrics=["(file)"], variants=["relu"], reason="a file may appear"),
            Intended(metrics=["succes_rate"], variants=["relu"], reason="a typo"),
        ],
    ) == (
        f"{tmp_path / 'r.yaml'}: intended[1]: metric 'succes_rate' matches nothing"
        " (did you mean 'success_rate'?)"
    )
    # variants and keys come from every side compared: a variant only the baseline has is known
    check_rules_match(
        Rules(
            limits=[Limit(metric="gone", variants="old", max_drop=0.1)],
            intended=[Intended(metrics=["gone"], variants=["old"], reason="r")],
        ),
        [*metrics, {"old": {"gone": 1.0}, "broken": "not JSON"}],
        params,
        tmp_path / "r.yaml",
    )


def test_every_limit_that_matches_applies_not_only_the_first():
    limits = [
        Limit(metric="collapse_rate", max_rise=1.0),  # matches no row here
        Limit(metric="success_rate", variants="sig*", max_drop=1.0),  # matches, passes
        Limit(metric="success_rate", max_drop=0.1),  # matches too, and fails relu's drop
    ]
    assert verdicts(compare(NOW, BASE, limits))[("relu", "success_rate")] == FAIL


def test_a_failure_two_declarations_cover_uses_the_first_only():
    rows = compare({"relu": {"a": 0.0}}, {"relu": {"a": 1.0}}, [Limit(metric="a", max_drop=0.0)])
    declared = [
        Intended(metrics=["a"], variants=["relu"], reason="first"),
        Intended(metrics=["a"], variants=["relu"], reason="second"),
    ]
    unused = apply_intended(rows, declared)
    assert rows[0].excused_by == "first"
    assert [change.reason for change in unused] == ["second"]  # the gate notes it as unused


def test_the_summary_line_names_every_excuse():
    rows = [Row("relu", "a"), Row("relu", "(file)"), Row("relu", "b", excused_by="new set")]
    rows.append(Row("tanh", "b", excused_by="new set"))
    assert summary(rows, "HEAD") == (
        "check_metrics: all 3 checks hold against HEAD, 2 of them only by a declared change: "
        "new set (relu b, tanh b)"
    )
    assert (
        summary(rows[:2], "the science") == "check_metrics: all 1 checks hold against the science"
    )


def test_the_table_shows_each_row():
    row = Row("relu", "a", baseline=0.6, now=0.4, change=-0.2, limit="max drop 0.1", verdict=FAIL)
    row.note = "max drop 0.1 exceeded"
    table = markdown([row], "HEAD").splitlines()
    assert table[0] == "| variant | metric | baseline (HEAD) | now | change | limit | verdict |"
    assert (
        table[2] == "| relu | a | 0.6 | 0.4 | -0.2 | max drop 0.1 | FAIL: max drop 0.1 exceeded |"
    )
    assert (cell(None), cell(1 / 3), cell(7)) == ("", "0.333333", "7")


def test_the_gate_and_the_report_decide_alike_and_never_excuse_the_science(tmp_path):
    """One decision (check_metrics and pr_report both call it): a declared change excuses a
    move beyond its limit, never a broken expectation of the same metric."""
    rules = Rules(
        limits=[Limit(metric="success_rate", max_drop=0.1)],
        expectations=[Expectation(variant="relu", metric="success_rate", at_least=0.5)],
        intended=[Intended(metrics=["success_rate"], variants=["relu"], reason="r")],
    )
    rows, unused = decide(rules, NOW, BASE, {}, tmp_path / "rules.yaml")
    move, science = (r for r in rows if r.variant == "relu" and r.metric == "success_rate")
    assert (move.verdict, move.excused_by) == (PASS, "r")
    assert science.verdict == FAIL and not science.excused_by
    assert unused == []
    only, _ = decide(rules, NOW, BASE, {}, tmp_path / "rules.yaml", expectations_only=True)
    assert [(r.variant, r.verdict) for r in only] == [("relu", FAIL)]


def test_decide_checks_the_rules_against_the_sides_it_compares_and_the_params(tmp_path):
    path = tmp_path / "rules.yaml"
    now = {"relu": {"success_rate": 0.4}}
    baseline = {"relu": {"success_rate": 0.6, "gone": 1.0}}
    rules = Rules(
        limits=[Limit(metric="success_rate", max_drop=0.1)],
        expectations=[
            Expectation(variant="relu", metric="success_rate", at_least=0.5, when={"depth": 10})
        ],
        # a key removed on purpose: only the baseline has it, and the declaration is valid
        intended=[Intended(metrics=["gone", "success_rate"], variants=["relu"], reason="r")],
    )
    rows, unused = decide(rules, now, baseline, {"depth": 10}, path)
    assert unused == []
    assert [(r.metric, r.verdict, r.excused_by) for r in rows] == [
        ("gone", PASS, "r"),
        ("success_rate", PASS, "r"),
        ("success_rate", FAIL, ""),  # the science at depth=10, never excused
    ]
    assert rows[-1].note == "the science does not hold at depth=10"
    # the science alone is checked against the workspace's metrics only
    with pytest.raises(StageError) as refused:
        decide(rules, now, baseline, {"depth": 10}, path, expectations_only=True)
    assert str(refused.value) == f"{path}: intended[0]: metric 'gone' matches nothing"
    # the params decide where an expectation applies: at depth 1 this one does not
    rows, _ = decide(rules, now, baseline, {"depth": 1}, path)
    assert [r.metric for r in rows] == ["gone", "success_rate"]


def test_a_passing_row_before_a_failing_one_does_not_stop_the_excuses():
    rows = compare(
        {"relu": {"a": 1.0, "b": 0.0}},
        {"relu": {"a": 1.0, "b": 1.0}},
        [Limit(metric="*", max_drop=0.0)],
    )
    assert [r.verdict for r in rows] == [PASS, FAIL]
    apply_intended(rows, [Intended(metrics=["b"], variants=["relu"], reason="r")])
    assert rows[1].verdict == PASS


def test_each_message_of_the_gate_whole():
    rows = compare({"elu": {"a": 1.0}}, {"elu": "broken"}, [])
    assert [(r.verdict, r.note) for r in rows] == [(ERROR, "baseline: broken")]
    [row] = check_expectations(
        {"relu": {"a": 0.0}},
        [Expectation(variant="relu", metric="a", at_least=1.0, when={"depth": 10, "x.y": 2})],
        {"depth": 10, "x": {"y": 2}},
    )
    assert row.note == "the science does not hold at depth=10, x.y=2"
    excused = [Row("relu", "a", excused_by="one"), Row("relu", "b", excused_by="two")]
    line = summary(excused, "HEAD")
    assert line.endswith("only by a declared change: one (relu a); two (relu b)"), line
    table = markdown([Row("relu", "a", now=1.0), Row("relu", "b", verdict=FAIL)], "HEAD")
    assert table.splitlines()[1:] == [
        "|---|---|---|---|---|---|---|",
        "| relu | a |  | 1 |  |  | ok |",
        "| relu | b |  |  |  |  | FAIL |",
    ]


def test_an_empty_rules_file_is_one_line(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(StageError) as refused:
        load_rules(path)
    assert str(refused.value) == f"{path}: the rules file is empty; the gate would check nothing"


def test_a_move_of_exactly_the_limit_plus_the_slack_passes():
    """0.5 - 1e-12 + FLOAT_SLACK is exactly 0.5 in floats: the move equals the bound with its
    rounding allowance, which passes; the allowance is the only excess allowed."""
    bound = 0.5 - FLOAT_SLACK
    assert bound + FLOAT_SLACK == 0.5
    [row] = compare({"relu": {"a": 0.5}}, {"relu": {"a": 1.0}}, [Limit(metric="a", max_drop=bound)])
    assert row.verdict == PASS


def test_a_missing_or_broken_value_does_not_stop_the_comparison_of_the_rest():
    nan = float("nan")
    rows = compare(
        {"alpha": {"a": 1.0}, "beta": {"b": 0.0, "c": nan, "d": 0.0}},
        {"beta": {"b": 1.0, "c": 1.0, "d": 1.0, "e": 1.0}, "gamma": {"a": 1.0}},
        [Limit(metric="*", max_drop=0.5)],
    )
    assert [(r.variant, r.metric, r.verdict) for r in rows] == [
        ("alpha", "(file)", FAIL),  # appeared: the next variant is still compared
        ("beta", "b", FAIL),
        ("beta", "c", FAIL),  # not finite: the keys after it are still compared
        ("beta", "d", FAIL),
        ("beta", "e", FAIL),  # disappeared
        ("gamma", "(file)", FAIL),
    ]
