"""The metrics gate, against a real temporary git + DVC repository with committed metrics."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from or_gate.evaluation import HEADLINE

import pytest
from helpers import REPO, git_commit_all, quiet_env, run, tool_in_process

VARIANTS = ("sigmoid", "relu", "leaky_relu")


@pytest.fixture(scope="session")
def committed_baseline(tmp_path_factory) -> Path:
    """A repository whose committed metrics and summaries are the project's committed ones
    (built once: `dvc init` costs more than the gate; tests get copies)."""
    repo = tmp_path_factory.mktemp("gated") / "repo"
    (repo / "metrics").mkdir(parents=True)
    for variant in VARIANTS:
        shutil.copy(REPO / "metrics" / f"{variant}.json", repo / "metrics")
        summary = Path("data/evaluation") / variant / "summary.json"
        (repo / summary).parent.mkdir(parents=True)
        shutil.copy(REPO / summary, repo / summary)
    shutil.copy(REPO / "params.yaml", repo)
    (repo / "dvc.yaml").write_text("metrics:\n  - metrics\n")
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["dvc", "init", "-q"], repo)
    git_commit_all(repo, "baseline")
    return repo


@pytest.fixture()
def gated(committed_baseline, tmp_path) -> Path:
    """A copy of the committed baseline of this test's own, to edit."""
    return shutil.copytree(committed_baseline, tmp_path / "repo", symlinks=True)


