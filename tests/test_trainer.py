"""The compiled stacked trainer is keras.Model.fit's math, and replicates never interact."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from stages.keras_names import ELEMENTWISE_OPTIMIZERS
from stages.network import Architecture, build_model, initial_weights, stacked_initial_weights
from stages.trainer import CHUNK_EPOCHS, StackedTrainer, chunk_boundaries, log_spaced_epochs
from tests.conftest import diagnose_at_init


def or_rows(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).integers(0, 2, size=(count, 2)).astype(np.float32)
    return x, np.logical_or(x[:, 0], x[:, 1]).astype(np.float32)


@pytest.mark.parametrize(
    ("activation", "initializer", "batch_size", "optimizer", "learning_rate"),
    [
        ("sigmoid", "glorot_uniform", 1, "adam", 0.01),
        ("relu", "he_normal", 3, "adam", 0.01),  # 20 rows: the last batch has 2 rows
        ("tanh", "glorot_uniform", 4, "sgd", 0.1),
    ],
)
def test_trainer_matches_keras_fit(activation, initializer, batch_size, optimizer, learning_rate):
    architecture = Architecture(depth=2, width=2, activation=activation, initializer=initializer)
    x, y = or_rows(25, seed=1)
    start = initial_weights(architecture, seed=5)
    epochs = 4

    # The oracle: the write-up's way, keras.Model.fit, with shuffling off.
    model = build_model(architecture)
    model.set_weights(start)
    model.compile(
        optimizer=keras.optimizers.get(
            {"class_name": optimizer, "config": {"learning_rate": learning_rate}}
        ),
        loss="mean_squared_error",
        metrics=["accuracy"],
    )
    history = model.fit(
        x, y, validation_split=0.2, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0
    ).history

    trainer = StackedTrainer(
        architecture,
        architecture.layout.flatten(start)[None],
        x[:20],
        y[:20],
        x[20:],
        y[20:],
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss="mean_squared_error",
    )
    result = trainer.fit(epochs, shuffle_seeds=None)

    ours = architecture.layout.unflatten(result.weights[0])
    largest = max(
        float(np.max(np.abs(a - b))) for a, b in zip(ours, model.get_weights(), strict=True)
    )
    print(f"largest weight difference vs keras.Model.fit: {largest:.3g}")
    assert largest < 1e-5
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, start, strict=True))
    assert moved > 1e-3  # the comparison is not between two untrained networks
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(result.history[key][:, 0], history[key], atol=1e-5, err_msg=key)


@pytest.mark.parametrize("optimizer", ELEMENTWISE_OPTIMIZERS)
def test_a_stacked_replicate_trains_exactly_as_alone(optimizer):
    architecture = Architecture(depth=2, width=2, activation="leaky_relu", initializer="he_normal")
    x, y = or_rows(24, seed=2)
    seeds = [7, 8, 9]
    start = stacked_initial_weights(architecture, seeds)
    settings = dict(
        batch_size=2, optimizer=optimizer, learning_rate=0.01, loss="mean_squared_error"
    )
    data = (x[:20], y[:20], x[20:], y[20:])

    together = StackedTrainer(architecture, start, *data, **settings).fit(3, seeds)
    alone = StackedTrainer(architecture, start[1:2], *data, **settings).fit(3, seeds[1:2])

    np.testing.assert_allclose(together.weights[1], alone.weights[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        together.history["loss"][:, 1], alone.history["loss"][:, 0], atol=1e-6
    )
    assert not np.allclose(together.weights[0], together.weights[1])


def test_training_is_deterministic_and_learns_or():
    architecture = Architecture(depth=1, width=2, activation="sigmoid", initializer="uniform")
    x, y = or_rows(200, seed=3)
    seeds = [7, 8]
    runs = []
    for _ in range(2):
        trainer = StackedTrainer(
            architecture,
            stacked_initial_weights(architecture, seeds),
            x[:160],
            y[:160],
            x[160:],
            y[160:],
            batch_size=1,
            optimizer="adam",
            learning_rate=0.001,
            loss="mean_squared_error",
        )
        runs.append(trainer.fit(150, seeds, diagnostic_epochs=log_spaced_epochs(150)))
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)
    loss = runs[0].history["loss"]
    assert np.all(loss[-1] < 0.2 * loss[0])  # the loss fell for every replicate
    assert np.all(runs[0].history["val_accuracy"][-1] == 1.0)
    assert sorted(runs[0].diagnostics) == log_spaced_epochs(150)


def test_diagnostics_see_vanishing_gradients_and_dead_layers():
    x, _ = or_rows(40, seed=4)
    deep_sigmoid = Architecture(depth=10, width=2, activation="sigmoid", initializer="uniform")
    measured = diagnose_at_init(deep_sigmoid, stacked_initial_weights(deep_sigmoid, [7]), x)
    kernel = measured.kernel_gradient_norm[0]
    assert kernel[1] < 1e-15 * kernel[-1]  # first hidden layer vs output layer
    assert np.all(kernel > 0)  # float64 norms: tiny, not zero

    relu = Architecture(depth=1, width=2, activation="relu", initializer="uniform")
    start = stacked_initial_weights(relu, [7])
    layout = relu.layout
    weights = layout.unflatten(start[0])
    weights[2] = -np.abs(weights[2])  # hidden kernel: negative weights on positive inputs
    measured = diagnose_at_init(relu, layout.flatten(weights)[None], x)
    assert measured.dead_fraction[0].tolist() == [0.0, 1.0, 0.0]
    assert measured.kernel_gradient_norm[0, 0] == 0.0  # nothing reaches below a dead layer
    assert measured.saturated_fraction[0, 1] == 1.0


def test_no_validation_rows_gives_no_validation_numbers():
    architecture = Architecture(depth=1, width=2, activation="sigmoid", initializer="uniform")
    x, y = or_rows(10, seed=5)
    trainer = StackedTrainer(
        architecture,
        stacked_initial_weights(architecture, [1]),
        x,
        y,
        x[:0],
        y[:0],
        batch_size=1,
        optimizer="adam",
        learning_rate=0.001,
        loss="mean_squared_error",
    )
    result = trainer.fit(2, [1])
    assert np.isnan(result.history["val_loss"]).all()
    assert np.isfinite(result.history["loss"]).all()


def test_epoch_schedules():
    assert log_spaced_epochs(200) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 200]
    assert log_spaced_epochs(1) == [0, 1]
    assert chunk_boundaries(10, [0, 1, 2, 4, 5, 8, 10]) == [1, 2, 4, 5, 8, 10]
    assert CHUNK_EPOCHS == 20  # never more than CHUNK_EPOCHS per compiled call
    assert chunk_boundaries(50, [1]) == [1, 21, 41, 50]
    assert chunk_boundaries(3, []) == [3]
