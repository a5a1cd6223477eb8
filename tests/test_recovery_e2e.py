"""A failed run never poisons the next one: rejected params delete nothing, injected names
run nothing, and the recovery commands in docs/recovery.md restore HEAD every time."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from doc_blocks import blocks
from helpers import duplicate, edit_params, fingerprint, interrupt_when, quiet_env, run

pytestmark = [pytest.mark.e2e]


def recovery_commands() -> str:
    """The one bash block under 'Recovering from a failed run' in docs/recovery.md."""
    found = blocks("docs/recovery.md", "Recovering from a failed run")
    assert len(found) == 1, "the recovery section must have exactly one bash block"
    return found[0].script


def recover(repo: Path) -> None:
    run(["bash", "-euo", "pipefail", "-c", recovery_commands()], repo)


def head_params(repo: Path) -> str:
    return run(["git", "show", "HEAD:params.yaml"], repo).stdout


def is_poisoned(repo: Path) -> bool:
    """params.yaml is not HEAD's, yet git reports it unmodified (other files, such as the
    validate stage's deleted marker, may still show as changed)."""
    differs = (repo / "params.yaml").read_text() != head_params(repo)
    return differs and run(["git", "status", "--porcelain", "--", "params.yaml"], repo).stdout == ""


def poison(repo: Path) -> None:
    """Make the state DVC can leave: git's index holds HEAD's blob of params.yaml with the
    stat of a modified file, so git trusts the stat and never re-reads the file."""
    from dulwich.index import index_entry_from_stat
    from dulwich.repo import Repo

    path = repo / "params.yaml"
    text = head_params(repo).replace("depth: 1", "depth: 2")
    path.write_text(text)
    past = time.time() - 60  # older than the index file: git does not treat it as racy
    os.utime(path, (past, past))
    git = Repo(str(repo))
    index = git.open_index()
    index[b"params.yaml"] = index_entry_from_stat(os.stat(path), index[b"params.yaml"].sha)
    index.write()


def assert_back_at_head(repo: Path, before: dict) -> None:
    assert (repo / "params.yaml").read_text() == head_params(repo)
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    assert run(["git", "symbolic-ref", "HEAD"], repo).stdout.strip() == "refs/heads/main"
    assert fingerprint(repo) == before
    assert "Data and pipelines are up to date." in run(["dvc", "status"], repo).stdout


@pytest.mark.slow
def test_twenty_failed_experiments_recover_every_time(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    natural = 0
    for attempt in range(20):
        result = run(
            ["dvc", "exp", "run", "-S", "depth=2", "-S", "replicates=0"], repo, check=False
        )
        assert result.returncode != 0
        assert "replicates: 0 is not allowed" in result.stderr
        assert "docs/recovery.md" in result.stderr  # the line that says how to recover
        if is_poisoned(repo):
            natural += 1
        else:  # DVC left a visible change this time: make the stale index on purpose
            poison(repo)
            assert is_poisoned(repo), attempt
        recover(repo)
        assert_back_at_head(repo, before)
    print(f"DVC left git's index stale by itself in {natural} of 20 failed runs")


# Every stage reruns: validation_split moves prepare's output, depth everything downstream.
EVERY_STAGE = ["dvc", "exp", "run", "-S", "train.validation_split=0.25", "-S", "depth=2"]


def timed_run(repo: Path) -> list[tuple[float, str]]:
    """Run EVERY_STAGE to the end; (seconds since start, stage) where each stage began."""
    started, timeline = time.monotonic(), []
    process = subprocess.Popen(
        EVERY_STAGE,
        cwd=repo,
        env=quiet_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:
        found = re.match(r"Running stage '([^']+)'", line)
        if found:
            timeline.append((time.monotonic() - started, found[1]))
    assert process.wait() == 0
    timeline.append((time.monotonic() - started, "(done)"))
    return timeline


@pytest.mark.slow
def test_a_run_killed_anywhere_recovers(mini_repo, tmp_path):
    """20 runs of every stage, each killed at a time drawn uniformly over a whole run, with a
    signal drawn from SIGINT, SIGTERM and SIGKILL; the documented block restores HEAD every
    time. The draws are printed (with the seed) so a failure can be replayed."""
    timeline = timed_run(duplicate(mini_repo, tmp_path / "timed"))
    total = timeline[-1][0]
    seed = int(os.environ.get("OR_GATE_KILL_SEED", random.SystemRandom().randrange(2**32)))
    draws = random.Random(seed)
    print(f"kill seed {seed}; a full run: " + ", ".join(f"{s} at {t:.1f} s" for t, s in timeline))
    for attempt in range(20):
        repo = duplicate(mini_repo, tmp_path / f"kill{attempt}")
        before = fingerprint(repo)
        at, sig = (
            draws.uniform(0, total),
            draws.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL]),
        )
        stage = next((s for t, s in reversed(timeline) if t <= at), "(dvc starting)")
        print(f"kill {attempt + 1}: {sig.name} at {at:.2f} s (in {stage})")
        process = subprocess.Popen(
            EVERY_STAGE,
            cwd=repo,
            env=quiet_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(at)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=120)
        with contextlib.suppress(ProcessLookupError):  # what SIGINT or SIGTERM left running
            os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.5)
        recover(repo)
        assert_back_at_head(repo, before)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("marker", "sig"),
    [
        ("train@sigmoid: epoch", signal.SIGINT),  # training under way: old models deleted
        ("train@sigmoid: epoch", signal.SIGTERM),
        ("train@sigmoid: epoch", signal.SIGKILL),
        ("train@sigmoid: saved", signal.SIGKILL),  # new weights on disk, not in DVC's cache
    ],
)
def test_an_interrupted_experiment_recovers(mini_repo, tmp_path, marker, sig):
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    seen = interrupt_when(
        ["dvc", "exp", "run", "-S", "train.epochs=400", "-S", "depth=3"], repo, marker, sig
    )
    assert any(marker in line for line in seen), "".join(seen)
    recover(repo)
    assert_back_at_head(repo, before)


