"""The model builder, the fast initial-weights draw, and the flat parameter layout."""

from __future__ import annotations

from or_gate.network import Architecture, build_model, initial_weights, stacked_initial_weights

import keras
import numpy as np
import pytest


@pytest.mark.parametrize(
    ("activation", "initializer"),
    [
        ("sigmoid", "uniform"),
        ("relu", "he_normal"),
        ("tanh", "glorot_uniform"),
        ("selu", "lecun_normal"),
    ],
)
def test_initial_weights_equal_what_build_model_draws(activation, initializer):
    architecture = Architecture(depth=3, width=2, activation=activation, initializer=initializer)
    keras.utils.set_random_seed(11)
    expected = build_model(architecture).get_weights()
    drawn = initial_weights(architecture, seed=11)
    assert len(drawn) == len(expected)
    for ours, theirs in zip(drawn, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_model_is_the_write_up_architecture():
    model = build_model(Architecture(depth=2, width=3, activation="relu", initializer="he_normal"))
    dense = model.layers
    assert [layer.units for layer in dense] == [3, 3, 3, 1]
    assert [layer.activation.__name__ for layer in dense] == ["sigmoid", "relu", "relu", "sigmoid"]
    edge = keras.initializers.get("uniform")
    assert isinstance(dense[0].kernel_initializer, type(edge))
    assert dense[0].kernel_initializer.get_config()["minval"] == -0.05
    assert isinstance(dense[-1].kernel_initializer, type(edge))
    assert model.input_shape == (None, 2)


def test_layout_round_trip_and_order():
    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    weights = initial_weights(architecture, seed=3)
    layout = architecture.layout
    assert layout.shapes == ((2, 2), (2,), (2, 2), (2,), (2, 2), (2,), (2, 1), (1,))
    flat = layout.flatten(weights)
    assert flat.shape == (layout.size,) and flat.dtype == np.float32
    for back, original in zip(layout.unflatten(flat), weights, strict=True):
        np.testing.assert_array_equal(back, original)


def test_replicate_k_depends_only_on_its_seed():
    architecture = Architecture(depth=2, width=2, activation="sigmoid", initializer="uniform")
    three = stacked_initial_weights(architecture, [7, 8, 9])
    five = stacked_initial_weights(architecture, [7, 8, 9, 10, 11])
    np.testing.assert_array_equal(three, five[:3])
    assert not np.array_equal(three[0], three[1])
