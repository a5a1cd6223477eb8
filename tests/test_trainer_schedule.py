"""How the stacked trainer schedules its work, beside what it computes (tests/test_training.py):
the types it computes in, chunks of epochs as the memory plan counts them, the helper thread
(its order, and the copies it measures however late it runs), and progress reports."""

from __future__ import annotations

from or_gate.architecture import Architecture
from or_gate.model import stacked_initial_weights
from or_gate.plan import CHUNK_EPOCHS
from or_gate.training import Splits, StackedTrainer

import numpy as np
from helpers import or_rows, train_settings


def test_the_trainer_computes_in_float32_whatever_types_it_is_given():
    """float64 rows, labels and starting weights (NumPy's default, as a caller may pass them)
    train exactly as their float32 values do: the trainer computes in float32, as Keras does."""
    architecture = Architecture(depth=2, width=2, activation="sigmoid", initializer="uniform")
    x, y = or_rows(12, seed=4)
    seeds = [3, 4]
    start = stacked_initial_weights(architecture, seeds)  # float32
    settings = train_settings(epochs=3, learning_rate=0.01)
    as_32 = [np.asarray(a, np.float32) for a in (x[:10], y[:10], x[10:], y[10:])]
    as_64 = [np.asarray(a, np.float64) for a in as_32]

    single = StackedTrainer(architecture, start, Splits(*as_32), settings).fit(seeds)
    double = StackedTrainer(architecture, start.astype(np.float64), Splits(*as_64), settings)
    assert double.weights.dtype == "float32"
    trained = double.fit(seeds)

    assert trained.weights.dtype == np.float32
    np.testing.assert_array_equal(trained.weights, single.weights)
    for key, values in single.history.items():
        np.testing.assert_array_equal(trained.history[key], values)


def test_the_trainer_chunks_its_epochs_as_the_memory_plan_counts_them(monkeypatch):
    """The row orders of a chunk are planned for (steps x batch) padded rows: 10 rows in
    batches of 4 are 12. With room for the orders of 2 epochs of 2 replicates x 12 rows (8
    bytes an index, the int32 orders and their transposed copy), chunks are 2 epochs long
    (progress, every 3 epochs of 30, cuts them too), and training in them gives what longer
    chunks do."""
    import or_gate.plan

    architecture = Architecture(depth=1, width=2, activation="sigmoid", initializer="uniform")
    x, y = or_rows(10, seed=6)
    seeds = [1, 2]
    start = stacked_initial_weights(architecture, seeds)
    settings = train_settings(epochs=30, batch_size=4, learning_rate=0.01)
    whole = StackedTrainer(architecture, start, Splits(x, y, x[:2], y[:2]), settings)
    monkeypatch.setattr(or_gate.plan, "ORDER_BYTES", 2 * 8 * 2 * 12)
    chunked = StackedTrainer(architecture, start, Splits(x, y, x[:2], y[:2]), settings)

    assert (whole.chunk_epochs, chunked.chunk_epochs) == (CHUNK_EPOCHS, 2)
    # a diagnostic epoch at 1 makes the chunks' lengths irregular (1, 2, 2, 1, 2, 1, ...)
    np.testing.assert_array_equal(
        chunked.fit(seeds, diagnostic_epochs=[1]).weights,
        whole.fit(seeds, diagnostic_epochs=[1]).weights,
    )


def test_every_epoch_of_a_chunk_is_in_the_history_when_an_epoch_is_one_step(monkeypatch):
    """Full-batch training: one step an epoch, so a chunk (3 epochs here: progress is reported
    every 3 of 30) has more epochs than steps. Its history holds every epoch, as chunks of one
    epoch each record them."""
    import or_gate.plan

    architecture = Architecture(depth=1, width=2, activation="sigmoid", initializer="uniform")
    x, y = or_rows(10, seed=8)
    seeds = [1, 2]
    start = stacked_initial_weights(architecture, seeds)
    settings = train_settings(epochs=30, batch_size=10, learning_rate=0.05)
    data = Splits(x, y, x[:3], y[:3])
    together = StackedTrainer(architecture, start, data, settings)
    monkeypatch.setattr(or_gate.plan, "ORDER_BYTES", 8 * 2 * 10)  # room for one epoch
    one_by_one = StackedTrainer(architecture, start, data, settings)
    assert (together.steps, one_by_one.chunk_epochs) == (1, 1)

    expected = one_by_one.fit(seeds).history
    for key, values in together.fit(seeds).history.items():
        assert values.shape == (30, 2)
        np.testing.assert_array_equal(values, expected[key])
    assert len(set(expected["loss"][:, 0])) == 30  # every epoch a loss of its own


