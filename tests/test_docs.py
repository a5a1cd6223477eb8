"""The docs keep their promises: generated numbers are current, every promise names a guard
that exists, and the codebase keeps the shape the docs describe."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
from helpers import REPO, quiet_env

PROMISES = (REPO / "docs/promises.md").read_text()
CODE_FOLDERS = ("or_gate", "stages", "tools", "benchmarks", "tests")


def test_generated_tables_are_current():
    result = subprocess.run(
        [sys.executable, "tools/docs_tables.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=quiet_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_promise_names_a_guard_that_exists():
    rows = [line for line in PROMISES.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 30
    ci = (REPO / ".ci/run").read_text()
    for row in rows[1:]:  # the header first
        guards = row.rsplit("|", 2)[1]
        tests = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", guards)
        steps = re.findall(r"CI: `([^`]+)`", guards)
        assert tests or steps or "benchmarks/bench.py" in guards, row
        for path, name in tests:
            tree = ast.parse((REPO / path).read_text())
            names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            assert name in names, f"{path}::{name} does not exist"
        for step in steps:
            assert step in ci, f"CI step {step!r} is not in .ci/run"


def test_readme_is_an_entry_page():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for link in re.findall(r"\]\((docs/[\w.-]+\.md)", readme):
        assert (REPO / link).is_file(), link


def test_the_project_refers_to_nothing_outside_itself():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    outside = [
        name
        for name in listed
        if name.endswith((".py", ".md", ".yaml", ".yml", ".toml"))
        and "../shared" in (REPO / name).read_text(encoding="utf-8", errors="ignore")
        and name != "tests/test_docs.py"
    ]
    assert outside == []


@pytest.mark.parametrize("folder", CODE_FOLDERS)
def test_files_and_functions_stay_small(folder):
    """No source file over 500 lines (a module is as long as its concept needs), no function
    over 60 (read in one screen)."""
    too_long = []
    for path in sorted((REPO / folder).rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > 500:
            too_long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno >= 60:
                too_long.append(f"{path.name}::{node.name}: {node.end_lineno - node.lineno + 1}")
    assert too_long == []
