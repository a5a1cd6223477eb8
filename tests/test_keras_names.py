"""The table of Keras names that validation reads is what the pinned Keras says."""

from __future__ import annotations

import subprocess
import sys

from or_gate.params import KERAS_NAMES as TABLE

import pytest
from helpers import REPO, quiet_env


@pytest.mark.slow
def test_committed_table_is_what_keras_gives():
    # A subprocess: generating imports TensorFlow, which this test worker need not load.
    result = subprocess.run(
        [sys.executable, "tools/keras_names.py"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=quiet_env(),
        check=True,
    )
    assert result.stdout == TABLE.read_text(encoding="utf-8"), (
        "or_gate/keras_names.json is stale: run `python tools/keras_names.py --write`"
    )


def test_table_allows_what_the_experiments_use_and_refuses_coupling_names():
    import json

    table = json.loads(TABLE.read_text(encoding="utf-8"))
    assert {"sigmoid", "relu", "leaky_relu", "tanh", "elu", "selu"} <= set(table["activations"])
    assert not {"softmax", "log_softmax", "sparsemax", "glu"} & set(table["activations"])
    assert {"uniform", "he_normal", "glorot_uniform", "lecun_normal"} <= set(table["initializers"])
    assert {"adam", "sgd", "rmsprop"} <= set(table["optimizers"])
    assert not {"muon", "adafactor"} & set(table["optimizers"])