def test_a_rejected_keras_name_deletes_nothing(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    edit_params(repo, **{"variants.sigmoid.activation": "relux"})
    result = run(["dvc", "repro"], repo, check=False)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("validate:")]
    assert ours[0].startswith(
        "validate: error: params.yaml: variants.sigmoid.activation: 'relux' is not allowed "
        "(did you mean 'relu'?)"
    )
    assert "docs/recovery.md" in ours[1]
    assert "Running stage 'train@sigmoid'" not in result.stdout
    edited = {k: v for k, v in fingerprint(repo).items() if k != "data/validated.txt"}
    assert edited == {k: v for k, v in before.items() if k != "data/validated.txt"}
    assert not (repo / "data/validated.txt").exists()  # so nothing downstream can run


@pytest.mark.parametrize("command", ["repro -k", "exp run"])
def test_a_variant_name_with_shell_code_runs_nothing(mini_repo, tmp_path, command):
    repo = duplicate(mini_repo, tmp_path / "repo")
    name = "x$(touch PWNED)"
    edit_params(repo, **{f"variants.{name}": {"activation": "relu", "initializer": "uniform"}})
    result = run(["dvc", *command.split()], repo, check=False)
    assert result.returncode != 0
    assert "variants: name 'x$(touch PWNED)' is not allowed" in result.stderr
    assert not (repo / "PWNED").exists()
    assert not list((repo / "models").glob("x*"))
    assert "Running stage 'train@" not in result.stdout


def test_a_stage_that_fails_after_dvc_deleted_its_outputs_recovers(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    raw = repo / "data/raw/OR-gate.data.csv"
    raw.write_text(raw.read_text() + "1,1,2\n")  # a bad label: prepare fails after DVC
    result = run(["dvc", "repro"], repo, check=False)  # deleted data/prepared
    assert result.returncode != 0
    assert "label y = '2'; expected 0 or 1" in result.stderr
    assert "docs/recovery.md" in result.stderr
    assert not (repo / "data/prepared").exists()
    run(["git", "checkout", "--", "data/raw"], repo)  # the user's own fix of the data
    recover(repo)
    assert_back_at_head(repo, before)


@pytest.mark.parametrize("left", ["", '{"read": {}, "wri'], ids=["empty", "cut-short"])
def test_a_lock_file_dvc_was_writing_when_killed_is_recovered(mini_repo, tmp_path, left):
    """A SIGINT while DVC writes .dvc/tmp/rwlock leaves it empty or cut short, and every DVC
    command then fails (found by the kill-anywhere test: SIGINT 1.2 s into a run)."""
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    (repo / ".dvc/tmp").mkdir(exist_ok=True)
    (repo / ".dvc/tmp/rwlock").write_text(left)
    broken = run(["dvc", "status"], repo, check=False)
    assert "Unable to read RWLock-file" in broken.stderr
    recover(repo)
    assert_back_at_head(repo, before)


def test_a_git_index_lock_left_by_a_killed_run_is_recovered(mini_repo, tmp_path):
    """SIGKILL 0.9 s into a run (kill-anywhere test, seed 2389280206) left .git/index.lock,
    and every git command then failed."""
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    (repo / ".git/index.lock").write_text("")
    assert run(["git", "read-tree", "HEAD"], repo, check=False).returncode == 128
    recover(repo)
    assert_back_at_head(repo, before)
