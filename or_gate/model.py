"""The write-up's network in TensorFlow: Keras model, initial weights, replicates stacked.

Three views of one network (``or_gate/architecture.py`` describes it without TensorFlow):

* :func:`build_model`: the write-up's network as a ``keras.Model``. Exported replicates are
  such models, and the oracle tests train them with ``keras.Model.fit``.
* :func:`stacked_initial_weights`: the initial weights of R replicates as one float32 array
  ``(R, P)`` (``ParamLayout`` order), replicate k exactly what :func:`build_model` draws after
  ``keras.utils.set_random_seed(seed_k)``, each layer's kernels for every replicate drawn in
  one graph call (:func:`keras_draws`). ``rai`` is Lu et al.'s randomized asymmetric
  initialisation (:func:`rai_draw`).
* :class:`StackedNetwork`: R replicates evaluated at once on those stacked weights: forward
  pass, loss, predictions and accuracy. Inputs are ``(R, rows, 2)``: each replicate sees its
  own rows. Keras' own activation and loss functions do the arithmetic, so the numbers are
  ``keras.Model``'s (``tests/test_training.py`` checks against ``keras.Model.fit``). The
  compiled training loop and the diagnostics (``or_gate/training.py``) use it, and so does
  ``evaluate``.

**RAI** (``initializer: rai``): Lu, Shin, Su and Karniadakis, "Dying ReLU and Initialization:
Theory and Numerical Examples" (Communications in Computational Physics 28(5), 2020; arXiv
1903.06733), section "Randomized asymmetric initialization". A layer's kernel W (fan_in x
units) and bias b are one matrix V = [W; b] of fan_in + 1 rows. Every entry is drawn from a
symmetric distribution Q, then, for each unit (column), one of its fan_in + 1 entries, chosen
uniformly, is replaced by a draw from a positive distribution P. The constants are the ones
the paper uses in its numerical examples, as public implementations of it give them: Q = N(0,
sigma^2 / fan_in) with sigma = 0.6007 (chosen in the paper so that the second moment of the
layer's output matches He initialisation's), and P = Beta(2, 1). ``tests/test_theory.py``
checks the draw against this description (moments, one positive entry per unit) and the
born-dead rate it gives. Why it helps: a unit is dead on the OR inputs when all its incoming
weights point away from them; with one entry forced positive (often the bias) that is much
rarer. The draw is NumPy's ``default_rng(seed)``; a Keras model built with :func:`rai_pair`
draws the same numbers, and the initializer class is registered with Keras, so a saved
model's config names it and loads in safe mode once this module is imported.
"""

from __future__ import annotations

import functools
import random

from or_gate.architecture import Architecture, Initializer, Layer
from or_gate.params import RAI
from or_gate.runtime import ParamsError
from or_gate.task import TOLERANCE

import keras
import keras.src.backend.tensorflow.random as keras_tf_random
import numpy as np
import tensorflow as tf


def keras_initializer(spec: Initializer):
    """The Keras initializer object of ``spec`` (not for ``rai``, which draws kernel and bias
    together: :func:`rai_pair`)."""
    try:
        return keras.initializers.get({"class_name": spec.name, "config": dict(spec.arguments)})
    except (TypeError, ValueError) as error:  # a value Keras refuses, e.g. mode: fan_sideways
        raise ParamsError(f"params.yaml: initializer {spec}: {error}") from None


SIGMA = 0.6007  # Q = N(0, SIGMA^2 / fan_in)
POSITIVE_ALPHA, POSITIVE_BETA = 2.0, 1.0  # P = Beta(2, 1)


