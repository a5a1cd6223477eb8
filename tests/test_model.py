"""The model builder, the fast initial-weights draw, and the flat parameter layout."""

from __future__ import annotations

from or_gate.architecture import Architecture, Initializer
from or_gate.model import build_model, initial_weights, stacked_initial_weights

import keras
import numpy as np
import pytest


@pytest.mark.parametrize(
    ("activation", "initializer", "residual", "input_layer"),
    [
        ("sigmoid", "uniform", False, True),
        ("relu", "he_normal", False, True),
        ("tanh", "glorot_uniform", False, True),
        ("selu", "lecun_normal", False, True),
        ("sigmoid", {"name": "random_uniform", "minval": -0.5, "maxval": 0.5}, False, True),
        ("relu", "rai", False, True),
        ("relu", "he_normal", True, True),
        ("relu", "rai", True, True),
        ("relu", "rai", False, False),
        ("relu", "he_normal", True, False),  # the first skip adds the inputs themselves
        # constant hidden layers draw no seed: the output layer takes the second seed
        ("tanh", "zeros", False, True),
        ("relu", {"name": "constant", "value": 0.1}, False, True),
    ],
)
def test_initial_weights_equal_what_build_model_draws(
    activation, initializer, residual, input_layer
):
    architecture = Architecture(3, 2, activation, initializer, residual, input_layer)
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


def test_without_the_input_layer_the_inputs_go_straight_to_the_first_hidden_layer():
    architecture = Architecture(2, 3, "relu", "he_normal", input_layer=False)
    model = build_model(architecture)
    assert [layer.units for layer in model.layers] == [3, 3, 1]
    assert [layer.activation.__name__ for layer in model.layers] == ["relu", "relu", "sigmoid"]
    assert architecture.layout.shapes == ((2, 3), (3,), (3, 3), (3,), (3, 1), (1,))
    assert [layer.role for layer in architecture.layers] == ["hidden", "hidden", "output"]


def test_layout_round_trip_and_order():
    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    weights = initial_weights(architecture, seed=3)
    layout = architecture.layout
    assert layout.shapes == ((2, 2), (2,), (2, 2), (2,), (2, 2), (2,), (2, 1), (1,))
    flat = layout.flatten(weights)
    assert flat.shape == (layout.size,) and flat.dtype == np.float32
    from_float64 = layout.flatten([w.astype(np.float64) for w in weights])
    assert from_float64.dtype == np.float32  # the pipeline's type, whatever it is given
    np.testing.assert_array_equal(from_float64, flat)
    for back, original in zip(layout.unflatten(flat), weights, strict=True):
        np.testing.assert_array_equal(back, original)
    stacked = layout.unflatten(np.stack([flat, -flat]))  # (R, P) -> arrays (R, *shape)
    for back, original in zip(stacked, weights, strict=True):
        np.testing.assert_array_equal(back, np.stack([original, -original]))
    with pytest.raises(ValueError) as caught:  # a layer short: no silent shorter vector
        layout.flatten(weights[:-1])
    assert str(caught.value) == "7 weight arrays, expected 8"
    weights[2] = weights[2].T[:1]
    with pytest.raises(ValueError) as caught:
        layout.flatten(weights)
    assert str(caught.value) == "weight of shape (1, 2), expected (2, 2)"


def test_replicate_k_depends_only_on_its_seed():
    architecture = Architecture(depth=2, width=2, activation="sigmoid", initializer="uniform")
    three = stacked_initial_weights(architecture, [7, 8, 9])
    five = stacked_initial_weights(architecture, [7, 8, 9, 10, 11])
    np.testing.assert_array_equal(three, five[:3])
    assert not np.array_equal(three[0], three[1])


def test_initializer_arguments_reach_keras():
    wide = Architecture(1, 2, "sigmoid", {"name": "random_uniform", "minval": -3.0, "maxval": 3.0})
    narrow = Architecture(1, 2, "sigmoid", "uniform")  # RandomUniform(-0.05, 0.05)
    wide_kernel = initial_weights(wide, seed=5)[2]
    assert np.abs(wide_kernel).max() > 0.05
    np.testing.assert_allclose(wide_kernel, initial_weights(narrow, seed=5)[2] * 60, rtol=1e-5)


