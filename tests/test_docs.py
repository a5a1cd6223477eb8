"""The docs keep their promises: generated numbers are current, every promise names a guard
that exists, and the codebase keeps the shape the docs describe."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from or_gate.runtime import DataError

import numpy as np
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


@pytest.mark.parametrize(
    ("variant", "depth", "column", "value", "claim"),
    [
        ("relu_he", 3, "success_rate", 0.1, "He helps training at depths 1, 3, 5"),
        ("relu", 2, "collapse_rate", 0.4, "uniform collapses more than He"),
        ("relu_rai", 10, "success_rate", 0.0, "RAI cuts born dead and raises success at depth 10"),
    ],
)
def test_the_atlas_claims_stop_when_the_table_no_longer_shows_them(
    tmp_path, monkeypatch, variant, depth, column, value, claim
):
    """The README's claims are generated from the atlas table, and their words (helps, more,
    cuts) are checked against it: a table that shows otherwise stops the generator."""
    import pandas as pd

    monkeypatch.syspath_prepend(str(REPO / "tools"))  # the tool imports its own folder's
    from docs_tables import atlas_claims

    table = pd.read_csv(REPO / "plots/atlas/atlas.csv")
    assert "but it helps training" in atlas_claims(REPO)  # the committed table shows it
    row = (table["variant"] == variant) & (table["depth"] == depth)
    table.loc[row, column] = value
    (tmp_path / "plots/atlas").mkdir(parents=True)
    table.to_csv(tmp_path / "plots/atlas/atlas.csv", index=False)
    with pytest.raises(DataError) as stopped:
        atlas_claims(tmp_path)
    assert str(stopped.value) == f"plots/atlas/atlas.csv no longer shows: {claim}"


@pytest.mark.parametrize(
    ("table", "where", "changes", "claim"),
    [
        (
            "atlas",
            {"variant": "relu", "depth": 2},
            {"died_in_training": 3, "born_dead": 188},  # fewer deaths in training than He's (4)
            "uniform ReLU dies in training more than He at depths 1, 2, 3, 5",
        ),
        (
            "atlas",
            {"variant": "relu", "depth": 3},
            {"died_in_training": 64, "stalled": 1},  # a collapse that is not a dead net
            "uniform ReLU's collapses at depths 1, 2, 3, 5 are its dead nets",
        ),
        (
            "fixes",
            {"variant": "relu_rai", "width": 2},
            {"died_in_training": 264, "stalled": 1},
            "RAI's collapses at depth 10 are its born-dead and died-in-training replicates",
        ),
        (
            "atlas",
            {"variant": "tanh", "depth": 30},
            {"stalled": 240, "died_in_training": 1},
            "sigmoid, sigmoid_glorot, tanh, leaky_relu, relu_res never die",
        ),
        (
            "atlas",
            {"variant": "selu", "depth": 30},
            {"died_in_training": 0, "born_dead": 1},
            "SELU's deaths are died-in-training only",
        ),
    ],
)
def test_the_outcome_claims_stop_when_the_tables_no_longer_show_them(
    tmp_path, monkeypatch, table, where, changes, claim
):
    """docs/fixes.md's outcome claims are generated from the outcome tables and their words
    (more, exactly, never) checked against them and the rate table."""
    import shutil

    import pandas as pd

    monkeypatch.syspath_prepend(str(REPO / "tools"))
    from docs_tables import outcomes_claims

    assert "never die" in outcomes_claims(REPO)
    for folder in ("atlas", "fixes"):
        shutil.copytree(REPO / "plots" / folder, tmp_path / "plots" / folder)
    path = tmp_path / "plots" / table / f"{table}_outcomes.csv"
    rows = pd.read_csv(path)
    chosen = np.logical_and.reduce([rows[k] == v for k, v in where.items()])
    assert chosen.sum() == 1
    for column, value in changes.items():
        rows.loc[chosen, column] = value
    rows.to_csv(path, index=False)
    with pytest.raises(DataError) as stopped:
        outcomes_claims(tmp_path)
    assert str(stopped.value) == f"the outcome tables no longer show: {claim}"


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


def project_files() -> list[str]:
    """What git tracks or would track: the project as a clone would have it."""
    return subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_the_project_refers_to_nothing_outside_itself():
    listed = project_files()
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


# CI runs `pytest` on a clean checkout before `dvc repro`: the repository's own models/ (DVC's
# cache-only outputs) does not exist yet, so a test must build what it needs or run the pipeline
# in a temporary copy, never read the workspace's models/.
READS_THE_WORKSPACE_MODELS = re.compile(r"""REPO\s*/\s*["']models\b""")


def test_no_test_reads_models_that_only_dvc_repro_writes():
    readers = [
        f"{path.name}:{number}"
        for path in sorted((REPO / "tests").glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if READS_THE_WORKSPACE_MODELS.search(line)
    ]
    assert readers == []


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
    listed = project_files()
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


def test_every_command_block_is_run_by_a_test_or_says_why_not():
    """A command block in README.md or docs/ is run by the test tests/doc_blocks.py names, or
    listed there with the reason it cannot run here: a new block cannot go untried."""
    from doc_blocks import NOT_RUN, RUN_BY, blocks, fences, pages

    for page in pages():  # a bare fence would hide a command block from the check
        assert all(language for language, _, _ in fences(page)), f"{page}: a ``` with no language"
    found = [b.key for b in blocks()]
    assert len(found) == len(set(found)), "two blocks of a page start alike"
    run_by = {(page, first) for page, firsts in RUN_BY.items() for first in firsts}
    not_run = {(page, first) for page, firsts in NOT_RUN.items() for first in firsts}
    assert run_by & not_run == set()
    assert set(found) - run_by - not_run == set(), "blocks nothing runs: add them to doc_blocks"
    assert (run_by | not_run) - set(found) == set(), "doc_blocks names blocks that are gone"
    for tests in RUN_BY.values():
        for test in tests.values():
            module, _, function = test.rpartition("::")
            source = (REPO / "tests" / (module or "test_readme_commands.py")).read_text()
            assert re.search(rf"^def {function}\(", source, re.M), test
