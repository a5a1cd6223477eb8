"""Born dead: width-2 ReLU layers with zero biases die with probability 1/4 at initialisation.

Each unit of a zero-bias ReLU layer is dead (outputs 0 on every input) when its weights point
away from every input, which for inputs near one point happens with probability 1/2; the two
units of a width-2 layer are independent, so the whole layer is dead with probability 1/4 and
a depth-L net is born dead with probability 1 - (3/4)^L (0.944 at L = 10). He init rescales the
weights but keeps their signs, so it does not change this. Lu, Shin, Su, Karniadakis,
"Dying ReLU and Initialization" (2019).

The networks are drawn with the project's builder (``stacked_initial_weights``, what
``build_model`` draws after ``keras.utils.set_random_seed``); dead layers are counted here, by
a forward pass in plain NumPy, not by the project's diagnostics. Each measured rate must fall
in the central 99.9% of Binomial(draws, p) / draws: a correct implementation fails one such
check in a thousand, a wrong p (1/2 or 1/8 per layer) fails it every time.
"""

from __future__ import annotations

from or_gate.network import Architecture, stacked_initial_weights

import numpy as np
import pytest
from scipy.stats import binom

NETWORKS = 2000
TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)


def born_dead_probability(depth: int) -> float:
    return 1 - 0.75**depth


def within_binomial_range(successes: int, draws: int, p: float, coverage=0.999) -> bool:
    tail = (1 - coverage) / 2
    return binom.ppf(tail, draws, p) <= successes <= binom.ppf(1 - tail, draws, p)


def dead_hidden_layers(depth: int, initializer: str, activation: str, networks: int):
    """(networks, depth) booleans: hidden layer l outputs 0 for every truth-table input."""
    architecture = Architecture(depth, 2, activation, initializer)
    flat = stacked_initial_weights(architecture, list(range(networks)))
    layout = architecture.layout
    dead = np.zeros((networks, depth), bool)
    for n in range(networks):
        weights = layout.unflatten(flat[n])
        h = 1 / (1 + np.exp(-(TRUTH_TABLE @ weights[0] + weights[1])))  # the sigmoid input layer
        for layer in range(depth):
            kernel, bias = weights[2 + 2 * layer], weights[3 + 2 * layer]
            z = h @ kernel + bias
            h = np.maximum(z, 0) if activation == "relu" else np.where(z > 0, z, 0.2 * z)
            dead[n, layer] = not h.any()
    return dead


@pytest.fixture(scope="module")
def deep_he_draws() -> np.ndarray:
    return dead_hidden_layers(10, "he_normal", "relu", NETWORKS)


@pytest.mark.parametrize("depth", [1, 2, 5, 10])
def test_born_dead_rate_is_one_minus_three_quarters_to_the_depth(deep_he_draws, depth):
    # Kernel initializers take their seeds in layer order, so the first L hidden layers of a
    # depth-10 draw are a depth-L draw (test_network.py checks this prefix property).
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
