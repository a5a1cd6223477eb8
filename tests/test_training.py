"""The compiled stacked trainer is keras.Model.fit's math, and replicates never interact.

The oracle is Keras itself: each replicate is trained alone by ``keras.Model.fit`` from the
weights the builder draws for seed ``seed + k``, fed every epoch's rows in the order
``numpy.random.default_rng(seed + k)`` shuffles them (the pipeline's promise), and the stacked
trainer, run as the pipeline runs it (several replicates, reshuffled every epoch), must end
with the same weights and report the same history.
"""

from __future__ import annotations

from or_gate.architecture import Architecture
from or_gate.model import build_model, initial_weights, stacked_initial_weights
from or_gate.params import keras_names_table
from or_gate.plan import CHUNK_EPOCHS, log_spaced_epochs
from or_gate.training import (
    Splits,
    StackedTrainer,
    chunk_boundaries,
    epoch_orders,
    progress_epochs,
    trainer_for,
)

import keras
import numpy as np
import pytest
from helpers import or_rows, train_settings

# float32 arithmetic in another order (XLA-fused against Keras' graph) differs in the last
# bits (measured: at most 1.4e-7 here), while one wrong step moves weights by ~1e-2.
WEIGHT_TOLERANCE = 1e-6


def fit_alone_with_keras(
    architecture, seed, data: Splits, settings, shuffle: bool = True
) -> tuple[list, dict]:
    """One replicate trained by keras.Model.fit, one epoch per call, rows in the order
    default_rng(seed) shuffles them each epoch (``shuffle=False``: in their order)."""
    model = build_model(architecture)
    model.set_weights(initial_weights(architecture, seed))
    config = {"learning_rate": settings.learning_rate}
    if settings.epsilon is not None:
        config["epsilon"] = settings.epsilon
    model.compile(
        optimizer=keras.optimizers.get({"class_name": settings.optimizer, "config": config}),
        loss=settings.loss,
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    history: dict[str, list] = {}
    for _ in range(settings.epochs):
        order = rng.permutation(len(data.x_train)) if shuffle else slice(None)
        epoch = model.fit(
            data.x_train[order],
            data.y_train[order],
            batch_size=settings.batch_size,
            epochs=1,
            shuffle=False,
            validation_data=(data.x_val, data.y_val),
            verbose=0,
        ).history
        for key, values in epoch.items():
            history.setdefault(key, []).extend(values)
    return model.get_weights(), history


@pytest.mark.parametrize(
    ("activation", "initializer", "batch_size", "optimizer", "learning_rate", "residual", "input"),
    [
        ("sigmoid", "uniform", 1, "adam", 0.01, False, True),
        ("relu", "he_normal", 3, "adam", 0.01, False, True),  # 20 rows: the last batch has 2
        pytest.param("tanh", "glorot_uniform", 4, "sgd", 0.1, False, True, marks=pytest.mark.slow),
        ("relu", "he_normal", 2, "adam", 0.01, True, True),  # skip connections: functional
        pytest.param(  # nonzero initial biases
            "relu", "rai", 2, "adam", 0.01, False, True, marks=pytest.mark.slow
        ),
        ("sigmoid", "uniform", 1000, "adam", 0.01, False, True),  # one batch of all 20 rows
        ("relu", "rai", 2, "adam", 0.01, False, False),  # no input layer: x straight in
        pytest.param(  # no input layer, and the first skip adds the inputs themselves
            "relu", "he_normal", 2, "adam", 0.01, True, False, marks=pytest.mark.slow
        ),
    ],
)
def test_stacked_shuffled_replicates_match_keras_fit(
    activation, initializer, batch_size, optimizer, learning_rate, residual, input
):
    x, y = or_rows(25, seed=1)
    data = Splits(x[:20], y[:20], x[20:], y[20:])
    settings = train_settings(
        epochs=3, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate
    )
    architecture = Architecture(2, 2, activation, initializer, residual, input_layer=input)
    seeds = [11, 12, 13]
    stacked = StackedTrainer(
        architecture, stacked_initial_weights(architecture, seeds), data, settings
    ).fit(seeds)

    # The first and last of the stack against Keras (each Keras fit costs seconds): a mix-up
    # of replicates shows at either end.
    for k, seed in [(0, seeds[0]), (len(seeds) - 1, seeds[-1])]:
        weights, history = fit_alone_with_keras(architecture, seed, data, settings)
        ours = architecture.layout.unflatten(stacked.weights[k])
        moved = max(
            np.max(np.abs(a - b))
            for a, b in zip(ours, initial_weights(architecture, seed), strict=True)
        )
        assert moved > 1e-3, "the comparison is between two untrained networks"
        for ours_w, keras_w in zip(ours, weights, strict=True):
            np.testing.assert_allclose(ours_w, keras_w, atol=WEIGHT_TOLERANCE, rtol=0)
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(
                stacked.history[key][:, k], history[key], atol=WEIGHT_TOLERANCE, err_msg=key
            )


# Three optimizers in the quick suite (the first and second moments, and none); every
# optimizer Keras has in the slow one.
QUICK_OPTIMIZERS = ("adam", "sgd", "rmsprop")


@pytest.mark.parametrize(
    "optimizer",
    [
        name if name in QUICK_OPTIMIZERS else pytest.param(name, marks=pytest.mark.slow)
        for name in keras_names_table()["optimizers"]
    ],
)
def test_a_stacked_replicate_trains_bit_for_bit_as_alone(optimizer):
    architecture = Architecture(depth=2, width=2, activation="leaky_relu", initializer="he_normal")
    x, y = or_rows(24, seed=2)
    seeds = [7, 8, 9]
    start = stacked_initial_weights(architecture, seeds)
    settings = train_settings(batch_size=2, optimizer=optimizer, learning_rate=0.01)
    data = Splits(x[:20], y[:20], x[20:], y[20:])

    together = StackedTrainer(architecture, start, data, settings).fit(seeds)
    alone = StackedTrainer(architecture, start[1:2], data, settings).fit(seeds[1:2])

    assert np.abs(together.weights[1] - start[1]).max() > 1e-4  # it trained
    np.testing.assert_array_equal(together.weights[1], alone.weights[0])
    np.testing.assert_array_equal(together.history["loss"][:, 1], alone.history["loss"][:, 0])


def test_the_pipeline_trainer_learns_or_deterministically(tmp_path):
    from or_gate.params import load_params

    from helpers import REPO

    params = load_params(REPO / "params.yaml")
    params = params.model_copy(
        update={"replicates": 2, "train": params.train.model_copy(update={"epochs": 150})}
    )
    x, y = or_rows(200, seed=3)
    data = Splits(x[:160], y[:160], x[160:], y[160:])
    runs = []
    for _ in range(2):
        _, trainer = trainer_for(params, "sigmoid", data)
        runs.append(trainer.fit([7, 8], diagnostic_epochs=log_spaced_epochs(150)))
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)
    loss = runs[0].history["loss"]
    assert np.all(loss[-1] < 0.2 * loss[0])  # the loss fell for every replicate
    assert np.all(runs[0].history["val_accuracy"][-1] == 1.0)
    assert sorted(runs[0].diagnostics) == log_spaced_epochs(150)