def test_the_helper_measures_its_epochs_weights_however_late_it_runs(monkeypatch):
    """The helper thread measures a copy of each diagnostic epoch's weights; here it measures
    epoch e only after the compiled loop has trained epoch e + 1, and still measures epoch e
    (against a trainer stopped after e epochs)."""
    import threading

    architecture = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")
    x, y = or_rows(20, seed=3)
    data, seeds = Splits(x[:16], y[:16], x[16:], y[16:]), [3, 4]
    start = stacked_initial_weights(architecture, seeds)

    def trainer(epochs: int) -> StackedTrainer:
        return StackedTrainer(architecture, start, data, train_settings(epochs=epochs))

    two = trainer(2)
    two.fit(seeds)
    measured_at = {0: trainer(1).diagnose(), 2: two.diagnose()}
    late_trainer, trained = trainer(4), {epoch: threading.Event() for epoch in range(1, 5)}
    measure, waits = late_trainer.diagnose, iter([1, 3])  # epochs 0 and 2, each one epoch on

    def late(weights=None):
        assert trained[next(waits)].wait(timeout=60)
        return measure(weights)

    monkeypatch.setattr(late_trainer, "diagnose", late)
    result = late_trainer.fit(
        seeds, diagnostic_epochs=[0, 2], on_progress=lambda epoch, _: trained[epoch].set()
    )
    for epoch, expected in measured_at.items():
        np.testing.assert_array_equal(
            result.diagnostics[epoch].kernel_gradient_norm, expected.kernel_gradient_norm
        )


def test_progress_reports_the_epochs_due_with_their_last_epochs_numbers():
    """About ten progress epochs (every 3 of 25, and the last) and every diagnostic one, each
    with its own epoch's history: the train stage prints them as they come."""
    architecture = Architecture(depth=1, width=2, activation="sigmoid", initializer="uniform")
    x, y = or_rows(12, seed=7)
    seeds = [1, 2]
    start = stacked_initial_weights(architecture, seeds)
    settings = train_settings(epochs=25, learning_rate=0.05)
    trainer = StackedTrainer(architecture, start, Splits(x, y, x[:3], y[:3]), settings)
    reported = []
    result = trainer.fit(
        seeds, diagnostic_epochs=[0, 5], on_progress=lambda *call: reported.append(call)
    )
    assert [epoch for epoch, _ in reported] == [3, 5, 6, 9, 12, 15, 18, 21, 24, 25]
    for epoch, last in reported:
        assert set(last) == set(result.history)
        for key, values in last.items():
            np.testing.assert_array_equal(values, result.history[key][epoch - 1])


def test_the_helper_hands_over_history_in_epoch_order_however_long_a_handover_takes():
    """One helper thread, so the records get their chunks in epoch order even when handing
    one over takes longer than training the next."""
    import time

    architecture = Architecture(depth=1, width=2, activation="relu", initializer="he_normal")
    x, y = or_rows(12, seed=2)
    seeds = [1, 2]
    start = stacked_initial_weights(architecture, seeds)
    trainer = StackedTrainer(architecture, start, Splits(x, y, x[:2], y[:2]), train_settings())
    received = []

    def slow_first(first: int, chunk: dict) -> None:
        if first == 0:
            time.sleep(0.5)  # the loop trains and hands over the next epochs meanwhile
        received.append(first)

    trainer.fit(seeds, on_history=slow_first)
    assert received == [0, 1, 2]