def gate(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``tools/check_metrics.py --rules .ci/metric_rules.yaml ARGS`` run in ``repo``, in this
    process as the command runs it: a new interpreter costs more than the gate. The tests that
    give it rules of their own (``gate_with``, ``gate_with_only``) run it as a real process."""
    argv = ["--rules", str(REPO / ".ci/metric_rules.yaml"), *args]
    return tool_in_process("check_metrics", argv, repo, **env)


def edit(repo: Path, variant: str, change) -> None:
    """Change a variant's summary, and its metrics file as evaluate writes it (the headline
    keys of the summary)."""
    summary = repo / "data/evaluation" / variant / "summary.json"
    document = json.loads(summary.read_text())
    change(document)
    summary.write_text(json.dumps(document))
    shown = {key: document[key] for key in HEADLINE if key in document}
    (repo / "metrics" / f"{variant}.json").write_text(json.dumps(shown))


def failing_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("check_metrics:")]


def test_identical_metrics_pass(gated):
    result = gate(gated)
    assert result.returncode == 0, result.stderr
    assert "| relu | test.accuracy |" in result.stdout
    assert "all 46 checks hold against HEAD" in result.stdout


def test_a_move_within_tolerance_passes(gated):
    edit(gated, "relu", lambda d: d["test"].update(accuracy=d["test"]["accuracy"] - 0.01))
    assert gate(gated).returncode == 0


def test_a_drop_beyond_the_limit_fails_naming_variant_and_key(gated):
    edit(gated, "relu", lambda d: d["test"].update(accuracy=d["test"]["accuracy"] - 0.1))
    result = gate(gated)
    assert result.returncode == 1
    assert failing_lines(result) == [
        "check_metrics: FAIL relu test.accuracy: max drop 0.02 exceeded "
        "(baseline 0.828571, now 0.728571)"
    ]
    assert (
        "| relu | test.accuracy | 0.828571 | 0.728571 | -0.1 | max drop 0.02 | FAIL"
        in result.stdout
    )


def test_a_rise_in_collapse_beyond_the_limit_fails(gated):
    edit(gated, "sigmoid", lambda d: d.update(collapse_rate=0.4))
    lines = failing_lines(gate(gated))
    assert any("FAIL sigmoid collapse_rate: max rise 0.2 exceeded" in line for line in lines)
    assert any(
        "FAIL sigmoid collapse_rate: the science does not hold at depth=1" in line for line in lines
    )


def test_a_removed_key_fails(gated):
    edit(gated, "leaky_relu", lambda d: d["gradients"].pop("log10_ratio_final"))
    result = gate(gated)
    assert result.returncode == 1
    assert "FAIL leaky_relu gradients.log10_ratio_final: key disappeared" in result.stderr


def test_a_removed_metrics_file_fails(gated):
    (gated / "metrics/relu.json").unlink()
    result = gate(gated)
    assert result.returncode == 1
    assert "FAIL relu (file): metrics file disappeared" in result.stderr


def test_an_added_metrics_file_fails(gated):
    shutil.copy(gated / "metrics/relu.json", gated / "metrics/tanh.json")
    result = gate(gated)
    assert result.returncode == 1
    assert "FAIL tanh (file): metrics file appeared" in result.stderr


@pytest.mark.parametrize(
    ("bad", "note"),
    [
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ('"high"', "not a finite number"),
        ("null", "key disappeared (or is null)"),  # evaluate writes non-finite numbers as null
    ],
)
def test_a_value_that_is_not_a_finite_number_fails(gated, bad, note):
    path = gated / "metrics/sigmoid.json"
    path.write_text(path.read_text().replace('"success_rate": 1.0', f'"success_rate": {bad}'))
    result = gate(gated)
    assert result.returncode == 1
    assert f"FAIL sigmoid success_rate: {note}" in result.stderr


def test_a_file_that_is_not_json_cannot_be_compared(gated):
    (gated / "metrics/relu.json").write_text("{ not json")
    result = gate(gated)
    assert result.returncode == 2
    assert any("ERROR relu (file): now:" in line for line in failing_lines(result))


def test_an_unknown_baseline_cannot_be_compared(gated):
    result = gate(gated, "--baseline", "no-such-rev")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "check_metrics: error: unknown baseline revision 'no-such-rev'"
    )


def test_the_science_is_checked_only_where_it_applies(gated):
    edit(gated, "sigmoid", lambda d: d["test"].update(accuracy=0.99))
    failing = gate(gated)
    assert "FAIL sigmoid test.accuracy: the science does not hold at depth=1" in failing.stderr
    # The same numbers committed at depth 3: no depth-1 expectation applies, nothing moved.
    (gated / "params.yaml").write_text(
        (gated / "params.yaml").read_text().replace("depth: 1", "depth: 3")
    )
    git_commit_all(gated, "a depth-3 baseline")
    assert gate(gated).returncode == 0


def at_depth_10(document: dict, variant: str) -> None:
    """What a depth-10 run measures (the expectations' side of it)."""
    if variant == "leaky_relu":
        document["success_rate"] = 1.0
    else:
        document["collapse_rate"] = 1.0
        document["gradients"]["log10_ratio_at_init"] = -21.6 if variant == "sigmoid" else -299.1
        document["saturated_units"]["final"] = 0.0 if variant == "sigmoid" else 1.0


def test_the_science_at_depth_10_is_checked_without_a_baseline(gated):
    (gated / "params.yaml").write_text(
        (gated / "params.yaml").read_text().replace("depth: 1", "depth: 10")
    )
    for variant in VARIANTS:
        edit(gated, variant, lambda d, v=variant: at_depth_10(d, v))
    result = gate(gated, "--expectations-only")
    assert result.returncode == 0, result.stderr
    assert "all 7 checks hold against the science" in result.stdout
    edit(gated, "relu", lambda d: d["gradients"].update(log10_ratio_at_init=-5.0))
    result = gate(gated, "--expectations-only")
    assert result.returncode == 1
    assert failing_lines(result) == [
        "check_metrics: FAIL relu gradients.log10_ratio_at_init: the science does not hold "
        "at depth=10 (baseline -, now -5)"
    ]


def test_expectations_only_refuses_params_no_expectation_applies_to(gated, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "expectations:\n"
        "  - {variant: sigmoid, metric: success_rate, at_least: 1, when: {depth: 1}}\n"
    )
    (gated / "params.yaml").write_text(
        (gated / "params.yaml").read_text().replace("depth: 1", "depth: 3")
    )
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools/check_metrics.py"),
            "--rules",
            str(rules),
            "--expectations-only",
        ],
        cwd=gated,
        capture_output=True,
        text=True,
        env=quiet_env(),
    )
    assert result.returncode == 2 and "no expectation in" in result.stderr