def test_the_helper_thread_hands_over_what_synchronous_training_measures():
    """Diagnostics measured by the helper thread are those of their epoch's weights, the
    history chunks handed over add up to the returned history, in epoch order."""
    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    x, y = or_rows(30, seed=4)
    data, seeds = Splits(x[:24], y[:24], x[24:], y[24:]), [3, 4, 5]
    start = stacked_initial_weights(architecture, seeds)
    settings = train_settings(epochs=5, learning_rate=0.05)
    trainer = StackedTrainer(architecture, start, data, settings)
    before = trainer.diagnose()
    handed, chunks = [], []
    result = trainer.fit(
        seeds,
        diagnostic_epochs=[0, 2, 5],
        on_history=lambda first, chunk: chunks.append((first, chunk)),
        on_diagnostics=lambda epoch, measured: handed.append((epoch, measured)),
    )
    assert [epoch for epoch, _ in handed] == [0, 2, 5] and list(result.diagnostics) == [0, 2, 5]
    assert all(measured is result.diagnostics[epoch] for epoch, measured in handed)
    after = trainer.diagnose()
    for field in ("kernel_gradient_norm", "dead_fraction", "blocked_fraction"):
        np.testing.assert_array_equal(getattr(result.diagnostics[0], field), getattr(before, field))
        np.testing.assert_array_equal(getattr(result.diagnostics[5], field), getattr(after, field))
    assert not np.array_equal(before.kernel_gradient_norm, after.kernel_gradient_norm)
    assert [first for first, _ in chunks] == [0, 1, 2, 3, 4]  # progress every epoch here
    joined = np.concatenate([chunk["loss"] for _, chunk in chunks])
    np.testing.assert_array_equal(joined, result.history["loss"])