def test_a_residual_model_adds_each_hidden_layer_to_its_input():
    architecture = Architecture(2, 2, "relu", "he_normal", residual=True)
    keras.utils.set_random_seed(3)
    model = build_model(architecture)
    weights = model.get_weights()
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h = sigmoid(x @ weights[0] + weights[1])
    for layer in (1, 2):
        h = h + np.maximum(h @ weights[2 * layer] + weights[2 * layer + 1], 0)
    expected = sigmoid(h @ weights[6] + weights[7])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)


def test_drawing_every_replicate_at_once_equals_drawing_them_one_by_one():
    """keras_draws against the initializer called once per seed, for every initializer the
    params may name that draws a seed."""
    from or_gate.model import keras_draws
    from or_gate.params import keras_names_table

    seeds = np.array([1, 7, 123456789, 999999999])
    random_names = [
        name
        for name in keras_names_table()["initializers"]
        if hasattr(keras.initializers.get(name), "seed")
    ]
    assert {"uniform", "he_normal", "orthogonal", "truncated_normal"} <= set(random_names)
    for name in random_names:
        initializer = keras.initializers.get(name)
        at_once = keras_draws(Initializer(name), (3, 3), seeds)
        for k, seed in enumerate(seeds):
            initializer.seed = int(seed)
            one = np.asarray(initializer((3, 3), dtype="float32"))
            np.testing.assert_array_equal(at_once[k], one, err_msg=name)


@pytest.mark.parametrize("initializer", ["uniform", "he_normal", "rai"])
def test_a_deeper_net_starts_with_the_shallower_nets_layers(initializer):
    """The prefix property: a replicate's layer seeds are drawn in layer order from
    random.Random(seed), so at depth 10 its input layer and first L hidden layers are exactly
    its depth-L draw (only the output layer, drawn after every hidden one, differs). The atlas
    measures the same networks, grown, at every depth: its depths are not independent samples."""
    seeds = [7, 8, 9]
    deep = Architecture(depth=10, width=2, activation="relu", initializer=initializer)
    deep_layers = [deep.layout.unflatten(w) for w in stacked_initial_weights(deep, seeds)]
    for depth in (1, 4, 9):
        shallow = Architecture(depth=depth, width=2, activation="relu", initializer=initializer)
        for k, weights in enumerate(stacked_initial_weights(shallow, seeds)):
            prefix = shallow.layout.unflatten(weights)[: 2 * (depth + 1)]  # input + hidden
            for own, grown in zip(prefix, deep_layers[k], strict=False):
                np.testing.assert_array_equal(own, grown)


@pytest.mark.parametrize(
    ("initializer", "text"),
    [
        (Initializer("he_normal"), "he_normal"),
        (
            Initializer("random_uniform", (("maxval", 0.2), ("minval", -0.2))),
            "random_uniform(maxval=0.2, minval=-0.2)",
        ),
        (
            Initializer("custom", (("mode", "fan_in=2"), ("scale", 2.0))),
            "custom(mode=fan_in=2, scale=2.0)",
        ),
    ],
)
def test_an_initializer_is_written_and_read_back_as_the_sweep_tables_store_it(initializer, text):
    assert str(initializer) == text
    assert Initializer.parse(text) == initializer  # numbers as floats, text as text