def rai_draw(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A layer's kernel (fan_in, units) and bias (units,), float32, from one seed."""
    fan_in, units = shape
    rng = np.random.default_rng(seed)
    joint = rng.normal(0.0, SIGMA / np.sqrt(fan_in), size=(fan_in + 1, units))
    rows = rng.integers(0, fan_in + 1, size=units)  # the entry of each unit made positive
    joint[rows, np.arange(units)] = rng.beta(POSITIVE_ALPHA, POSITIVE_BETA, size=units)
    joint = joint.astype(np.float32)
    return joint[:fan_in], joint[fan_in]


@keras.saving.register_keras_serializable(package="or_gate")
class RandomizedAsymmetric(keras.initializers.Initializer):
    """One half (``part``: "kernel" or "bias") of :func:`rai_draw` for a Dense layer."""

    def __init__(self, seed: int, fan_in: int, part: str) -> None:
        if part not in ("kernel", "bias"):
            raise ValueError(f"part must be 'kernel' or 'bias', not {part!r}")
        self.seed, self.fan_in, self.part = int(seed), int(fan_in), part

    def __call__(self, shape, dtype=None):
        units = shape[-1]
        kernel, bias = rai_draw((self.fan_in, units), self.seed)
        value = kernel if self.part == "kernel" else bias
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"rai {self.part} of shape {value.shape}, asked for {shape}")
        return keras.ops.convert_to_tensor(value, dtype=dtype or "float32")

    def get_config(self) -> dict:
        return {"seed": self.seed, "fan_in": self.fan_in, "part": self.part}


def rai_pair(fan_in: int, seed: int) -> tuple[RandomizedAsymmetric, RandomizedAsymmetric]:
    """The kernel and bias initializers of one Dense layer, drawn together from ``seed``."""
    return (
        RandomizedAsymmetric(seed, fan_in, "kernel"),
        RandomizedAsymmetric(seed, fan_in, "bias"),
    )


def keras_draws(spec: Initializer, shape: tuple[int, ...], seeds: np.ndarray) -> np.ndarray:
    """The initializer ``spec`` called on ``shape`` with its ``seed`` set to each of ``seeds``,
    in one graph call: (len(seeds), *shape) float32, bit for bit what one call a seed gives.
    """
    # Seeds are below 2**31: the int32 pair is the one Keras builds.
    pairs = np.stack([seeds, np.zeros_like(seeds)], axis=1).astype(np.int32)
    return np.asarray(_compiled_draws(spec, tuple(shape))(tf.constant(pairs)))


@functools.cache
def _compiled_draws(spec: Initializer, shape: tuple[int, ...]):
    """Keras' random initializers draw with TensorFlow's stateless ops from the seed tensor
    ``[seed, 0]`` that ``keras.src.random.seed_generator.draw_seed`` makes of an int seed. Here
    that function is swapped, while the graph is traced, for one that returns the seed tensor
    of the current element of a ``tf.map_fn`` over every replicate's seed: one graph call
    instead of one eager call a replicate (~15x faster at 1,000 replicates). The swap is
    undone before tracing ends; ``tests/test_model.py`` checks the equality for every
    initializer name. One trace per initializer and shape, cached for the process.
    """
    initializer, current = keras_initializer(spec), []

    def draw_one(pair):
        current.append(pair)
        return initializer(shape, dtype="float32")

    @tf.function(autograph=False)
    def draw_all(pairs):
        swapped = keras_tf_random.draw_seed
        keras_tf_random.draw_seed = lambda seed: current[-1]
        try:
            return tf.map_fn(draw_one, pairs, fn_output_signature=tf.float32)
        finally:
            keras_tf_random.draw_seed = swapped

    return draw_all


def _dense(layer: Layer, name: str, fan_in: int):
    """One Keras Dense layer. Its initializers are created here, in layer order, so that each
    random one takes its seed from Python's ``random`` as Keras' unseeded initializers do."""
    if layer.initializer.name == RAI:
        kernel, bias = rai_pair(fan_in, make_default_seed())
    else:
        kernel, bias = keras_initializer(layer.initializer), "zeros"
    return keras.layers.Dense(
        layer.units,
        activation=layer.activation,
        kernel_initializer=kernel,
        bias_initializer=bias,
        name=name,
    )


