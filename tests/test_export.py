"""Saved models: byte-identical across saves and processes, loadable in safe mode, atomic."""

from __future__ import annotations

import signal
import subprocess
import sys
import zipfile

from or_gate.architecture import Architecture
from or_gate.model import build_model, initial_weights

import numpy as np
import pytest
from helpers import REPO, quiet_env

from tools.analysis.export import load_model, renumber_shared_objects, save_model

# Saves replicate weights drawn for seed 3 to argv[1]; with "loop", forever, printing a line
# after each save (for the kill test).
SAVE_IN_A_CHILD = """
import sys
import or_gate
from tools.analysis.export import save_model
from or_gate.architecture import Architecture
from or_gate.model import build_model, initial_weights
architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
model = build_model(architecture)
model.set_weights(initial_weights(architecture, seed=3))
while True:
    save_model(model, sys.argv[1])
    print("saved", flush=True)
    if sys.argv[2] != "loop":
        break
"""


def save_in_a_child(path, mode="once") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SAVE_IN_A_CHILD, str(path), mode],
        cwd=REPO,
        env=quiet_env(PYTHONPATH=str(REPO)),  # tools.analysis from the root
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_saves_in_two_processes_are_byte_identical_and_load_in_safe_mode(tmp_path):
    # Another process: other Python ids for shared objects, another save time.
    child = save_in_a_child(tmp_path / "child.keras")
    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    model = build_model(architecture)
    weights = initial_weights(architecture, seed=3)
    model.set_weights(weights)
    save_model(model, tmp_path / "here.keras")
    assert child.wait(timeout=120) == 0
    first = tmp_path / "here.keras"
    assert first.read_bytes() == (tmp_path / "child.keras").read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert b"date_saved" not in archive.read("metadata.json")
    loaded = load_model(first)
    for ours, theirs in zip(loaded.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.keras", "here.keras"]


@pytest.mark.slow
def test_a_process_killed_while_saving_never_leaves_a_broken_model(tmp_path):
    """SIGKILL a process that saves over and over, at a random point of a save; the model
    under its real name is then always complete (the old or the new one)."""
    path = tmp_path / "replicate_000.keras"
    rng = np.random.default_rng()
    for _ in range(2):
        child = save_in_a_child(path, "loop")
        for _ in range(int(rng.integers(2, 6))):  # a few complete saves, then mid-save
            assert child.stdout.readline() == "saved\n"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
        load_model(path)
    # what a kill can leave is a hidden .partial file, never another *.keras file
    assert [p.name for p in tmp_path.glob("*.keras")] == ["replicate_000.keras"]
    assert {p.name for p in tmp_path.iterdir()} <= {"replicate_000.keras", ".replicate_000.partial"}


def test_shared_object_ids_are_renumbered_keeping_the_sharing():
    config = {
        "a": {"shared_object_id": 140006297490960, "x": [{"shared_object_id": 7}]},
        "b": {"shared_object_id": 140006297490960},
    }
    assert renumber_shared_objects(config) == {
        "a": {"shared_object_id": 1, "x": [{"shared_object_id": 2}]},
        "b": {"shared_object_id": 1},
    }


def test_a_crash_before_the_rename_leaves_the_old_model_intact(tmp_path, monkeypatch):
    import os

    architecture = Architecture(depth=1, width=2, activation="sigmoid", initializer="uniform")
    model = build_model(architecture)
    path = tmp_path / "replicate_000.keras"
    save_model(model, path)
    old = path.read_bytes()
    model.set_weights([w + 1 for w in model.get_weights()])

    def crash(*args):
        raise OSError("killed")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        save_model(model, path)
    assert path.read_bytes() == old  # never a half-written file under the real name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["replicate_000.keras"]
