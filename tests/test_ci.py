"""CI definitions: the GitHub workflow is valid and does what .ci/run and the README say."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from helpers import REPO

WORKFLOW = REPO / ".github/workflows/ci.yml"


def lint(path) -> subprocess.CompletedProcess:
    """Validate against the GitHub workflow schema vendored in check-jsonschema (offline)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
    )


def quickstart_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = []
    for line in block.splitlines():
        code = line.split("#", 1)[0].strip()
        commands += [part.strip() for part in code.split("&&") if part.strip()]
    return commands


def test_readme_quickstart_is_the_two_lines():
    assert quickstart_commands() == [
        "python -m pip install -e .",
        "dvc repro",
        'python -m pip install -e ".[test]"',
        "pytest",
    ]


def test_workflow_passes_the_schema_check():
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    broken = yaml.safe_load(WORKFLOW.read_text())
    del broken["jobs"]["test-reproduce-gate"]["runs-on"]
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert lint(path).returncode != 0


def test_workflow_installs_tests_reproduces_and_gates():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the `on` key as True
    steps = workflow["jobs"]["test-reproduce-gate"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "${{ matrix.python-version }}"
    assert python["with"]["cache"] == "pip"
    matrix = workflow["jobs"]["test-reproduce-gate"]["strategy"]["matrix"]
    assert matrix["python-version"] == ["3.11", "3.12", "3.13"]
    script = "\n".join(s.get("run", "") for s in steps)
    for command in quickstart_commands():
        if command != "dvc repro":
            assert command in script, command
    assert re.search(r"^pytest$", script, re.M)
    assert re.search(r"^dvc repro$", script, re.M)
    assert re.search(r"^pytest -m slow$", script, re.M)
    assert script.index("dvc repro") < script.index('test -z "$(git status --porcelain)"')
    # the gate decides in every Python version but writes no summary of its own ...
    assert 'GITHUB_STEP_SUMMARY= python tools/check_metrics.py --baseline "origin/$BASE"' in script
    # ... one version writes the report, posts it as one comment and puts it in the summary
    report = next(s for s in steps if "tools/pr_report.py" in s.get("run", ""))
    assert report["run"] == 'python tools/pr_report.py --base "origin/$BASE" --out-dir pr-report'
    assert "matrix.python-version == '3.11'" in report["if"]
    after = steps[steps.index(report) + 1 :]
    assert all("steps.report.outcome == 'success'" in s.get("if", "") for s in after[:4])
    comment = next(s for s in after if "cml comment" in s.get("run", ""))
    assert "cml comment update --target=pr --publish" in comment["run"]  # updated, not repeated
    assert "pull_request" in comment["if"] and comment["env"]["REPO_TOKEN"]
    assert "pull-requests" in workflow["permissions"]
    summaries = [s for s in after if '>> "$GITHUB_STEP_SUMMARY"' in s.get("run", "")]
    assert len(summaries) == 2  # the posted comment on pull requests, the report on pushes
    assert script.index("dvc exp run -S depth=10") < script.index(
        "python tools/check_metrics.py --expectations-only"
    )


def test_ci_run_installs_as_the_readme_says_and_gates():
    script = (REPO / ".ci/run").read_text()
    for command in quickstart_commands():
        if command != "dvc repro":
            assert command in script, command
    assert "python -m pytest" in script or re.search(r"^pytest$", script, re.M)
    assert re.search(r"^pytest -m slow$", script, re.M)
    assert script.index("dvc repro") < script.index("python tools/check_metrics.py --baseline HEAD")
    assert script.index("dvc exp run -S depth=10") < script.index(
        "python tools/check_metrics.py --expectations-only"
    )
    # CI installs Chromium and must run the browser tests (CI=true turns a skip into a failure)
    assert "apt-get install -y -qq chromium" in script


def third_party_imports(folders: tuple[str, ...]) -> set[str]:
    """Top-level modules the code imports that are neither the standard library nor ours."""
    import ast

    paths = [path for folder in folders for path in (REPO / folder).rglob("*.py")]
    ours = {"or_gate", "analysis", "stages", "tools"} | {path.stem for path in paths}
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ours}


def runtime_requirements() -> list[str]:
    """requirements.txt, which pyproject.toml reads as the project's dependencies."""
    lines = (REPO / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def declared(extras: tuple[str, ...] = ()) -> set[str]:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["dynamic"] == ["dependencies"]
    specs = runtime_requirements() + [
        spec for extra in extras for spec in project["optional-dependencies"][extra]
    ]
    return {re.split(r"[=<>\[ ]", spec, maxsplit=1)[0].lower() for spec in specs}


@pytest.mark.parametrize(
    ("folders", "extra"),
    # the pipeline needs only the runtime dependencies; tools, benchmark and tests the test
    # extra, and the optional S3 test the s3 extra
    [(("or_gate", "stages"), ()), (("tools", "benchmarks", "tests"), ("test", "s3"))],
)
def test_every_third_party_import_is_declared(folders, extra):
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    modules = third_party_imports(folders)
    assert "numpy" in modules
    missing = {
        module: distributions.get(module)
        for module in modules
        if not {d.lower() for d in distributions.get(module, [module])} & declared(extra)
    }
    assert missing == {}
