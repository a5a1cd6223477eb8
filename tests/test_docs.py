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


# Where prose may name a file that exists only after a run (DVC outputs, DVC's own folders).
GENERATED = ("models/", "data/evaluation/", ".dvc/tmp/", ".dvc/cache/")
PROSE_PATH = re.compile(
    r"(?<![\w/.-])((?:or_gate|stages|tools|tests|docs|data|metrics|plots|models|benchmarks"
    r"|\.ci|\.dvc|\.github)/[\w./-]*\w)"
)
TEST_FUNCTION = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
BARE_TEST_FILE = re.compile(r"(?<![\w/])(test_\w+\.py)\b")


def prose_of_python(source: str) -> str:
    """The docstrings and comments of a module: its prose, not the strings its code uses."""
    import io
    import tokenize

    tree = ast.parse(source)
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
    docstrings = [ast.get_docstring(node, clean=False) or "" for node in nodes]
    comments = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    return "\n".join(docstrings + comments)


def project_texts() -> dict[str, str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    suffixes = (".py", ".md", ".yaml", ".yml", ".toml", ".txt", "run")
    texts = {
        name: (REPO / name).read_text(encoding="utf-8", errors="ignore")
        for name in listed
        if name.endswith(suffixes) and (REPO / name).is_file()
    }
    return {n: prose_of_python(t) if n.endswith(".py") else t for n, t in texts.items()}


def test_every_path_the_prose_names_exists():
    """Docstrings, comments and docs name files; each must exist (or be a run's output)."""
    missing = set()
    for name, text in project_texts().items():
        for path in PROSE_PATH.findall(text):
            if not (REPO / path).exists() and not f"{path}/".startswith(GENERATED):
                missing.add(f"{name}: {path}")
        for path, function in TEST_FUNCTION.findall(text):
            tree = ast.parse((REPO / path).read_text()) if (REPO / path).is_file() else None
            names = (
                {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)} if tree else ()
            )
            if function not in names:
                missing.add(f"{name}: {path}::{function}")
        for test_file in BARE_TEST_FILE.findall(text):
            if not (REPO / "tests" / test_file).is_file():
                missing.add(f"{name}: {test_file}")
    assert sorted(missing) == []
