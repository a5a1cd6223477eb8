"""A variant's replicates in one file: byte-stable, atomic, safe to load, and each replicate
one line away from a Keras model that predicts what the batched evaluation computed."""

from __future__ import annotations

import subprocess
import sys

from or_gate.architecture import Architecture
from or_gate.files.weights import load_stacked, save_stacked
from or_gate.model import stacked_initial_weights
from or_gate.runtime import DataError

import numpy as np
import pytest
from helpers import REPO, quiet_env, run

ARCHITECTURE = Architecture(depth=3, width=2, activation="relu", initializer="he_normal")

SAVE_IN_A_CHILD = """
import sys
import or_gate
from or_gate.architecture import Architecture
from or_gate.model import stacked_initial_weights
from or_gate.files.weights import save_stacked
architecture = Architecture(depth=3, width=2, activation="relu", initializer="he_normal")
save_stacked(sys.argv[1], architecture, stacked_initial_weights(architecture, list(range(40))))
"""


def test_saves_are_byte_identical_across_processes_and_load_back(tmp_path):
    weights = stacked_initial_weights(ARCHITECTURE, list(range(40)))
    save_stacked(tmp_path / "here", ARCHITECTURE, weights)
    child = [sys.executable, "-c", SAVE_IN_A_CHILD, str(tmp_path / "child")]
    subprocess.run(child, check=True, env=quiet_env(), cwd=REPO)
    for name in ("weights.npy", "architecture.json"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "child" / name).read_bytes()
    architecture, loaded = load_stacked(tmp_path / "here")
    assert architecture == ARCHITECTURE
    np.testing.assert_array_equal(loaded, weights)
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == [
        "architecture.json",
        "weights.npy",
    ]


def test_a_file_of_the_wrong_shape_is_one_clear_error(tmp_path):
    save_stacked(tmp_path, ARCHITECTURE, stacked_initial_weights(ARCHITECTURE, [1, 2]))
    np.save(tmp_path / "weights.npy", np.zeros((2, 5), np.float32))
    with pytest.raises(DataError, match=r"weights.npy: float32 array of shape \(2, 5\)"):
        load_stacked(tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_stacked(tmp_path / "missing")


@pytest.mark.parametrize(
    "architecture",
    [
        ARCHITECTURE,
        Architecture(3, 2, "relu", "he_normal", residual=True),  # a functional model
        Architecture(3, 2, "relu", "rai"),  # the project's registered initializer in its config
        Architecture(3, 2, "sigmoid", {"name": "random_uniform", "minval": -0.5, "maxval": 0.5}),
    ],
    ids=["plain", "residual", "rai", "initializer-arguments"],
)
def test_batched_predictions_match_keras_predict_on_exported_replicates(tmp_path, architecture):
    """The oracle: replicates exported with the documented one-liner, loaded back with
    keras.saving.load_model in safe mode, predicting with Keras' own predict."""
    import or_gate.model  # noqa: F401 (registers rai, as the export docs say)
    from or_gate.files.data import TRUTH_TABLE
    from or_gate.model import StackedNetwork

    import keras

    weights = stacked_initial_weights(architecture, list(range(40)))
    weights = weights + np.random.default_rng(0).normal(0, 0.5, weights.shape).astype(np.float32)
    save_stacked(tmp_path / "relu", architecture, weights)
    x = np.random.default_rng(1).uniform(0, 1, (50, 2)).astype(np.float32)
    x = np.vstack([TRUTH_TABLE, x])
    batched = StackedNetwork(architecture, len(weights), "mean_squared_error").predict(weights, x)
    if architecture != ARCHITECTURE:  # in this process (the command is tested on the plain net)
        from or_gate.files.weights import replicate_model

        from analysis.export import save_model

        out = tmp_path / "replicate_17.keras"
        save_model(replicate_model(tmp_path / "relu", 17), out)
        model = keras.saving.load_model(out, compile=False, safe_mode=True)
        expected = model.predict(x, verbose=0)[:, 0]
        np.testing.assert_allclose(batched[17], expected, atol=1e-6, rtol=0)
        return
    for replicate in (0, 17, 39):
        out = tmp_path / f"relu_{replicate}.keras"
        choice = ["--model-dir", str(tmp_path / "relu"), "--replicate", str(replicate)]
        run([sys.executable, str(REPO / "tools/export_model.py"), *choice, "--out", str(out)], REPO)
        model = keras.saving.load_model(out, compile=False, safe_mode=True)
        expected = model.predict(x, verbose=0)[:, 0]
        np.testing.assert_allclose(batched[replicate], expected, atol=1e-6, rtol=0)
