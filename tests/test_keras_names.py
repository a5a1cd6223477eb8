"""The table of Keras names that validation reads is what the pinned Keras says."""

from __future__ import annotations

import subprocess
import sys

from stages.keras_names import ELEMENTWISE_OPTIMIZERS, TABLE
from tests.conftest import REPO, quiet_env


def test_committed_table_is_what_keras_gives():
    # A subprocess: generating imports TensorFlow, which this test worker need not load.
    result = subprocess.run(
        [sys.executable, "-m", "stages.keras_names"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=quiet_env(),
        check=True,
    )
    assert result.stdout == TABLE.read_text(encoding="utf-8"), (
        "stages/keras_names.json is stale: run `python -m stages.keras_names --write`"
    )


def test_table_allows_what_the_experiments_use_and_refuses_coupling_names():
    import json

    table = json.loads(TABLE.read_text(encoding="utf-8"))
    assert {"sigmoid", "relu", "leaky_relu", "tanh", "elu", "selu"} <= set(table["activations"])
    assert not {"softmax", "log_softmax", "sparsemax", "glu"} & set(table["activations"])
    assert {"uniform", "he_normal", "glorot_uniform", "lecun_normal"} <= set(table["initializers"])
    assert set(table["optimizers"]) == set(ELEMENTWISE_OPTIMIZERS)
    assert not {"muon", "adafactor"} & set(table["optimizers"])