def make_default_seed(generator: random.Random | None = None) -> int:
    """The seed Keras gives an initializer created without one
    (``keras.src.random.seed_generator.make_default_seed``), from Python's global ``random``
    or from ``generator``."""
    return (generator or random).randint(1, int(1e9))


def build_model(architecture: Architecture) -> keras.Model:
    """The write-up's network as a Keras model (weights drawn from Keras' global seed).

    Sequential as the write-up builds it; a residual variant needs the functional API (each
    hidden layer's output is added to its input).
    """
    # Named, not numbered: Keras numbers unnamed inputs per process (input_layer_2, ...),
    # which would make a saved model's bytes depend on what the process built before.
    inputs = keras.Input(shape=(architecture.inputs,), name="input_layer")
    dense, fan_in = [], architecture.inputs
    for index, layer in enumerate(architecture.layers):
        name = layer.role if layer.role != "hidden" else f"hidden_{index}"
        dense.append(_dense(layer, name, fan_in))
        fan_in = layer.units
    if not architecture.residual:
        return keras.Sequential([inputs, *dense], name="or_gate")
    h = inputs
    for index, (layer, keras_layer) in enumerate(zip(architecture.layers, dense, strict=True)):
        branch = keras_layer(h)
        h = keras.layers.Add(name=f"skip_{index}")([h, branch]) if layer.residual else branch
    return keras.Model(inputs, h, name="or_gate")


def stacked_initial_weights(architecture: Architecture, seeds: list[int]) -> np.ndarray:
    """Replicate k starts from the weights ``build_model`` draws after
    ``keras.utils.set_random_seed(seeds[k])``: shape (R, P), biases zero (except RAI's).

    A Keras random initializer created without a seed takes one from Python's ``random``
    (``random.randint(1, 10**9)``), in the order the layers create them, and its values are
    a stateless function of that seed. So replicate k's layer seeds are the first draws of
    ``random.Random(seeds[k])``, and each layer's kernels for every replicate are drawn at
    once by :func:`keras_draws`, without building a model or reseeding every
    global generator. ``tests/test_model.py`` checks the equality against ``build_model``.
    """
    layers, shapes = architecture.layers, architecture.layout.shapes[0::2]
    initializers = {
        layer.initializer: keras_initializer(layer.initializer)
        for layer in layers
        if layer.initializer.name != RAI
    }
    draws_a_seed = [
        layer.initializer.name == RAI or hasattr(initializers[layer.initializer], "seed")
        for layer in layers
    ]
    layer_seeds = []  # (R, layers): the seed each layer's initializer takes, 0 if none
    for seed in seeds:
        draws = random.Random(seed)
        layer_seeds.append([make_default_seed(draws) if d else 0 for d in draws_a_seed])
    layer_seeds = np.array(layer_seeds, np.int64).reshape(len(seeds), len(layers))
    parts = []
    for j, (layer, shape) in enumerate(zip(layers, shapes, strict=True)):
        if layer.initializer.name == RAI:  # one seed draws the kernel and the bias
            pairs = [rai_draw(shape, int(s)) for s in layer_seeds[:, j]]
            parts += [np.array([k.ravel() for k, _ in pairs]), np.array([b for _, b in pairs])]
            continue
        initializer = initializers[layer.initializer]
        if draws_a_seed[j]:
            kernels = keras_draws(layer.initializer, shape, layer_seeds[:, j])
        else:  # a constant initializer: the same kernel for every replicate
            kernels = np.broadcast_to(
                np.asarray(initializer(shape, dtype="float32")), (len(seeds), *shape)
            )
        parts += [kernels.reshape(len(seeds), -1), np.zeros((len(seeds), shape[1]))]
    return np.concatenate(parts, axis=1).astype(np.float32)