def test_the_table_goes_to_the_github_step_summary(gated, tmp_path):
    summary = tmp_path / "summary.md"
    assert gate(gated, GITHUB_STEP_SUMMARY=str(summary)).returncode == 0
    text = summary.read_text()
    assert text.startswith("### Metrics gate against `HEAD`")
    assert "| variant | metric | baseline (HEAD) | now | change | limit | verdict |" in text


def test_broken_rules_cannot_be_used(gated, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("limits:\n  - metric: test.accuracy\n    max_drop: 0.1\n    max_rise: 0.1\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "tools/check_metrics.py"), "--rules", str(rules)],
        cwd=gated,
        capture_output=True,
        text=True,
        env=quiet_env(),
    )
    assert result.returncode == 2 and "expected exactly one of max_drop" in result.stderr


def gate_with(repo: Path, rules: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "rules.yaml"
    committed = (REPO / ".ci/metric_rules.yaml").read_text().split("\nintended:")[0]
    path.write_text(committed + "\n" + rules)
    command = [str(REPO / "tools/check_metrics.py"), "--rules", str(path), *args]
    return subprocess.run(
        [sys.executable, *command], cwd=repo, capture_output=True, text=True, env=quiet_env()
    )


def test_an_intended_change_declared_with_the_commit_lands(gated, tmp_path):
    edit(gated, "relu", lambda d: d.update(new_rate=0.5))
    edit(gated, "relu", lambda d: d["test"].update(accuracy=d["test"]["accuracy"] - 0.1))
    undeclared = gate_with(gated, "", tmp_path)
    assert undeclared.returncode == 1
    assert "FAIL relu new_rate: key appeared" in undeclared.stderr
    declared = gate_with(
        gated,
        "intended:\n"
        "  - {metrics: [new_rate], variants: [relu], reason: a new measurement}\n"
        "  - {metrics: [test.accuracy], variants: [relu], reason: a harder test set}\n"
        "  - {metrics: [born_dead_rate], variants: [sigmoid], reason: never happens}\n",
        tmp_path,
    )
    assert declared.returncode == 0, declared.stderr
    assert "| relu | new_rate |" in declared.stdout
    assert "ok: intended: a new measurement (was: key appeared)" in declared.stdout
    assert "ok: intended: a harder test set (was: max drop 0.02 exceeded)" in declared.stdout
    assert (
        "check_metrics: note: declared change not seen (sigmoid born_dead_rate: never happens); "
        "remove it from" in declared.stdout
    )
    # the summary line itself says which checks held only by a declared change, and why
    assert declared.stdout.strip().splitlines()[-1] == (
        "check_metrics: all 47 checks hold against HEAD, 2 of them only by a declared change: "
        "a new measurement (relu new_rate); a harder test set (relu test.accuracy)"
    )


def test_a_declared_change_never_excuses_the_science(gated, tmp_path):
    edit(gated, "sigmoid", lambda d: d["test"].update(accuracy=0.5))
    declared = "{metrics: [test.accuracy], variants: [sigmoid], reason: a new test set}"
    result = gate_with(gated, f"intended:\n  - {declared}\n", tmp_path)
    assert result.returncode == 1
    assert failing_lines(result) == [
        "check_metrics: FAIL sigmoid test.accuracy: the science does not hold at depth=1 "
        "(baseline -, now 0.5)"
    ]


def refused(result) -> str:
    """The one line of a gate that refused its rules (exit 2)."""
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (  # a misspelt metric would check nothing
            "limits:\n  - {metric: success-rate, max_drop: 0.2}\n",
            "limits[0]: metric 'success-rate' matches nothing (did you mean 'success_rate'?)",
        ),
        (
            "limits:\n  - {metric: success_rate, variants: rleu, max_drop: 0.2}\n",
            "limits[0]: variants 'rleu' matches nothing (did you mean 'relu'?)",
        ),
        (
            "expectations:\n  - {variant: relu, metric: colapse_rate, at_least: 0.8}\n",
            "expectations[0]: metric 'colapse_rate' matches nothing "
            "(did you mean 'collapse_rate'?)",
        ),
        (  # a misspelt `when:` key would never apply
            "expectations:\n  - {variant: relu, metric: collapse_rate, at_least: 0.8, "
            "when: {dpeth: 10}}\n",
            "expectations[0].when: parameter 'dpeth' matches nothing (did you mean 'depth'?)",
        ),
        (  # a catch-all would excuse any regression
            "limits:\n  - {metric: success_rate, max_drop: 0.2}\n"
            "intended:\n  - {metrics: ['*'], variants: [relu], reason: anything goes}\n",
            "intended[0].metrics[0]: '*' is not allowed: String should match pattern",
        ),
        (
            "limits:\n  - {metric: success_rate, max_drop: 0.2}\n"
            "intended:\n  - {metrics: [success_rate], variants: ['*'], reason: anything}\n",
            "intended[0].variants[0]: '*' is not allowed: String should match pattern",
        ),
        (
            "limits:\n  - {metric: success_rate, max_drop: 0.2}\n"
            "intended:\n  - {metrics: [succes_rate], variants: [relu], reason: renamed}\n",
            "intended[0]: metric 'succes_rate' matches nothing (did you mean 'success_rate'?)",
        ),
        (
            "limits:\n  - {metric: success_rate, max_drop: 0.2}\n"
            "intended:\n  - {metrics: [success_rate], variants: [relu]}\n",
            "intended[0].reason: missing",
        ),
        (
            "limits:\n  - {metric: success_rate, max_drop: -0.1}\n",
            "limits[0].max_drop: -0.1 is not allowed: Input should be greater than or equal to 0",
        ),
        (  # an expectation without a bound can never fail
            "expectations:\n  - {variant: relu, metric: collapse_rate}\n",
            "expectations[0]: expected at_least and/or at_most (without one it can never fail)",
        ),
        (
            "limits:\n  - {metric: test.accuracy, max_drop: 0.1, max_rise: 0.1}\n",
            "limits[0]: expected exactly one of max_drop, max_rise, max_change",
        ),
        ("", "the rules file is empty; the gate would check nothing"),
        ("intended: []\n", "the document: no limits and no expectations: the gate would check"),
    ],
)
def test_a_rule_that_would_switch_a_check_off_is_refused_naming_it(gated, tmp_path, rules, message):
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    command = [sys.executable, str(REPO / "tools/check_metrics.py"), "--rules", str(path)]
    result = subprocess.run(command, cwd=gated, capture_output=True, text=True, env=quiet_env())
    assert refused(result).startswith(f"check_metrics: error: {path}: {message}")