def one_replicate_trainer(validation_rows: int) -> StackedTrainer:
    """One depth-1 sigmoid replicate, 2 epochs on 10 OR rows, validated on the first
    ``validation_rows`` of them."""
    architecture = Architecture(depth=1, width=2, activation="sigmoid", initializer="uniform")
    x, y = or_rows(10, seed=5)
    validation = Splits(x, y, x[:validation_rows], y[:validation_rows])
    start = stacked_initial_weights(architecture, [1])
    return StackedTrainer(architecture, start, validation, train_settings(epochs=2))


def test_an_error_in_the_helper_thread_reaches_the_caller():
    def broken(first, chunk):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        one_replicate_trainer(validation_rows=10).fit([1], on_history=broken)


def test_no_validation_rows_gives_no_validation_numbers():
    result = one_replicate_trainer(validation_rows=0).fit([1])
    assert np.isnan(result.history["val_loss"]).all()
    assert np.isfinite(result.history["loss"]).all()


def test_epoch_schedules():
    assert log_spaced_epochs(200) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 200]
    assert log_spaced_epochs(1) == [0, 1]
    assert chunk_boundaries(10, [0, 1, 2, 4, 5, 8, 10]) == [1, 2, 4, 5, 8, 10]
    assert chunk_boundaries(50, [1], chunk=20) == [1, 21, 41, 50]
    for stops in ([], [1], [3, 7, 200], list(range(0, 500, 37))):  # never a longer chunk
        boundaries = chunk_boundaries(500, stops)
        assert set(stops) - {0} <= set(boundaries) and boundaries[-1] == 500
        assert all(
            b - a <= CHUNK_EPOCHS for a, b in zip([0, *boundaries[:-1]], boundaries, strict=True)
        )
    assert chunk_boundaries(3, []) == [3]
    assert progress_epochs(200) == set(range(20, 201, 20))  # about ten, and the last
    assert progress_epochs(25) == {3, 6, 9, 12, 15, 18, 21, 24, 25}
    assert progress_epochs(3) == {1, 2, 3}


def test_every_replicate_sees_the_rows_in_its_own_generators_order_each_epoch():
    """As fit(shuffle=True) with numpy's default_rng(seed + k): one permutation per epoch
    from replicate k's generator, in epoch order; without generators, the rows in order."""
    orders = epoch_orders([np.random.default_rng(s) for s in (5, 6)], 2, 7, 3)
    assert orders.shape == (3, 2, 7) and orders.dtype == np.int32
    for k, seed in enumerate((5, 6)):
        rng = np.random.default_rng(seed)
        for epoch in range(3):
            np.testing.assert_array_equal(orders[epoch, k], rng.permutation(7))
    in_order = epoch_orders(None, 2, 7, 3)
    assert in_order.shape == (3, 2, 7) and in_order.dtype == np.int32
    np.testing.assert_array_equal(in_order, np.broadcast_to(np.arange(7), (3, 2, 7)))


def test_diagnostics_see_the_gradient_vanish_through_deep_sigmoid_layers():
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import tensorflow as tf

    x, y = or_rows(40, seed=4)
    deep = Architecture(depth=10, width=2, activation="sigmoid", initializer="uniform")
    network = StackedNetwork(deep, 1, "mean_squared_error")
    weights = tf.constant(stacked_initial_weights(deep, [7]))
    measured = diagnose(network, weights, tf.constant(x), tf.constant(y))
    kernel = measured.kernel_gradient_norm[0]
    assert kernel[1] < 1e-15 * kernel[-1]  # first hidden layer against the output layer
    assert np.all(kernel > 0)  # float64 norms: tiny, not zero
    assert measured.blocked_fraction.max() == 0.0  # sigmoid never blocks a gradient outright


def test_replicate_k_starts_from_keras_weights_for_seed_plus_k():
    """The pipeline's promise (params.yaml's seed): replicate k of every variant is
    initialised as keras.utils.set_random_seed(seed + k) then the model builder draws."""
    from or_gate.params import load_params
    from or_gate.training import seeds_of

    from helpers import REPO

    params = load_params(REPO / "params.yaml").model_copy(update={"replicates": 3})
    x, y = or_rows(10, seed=1)
    architecture, trainer = trainer_for(params, "leaky_relu", Splits(x, y, x[:2], y[:2]))
    for k in range(3):
        keras.utils.set_random_seed(params.seed + k)
        expected = architecture.layout.flatten(build_model(architecture).get_weights())
        np.testing.assert_array_equal(np.asarray(trainer.weights.value)[k], expected)
    assert seeds_of(params) == [params.seed + k for k in range(3)]  # and each reshuffles so


