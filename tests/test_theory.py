"""Born dead: a zero-bias ReLU layer of width w dies with probability 2^-w at initialisation.

Each unit of a zero-bias ReLU layer is dead (outputs 0 on every input) when its weights point
away from every input, which for inputs near one point happens with probability 1/2; the w
units of a layer are independent, so the whole layer is dead with probability 2^-w and a
depth-L net is born dead with probability 1 - (1 - 2^-w)^L (width 2: 1 - (3/4)^L, 0.944 at
L = 10). He init rescales the weights but keeps their signs, so it does not change this. Lu,
Shin, Su, Karniadakis, "Dying ReLU and Initialization" (2020). Their randomized asymmetric
initialisation (RAI) makes one of each unit's incoming parameters positive, which makes a dead
layer much rarer; a residual layer cannot cut the network at all.

The networks are drawn with the project's builder (``stacked_initial_weights``, what
``build_model`` draws after ``keras.utils.set_random_seed``); dead layers are counted here, by
a forward pass in plain NumPy, not by the project's diagnostics. Each measured rate must fall
in the central 99.9% of Binomial(draws, p) / draws: a correct implementation fails one such
check in a thousand, a wrong p (1/2 or 1/8 per layer) fails it every time.
"""

from __future__ import annotations

from or_gate.architecture import Architecture
from or_gate.model import stacked_initial_weights

import numpy as np
import pytest
from scipy.stats import binom

from tools.analysis import theory
from tools.analysis.theory import born_dead_probability

NETWORKS = 2000
TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)


def test_the_born_dead_formula_in_closed_form():
    """1 - (1 - 2^-w)^L, worked out by hand: width 2 dies a layer with probability 1/4."""
    assert born_dead_probability(1) == 0.25
    assert born_dead_probability(2) == pytest.approx(1 - 0.75**2)
    assert born_dead_probability(10) == pytest.approx(0.9436864852905273)
    assert born_dead_probability(10, width=3) == pytest.approx(1 - (7 / 8) ** 10)


def within_binomial_range(successes: int, draws: int, p: float, coverage=0.999) -> bool:
    tail = (1 - coverage) / 2
    return binom.ppf(tail, draws, p) <= successes <= binom.ppf(1 - tail, draws, p)


def hidden_layers_dead(flat: np.ndarray, architecture: Architecture) -> np.ndarray:
    """(networks, depth) booleans: hidden layer l outputs 0 for every truth-table input."""
    sizes = architecture.layout.sizes
    parts = np.split(flat.astype(np.float64), np.cumsum(sizes)[:-1], axis=1)
    weights = [
        part.reshape(len(flat), *shape)
        for part, shape in zip(parts, architecture.layout.shapes, strict=True)
    ]
    h = 1 / (1 + np.exp(-(TRUTH_TABLE @ weights[0] + weights[1][:, None, :])))  # input layer
    dead = np.zeros((len(flat), architecture.depth), bool)
    for layer in range(architecture.depth):
        kernel, bias = weights[2 + 2 * layer], weights[3 + 2 * layer]
        z = h @ kernel + bias[:, None, :]
        relu = np.maximum(z, 0)
        h = relu if architecture.activation == "relu" else np.where(z > 0, z, 0.2 * z)
        dead[:, layer] = ~h.any(axis=(1, 2))
    return dead


def dead_hidden_layers(depth: int, initializer: str, activation: str, networks: int, width=2):
    """(networks, depth) booleans, for networks drawn by the project's builder."""
    architecture = Architecture(depth, width, activation, initializer)
    flat = stacked_initial_weights(architecture, list(range(networks)))
    return hidden_layers_dead(flat, architecture)


@pytest.fixture(scope="module")
def deep_he_draws() -> np.ndarray:
    return dead_hidden_layers(10, "he_normal", "relu", NETWORKS)


@pytest.mark.parametrize("depth", [1, 2, 5, 10])
def test_born_dead_rate_is_one_minus_three_quarters_to_the_depth(deep_he_draws, depth):
    # Kernel initializers take their seeds in layer order, so the first L hidden layers of a
    # depth-10 draw are a depth-L draw (tests/test_model.py::
    # test_a_deeper_net_starts_with_the_shallower_nets_layers checks this prefix property).
    born_dead = int(np.any(deep_he_draws[:, :depth], axis=1).sum())
    print(f"L={depth}: {born_dead}/{NETWORKS}, theory {born_dead_probability(depth):.4f}")
    assert within_binomial_range(born_dead, NETWORKS, born_dead_probability(depth))


def test_each_layer_dies_with_probability_one_quarter(deep_he_draws):
    # Given the layers below are alive, the next one is dead with probability 1/4.
    alive_below = np.cumprod(~deep_he_draws, axis=1)[:, :-1].astype(bool)
    next_dead = deep_he_draws[:, 1:][alive_below]
    assert within_binomial_range(int(next_dead.sum()), len(next_dead), 0.25)


