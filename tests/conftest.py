"""Fixtures: small end-to-end copies of the pipeline, reproduced once per test session."""

from __future__ import annotations

from pathlib import Path

import or_gate  # noqa: F401  (pins the numerical kernels before any test loads NumPy)
from or_gate import environment

import pytest
from helpers import MINI_PARAMS, REPO, SMALL_PARAMS, git_commit_all, make_small_repo, run

environment.check_pinned()

# The session-scoped copies of the pipeline, each with the xdist group its tests run in: a
# copy takes 20-45 s to reproduce, so every test that uses one (directly or through another
# fixture) runs on the one worker that built it (`--dist loadgroup`), never building it twice.
SHARED_COPIES = {"mini_repo": "mini", "reproduced_repo": "reproduced"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses = getattr(item, "fixturenames", ())
        for fixture, group in SHARED_COPIES.items():
            if fixture in uses:
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture()
def raw() -> dict:
    """The committed params.yaml as YAML gives it, to change one key at a time."""
    from or_gate.params import read_yaml

    return read_yaml(REPO / "params.yaml")


@pytest.fixture(scope="session")
def mini_repo(tmp_path_factory) -> Path:
    """A one-variant copy after `dvc repro` and a commit of its results (do not modify)."""
    repo = make_small_repo(tmp_path_factory.mktemp("mini") / "repo", **MINI_PARAMS)
    run(["dvc", "repro"], repo)
    git_commit_all(repo, "results")
    return repo


@pytest.fixture(scope="session")
def reproduced_repo(tmp_path_factory) -> Path:
    """A small copy of the pipeline after one real `dvc repro` (shared by e2e tests)."""
    repo = make_small_repo(tmp_path_factory.mktemp("e2e") / "repo", **SMALL_PARAMS)
    result = run(["dvc", "repro"], repo)
    (repo / "repro.log").write_text(result.stdout + result.stderr)
    return repo
