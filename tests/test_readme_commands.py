"""The commands the README and docs/operations.md show, run as written, in order, in a fresh
copy of the repository with small params committed (the same commands; fewer epochs and
replicates). Each named experiment's `dvc params diff` against main shows exactly its own -S
overrides: no command leans on what an earlier one left behind."""

from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest
from helpers import REPO, SMALL_PARAMS, git_commit_all, make_small_repo, quiet_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("readme")]


def command_blocks(page: str, after_heading: str) -> list[list[str]]:
    """The commands of each fenced block under ``after_heading`` (up to the next heading of
    the same level), continuation lines joined, comments dropped."""
    text = (REPO / page).read_text()
    level = after_heading.split(" ")[0]
    section = text.split(after_heading, 1)[1]
    section = re.split(rf"\n{level} ", section, maxsplit=1)[0]
    blocks = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", section, re.S):
        lines = (
            re.sub(r"\s+#.*$", "", line).strip() for line in block.replace("\\\n", " ").splitlines()
        )
        blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def overridden_keys(command: str) -> set[str]:
    """The params a `dvc exp run` command overrides (``-S key=value``, ``++key=...``)."""
    words = shlex.split(command)
    return {
        words[i + 1].split("=", 1)[0].lstrip("+~")
        for i, word in enumerate(words)
        if word in ("-S", "--set-param")
    }


def changed_keys(repo, name: str) -> set[str]:
    shown = json.loads(run(["dvc", "params", "diff", "main", name, "--json"], repo).stdout)
    return set(shown.get("params.yaml", {}))


def shell(command: str, repo) -> subprocess.CompletedProcess:
    """One documented command through bash, with the copy's own library on the path."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=repo,
        capture_output=True,
        text=True,
        env=quiet_env(PYTHONPATH=str(repo)),
        timeout=900,
    )


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory):
    repo = make_small_repo(tmp_path_factory.mktemp("readme") / "repo", **SMALL_PARAMS)
    run(["dvc", "repro"], repo)  # the Quickstart's main job
    git_commit_all(repo, "results")
    return repo


def test_the_readme_explore_commands_stand_alone(fresh_copy):
    repo = fresh_copy
    commands = command_blocks("README.md", "## Explore")[0]
    assert len(commands) >= 10, commands
    experiments = {}
    for command in commands:
        done = shell(command, repo)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        name = re.search(r"dvc exp run .*?-n (\S+)", command)
        if name:
            experiments[name.group(1)] = overridden_keys(command)
            # --temp: the workspace's params stay as committed
            assert run(["git", "status", "--porcelain", "params.yaml"], repo).stdout == ""
        if command.startswith("dvc exp show --drop"):  # the recipe for a terminal
            assert "depth-10" in done.stdout and "fixes" in done.stdout, done.stdout
            for line in done.stdout.splitlines():
                assert len(line) <= 120, f"wider than 120 columns:\n{done.stdout}"
    assert len(experiments) >= 4, experiments
    for name, keys in experiments.items():
        changed = changed_keys(repo, name)
        assert changed, name
        # each changed key is one of this experiment's own overrides (or inside one)
        stray = {k for k in changed if not any(k == o or k.startswith(o + ".") for o in keys)}
        assert stray == set(), f"{name}: {stray} changed, overrides {keys}"
        assert all(any(k == o or k.startswith(o + ".") for k in changed) for o in keys), name


def test_the_readme_sweep_commands_run_as_written(fresh_copy):
    sweep = command_blocks("README.md", "## Explore")[1]
    assert [c.split()[2] for c in sweep] == ["run", "status", "report"]
    for command in sweep:
        done = shell(command, fresh_copy)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    status = shell(sweep[1], fresh_copy).stdout
    assert re.search(r"\b12 done\b", status), status
    out_dir = re.search(r"--out-dir (\S+)", sweep[2]).group(1)
    assert list((fresh_copy / out_dir).glob("*.png")), out_dir


def test_the_docs_queue_failure_and_clean_up_commands(fresh_copy):
    failed, clean_up = command_blocks(
        "docs/operations.md", "## Queued experiments: why one failed, and cleaning up"
    )
    commands = failed + clean_up
    said = {}
    for command in commands:
        done = shell(command, fresh_copy)
        said[command] = done.stdout + done.stderr
        assert done.returncode == 0, f"{command}\n{said[command][-3000:]}"
    status = next(out for command, out in said.items() if "dvc queue status" in command)
    assert re.search(r"too-deep .*Failed", status), status
    logs = said["dvc queue logs too-deep"]
    assert "validate: error: params.yaml: replicates: 0 is not allowed" in logs, logs
    listed = run(["dvc", "exp", "list", "--name-only"], fresh_copy).stdout
    assert listed.strip() == "", listed  # removed, all of them
