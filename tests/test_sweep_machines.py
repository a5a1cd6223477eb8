"""A sweep split across machines meets in one place with DVC's own tools.

Two clones act as machines, a bare git repository as the shared git remote and a local
directory as the DVC remote. Each machine runs its share of a depth sweep and pushes it with
`dvc exp push`; a third clone collects with `dvc exp pull`, and the sweep report, `dvc exp
show` and the models (fetched from the DVC remote, never retrained) work on what it collected.

The same with an S3 remote (``dvc-s3``) served by moto's local S3 server, offline: optional,
it runs where ``pip install -e ".[s3]"`` installed them and is skipped (saying so) elsewhere.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from helpers import REPO, duplicate, git_commit_all, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def machine(origin, storage, target):
    """A clone of the shared repository, configured as a user would."""
    run(["git", "clone", "-q", str(origin), str(target)], target.parent)
    run(["git", "config", "user.name", target.name], target)
    run(["git", "config", "user.email", f"{target.name}@example.invalid"], target)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3_remote(tmp_path, monkeypatch):
    """An empty bucket on a local moto S3 server; yields the dvc remote settings."""
    pytest.importorskip("dvc_s3", reason='optional: pip install -e ".[s3]" (dvc-s3, moto)')
    pytest.importorskip("moto", reason='optional: pip install -e ".[s3]" (dvc-s3, moto)')
    import boto3

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for variable, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(variable, value)
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        for _ in range(100):
            try:
                client.create_bucket(Bucket="sweep")
                break
            except Exception:  # the server is still starting
                time.sleep(0.1)
        else:
            pytest.fail("moto's S3 server did not start")
        yield [
            ["dvc", "remote", "add", "-d", "store", "s3://sweep/cache"],
            ["dvc", "remote", "modify", "store", "endpointurl", endpoint],
        ]
        assert client.list_objects_v2(Bucket="sweep")["KeyCount"] > 0  # DVC stored there
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def local_remote(tmp_path):
    return [["dvc", "remote", "add", "-d", "store", str(tmp_path / "dvc-remote")]]


@pytest.mark.parametrize("remote", ["local_remote", "s3_remote"])
def test_a_sweep_run_on_two_machines_is_collected_on_a_third(mini_repo, tmp_path, remote, request):
    first = duplicate(mini_repo, tmp_path / "first")
    storage, origin = tmp_path / "dvc-remote", tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp_path)
    for command in request.getfixturevalue(remote):
        run(command, first)
    git_commit_all(first, "shared DVC remote")
    run(["git", "remote", "add", "origin", str(origin)], first)
    run(["git", "push", "-q", "origin", "main"], first)
    run(["dvc", "push"], first)
    second = machine(origin, storage, tmp_path / "second")
    run(["dvc", "pull"], second)

    for host, depth in ((first, 2), (second, 3)):  # each machine runs its share
        run(["dvc", "exp", "run", "-n", f"depth-{depth}", "-S", f"depth={depth}"], host)
        run(["dvc", "exp", "push", "origin", f"depth-{depth}"], host)

    collector = machine(origin, storage, tmp_path / "collector")
    run(["dvc", "exp", "pull", "origin", "depth-2", "depth-3"], collector)
    shown = json.loads(run(["dvc", "exp", "show", "--json"], collector).stdout)
    names = {e["name"] for b in shown for e in b.get("experiments") or []}
    assert names == {"depth-2", "depth-3"}
    report = run(
        [sys.executable, str(REPO / "tools/sweep_report.py"), "--out-dir", "sweep"], collector
    )
    assert "2 depths (2-3)" in report.stdout
    assert (collector / "sweep/depth_sweep.png").is_file()
    run(["dvc", "exp", "apply", "depth-3"], collector)  # the models come from the DVC remote
    run(["dvc", "checkout"], collector)
    assert (collector / "models/sigmoid/weights.npy").is_file()
    repro = run(["dvc", "repro"], collector)
    assert "Running stage" not in repro.stdout  # nothing retrained
