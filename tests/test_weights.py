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


@pytest.mark.slow
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


def test_the_input_layer_is_written_only_where_a_variant_has_none(tmp_path):
    """architecture.json of a network with the write-up's input layer is the file it always
    was (the committed models keep their bytes); one without says so and loads back."""
    weights = stacked_initial_weights(ARCHITECTURE, [1])
    save_stacked(tmp_path / "with", ARCHITECTURE, weights)
    assert (tmp_path / "with/architecture.json").read_text() == (
        '{"activation": "relu", "depth": 3, "initializer": "he_normal", "residual": false, '
        '"width": 2}\n'
    )
    direct = Architecture(3, 2, "relu", "he_normal", input_layer=False)
    save_stacked(tmp_path / "without", direct, stacked_initial_weights(direct, [1]))
    text = (tmp_path / "without/architecture.json").read_text()
    assert '"input_layer": false' in text
    assert load_stacked(tmp_path / "without")[0] == direct
    assert load_stacked(tmp_path / "with")[0] == ARCHITECTURE
    flipped = Architecture(3, 2, "relu", "he_normal", sign_flip=True)
    save_stacked(tmp_path / "flipped", flipped, weights)
    assert '"sign_flip": true' in (tmp_path / "flipped/architecture.json").read_text()
    assert load_stacked(tmp_path / "flipped")[0] == flipped


def saved(tmp_path):
    save_stacked(tmp_path, ARCHITECTURE, stacked_initial_weights(ARCHITECTURE, [1, 2]))
    return tmp_path


def truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def pickle_an_object_array(path):
    np.save(path, np.array([{"pickled": True}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: np.save(d / "weights.npy", np.zeros((2, 5), np.float32)),
         r"weights.npy: float32 array of shape \(2, 5\); expected float32 \(replicates, 27\) for "
         r"depth 3, width 2"),
        (lambda d: np.save(d / "weights.npy", np.zeros((2, 27), np.float64)),
         r"weights.npy: float64 array of shape \(2, 27\)"),
        (lambda d: truncate(d / "weights.npy"), r"weights.npy: not the array train writes \("),
        (lambda d: pickle_an_object_array(d / "weights.npy"),
         r"weights.npy: not the array train writes \(.*pickle"),
        (lambda d: (d / "weights.npy").write_text("not numpy"), r"weights.npy: not the array"),
        (lambda d: (d / "weights.npy").unlink(), r"weights.npy: not found \(run `dvc repro`\)"),
        (lambda d: (d / "architecture.json").write_text("{depth: 3"),
         r"architecture.json: not valid JSON \(JSONDecodeError\)"),
        (lambda d: (d / "architecture.json").write_text('{"depth": 3}'),
         r"architecture.json: keys \['depth'\]; expected activation, depth, initializer"),
        (lambda d: (d / "architecture.json").write_text("[1, 2]"),
         r"architecture.json: keys list; expected"),
        (lambda d: (d / "architecture.json").write_text(
            '{"activation": "relu", "depth": "3", "initializer": "he_normal", '
            '"residual": false, "width": 2}'),
         r"architecture.json: depth is '3', not what train writes"),
    ],
    ids=["shape", "dtype", "truncated", "pickled", "not-numpy", "missing", "not-json",
         "keys", "not-a-mapping", "depth-text"],
)  # fmt: skip
def test_a_broken_model_file_is_one_line_naming_it(tmp_path, damage, message):
    damage(saved(tmp_path))
    with pytest.raises(DataError, match=message) as caught:
        load_stacked(tmp_path)
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)


def test_a_save_that_fails_midway_leaves_the_old_weights_whole(tmp_path, monkeypatch):
    """weights.npy is written under another name and renamed into place: a save killed or
    failing midway never leaves a truncated file where the old one was."""
    directory = saved(tmp_path)
    old = (directory / "weights.npy").read_bytes()

    def half_then_fail(handle, array):
        handle.write(b"\x93NUMPY half a header")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_stacked(directory, ARCHITECTURE, stacked_initial_weights(ARCHITECTURE, [3, 4]))
    assert (directory / "weights.npy").read_bytes() == old
    assert sorted(p.name for p in directory.iterdir()) == ["architecture.json", "weights.npy"]


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
    from or_gate.files.weights import replicate_model

    from tools.analysis.export import save_model

    for replicate in (0, 17, 39):
        out = tmp_path / f"replicate_{replicate}.keras"
        if architecture == ARCHITECTURE and replicate == 39:  # the documented command, once
            choice = ["--model-dir", str(tmp_path / "relu"), "--replicate", str(replicate)]
            run(
                [sys.executable, str(REPO / "tools/export_model.py"), *choice, "--out", str(out)],
                REPO,
            )
        else:  # what the command runs, in this process (a TensorFlow import the fewer)
            save_model(replicate_model(tmp_path / "relu", replicate), out)
        model = keras.saving.load_model(out, compile=False, safe_mode=True)
        expected = model.predict(x, verbose=0)[:, 0]
        np.testing.assert_allclose(batched[replicate], expected, atol=1e-6, rtol=0)


def test_evaluate_refuses_a_model_other_than_the_one_params_yaml_trains(tmp_path):
    import runpy

    from or_gate.params import load_params

    load_variant = runpy.run_path(str(REPO / "stages/evaluate.py"))["load_variant"]

    params = load_params(REPO / "params.yaml")
    relu = Architecture.of(params, "relu")
    save_stacked(tmp_path / "relu", relu, stacked_initial_weights(relu, [1, 2, 3, 4, 5]))
    assert load_variant(tmp_path, params, "relu")[0] == relu
    deeper = params.model_copy(update={"depth": 2})
    with pytest.raises(DataError) as caught:
        load_variant(tmp_path, deeper, "relu")
    assert str(caught.value) == (
        f"{tmp_path / 'relu'}/architecture.json: {relu.to_json()}, but params.yaml says "
        f"{Architecture.of(deeper, 'relu').to_json()} (run `dvc repro`)"
    )


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("relu_7.h5", "must end in .keras, the only name Keras saves a model under"),
        ("no/such/folder/relu_7.keras", "folder no/such/folder does not exist"),
        (
            "models/relu_7.keras",
            "inside models/, which the pipeline writes and DVC tracks; export elsewhere",
        ),
        (
            "data/relu_7.keras",
            "inside data/, which the pipeline writes and DVC tracks; export elsewhere",
        ),
        (
            "metrics/relu_7.keras",
            "inside metrics/, which the pipeline writes and DVC tracks; export elsewhere",
        ),
    ],
)
def test_export_refuses_a_destination_it_should_not_write(tmp_path, out, message):
    save_stacked(tmp_path / "relu", ARCHITECTURE, stacked_initial_weights(ARCHITECTURE, [1, 2]))
    command = [sys.executable, "tools/export_model.py", "--model-dir", str(tmp_path / "relu")]
    result = run([*command, "--replicate", "0", "--out", out], REPO, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"export_model: error: --out {out}: {message}"]
