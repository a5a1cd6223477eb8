"""The network measured at one moment: per-layer gradient norms, dead and saturated units.

Measured on the full training set for every replicate at once (``or_gate/stacked.py``):

* the norm of the loss gradient with respect to every layer's kernel and bias;
* the share of every layer's units that are dead (output exactly 0 on every training input),
  saturated (activation derivative below ``SATURATION_DERIVATIVE`` on every input) or
  blocked (activation derivative exactly 0 on every input: no gradient passes the unit, to
  its own weights or to anything below it). A layer whose units are all blocked cuts the
  network: the output cannot depend on the input, and training cannot change that. A
  residual layer is never blocked: its skip connection carries the gradient past it.

Runs eagerly: it is called ~10 times per training, and tracing a graph would cost more.
"""

from __future__ import annotations

from dataclasses import dataclass

from or_gate.stacked import StackedNetwork

import numpy as np
import tensorflow as tf

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