def test_an_empty_baseline_revision_is_refused(gated):
    assert refused(gate(gated, "--baseline", "")) == (
        "check_metrics: error: --baseline: an empty revision; give a commit, branch or tag (HEAD)"
    )


def test_a_move_of_exactly_the_limit_passes_and_the_least_more_fails(gated, tmp_path):
    rules = "limits:\n  - {metric: success_rate, variants: relu, max_drop: 0.2}\n"
    edit(gated, "relu", lambda d: d.update(success_rate=0.4))  # 0.6 - 0.4 in floats: 0.2000...
    exactly = gate_with_only(gated, rules, tmp_path)
    assert exactly.returncode == 0, exactly.stderr
    edit(gated, "relu", lambda d: d.update(success_rate=0.4 - 1e-9))
    assert "max drop 0.2 exceeded" in gate_with_only(gated, rules, tmp_path).stderr


def test_a_limit_applies_only_to_the_variants_it_names(gated, tmp_path):
    rules = "limits:\n  - {metric: success_rate, variants: relu, max_drop: 0.1}\n"
    edit(gated, "sigmoid", lambda d: d.update(success_rate=0.5))  # sigmoid: no limit named
    assert gate_with_only(gated, rules, tmp_path).returncode == 0
    edit(gated, "relu", lambda d: d.update(success_rate=0.4))
    assert failing_lines(gate_with_only(gated, rules, tmp_path)) == [
        "check_metrics: FAIL relu success_rate: max drop 0.1 exceeded (baseline 0.6, now 0.4)"
    ]


def gate_with_only(repo: Path, rules: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "only.yaml"
    path.write_text(rules)
    command = [sys.executable, str(REPO / "tools/check_metrics.py"), "--rules", str(path)]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, env=quiet_env())