@pytest.mark.parametrize("width", [2, 3])
def test_the_committed_born_dead_rates_are_what_the_initializers_draw(width):
    """plots/fixes/fixes.csv was trained from these very draws (seed 7 + k, 1,000 replicates,
    depth 10, the committed training rows): drawing them again and measuring them with the
    pipeline's diagnostics gives every ReLU variant's committed born-dead count exactly. A
    change to any initializer's draw (its order, its shape, its seeds) changes the counts."""
    from or_gate.files.data import read_split
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import pandas as pd
    import tensorflow as tf
    from helpers import REPO

    x, y = read_split(REPO / "data/prepared/train.csv")
    table = pd.read_csv(REPO / "plots/fixes/fixes.csv")
    rows = table[(table["width"] == width) & (table["activation"] == "relu") & ~table["residual"]]
    assert len(rows) == 3  # uniform, He, RAI
    for row in rows.itertuples():
        architecture = Architecture(row.depth, width, "relu", row.initializer)
        flat = stacked_initial_weights(architecture, [7 + k for k in range(row.replicates)])
        network = StackedNetwork(architecture, row.replicates, "mean_squared_error")
        measured = diagnose(network, tf.constant(flat), tf.constant(x), tf.constant(y))
        born_dead = np.any(measured.blocked_fraction[:, 1:-1] == 1.0, axis=1).sum()
        assert born_dead == round(row.born_dead_rate * row.replicates), row.variant


def test_the_rai_draw_is_float32_and_its_errors_say_what_is_wrong():
    from or_gate.model import RandomizedAsymmetric, rai_draw

    kernel, bias = rai_draw((3, 2), seed=5)
    assert kernel.dtype == bias.dtype == np.float32
    assert kernel.shape == (3, 2) and bias.shape == (2,)
    with pytest.raises(ValueError) as caught:
        RandomizedAsymmetric(5, 3, "weights")
    assert str(caught.value) == "part must be 'kernel' or 'bias', not 'weights'"
    with pytest.raises(ValueError) as caught:
        RandomizedAsymmetric(5, 3, "kernel")((2, 2))
    assert str(caught.value) == "rai kernel of shape (3, 2), asked for (2, 2)"


def test_the_rai_initializer_gives_the_dtype_keras_asks_for():
    from or_gate.model import RandomizedAsymmetric, rai_draw

    kernel, _ = rai_draw((3, 2), seed=5)
    initializer = RandomizedAsymmetric(5, 3, "kernel")
    assert initializer((3, 2)).dtype == "float32"  # Keras' default when none is asked for
    asked = initializer((3, 2), dtype="float64")
    assert asked.dtype == "float64"
    np.testing.assert_array_equal(np.asarray(asked), kernel.astype(np.float64))


def test_models_are_named_by_layer_whatever_was_built_before():
    """Saved models' bytes must not depend on what the process built before (Keras numbers
    unnamed layers per process): every name is fixed."""
    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    first = build_model(architecture)
    build_model(Architecture(depth=1, width=3, activation="tanh", initializer="zeros"))
    again = build_model(architecture)
    names = ["input", "hidden_1", "hidden_2", "output"]
    assert [layer.name for layer in first.layers] == names
    assert [layer.name for layer in again.layers] == names
    assert first.inputs[0].name == again.inputs[0].name == "input_layer"
    residual = Architecture(2, 2, "relu", "he_normal", residual=True)
    assert build_model(residual).get_config() == build_model(residual).get_config()
    assert first.name == build_model(residual).name == "or_gate"


def test_batched_predictions_take_float64_rows_and_weights_and_give_float32():
    from or_gate.files.data import TRUTH_TABLE
    from or_gate.model import StackedNetwork

    architecture = Architecture(depth=2, width=2, activation="tanh", initializer="glorot_uniform")
    flat = stacked_initial_weights(architecture, [1, 2])
    network = StackedNetwork(architecture, 2, "mean_squared_error")
    expected = network.predict(flat, TRUTH_TABLE.astype(np.float32))
    given = network.predict(flat.astype(np.float64), TRUTH_TABLE.astype(np.float64))
    assert given.dtype == np.float32
    np.testing.assert_array_equal(given, expected)


# Rows with the four OR inputs in uneven numbers, so that "half of the alive rows" is not
# "two of four points"; a unit active on (0, 0) and (0, 1) only is active on exactly half.
UNEVEN_ROWS = np.array([[0, 0]] * 3 + [[0, 1]] * 3 + [[1, 0]] * 4 + [[1, 1]] * 2, np.float32)