def test_gradient_norms_per_layer_are_keras_own_gradients():
    """diagnose()'s kernel and bias gradient norms, against a GradientTape over the Keras
    model's own variables (kernel_0, bias_0, kernel_1, ...), mean squared error on the rows."""
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import tensorflow as tf

    x, y = or_rows(40, seed=4)
    architecture = Architecture(depth=3, width=2, activation="tanh", initializer="glorot_uniform")
    flat = stacked_initial_weights(architecture, [11])
    measured = diagnose(
        StackedNetwork(architecture, 1, "mean_squared_error"),
        tf.constant(flat),
        tf.constant(x),
        tf.constant(y),
    )
    model = build_model(architecture)
    model.set_weights(architecture.layout.unflatten(flat[0]))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.mean_squared_error(y[:, None], model(x)))
    gradients = tape.gradient(loss, model.trainable_variables)
    norms = [float(np.linalg.norm(np.asarray(g, np.float64))) for g in gradients]
    np.testing.assert_allclose(measured.kernel_gradient_norm[0], norms[0::2], rtol=1e-5)
    np.testing.assert_allclose(measured.bias_gradient_norm[0], norms[1::2], rtol=1e-5)


def test_a_unit_is_dead_only_when_it_outputs_zero_on_every_input():
    """A ReLU unit negative on every input is dead; one negative on some inputs and positive
    on others is not (it passes a gradient for those)."""
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import tensorflow as tf

    architecture = Architecture(depth=1, width=2, activation="relu", initializer="zeros")
    weights = [
        np.array([[5.0, 0.0], [0.0, 5.0]]), np.zeros(2),  # input layer: h in (0.5, 0.99)
        np.array([[-1.0, 1.0], [-1.0, 1.0]]), np.array([0.0, -1.5]),  # unit 0 dead; unit 1 not
        np.ones((2, 1)), np.zeros(1),
    ]  # fmt: skip
    flat = architecture.layout.flatten(weights)[None, :]
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 1], np.float32)
    network = StackedNetwork(architecture, 1, "mean_squared_error")
    measured = diagnose(network, tf.constant(flat), tf.constant(x), tf.constant(y))
    assert measured.dead_fraction[0, 1] == 0.5  # the hidden layer: one unit of two
    assert measured.blocked_fraction[0, 1] == 0.5


def test_born_dead_is_a_blocked_layer_not_a_silent_one():
    from or_gate.architecture import Architecture
    from or_gate.model import StackedNetwork, stacked_initial_weights
    from or_gate.training import Splits, StackedTrainer, diagnose

    import tensorflow as tf

    x, y = or_rows(200, seed=3)
    x_all, y_all = tf.constant(x), tf.constant(y)
    tanh = Architecture(depth=1, width=2, activation="tanh", initializer="zeros")
    weights = stacked_initial_weights(tanh, [7])
    network = StackedNetwork(tanh, 1, "mean_squared_error")
    at_init = diagnose(network, tf.constant(weights), x_all, y_all)
    assert at_init.dead_fraction[0, 1] == 1.0  # outputs exactly 0 on every input...
    assert at_init.blocked_fraction[0, 1] == 0.0  # ...but tanh'(0) = 1: gradients pass
    data = Splits(x[:160], y[:160], x[160:], y[160:])
    trained = StackedTrainer(tanh, weights, data, train_settings(epochs=60, learning_rate=0.01))
    assert trained.fit([7]).history["val_accuracy"][-1, 0] == 1.0  # and it learns OR

    relu = Architecture(depth=1, width=2, activation="relu", initializer="uniform")
    flat = stacked_initial_weights(relu, [7])
    layers = relu.layout.unflatten(flat[0])
    layers[2] = -np.abs(layers[2])  # negative weights on positive inputs: z < 0 everywhere
    blocked = relu.layout.flatten(layers)[None]
    network = StackedNetwork(relu, 1, "mean_squared_error")
    measured = diagnose(network, tf.constant(blocked), x_all, y_all)
    assert measured.blocked_fraction[0, 1] == 1.0 and measured.dead_fraction[0, 1] == 1.0
    assert measured.kernel_gradient_norm[0, 0] == 0.0  # nothing reaches below it


def test_a_unit_whose_derivative_is_exactly_the_threshold_is_not_saturated(monkeypatch):
    """Saturated means a derivative strictly below SATURATION_DERIVATIVE on every input: a
    linear unit (derivative exactly 1) is saturated only when the threshold is above 1."""
    from or_gate import training
    from or_gate.model import StackedNetwork

    import tensorflow as tf

    architecture = Architecture(depth=1, width=2, activation="linear", initializer="ones")
    flat = stacked_initial_weights(architecture, [3])
    network = StackedNetwork(architecture, 1, "mean_squared_error")
    x, y = or_rows(8, seed=2)

    def saturated(threshold: float) -> float:
        monkeypatch.setattr(training, "SATURATION_DERIVATIVE", threshold)
        measured = training.diagnose(network, tf.constant(flat), tf.constant(x), tf.constant(y))
        return measured.saturated_fraction[0, 1]

    assert saturated(1.0) == 0.0
    assert saturated(float(np.nextafter(np.float32(1.0), np.float32(2.0)))) == 1.0


