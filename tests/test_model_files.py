"""Saved models: byte-identical across saves, loadable in safe mode, written atomically."""

from __future__ import annotations

import time
import zipfile

import numpy as np
import pytest

from stages.model_files import load_model, model_path, renumber_shared_objects, save_model
from stages.network import Architecture, build_model, initial_weights


def test_two_saves_are_byte_identical_and_load_in_safe_mode(tmp_path):
    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    model = build_model(architecture)
    weights = initial_weights(architecture, seed=3)
    model.set_weights(weights)
    first, second = tmp_path / "a.keras", tmp_path / "b.keras"
    save_model(model, first)
    time.sleep(1.1)  # the save time Keras records changes
    save_model(model, second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert b"date_saved" not in archive.read("metadata.json")
    loaded = load_model(first)
    for ours, theirs in zip(loaded.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.keras", "b.keras"]  # no temp files


def test_model_path_names_replicates():
    assert model_path("models/relu", 7).as_posix() == "models/relu/replicate_007.keras"


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
