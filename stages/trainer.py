"""Train R replicates of the network at once, inside one XLA-compiled TensorFlow graph.

Why not ``model.fit``: at batch size 1 it costs 3-7 ms a step here, minutes per model.
The arithmetic is microseconds; the time is framework overhead. So:

* every replicate's weights are one float32 vector, stacked into one ``(R, P)`` variable;
  each replicate is fed its own shuffled sample, and the loss is the SUM of the replicates'
  losses, so each replicate's gradient is exactly its own. Keras optimizers such as Adam are
  elementwise, so each replicate's update is exactly what it would be alone
  (``tests/test_trainer.py`` checks both against training one replicate alone);
* whole epochs run inside one ``tf.function(jit_compile=True)``: a loop over epochs and
  steps, with no Python between steps.

The math is ``keras.Model.fit``'s: the Keras optimizer object itself, the Keras loss function
with "sum over batch size" reduction, Keras' binary accuracy at 0.5, the epoch's loss and
accuracy as running means over the epoch's batches (before each update, like ``fit``), and
validation on the held-out rows at the end of each epoch. ``tests/test_trainer.py`` trains
a case both ways and compares the weights.

Between chunks of epochs the trainer returns to Python to print progress and, at the epochs
in ``diagnostic_epochs``, to measure the network (:func:`diagnose`): the norm of the loss
gradient for every layer on the full training set, and each layer's dead and saturated units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from stages.network import Architecture

# A unit is saturated when its activation's derivative is below this on every training input
# (Glorot & Bengio 2010 watch sigmoid units pinned near 0 or 1, where the derivative vanishes).
SATURATION_DERIVATIVE = 0.01

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass
class Diagnostics:
    """The network measured once, per replicate and layer (layers in ``Architecture`` order)."""

    kernel_gradient_norm: np.ndarray  # (R, L) float64
    bias_gradient_norm: np.ndarray  # (R, L) float64
    dead_fraction: np.ndarray  # (R, L): share of the layer's units that output 0 on every input
    saturated_fraction: np.ndarray  # (R, L): share whose derivative < SATURATION_DERIVATIVE


@dataclass
class TrainingResult:
    weights: np.ndarray  # (R, P) final flat weights
    history: dict[str, np.ndarray]  # loss, accuracy, val_loss, val_accuracy: (epochs, R)
    diagnostics: dict[int, Diagnostics] = field(default_factory=dict)  # by epoch (0 = init)


def log_spaced_epochs(epochs: int) -> list[int]:
    """0 (initialisation), 1, 2, 4, 8, ... and the last epoch."""
    marks = {0, epochs}
    power = 1
    while power < epochs:
        marks.add(power)
        power *= 2
    return sorted(marks)


# The compiled loop runs at most this many epochs per call. One fixed shape for its input
# means one compilation, whatever the number of epochs.
CHUNK_EPOCHS = 20


def chunk_boundaries(epochs: int, stops: list[int]) -> list[int]:
    """Epochs after which the compiled loop hands back to Python: every ``stops`` epoch
    (diagnostics, progress) and at least every ``CHUNK_EPOCHS``; always ends at ``epochs``."""
    marks = {e for e in stops if 0 < e <= epochs}
    boundaries, previous = [], 0
    for mark in sorted(marks | {epochs}):
        boundaries += [*range(previous + CHUNK_EPOCHS, mark, CHUNK_EPOCHS), mark]
        previous = mark
    return boundaries


class StackedTrainer:
    """R independent replicates of one architecture, trained as one stacked network."""

    def __init__(
        self,
        architecture: Architecture,
        initial_weights: np.ndarray,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_val: np.ndarray,
        y_val: np.ndarray,
        *,
        batch_size: int,
        optimizer: str,
        learning_rate: float,
        loss: str,
    ) -> None:
        self.layout = architecture.layout
        self.activations = [
            keras.activations.get(layer.activation) for layer in architecture.layers
        ]
        self.replicates = int(initial_weights.shape[0])
        self.weights = keras.Variable(np.asarray(initial_weights, np.float32), name="stacked")
        self.optimizer = keras.optimizers.get(
            {"class_name": optimizer, "config": {"learning_rate": learning_rate}}
        )
        self.optimizer.build([self.weights])
        self.loss_fn = keras.losses.get(loss)
        self.x_train = tf.constant(x_train, tf.float32)
        self.y_train = tf.constant(y_train, tf.float32)
        self.x_val = tf.constant(x_val, tf.float32)
        self.y_val = tf.constant(y_val, tf.float32)
        self.batch_size = batch_size
        rows = len(x_train)
        self.steps = -(-rows // batch_size)
        # The last batch of an epoch may be short; padding keeps shapes static for XLA and the
        # mask keeps the padding out of the loss, as Keras divides by the real batch size.
        self.mask = np.zeros((self.steps, batch_size), np.float32)
        self.mask.reshape(-1)[:rows] = 1.0
        self._train_chunk = tf.function(self._train_chunk_graph, jit_compile=True, autograph=False)

    # -- the network ------------------------------------------------------------------------
    def _layers(self, flat: tf.Tensor) -> list[tuple[tf.Tensor, tf.Tensor]]:
        parts = tf.split(flat, self.layout.sizes, axis=1)
        shaped = [
            tf.reshape(part, (self.replicates, *shape))
            for part, shape in zip(parts, self.layout.shapes, strict=True)
        ]
        return list(zip(shaped[0::2], shaped[1::2], strict=True))

    def _forward(self, flat: tf.Tensor, x: tf.Tensor) -> tuple[list, list]:
        """x: (R, n, 2). Returns every layer's pre-activations and outputs, each (R, n, units)."""
        pre_activations, outputs = [], []
        h = x
        for (kernel, bias), activation in zip(self._layers(flat), self.activations, strict=True):
            z = tf.matmul(h, kernel) + bias[:, None, :]
            h = activation(z)
            pre_activations.append(z)
            outputs.append(h)
        return pre_activations, outputs

    def _per_replicate_loss(self, flat, x, y, mask=None):
        """Mean loss over the rows of each replicate's batch: shape (R,)."""
        prediction = self._forward(flat, x)[1][-1]
        per_row = self.loss_fn(y[..., None], prediction)  # (R, n)
        if mask is None:
            return tf.reduce_mean(per_row, axis=1), prediction[..., 0]
        return tf.reduce_sum(per_row * mask, axis=1) / tf.reduce_sum(mask), prediction[..., 0]

    @staticmethod
    def _correct(prediction, y):
        return tf.cast(tf.equal(tf.cast(prediction > 0.5, tf.float32), y), tf.float32)

    # -- training ---------------------------------------------------------------------------
    def _train_chunk_graph(self, batch_indices, epochs_to_run):
        """Run ``epochs_to_run`` epochs; batch_indices: (max_epochs, steps, R, batch) int32.

        Plain ``tf.while_loop``s, traced without autograph (tracing is a good part of the
        start-up cost). The epoch loop has no maximum trip count and writes into a
        preallocated tensor, not a TensorArray: either would make XLA take the loop bound as
        a compile-time constant and recompile (~1 s) for every distinct chunk length.
        """
        rows = float(self.x_train.shape[0])
        mask = tf.constant(self.mask)
        replicates = self.replicates
        x_val = tf.broadcast_to(self.x_val, (replicates, *self.x_val.shape))
        y_val = tf.broadcast_to(self.y_val, (replicates, *self.y_val.shape))

        def train_step(step, epoch, loss_sum, correct_sum):
            indices = batch_indices[epoch, step]  # (R, batch)
            x = tf.gather(self.x_train, indices)
            y = tf.gather(self.y_train, indices)
            step_mask = mask[step]
            with tf.GradientTape() as tape:
                losses, prediction = self._per_replicate_loss(self.weights.value, x, y, step_mask)
                total = tf.reduce_sum(losses)
            gradient = tape.gradient(total, self.weights.value)
            self.optimizer.apply([gradient], [self.weights])
            loss_sum += losses * tf.reduce_sum(step_mask)
            correct_sum += tf.reduce_sum(self._correct(prediction, y) * step_mask, axis=1)
            return step + 1, epoch, loss_sum, correct_sum

        def train_epoch(epoch, history):
            zeros = tf.zeros([replicates])
            _, _, loss_sum, correct_sum = tf.while_loop(
                lambda step, *_: step < self.steps,
                train_step,
                (tf.constant(0), epoch, zeros, zeros),
            )
            if self.x_val.shape[0]:
                val_loss, val_prediction = self._per_replicate_loss(
                    self.weights.value, x_val, y_val
                )
                val_accuracy = tf.reduce_mean(self._correct(val_prediction, y_val), axis=1)
            else:  # no validation rows: Keras reports no val_* at all
                val_loss = val_accuracy = tf.fill([replicates], np.float32(np.nan))
            row = tf.stack([loss_sum / rows, correct_sum / rows, val_loss, val_accuracy])
            return epoch + 1, tf.tensor_scatter_nd_update(history, [[epoch]], row[None])

        history = tf.zeros((batch_indices.shape[0], len(HISTORY_KEYS), replicates))
        _, history = tf.while_loop(
            lambda epoch, _: epoch < epochs_to_run, train_epoch, (tf.constant(0), history)
        )
        return history

    def _measure(self, flat):
        """Gradient norms and unit activity on the full training set; see :class:`Diagnostics`.

        Runs eagerly: it is called ~10 times per training, and tracing a graph costs more.
        """
        x = tf.broadcast_to(self.x_train, (self.replicates, *self.x_train.shape))
        y = tf.broadcast_to(self.y_train, (self.replicates, *self.y_train.shape))
        with tf.GradientTape() as tape:
            tape.watch(flat)
            losses, _ = self._per_replicate_loss(flat, x, y)
            total = tf.reduce_sum(losses)
        # float32 gradients, as training sees them; norms in float64, where 1e-22 squared
        # does not underflow to 0.
        gradient = tf.cast(tape.gradient(total, flat), tf.float64)
        norms = [
            tf.norm(tf.reshape(part, (self.replicates, -1)), axis=1)
            for part in tf.split(gradient, self.layout.sizes, axis=1)
        ]
        pre_activations, outputs = self._forward(flat, x)
        dead, saturated = [], []
        for z, h, activation in zip(pre_activations, outputs, self.activations, strict=True):
            with tf.GradientTape() as inner:
                inner.watch(z)
                activated = activation(z)
            derivative = inner.gradient(activated, z)  # elementwise activations: d h / d z
            dead.append(tf.reduce_mean(tf.cast(tf.reduce_all(h == 0.0, axis=1), tf.float64), 1))
            small = tf.reduce_all(tf.abs(derivative) < SATURATION_DERIVATIVE, axis=1)
            saturated.append(tf.reduce_mean(tf.cast(small, tf.float64), axis=1))
        return (
            tf.stack(norms[0::2], axis=1),
            tf.stack(norms[1::2], axis=1),
            tf.stack(dead, axis=1),
            tf.stack(saturated, axis=1),
        )

    def diagnose(self) -> Diagnostics:
        results = self._measure(self.weights.value)
        return Diagnostics(*(np.asarray(r, dtype=np.float64) for r in results))

    def fit(
        self,
        epochs: int,
        shuffle_seeds: list[int] | None,
        *,
        diagnostic_epochs: list[int] = (),
        on_progress: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    ) -> TrainingResult:
        """Train for ``epochs``; ``shuffle_seeds[k]`` reshuffles replicate k's rows every epoch.

        ``shuffle_seeds=None`` keeps the rows in order (``fit(shuffle=False)``), for oracles.
        ``on_progress(epoch, last_epoch_history)`` is called about ten times, and at every
        diagnostic epoch.
        """
        rows = int(self.x_train.shape[0])
        rngs = None if shuffle_seeds is None else [np.random.default_rng(s) for s in shuffle_seeds]
        progress_every = max(1, -(-epochs // 10))
        progress_marks = set(range(progress_every, epochs, progress_every)) | {epochs}
        boundaries = chunk_boundaries(epochs, [*diagnostic_epochs, *progress_marks])
        padded = self.steps * self.batch_size
        diagnostics = {0: self.diagnose()} if 0 in diagnostic_epochs else {}
        history = {key: [] for key in HISTORY_KEYS}
        done = 0
        for boundary in boundaries:
            count = boundary - done
            order = np.zeros((CHUNK_EPOCHS, self.replicates, padded), np.int32)
            for epoch in range(count):
                for k in range(self.replicates):
                    order[epoch, k, :rows] = (
                        np.arange(rows) if rngs is None else rngs[k].permutation(rows)
                    )
            # (epochs, R, steps*batch) -> (epochs, steps, R, batch)
            batches = order.reshape(CHUNK_EPOCHS, self.replicates, self.steps, self.batch_size)
            chunk = self._train_chunk(
                tf.constant(batches.transpose(0, 2, 1, 3)), tf.constant(count)
            )
            chunk = np.asarray(chunk)[:count]
            for index, key in enumerate(HISTORY_KEYS):
                history[key].append(chunk[:, index])
            done = boundary
            if done in diagnostic_epochs:
                diagnostics[done] = self.diagnose()
            if on_progress is not None and (done in progress_marks or done in diagnostic_epochs):
                on_progress(done, {key: values[-1][-1] for key, values in history.items()})
        return TrainingResult(
            weights=np.asarray(self.weights.value),
            history={key: np.concatenate(values) for key, values in history.items()},
            diagnostics=diagnostics,
        )