def test_the_write_ups_uniform_init_dies_the_same_way():
    networks = 500
    dead = dead_hidden_layers(10, "uniform", "relu", networks)
    assert within_binomial_range(
        int(np.any(dead, axis=1).sum()), networks, born_dead_probability(10)
    )


def test_leaky_relu_is_never_born_dead():
    assert not dead_hidden_layers(10, "he_normal", "leaky_relu", 100).any()


@pytest.mark.parametrize(("width", "depths"), [(3, (10, 20)), (4, (10,)), (5, (10,))])
def test_born_dead_rate_by_width_is_one_minus_one_minus_two_to_the_minus_width(width, depths):
    # 1,000 networks, as the paper's experiments; the 99% central binomial range. Width 2 is
    # checked above with 2,000. The first 10 layers of a depth-20 draw are a depth-10 draw.
    networks = 1000
    dead = dead_hidden_layers(max(depths), "he_normal", "relu", networks, width)
    for depth in depths:
        born_dead = int(dead[:, :depth].any(axis=1).sum())
        p = born_dead_probability(depth, width)
        print(f"w={width} L={depth}: {born_dead}/{networks}, theory {p:.4f}")
        assert within_binomial_range(born_dead, networks, p, coverage=0.99)


def rai_monte_carlo(depth: int, width: int, networks: int, seed: int) -> float:
    """Born-dead rate of RAI drawn here from the paper's description, independently of
    or_gate/model.py: N(0, 0.6007^2 / fan_in) entries, then one of each unit's
    fan_in + 1 parameters replaced by a Beta(2, 1) draw."""
    rng = np.random.default_rng(seed)
    inputs = 1 / (1 + np.exp(-(TRUTH_TABLE @ rng.uniform(-0.05, 0.05, (networks, 2, width)))))
    h, dead = inputs, np.zeros(networks, bool)
    for _ in range(depth):
        joint = rng.normal(0, 0.6007 / np.sqrt(width), (networks, width + 1, width))
        rows = rng.integers(0, width + 1, (networks, width))
        joint[np.arange(networks)[:, None], rows, np.arange(width)] = rng.beta(
            2, 1, (networks, width)
        )
        h = np.maximum(h @ joint[:, :width] + joint[:, width][:, None, :], 0)
        dead |= ~h.any(axis=(1, 2))
    return float(dead.mean())


def test_rai_is_born_dead_far_less_often_and_as_its_definition_says():
    networks = 1000
    born_dead = int(dead_hidden_layers(10, "rai", "relu", networks).any(axis=1).sum())
    expected = rai_monte_carlo(10, 2, 20_000, seed=1)  # about 0.37
    print(f"rai w=2 L=10: {born_dead}/{networks}, independent Monte Carlo {expected:.3f}")
    assert born_dead / networks < 0.5 < born_dead_probability(10)
    assert within_binomial_range(born_dead, networks, expected, coverage=0.999)


def test_rai_draws_one_positive_parameter_per_unit_and_the_rest_normal():
    from or_gate.model import SIGMA, rai_draw

    fan_in, units = 4, 5000
    kernel, bias = rai_draw((fan_in, units), seed=3)
    joint = np.vstack([kernel, bias[None]])  # (fan_in + 1, units)
    assert (joint > 0).any(axis=0).all()  # the Beta(2, 1) entry: every unit has one
    assert (bias != 0).all()  # the biases are drawn too, unlike every Keras initializer
    everything = joint.ravel()
    expected_mean = (2 / 3) / (fan_in + 1)  # one Beta(2, 1) (mean 2/3) among fan_in + 1
    expected_var = (
        (fan_in / (fan_in + 1)) * SIGMA**2 / fan_in
        + (1 / (fan_in + 1)) * (1 / 2)
        - expected_mean**2
    )  # E[x^2]: normal part sigma^2/fan_in, Beta(2, 1) part 1/2
    assert abs(everything.mean() - expected_mean) < 0.01
    assert abs(everything.var() - expected_var) < 0.01


def test_a_residual_relu_net_is_never_blocked_though_its_layers_die():
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import tensorflow as tf

    networks = 200
    plain = Architecture(10, 2, "relu", "he_normal")
    residual = Architecture(10, 2, "relu", "he_normal", residual=True)
    flat = stacked_initial_weights(plain, list(range(networks)))  # the same weights for both
    x = tf.constant(np.repeat(TRUTH_TABLE, 5, axis=0), tf.float32)
    y = tf.constant(np.repeat([0.0, 1.0, 1.0, 1.0], 5), tf.float32)
    measured = {
        name: diagnose(
            StackedNetwork(arch, networks, "mean_squared_error"), tf.constant(flat), x, y
        )
        for name, arch in (("plain", plain), ("residual", residual))
    }
    hidden = slice(1, 11)
    plain_blocked = (measured["plain"].blocked_fraction[:, hidden] == 1).any(axis=1)
    assert plain_blocked.mean() > 0.8  # the plain net is born dead about 94% of the time
    assert not measured["residual"].blocked_fraction[:, hidden].any()
    assert (measured["residual"].dead_fraction[:, hidden] == 1).any()  # dead layers, bypassed
    # A dead layer's own weights learn nothing, but the skips carry the gradient past it down
    # to the input layer, which in the plain net gets none whenever a layer above is dead.
    # Except where the output sigmoid itself saturates to exactly 1.0 in float32: the skips
    # add up the activations, and with He init about 1% of depth-10 nets start that way.
    output_blocked = measured["residual"].blocked_fraction[:, -1] == 1
    assert output_blocked.mean() < 0.05
    assert (measured["residual"].kernel_gradient_norm[~output_blocked, 0] > 0).all()
    assert (measured["plain"].kernel_gradient_norm[plain_blocked, 0] == 0).all()


