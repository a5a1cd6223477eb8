"""Train R replicates of the network at once, inside one XLA-compiled TensorFlow graph.

Why not ``model.fit``: at batch size 1 it costs 3-7 ms a step here, minutes per model.
The arithmetic is microseconds; the time is framework overhead. So:

* every replicate's weights are one float32 vector, stacked into one ``(R, P)`` variable;
  each replicate is fed its own shuffled sample, and the loss is the SUM of the replicates'
  losses, so each replicate's gradient is exactly its own. Keras optimizers such as Adam are
  elementwise, so each replicate's update is exactly what it would be alone;
* whole epochs run inside one ``tf.function(jit_compile=True)``: a loop over epochs and
  steps, with no Python between steps.

The math is ``keras.Model.fit``'s: the Keras optimizer object itself, the Keras loss function
with "sum over batch size" reduction, Keras' binary accuracy at 0.5, the epoch's loss and
accuracy as running means over the epoch's batches (before each update, like ``fit``), and
validation on the held-out rows at the end of each epoch. ``tests/test_training.py`` checks
the stacked, reshuffled case against ``keras.Model.fit`` fed the same row orders.

Between chunks of epochs the trainer returns to Python to report progress and, at the epochs
in ``diagnostic_epochs``, to measure the network (:func:`diagnose`). While the
compiled loop trains a chunk, one helper thread does the work around it: it draws the next
chunk's row orders, measures the diagnostics on a copy of the weights and hands the records
their numbers to format. The loop runs on one core (the train stage sets one thread per op),
so on 2 cores the two do not compete; the numbers are exactly what they would be without the
thread (one thread draws the orders, in order; the diagnostics see their epoch's weights).

**Diagnostics** (:func:`diagnose`): the network measured at one moment, on the full training
set, for every replicate at once:

* the norm of the loss gradient with respect to every layer's kernel and bias;
* the share of every layer's units that are dead (output exactly 0 on every training input),
  saturated (activation derivative below ``SATURATION_DERIVATIVE`` on every input) or
  blocked (activation derivative exactly 0 on every input: no gradient passes the unit, to
  its own weights or to anything below it). A layer whose units are all blocked cuts the
  network: the output cannot depend on the input, and training cannot change that. A
  residual layer is never blocked: its skip connection carries the gradient past it.

They run eagerly: they are measured ~10 times per training, and tracing a graph would cost
more.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from or_gate.architecture import Architecture
from or_gate.model import StackedNetwork, sign_flipped, stacked_initial_weights
from or_gate.params import Params, Train
from or_gate.plan import CHUNK_EPOCHS, chunk_epochs_for

import keras
import numpy as np
import tensorflow as tf

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")

# A unit is saturated when its activation's derivative is below this on every training input
# (Glorot & Bengio 2010 watch sigmoid units pinned near 0 or 1, where the derivative vanishes).
SATURATION_DERIVATIVE = 0.01


@dataclass
class Diagnostics:
    """The network measured once, per replicate and layer (layers in ``Architecture`` order)."""

    kernel_gradient_norm: np.ndarray  # (R, L) float64
    bias_gradient_norm: np.ndarray  # (R, L) float64
    dead_fraction: np.ndarray  # (R, L): share of the layer's units that output 0 on every input
    saturated_fraction: np.ndarray  # (R, L): share whose derivative < SATURATION_DERIVATIVE
    blocked_fraction: np.ndarray  # (R, L): share whose derivative is exactly 0 on every input


def _gradient_norms(network: StackedNetwork, flat, x, y) -> tuple[tf.Tensor, tf.Tensor]:
    with tf.GradientTape() as tape:
        tape.watch(flat)
        losses, _ = network.loss(flat, x, y)
        total = tf.reduce_sum(losses)
    # float32 gradients, as training sees them; norms in float64, where 1e-22 squared
    # does not underflow to 0.
    gradient = tf.cast(tape.gradient(total, flat), tf.float64)
    norms = [
        tf.norm(tf.reshape(part, (network.replicates, -1)), axis=1)
        for part in tf.split(gradient, network.layout.sizes, axis=1)
    ]
    return tf.stack(norms[0::2], axis=1), tf.stack(norms[1::2], axis=1)


def _share(condition) -> tf.Tensor:
    """Per replicate, the share of a layer's units for which ``condition`` holds on every
    input; condition: (R, rows, units)."""
    return tf.reduce_mean(tf.cast(tf.reduce_all(condition, axis=1), tf.float64), axis=1)


def _unit_activity(network: StackedNetwork, flat, x) -> tuple[tf.Tensor, ...]:
    pre_activations, outputs = network.forward(flat, x)
    dead, saturated, blocked = [], [], []
    layers = zip(pre_activations, outputs, network.activations, network.residual, strict=True)
    for z, h, activation, residual in layers:
        with tf.GradientTape() as tape:
            tape.watch(z)
            activated = activation(z)
        derivative = tape.gradient(activated, z)  # elementwise activations: d h / d z
        dead.append(_share(h == 0.0))
        saturated.append(_share(tf.abs(derivative) < SATURATION_DERIVATIVE))
        blocked.append(_share(derivative == 0.0) * (0.0 if residual else 1.0))
    return tuple(tf.stack(shares, axis=1) for shares in (dead, saturated, blocked))


def diagnose(network: StackedNetwork, flat, x_train, y_train) -> Diagnostics:
    """Measure stacked weights ``flat`` (R, P) on the training rows (shared by replicates)."""
    x = tf.broadcast_to(x_train, (network.replicates, *x_train.shape))
    y = tf.broadcast_to(y_train, (network.replicates, *y_train.shape))
    results = (*_gradient_norms(network, flat, x, y), *_unit_activity(network, flat, x))
    return Diagnostics(*(np.asarray(r, dtype=np.float64) for r in results))


class Splits(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass
class TrainingResult:
    weights: np.ndarray  # (R, P) final flat weights
    history: dict[str, np.ndarray]  # loss, accuracy, val_loss, val_accuracy: (epochs, R)
    diagnostics: dict[int, Diagnostics] = field(default_factory=dict)  # by epoch (0 = init)


def progress_epochs(epochs: int) -> set[int]:
    """The epochs after which training reports progress: about ten, and the last."""
    every = max(1, -(-epochs // 10))
    return set(range(every, epochs, every)) | {epochs}


def chunk_boundaries(epochs: int, stops: list[int], chunk: int = CHUNK_EPOCHS) -> list[int]:
    """Epochs after which the compiled loop hands back to Python: every ``stops`` epoch
    (diagnostics, progress) and at least every ``chunk``; always ends at ``epochs``."""
    marks = {e for e in stops if 0 < e <= epochs}
    boundaries, previous = [], 0
    for mark in sorted(marks | {epochs}):
        boundaries += [*range(previous + chunk, mark, chunk), mark]
        previous = mark
    return boundaries


def epoch_orders(rngs: list | None, replicates: int, rows: int, epochs: int) -> np.ndarray:
    """(epochs, R, rows): the order replicate k sees the rows in, each epoch.

    ``rngs[k]`` reshuffles replicate k every epoch, as ``fit(shuffle=True)`` does; with
    ``rngs=None`` the rows stay in order, as ``fit(shuffle=False)``.
    """
    if rngs is None:
        return np.broadcast_to(np.arange(rows, dtype=np.int32), (epochs, replicates, rows))
    orders = np.empty((epochs, replicates, rows), np.int32)  # filled in place: no int64 lists
    for epoch in orders:
        for order, rng in zip(epoch, rngs, strict=True):
            order[:] = rng.permutation(rows)
    return orders


class StackedTrainer:
    """R independent replicates of one architecture, trained as one stacked network."""

    def __init__(
        self, architecture: Architecture, initial_weights: np.ndarray, data: Splits, train: Train
    ) -> None:
        self.replicates = int(initial_weights.shape[0])
        self.network = StackedNetwork(architecture, self.replicates, train.loss)
        self.weights = keras.Variable(np.asarray(initial_weights, np.float32), name="stacked")
        config = {"learning_rate": train.learning_rate}
        if train.epsilon is not None:  # else Keras' own default, as the write-up ran
            config["epsilon"] = train.epsilon
        self.optimizer = keras.optimizers.get({"class_name": train.optimizer, "config": config})
        self.optimizer.build([self.weights])
        self.x_train, self.y_train, self.x_val, self.y_val = (
            tf.constant(array, tf.float32) for array in data
        )
        rows = len(data.x_train)
        # A batch larger than the data is one batch of every row, as Keras' fit takes it.
        self.batch_size = min(train.batch_size, rows)
        self.epochs = train.epochs
        self.steps = -(-rows // self.batch_size)
        self.chunk_epochs = chunk_epochs_for(self.replicates, self.steps * self.batch_size)
        # The last batch of an epoch may be short; padding keeps shapes static for XLA and the
        # mask keeps the padding out of the loss.
        self.mask = np.zeros((self.steps, self.batch_size), np.float32)
        self.mask.reshape(-1)[:rows] = 1.0
        self._train_chunk = tf.function(self._train_chunk_graph, jit_compile=True, autograph=False)

    def _train_step(self, batch_indices, mask, step, epoch, loss_sum, correct_sum):
        indices = batch_indices[epoch, step]  # (R, batch)
        x = tf.gather(self.x_train, indices)
        y = tf.gather(self.y_train, indices)
        step_mask = mask[step]
        with tf.GradientTape() as tape:
            losses, prediction = self.network.loss(self.weights.value, x, y, step_mask)
            total = tf.reduce_sum(losses)
        gradient = tape.gradient(total, self.weights.value)
        self.optimizer.apply([gradient], [self.weights])
        loss_sum += losses * tf.reduce_sum(step_mask)
        correct_sum += tf.reduce_sum(self.network.correct(prediction, y) * step_mask, axis=1)
        return step + 1, epoch, loss_sum, correct_sum

    def _validate(self):
        """Validation loss and accuracy of every replicate: (R,) each."""
        if not self.x_val.shape[0]:  # no validation rows: Keras reports no val_* at all
            nan = tf.fill([self.replicates], np.float32(np.nan))
            return nan, nan
        x_val = tf.broadcast_to(self.x_val, (self.replicates, *self.x_val.shape))
        y_val = tf.broadcast_to(self.y_val, (self.replicates, *self.y_val.shape))
        val_loss, val_prediction = self.network.loss(self.weights.value, x_val, y_val)
        return val_loss, tf.reduce_mean(self.network.correct(val_prediction, y_val), axis=1)

    def _train_chunk_graph(self, batch_indices, epochs_to_run):
        """Run ``epochs_to_run`` epochs; batch_indices: (max_epochs, steps, R, batch) int32.

        Plain ``tf.while_loop``s, traced without autograph (tracing is a good part of the
        start-up cost). The epoch loop has no maximum trip count and writes into a
        preallocated tensor, not a TensorArray: either would make XLA take the loop bound as
        a compile-time constant and recompile (~1 s) for every distinct chunk length.
        """
        rows = float(self.x_train.shape[0])
        mask = tf.constant(self.mask)

        def train_epoch(epoch, history):
            zeros = tf.zeros([self.replicates])
            _, _, loss_sum, correct_sum = tf.while_loop(
                lambda step, *_: step < self.steps,
                lambda *state: self._train_step(batch_indices, mask, *state),
                (tf.constant(0), epoch, zeros, zeros),
            )
            val_loss, val_accuracy = self._validate()
            row = tf.stack([loss_sum / rows, correct_sum / rows, val_loss, val_accuracy])
            return epoch + 1, tf.tensor_scatter_nd_update(history, [[epoch]], row[None])

        history = tf.zeros((batch_indices.shape[0], len(HISTORY_KEYS), self.replicates))
        _, history = tf.while_loop(
            lambda epoch, _: epoch < epochs_to_run, train_epoch, (tf.constant(0), history)
        )
        return history

    def diagnose(self, weights: np.ndarray | None = None) -> Diagnostics:
        """The diagnostics of ``weights`` (R, P), by default the current ones."""
        flat = self.weights.value if weights is None else tf.constant(weights)
        return diagnose(self.network, flat, self.x_train, self.y_train)

    def _chunk_batches(self, orders: np.ndarray) -> tuple[np.ndarray, int]:
        """The compiled loop's input for the epochs of ``orders`` (epochs, R, rows): every
        step's batch indices, (chunk_epochs, steps, R, batch), padded; and the epoch count."""
        count, rows = len(orders), orders.shape[2]
        size, steps, batch = self.chunk_epochs, self.steps, self.batch_size
        batches = np.zeros((size, steps, self.replicates, batch), np.int32)
        # written through an (epochs, R, steps, batch) view: no padded copy
        target, whole = batches.transpose(0, 2, 1, 3)[:count], rows // batch
        target[:, :, :whole] = orders[..., : whole * batch].reshape(count, -1, whole, batch)
        if rows % batch:  # the short last batch; the rest stays padding
            target[:, :, whole, : rows % batch] = orders[..., whole * batch :]
        return batches, count

    def _run_chunk(self, batches: np.ndarray, count: int) -> np.ndarray:
        """Train ``count`` epochs; their history (count, 4, R)."""
        return np.asarray(self._train_chunk(tf.constant(batches), tf.constant(count)))[:count]

    def fit(
        self,
        shuffle_seeds: list[int] | None,
        *,
        diagnostic_epochs: list[int] = (),
        on_progress: Callable[[int, dict[str, np.ndarray]], None] | None = None,
        on_history: Callable[[int, dict[str, np.ndarray]], None] | None = None,
        on_diagnostics: Callable[[int, Diagnostics], None] | None = None,
    ) -> TrainingResult:
        """Train for ``train.epochs``; ``shuffle_seeds[k]`` reshuffles replicate k every epoch
        (``None``: the rows stay in order, as ``fit(shuffle=False)``).

        ``on_progress(epoch, last_epoch_history)`` is called about ten times and at every
        diagnostic epoch. The helper thread (module docstring) calls ``on_history(first_epoch,
        chunk_history)`` ((epochs, R) per quantity) and ``on_diagnostics(epoch, diagnostics)``
        in epoch order."""
        rows = int(self.x_train.shape[0])
        rngs = None if shuffle_seeds is None else [np.random.default_rng(s) for s in shuffle_seeds]
        progress_marks = progress_epochs(self.epochs)
        stops = [*diagnostic_epochs, *progress_marks]
        boundaries = chunk_boundaries(self.epochs, stops, self.chunk_epochs)
        chunks = list(zip([0, *boundaries[:-1]], boundaries, strict=True))  # (first, last)
        history, diagnostics, pending = {key: [] for key in HISTORY_KEYS}, {}, []

        def diagnose_copy(epoch: int, weights: np.ndarray) -> None:
            diagnostics[epoch] = self.diagnose(weights)
            if on_diagnostics is not None:
                on_diagnostics(epoch, diagnostics[epoch])

        def batches(first: int, last: int) -> tuple[np.ndarray, int]:
            return self._chunk_batches(epoch_orders(rngs, self.replicates, rows, last - first))

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="trainer-helper") as helper:
            upcoming = helper.submit(batches, *chunks[0])  # first: the loop waits for it
            if 0 in diagnostic_epochs:
                pending.append(helper.submit(diagnose_copy, 0, np.array(self.weights.value)))
            for index, (first, last) in enumerate(chunks):
                chunk_input = upcoming.result()
                if index + 1 < len(chunks):
                    upcoming = helper.submit(batches, *chunks[index + 1])
                chunk = self._run_chunk(*chunk_input)
                latest = {key: chunk[:, i] for i, key in enumerate(HISTORY_KEYS)}
                for key, values in latest.items():
                    history[key].append(values)
                if on_history is not None:
                    pending.append(helper.submit(on_history, first, latest))
                if last in diagnostic_epochs:
                    pending.append(helper.submit(diagnose_copy, last, np.array(self.weights.value)))
                if on_progress is not None and (
                    last in progress_marks or last in diagnostic_epochs
                ):
                    on_progress(last, {key: values[-1] for key, values in latest.items()})
            for task in pending:
                task.result()  # re-raises anything the helper raised
        return TrainingResult(
            weights=np.asarray(self.weights.value),
            history={key: np.concatenate(values) for key, values in history.items()},
            diagnostics=dict(sorted(diagnostics.items())),
        )


def seeds_of(params: Params) -> list[int]:
    """Replicate k's seed: ``seed + k`` (its initial weights and its shuffling)."""
    return [params.seed + k for k in range(params.replicates)]


def trainer_for(params: Params, variant: str, data: Splits) -> tuple[Architecture, StackedTrainer]:
    """The stacked trainer of one variant's replicates, as ``params`` say."""
    architecture = Architecture.of(params, variant)
    weights = stacked_initial_weights(architecture, seeds_of(params))
    if architecture.sign_flip:
        weights = sign_flipped(architecture, weights, data.x_train)
    return architecture, StackedTrainer(architecture, weights, data, params.train)