def test_diagnostics_are_float64_whatever_the_network_computes_in():
    """The records are written from these arrays: float32 norms would print other digits."""
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import tensorflow as tf

    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    flat = stacked_initial_weights(architecture, [5, 6])
    x, y = or_rows(8, seed=2)
    network = StackedNetwork(architecture, 2, "mean_squared_error")
    measured = diagnose(network, tf.constant(flat), tf.constant(x), tf.constant(y))
    for name, values in vars(measured).items():
        assert values.dtype == np.float64 and values.shape == (2, 4), name


def test_the_trainer_diagnoses_the_weights_it_is_given_not_its_own():
    """fit() hands the helper thread a copy of the weights of each diagnostic epoch while the
    loop trains on: what is measured must be the copy."""
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import tensorflow as tf

    x, y = or_rows(25, seed=1)
    data = Splits(x[:20], y[:20], x[20:], y[20:])
    architecture = Architecture(2, 2, "tanh", "glorot_uniform")  # alive: gradients everywhere
    initial = stacked_initial_weights(architecture, [11, 12])
    settings = train_settings(epochs=5, learning_rate=0.05)
    trainer = StackedTrainer(architecture, initial, data, settings)
    trainer.fit([11, 12])
    network = StackedNetwork(architecture, 2, "mean_squared_error")
    expected = diagnose(network, tf.constant(initial), tf.constant(x[:20]), tf.constant(y[:20]))
    given, current = trainer.diagnose(initial), trainer.diagnose()
    np.testing.assert_array_equal(given.kernel_gradient_norm, expected.kernel_gradient_norm)
    assert not np.array_equal(given.kernel_gradient_norm, current.kernel_gradient_norm)


def test_adams_epsilon_reaches_training_as_keras_fit_applies_it():
    """A large epsilon damps Adam's steps: the stacked trainer with train.epsilon is Keras
    fit with Adam(epsilon=...), and differs from Keras' default."""
    x, y = or_rows(25, seed=1)
    data = Splits(x[:20], y[:20], x[20:], y[20:])
    architecture = Architecture(2, 2, "tanh", "glorot_uniform")
    seeds = [11, 12]
    settings = train_settings(epochs=3, learning_rate=0.01, epsilon=0.5)
    initial = stacked_initial_weights(architecture, seeds)
    stacked = StackedTrainer(architecture, initial, data, settings).fit(seeds)
    default = StackedTrainer(
        architecture, initial, data, train_settings(epochs=3, learning_rate=0.01)
    )
    assert not np.allclose(stacked.weights, default.fit(seeds).weights, atol=1e-4)
    # one Keras fit (seconds each): the optimizer is shared by every replicate of the stack
    weights, _ = fit_alone_with_keras(architecture, seeds[0], data, settings)
    ours = architecture.layout.unflatten(stacked.weights[0])
    for ours_w, keras_w in zip(ours, weights, strict=True):
        np.testing.assert_allclose(ours_w, keras_w, atol=WEIGHT_TOLERANCE, rtol=0)


def test_unshuffled_replicates_train_on_the_rows_in_order_as_keras_fit_without_shuffle():
    x, y = or_rows(14, seed=9)
    data = Splits(x[:12], y[:12], x[12:], y[12:])
    settings = train_settings(epochs=3, batch_size=3, learning_rate=0.01)
    architecture = Architecture(2, 2, "sigmoid", "uniform")
    seeds = [5, 6]  # two: the stacked case, against one keras fit each
    start = stacked_initial_weights(architecture, seeds)
    stacked = StackedTrainer(architecture, start, data, settings).fit(None)
    for k, seed in enumerate(seeds):
        weights, history = fit_alone_with_keras(architecture, seed, data, settings, shuffle=False)
        ours = architecture.layout.unflatten(stacked.weights[k])
        for ours_w, keras_w in zip(ours, weights, strict=True):
            np.testing.assert_allclose(ours_w, keras_w, atol=WEIGHT_TOLERANCE, rtol=0)
        np.testing.assert_allclose(stacked.history["loss"][:, k], history["loss"], atol=1e-6)