@pytest.mark.parametrize("scale", [0.05, 0.5])
def test_sigmoid_attenuation_per_layer_is_what_the_network_measures(scale):
    """The theory's decades lost per sigmoid layer against the project's own gradients at
    initialisation (the slope of log10 |dL/d kernel| over the hidden layers)."""
    from or_gate.model import StackedNetwork
    from or_gate.training import diagnose

    import tensorflow as tf

    from tools.analysis.theory import attenuation_decades

    networks, depth = 256, 10
    initializer = {"name": "random_uniform", "minval": -scale, "maxval": scale}
    architecture = Architecture(depth, 2, "sigmoid", initializer)
    flat = stacked_initial_weights(architecture, list(range(networks)))
    x = tf.constant(np.repeat(TRUTH_TABLE, 5, axis=0), tf.float32)
    y = tf.constant(np.repeat([0.0, 1.0, 1.0, 1.0], 5), tf.float32)
    network = StackedNetwork(architecture, networks, "mean_squared_error")
    gradients = diagnose(network, tf.constant(flat), x, y).kernel_gradient_norm  # (R, layers)
    slope = np.median(np.log10(gradients[:, depth] / gradients[:, 1])) / (depth - 1)
    assert slope == pytest.approx(attenuation_decades(scale), abs=0.05)


def test_on_a_line_the_first_layer_never_dies_and_the_second_as_worked_out_by_hand():
    """A unit relu(w x) is alive on one side of 0 (so depth 1 is never born dead); the second
    layer is dead with probability 2^(1-w) 2^-w + (1 - 2^(1-w)) 4^-w, 5/32 at width 2."""
    assert theory.second_layer_dead_on_a_line(2) == 5 / 32
    assert theory.second_layer_dead_on_a_line(3) == 1 / 4 * 1 / 8 + 3 / 4 * 1 / 64  # 11/256
    for width in (2, 3):
        nets = 100_000
        rates = theory.born_dead_on_a_line(2, width, nets=nets)
        assert rates[0] == 0.0
        expected = theory.second_layer_dead_on_a_line(width)
        assert within_binomial_range(round(rates[1] * nets), nets, expected), (width, rates)


def test_on_a_line_two_rays_stand_for_every_input():
    """The reduction to x = +1 and x = -1, checked by brute force: the same drawn nets (same
    seed, same order of draws) pushed forward on 64 real inputs of both signs are born dead
    exactly when the two rays say so, at every depth; and the rate stays under the bound of a
    single ray, 1 - (1 - 2^-w)^(depth - 1)."""
    nets, depth, width = 4000, 8, 2
    inputs = np.linspace(-1.0, 1.0, 64)  # 64 points, none at 0
    rng = np.random.default_rng(0)
    h = np.maximum(theory._he_draw(rng, (nets, width))[:, None, :] * inputs[None, :, None], 0)
    dead, rates = np.zeros(nets, bool), [0.0]
    for _ in range(depth - 1):
        z = np.einsum("nij,npj->npi", theory._he_draw(rng, (nets, width, width)), h)
        dead |= np.all(z <= 0, axis=(1, 2))
        h, rates = np.maximum(z, 0), [*rates, dead.mean()]
    assert theory.born_dead_on_a_line(depth, width, nets=nets).tolist() == rates
    bound = 1 - (1 - 0.5**width) ** (np.arange(1, depth + 1) - 1)
    assert np.all(np.array(rates) <= bound)


def test_the_line_theory_draws_the_weights_as_keras_he_normal_does():
    """He normal in Keras is a normal truncated at two standard deviations; the theory's
    draw must be the same distribution (two-sample Kolmogorov-Smirnov against Keras' own)."""
    import keras
    from scipy.stats import ks_2samp

    ours = theory._he_draw(np.random.default_rng(0), (20_000,))
    kernel = keras.initializers.HeNormal(seed=0)(shape=(1, 20_000))
    # fan_in 1: Keras draws the normal with stddev sqrt(2) / 0.8796..., the truncated unit
    # normal's own standard deviation, so that what it returns has variance 2
    theirs = np.asarray(kernel).ravel() / (np.sqrt(2.0) / 0.87962566103423978)
    assert np.abs(ours).max() <= theory.HE_TRUNCATION
    assert ks_2samp(ours, theirs).pvalue > 1e-3
