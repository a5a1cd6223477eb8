"""The command blocks of README.md and docs/, run as written, in order, in a fresh copy of the
repository with small params committed (the same commands; fewer epochs and replicates, and
the long values of tests/doc_blocks.py's SMALLER). Each named experiment's `dvc params diff`
against main shows exactly its own -S overrides: no command leans on what an earlier one left
behind. tests/doc_blocks.py says which test runs each block (or why none can), and
tests/test_docs.py checks that every block is one or the other."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from doc_blocks import RUN_BY, Block, blocks, smaller
from helpers import (
    REPO,
    SMALL_PARAMS,
    copy_repository,
    git_commit_all,
    make_small_repo,
    quiet_env,
    run,
    start_scheduler,
    start_worker,
    stop_process,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("readme")]


def block(page: str, first: str) -> Block:
    """The bash block of ``page`` whose first command starts with ``first``."""
    (found,) = [b for b in blocks(page) if b.commands[0].startswith(first)]
    return found


def command_blocks(page: str, heading: str) -> list[list[str]]:
    """The commands of each bash block under ``heading``."""
    return [b.commands for b in blocks(page, heading)]


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


def shell(command: str, repo, **env: str) -> subprocess.CompletedProcess:
    """Documented commands through bash (a whole block runs as one script, as typed into one
    terminal: a `cd` holds for the lines after it), with the copy's own library on the path."""
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", command],
        cwd=repo,
        capture_output=True,
        text=True,
        env=quiet_env(PYTHONPATH=str(repo), **env),
        timeout=1800,
    )


def succeeds(command: str, repo, **env: str) -> str:
    done = shell(command, repo, **env)
    said = done.stdout + done.stderr
    assert done.returncode == 0, f"{command}\n{said[-3000:]}"
    return said


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory):
    repo = make_small_repo(tmp_path_factory.mktemp("readme") / "repo", **SMALL_PARAMS)
    run(["dvc", "repro"], repo)  # the Quickstart's main job
    git_commit_all(repo, "results")
    return repo


def test_readme_explore(fresh_copy):
    repo = fresh_copy
    commands = command_blocks("README.md", "Explore")[0]
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
        assert_only_its_own_overrides(repo, name, keys)


def assert_only_its_own_overrides(repo, name: str, keys: set[str], every: bool = True) -> None:
    """`dvc params diff main NAME` changes only keys NAME's -S overrides set (and, with
    ``every``, each of them: a sweep's cell may set one to its committed value)."""
    changed = changed_keys(repo, name)
    assert changed, name
    # each changed key is one of this experiment's own overrides (or inside one)
    stray = {k for k in changed if not any(k == o or k.startswith(o + ".") for o in keys)}
    assert stray == set(), f"{name}: {stray} changed, overrides {keys}"
    if every:
        assert all(any(k == o or k.startswith(o + ".") for k in changed) for o in keys), name


def test_readme_sweep(fresh_copy):
    sweep = command_blocks("README.md", "Explore")[1]
    assert [c.split()[2] for c in sweep] == ["run", "status", "report"]
    for command in sweep:
        done = shell(command, fresh_copy)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    status = shell(sweep[1], fresh_copy).stdout
    assert re.search(r"\b12 done\b", status), status
    out_dir = re.search(r"--out-dir (\S+)", sweep[2]).group(1)
    assert list((fresh_copy / out_dir).glob("*.png")), out_dir


def test_queue_failure_and_clean_up(fresh_copy):
    failed, clean_up = command_blocks(
        "docs/operations.md", "Queued experiments: why one failed, and cleaning up"
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


def test_sharing_and_cluster(fresh_copy, tmp_path):
    """docs/operations.md: share results through a DVC remote, a colleague pulls them, then a
    sweep on the local cluster and one on a running scheduler (its file in ~)."""
    repo = fresh_copy
    origin, store = tmp_path / "origin.git", tmp_path / "team-store"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp_path)
    run(["git", "remote", "add", "origin", str(origin)], repo)  # as a clone of it has
    run(["git", "push", "-q", "-u", "origin", "main"], repo)
    # `pip install -e .` goes into a throwaway venv that sees the installed packages, so the
    # test's own environment keeps its editable install
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp_path)
    path = f"{venv / 'bin'}:{quiet_env()['PATH']}"

    share = block("docs/operations.md", "dvc remote add -d store")
    succeeds(smaller(share.script, **{"/mnt/team/or-gate-dvc": str(store)}), repo)
    assert any(p.is_file() for p in store.rglob("*")), "dvc push sent nothing"
    machine = tmp_path / "colleague-machine"
    machine.mkdir()
    colleague = block("docs/operations.md", "git clone <url> colleague")
    said = succeeds(smaller(colleague.script, **{"<url>": str(origin)}), machine, PATH=path)
    assert "Data and pipelines are up to date." in said, said
    assert (machine / "colleague/models/relu/weights.npy").is_file()

    local = block("docs/operations.md", 'python -m pip install -e ".[cluster]"')
    said = succeeds(smaller(local.script), repo, PATH=path)
    assert re.search(r"\b2 done\b", said), said  # depths 1 and 2 (small for 1 to 12)
    assert list((repo / "plots/sweep").glob("*.png"))

    home = tmp_path / "home"  # where ~/scheduler.json is
    home.mkdir()
    scheduler_file = home / "scheduler.json"
    scheduler = start_scheduler(scheduler_file, tmp_path)
    worker = None
    try:
        worker = start_worker(scheduler_file, tmp_path / "worker", "worker")
        remote = block("docs/operations.md", "git push")
        said = succeeds(smaller(remote.script), repo, HOME=str(home))
    finally:
        for process in filter(None, [worker, scheduler]):
            stop_process(process)
    assert re.search(r"\b3 done\b", said), said  # depths 1 to 3 (small for 1 to 30)
    head = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    pushed = run(["git", "ls-remote", str(origin), f"refs/exps/{head[:2]}/{head[2:]}/*"], repo)
    assert len(pushed.stdout.splitlines()) == 3, pushed.stdout