def _flipped_unit_by_unit(architecture: Architecture, weights: np.ndarray, x) -> np.ndarray:
    """Sign flipping as the docstring states it, one replicate and one unit at a time, in
    float64 NumPy: the oracle of the stacked TensorFlow version."""
    activations = {"relu": lambda z: np.maximum(z, 0.0), "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    flipped = []
    for flat in weights:
        layers = [np.array(part, np.float64) for part in architecture.layout.unflatten(flat)]
        h = np.asarray(x, np.float64)
        for j, layer in enumerate(architecture.layers):
            kernel, bias = layers[2 * j], layers[2 * j + 1]
            z = h @ kernel + bias
            if layer.role == "hidden":
                alive = np.any(h != 0, axis=1)
                for unit in range(layer.units):
                    if 2 * np.sum(z[alive, unit] > 0) < np.sum(alive):
                        kernel[:, unit], bias[unit], z[:, unit] = (
                            -kernel[:, unit],
                            -bias[unit],
                            -z[:, unit],
                        )
            h = activations[layer.activation](z)
        flipped.append(architecture.layout.flatten(layers))
    return np.array(flipped)


@pytest.mark.parametrize(
    ("initializer", "input_layer"),
    [("he_normal", True), ("uniform", True), ("rai", True), ("he_normal", False), ("rai", False)],
)
def test_sign_flipping_is_the_unit_by_unit_rule(initializer, input_layer):
    from or_gate.model import sign_flipped

    architecture = Architecture(10, 2, "relu", initializer, input_layer=input_layer, sign_flip=True)
    drawn = stacked_initial_weights(architecture, list(range(500)))
    flipped = sign_flipped(architecture, drawn, UNEVEN_ROWS)
    assert flipped.dtype == np.float32
    np.testing.assert_array_equal(flipped, _flipped_unit_by_unit(architecture, drawn, UNEVEN_ROWS))
    assert np.any(flipped != drawn)  # the rule had something to do


def test_sign_flipping_keeps_at_least_half_the_alive_rows_through_every_layer():
    """Rister and Rubin's guarantee: at least 2^-k of the rows alive after k hidden layers, so
    no net is born dead; only whole units change sign, and a flipped net is left as it is."""
    from or_gate.model import sign_flipped

    depth = 12
    architecture = Architecture(depth, 2, "relu", "he_normal", sign_flip=True)
    drawn = stacked_initial_weights(architecture, list(range(300)))
    flipped = sign_flipped(architecture, drawn, UNEVEN_ROWS)
    np.testing.assert_array_equal(sign_flipped(architecture, flipped, UNEVEN_ROWS), flipped)
    as_float64 = sign_flipped(architecture, drawn.astype(np.float64), UNEVEN_ROWS)
    assert as_float64.dtype == np.float32  # the weights' type, whatever it is given
    np.testing.assert_array_equal(as_float64, flipped)
    rows_as_float64 = sign_flipped(architecture, drawn, UNEVEN_ROWS.astype(np.float64))
    np.testing.assert_array_equal(rows_as_float64, flipped)  # the rows' type, likewise
    for before, after in zip(drawn, flipped, strict=True):
        layers_before = architecture.layout.unflatten(before)
        layers_after = architecture.layout.unflatten(after)
        for j, layer in enumerate(architecture.layers):  # each unit: kept or negated whole
            unit_before = np.vstack(layers_before[2 * j : 2 * j + 2])  # kernel rows, then bias
            unit_after = np.vstack(layers_after[2 * j : 2 * j + 2])
            kept = np.all(unit_after == unit_before, axis=0)
            negated = np.all(unit_after == -unit_before, axis=0)
            assert np.all(kept | negated) and (layer.role == "hidden" or np.all(kept))
        alive = [np.mean(np.any(h != 0, axis=1)) for h in _hidden_outputs(architecture, after)]
        assert all(share >= 0.5 ** (k + 1) for k, share in enumerate(alive)), alive
    drawn_dead = sum(
        min(np.mean(np.any(h != 0, axis=1)) for h in _hidden_outputs(architecture, w)) == 0
        for w in drawn
    )
    assert drawn_dead > 200  # without the flip most of these depth-12 nets are born dead


def _hidden_outputs(architecture: Architecture, flat: np.ndarray) -> list[np.ndarray]:
    layers, h, outputs = architecture.layout.unflatten(flat), UNEVEN_ROWS.astype(np.float64), []
    for j, layer in enumerate(architecture.layers):
        z = h @ layers[2 * j] + layers[2 * j + 1]
        h = np.maximum(z, 0) if layer.role == "hidden" else 1 / (1 + np.exp(-z))
        if layer.role == "hidden":
            outputs.append(h)
    return outputs


def test_a_sign_flipped_variant_starts_training_from_the_flipped_draw():
    from or_gate.files.data import read_split
    from or_gate.model import sign_flipped
    from or_gate.params import parse_params, read_yaml
    from or_gate.training import Splits, seeds_of, trainer_for

    from helpers import REPO

    raw = read_yaml(REPO / "params.yaml")
    raw |= {"depth": 8, "replicates": 50}
    raw["variants"] = {
        "flip": {"activation": "relu", "initializer": "he_normal", "sign_flip": True}
    }
    params = parse_params(raw)
    splits = Splits(
        *read_split(REPO / "data/prepared/train.csv"),
        *read_split(REPO / "data/prepared/validation.csv"),
    )
    architecture, trainer = trainer_for(params, "flip", splits)
    drawn = stacked_initial_weights(architecture, seeds_of(params))
    expected = sign_flipped(architecture, drawn, splits.x_train)
    np.testing.assert_array_equal(np.asarray(trainer.weights.value), expected)
    assert np.any(expected != drawn)


def test_the_write_ups_small_weights_underflow_where_sign_flipping_cannot_help():
    """docs/fixes.md explains the flipped uniform nets born dead at depths 25 and 30: weights
    in [-0.05, 0.05] shrink the activations until float32 rounds them to zero. At depth 30
    every top hidden activation of these (atlas-seeded) nets is exactly 0; at depth 20 none
    is all 0."""
    from or_gate.files.data import read_split
    from or_gate.model import StackedNetwork, sign_flipped

    import tensorflow as tf
    from helpers import REPO

    x, _ = read_split(REPO / "data/prepared/train.csv")
    seeds = [7 + k for k in range(64)]
    top_is_zero = {}
    for depth in (20, 30):
        architecture = Architecture(depth, 2, "relu", "uniform", sign_flip=True)
        flat = sign_flipped(architecture, stacked_initial_weights(architecture, seeds), x)
        network = StackedNetwork(architecture, len(seeds), "mean_squared_error")
        rows = tf.broadcast_to(tf.constant(x), (len(seeds), *x.shape))
        top = np.asarray(network.forward(tf.constant(flat), rows)[1][-2])  # last hidden layer
        top_is_zero[depth] = np.all(top == 0.0, axis=(1, 2))
    assert not top_is_zero[20].any() and top_is_zero[30].all()


def test_sign_flipping_refuses_a_residual_net():
    from or_gate.model import sign_flipped

    residual = Architecture(2, 2, "relu", "he_normal", residual=True, sign_flip=True)
    with pytest.raises(ValueError) as refused:
        sign_flipped(residual, stacked_initial_weights(residual, [1]), UNEVEN_ROWS)
    assert str(refused.value) == "sign flipping is for plain layers, not residual ones"


def test_an_initializer_keras_refuses_is_named_in_one_line():
    """params.yaml's schema refuses such values first (tests/test_params.py); the library
    still names one it is handed directly, not Keras' traceback."""
    from or_gate.model import keras_initializer
    from or_gate.runtime import ParamsError

    spec = Initializer.of({"name": "variance_scaling", "mode": "fan_sideways"})
    with pytest.raises(ParamsError) as refused:
        keras_initializer(spec)
    message = str(refused.value)
    assert message.startswith(f"params.yaml: initializer {spec}: ")
    assert "fan_sideways" in message
    assert "\n" not in message