def sign_flipped(architecture: Architecture, weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rister and Rubin's sign flipping of drawn weights ``weights`` (R, P), on the training
    rows ``x`` (n, 2) every replicate sees: a new (R, P) float32 array.

    Rister and Rubin, "Probabilistic bounds on neuron death in deep rectifier networks"
    (arXiv 2007.06192, 2020), propose "a practical sign flipping scheme which guarantees that
    the ratio of living data points in a k-layer network is at least 2^-k" (their abstract,
    the part of the paper we could read). Our reading of it, layer by layer from the bottom:
    a row is alive at a hidden layer when the layer below passes it some non-zero activation
    (after the sigmoid input layer every row is); a unit active (pre-activation > 0) on fewer
    than half of the alive rows has its kernel column and bias negated. Negating them negates
    the unit's pre-activation exactly, so it is then active on at least half of the alive
    rows (those where it is exactly 0 aside), the rows it keeps alive stay alive through it,
    and at least half of each layer's alive rows survive it: 2^-k after k hidden layers. The
    forward pass is the training's own (:func:`affine`, Keras' activations), so the signs are
    decided on the numbers training sees.
    """
    if architecture.residual:  # params refuse it: a skip keeps rows alive already
        raise ValueError("sign flipping is for plain layers, not residual ones")
    parts = architecture.layout.unflatten(np.asarray(weights, dtype=np.float32))  # (R, ...)
    replicates = len(parts[0])
    h = tf.broadcast_to(tf.constant(x, tf.float32), (replicates, *np.shape(x)))
    for j, layer in enumerate(architecture.layers):
        kernel, bias = parts[2 * j], parts[2 * j + 1]
        z = affine(h, tf.constant(kernel), tf.constant(bias))
        if layer.role == "hidden":
            alive = tf.reduce_any(h != 0.0, axis=2, keepdims=True)  # (R, n, 1)
            active = tf.logical_and(z > 0.0, alive)
            count = tf.reduce_sum(tf.cast(active, tf.int32), axis=1)  # (R, units)
            alive_rows = tf.reduce_sum(tf.cast(alive, tf.int32), axis=1)  # (R, 1)
            sign = np.where(np.asarray(2 * count < alive_rows), -1.0, 1.0).astype(np.float32)
            parts[2 * j], parts[2 * j + 1] = kernel * sign[:, None, :], bias * sign
            z = z * sign[:, None, :]
        h = keras.activations.get(layer.activation)(z)
    return np.concatenate([part.reshape(replicates, -1) for part in parts], axis=1)


def initial_weights(architecture: Architecture, seed: int) -> list[np.ndarray]:
    """One replicate's weight list, as ``build_model`` draws it after
    ``keras.utils.set_random_seed(seed)`` (see :func:`stacked_initial_weights`)."""
    return architecture.layout.unflatten(stacked_initial_weights(architecture, [seed])[0])


def affine(h: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """``h @ kernel + bias`` per replicate, h: (R, n, fan_in), kernel: (R, fan_in, units).

    Written as fan_in elementwise multiply-adds, in input order, instead of a batched matmul:
    for a width-2 net the matmul is R tiny 2x2 products, and the fused elementwise form ran the
    compiled loop about 3-5x faster in a side-by-side measurement at depth 10 and 1,000
    replicates (``benchmarks/bench.py``'s loop figure also counts the per-epoch shuffling).
    Elementwise IEEE multiply and add, in a fixed order and
    without FMA (``or_gate/environment.py`` caps XLA below it), also give the same bytes on
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
        self.linear_output = architecture.output_activation == "linear"

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

    def correct(self, prediction, y):
        """1 where the prediction is right, else 0: at Keras' binary-accuracy threshold 0.5
        for the OR gate's sigmoid output; within the task's tolerance of the target for a
        regression's linear output (``or_gate/task.py``, whose ``right`` says the same)."""
        if self.linear_output:
            return tf.cast(tf.abs(prediction - y) < TOLERANCE, tf.float32)
        return tf.cast(tf.equal(tf.cast(prediction > 0.5, tf.float32), y), tf.float32)