def test_export_and_gate(fresh_copy, tmp_path):
    """docs/operations.md: export one replicate as a Keras model; the metrics gate."""
    export = block("docs/operations.md", "python tools/export_model.py")
    succeeds(export.script, fresh_copy)
    exported = fresh_copy / "relu_1.keras"
    assert exported.stat().st_size > 0
    exported.unlink()
    # the gate's science holds for the committed params, so it runs on the committed results
    # (the small params' three epochs learn nothing): a fresh clone, nothing trained
    plain = copy_repository(tmp_path / "plain")
    committed = run(["git", "ls-files", "metrics", "data/evaluation", "dvc.lock"], REPO).stdout
    for name in committed.split():  # the committed results, as a clone has them
        (plain / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, plain / name)
    run(["git", "init", "-q", "-b", "main"], plain)
    git_commit_all(plain, "as committed")
    gate = block("docs/operations.md", "python tools/check_metrics.py --baseline HEAD")
    said = succeeds(gate.script, plain)
    assert re.search(r"check_metrics: all \d+ checks hold against HEAD\n", said), said
    assert re.search(r"check_metrics: all \d+ checks hold against the science", said), said


def test_fixes(fresh_copy):
    """docs/fixes.md: the sweeps of the fixes at depth 10 (widths 2 and 3), RAI without the
    input layer, sign flipping and the atlas; docs/sigmoid.md's sigmoid scales; and
    docs/literature.md's |x| regression, its sensitivity sweeps and the widths, each with its
    report (small: 8 or 2 replicates, fewer depths and widths, 4 epochs for 1,000)."""
    repo = fresh_copy
    try:
        ours = [
            b
            for page in ("docs/fixes.md", "docs/sigmoid.md", "docs/literature.md")
            for b in blocks(page)
            if RUN_BY[b.page].get(b.key[1]) == "test_fixes"
        ]
        for sweep, cells in zip(ours, (2, 1, 2, 3, 2, 2, 1, 4), strict=True):
            said = succeeds(smaller(sweep.script), repo)
            assert re.search(rf"{cells}/{cells} done, 0 failed", said), said
            name = re.search(r"--name (\S+)", sweep.script).group(1)
            listed = run(["dvc", "exp", "list", "--name-only"], repo).stdout.split()
            made = [n for n in listed if n.startswith(f"{name}-")]
            assert len(made) == cells, listed
            for cell in made:  # readable names, and each changes only the sweep's keys
                keys = overridden_keys(smaller(sweep.commands[0]))
                assert_only_its_own_overrides(repo, cell, keys, every=False)
            out_dir = repo / re.search(r"--out-dir (\S+)", sweep.script).group(1)
            assert list(out_dir.glob("*.png")) and list(out_dir.glob("*.csv")), out_dir
    finally:
        run(["git", "checkout", "-q", "--", "plots"], repo)  # the committed tables back


@pytest.mark.xdist_group("benchmarks")  # beside the blocks above, in a copy of its own
def test_benchmarks(tmp_path):
    """docs/benchmark.md: both benchmarks, in a copy whose params are small (each clones it
    and trains there)."""
    copy = make_small_repo(tmp_path / "repo", **SMALL_PARAMS)
    run(["dvc", "repro"], copy)  # the Quickstart's main job: the benchmarks read its data
    bench, engines = blocks("docs/benchmark.md")
    for script in (bench.script, smaller(engines.script)):
        said = succeeds(script, copy)
        assert "wrote " in said, said
    results = json.loads((copy / "benchmarks/results.json").read_text())
    assert {"targets", "fresh_repro", "sweep_engines"} <= set(results), list(results)
