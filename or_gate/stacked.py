"""The math of R replicates of one network, stacked: forward pass, loss and accuracy.

Every replicate's weights are one float32 vector (``ParamLayout`` in ``or_gate/network.py``
says where each kernel and bias lives), stacked into one ``(R, P)`` tensor. Inputs are
``(R, rows, 2)``: each replicate sees its own rows. Keras' own activation and loss functions
do the arithmetic, so the numbers are ``keras.Model``'s (``tests/test_training.py`` checks
against ``keras.Model.fit``). Used by the compiled training loop (``or_gate/training.py``) and
the diagnostics (``or_gate/diagnostics.py``).
"""

from __future__ import annotations

from or_gate.network import Architecture

import keras
import numpy as np
import tensorflow as tf


def affine(h: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """``h @ kernel + bias`` per replicate, h: (R, n, fan_in), kernel: (R, fan_in, units).

    Written as fan_in elementwise multiply-adds, in input order, instead of a batched matmul:
    for a width-2 net the matmul is R tiny 2x2 products, and the fused elementwise form ran the
    compiled loop about 3-5x faster in a side-by-side measurement at depth 10 and 1,000
    replicates (``benchmarks/bench.py``'s loop figure also counts the per-epoch shuffling).
    Elementwise IEEE multiply and add, in a fixed order and
    without FMA (``or_gate/numerics.py`` caps XLA below it), also give the same bytes on
    every x86-64 CPU without depending on a matmul kernel's summation order.
    """
    products = [h[..., i : i + 1] * kernel[:, None, i, :] for i in range(kernel.shape[1])]
    z = products[0]
    for product in products[1:]:
        z = z + product
    return z + bias[:, None, :]  # as Dense: the kernel product first, then the bias


class StackedNetwork:
    """R replicates of ``architecture``, evaluated on stacked flat weights."""

    def __init__(self, architecture: Architecture, replicates: int, loss: str) -> None:
        self.layout = architecture.layout
        self.activations = [
            keras.activations.get(layer.activation) for layer in architecture.layers
        ]
        self.residual = [layer.residual for layer in architecture.layers]
        self.replicates = replicates
        self.loss_fn = keras.losses.get(loss)

    def layers(self, flat: tf.Tensor) -> list[tuple[tf.Tensor, tf.Tensor]]:
        """(kernel, bias) of every layer, each with a leading replicate axis."""
        parts = tf.split(flat, self.layout.sizes, axis=1)
        shaped = [
            tf.reshape(part, (self.replicates, *shape))
            for part, shape in zip(parts, self.layout.shapes, strict=True)
        ]
        return list(zip(shaped[0::2], shaped[1::2], strict=True))

    def forward(self, flat: tf.Tensor, x: tf.Tensor) -> tuple[list, list]:
        """x: (R, n, 2). Every layer's pre-activations z and activations a(z), each (R, n, units).

        A residual layer passes on ``h + a(z)``; its entry in the second list is still a(z),
        what the unit diagnostics look at. The output layer is never residual, so the last
        entry is the network's output.
        """
        pre_activations, outputs = [], []
        h = x
        layers = zip(self.layers(flat), self.activations, self.residual, strict=True)
        for (kernel, bias), activation, residual in layers:
            z = affine(h, kernel, bias)
            activated = activation(z)
            h = h + activated if residual else activated
            pre_activations.append(z)
            outputs.append(activated)
        return pre_activations, outputs

    def loss(self, flat, x, y, mask=None):
        """Mean loss over the rows of each replicate's batch, shape (R,), and the predictions.

        ``mask`` (one weight per row) leaves a short last batch's padding out, as Keras
        divides by the real batch size.
        """
        prediction = self.forward(flat, x)[1][-1]
        per_row = self.loss_fn(y[..., None], prediction)  # (R, n)
        if mask is None:
            return tf.reduce_mean(per_row, axis=1), prediction[..., 0]
        return tf.reduce_sum(per_row * mask, axis=1) / tf.reduce_sum(mask), prediction[..., 0]

    def predict(self, flat, x) -> np.ndarray:
        """Every replicate's output for the same rows ``x`` (n, 2): float32 (R, n)."""
        inputs = tf.broadcast_to(tf.constant(x, tf.float32), (self.replicates, *np.shape(x)))
        return np.asarray(self.forward(tf.constant(flat, tf.float32), inputs)[1][-1][..., 0])

    @staticmethod
    def correct(prediction, y):
        """1 where the prediction is right at Keras' binary-accuracy threshold 0.5, else 0."""
        return tf.cast(tf.equal(tf.cast(prediction > 0.5, tf.float32), y), tf.float32)
