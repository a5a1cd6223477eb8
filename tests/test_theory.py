"""Born dead: width-2 ReLU layers with zero biases die with probability 1/4 at initialisation.

Each unit of a zero-bias ReLU layer is dead (outputs 0 on every input) when its weights point
away from every input, which for inputs near one point happens with probability 1/2; the two
units of a width-2 layer are independent, so the whole layer is dead with probability 1/4 and
a depth-L net is born dead with probability 1 - (3/4)^L (0.944 at L = 10). He init rescales the
weights but keeps their signs, so it does not change this. Lu, Shin, Su, Karniadakis,
"Dying ReLU and Initialization" (2019).

The test draws networks with the project's own builder (``stacked_initial_weights``, i.e. what
``build_model`` draws after ``keras.utils.set_random_seed``) and counts them with the project's
own measurement (``StackedTrainer.diagnose``), against the closed form.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stages.network import Architecture, stacked_initial_weights
from tests.conftest import diagnose_at_init

NETWORKS = 2000
TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)


def born_dead_probability(depth: int) -> float:
    return 1 - 0.75**depth


def dead_layers(depth: int, initializer: str, networks: int, first_seed: int = 0) -> np.ndarray:
    """(networks, depth) booleans: hidden layer l outputs 0 for every input at initialisation."""
    architecture = Architecture(depth=depth, width=2, activation="relu", initializer=initializer)
    weights = stacked_initial_weights(architecture, list(range(first_seed, first_seed + networks)))
    x = np.repeat(TRUTH_TABLE, 10, axis=0)
    return (
        diagnose_at_init(architecture, weights, x).dead_fraction[:, 1:-1] == 1.0
    )  # hidden layers only


@pytest.fixture(scope="module")
def deep_he_draws() -> np.ndarray:
    return dead_layers(10, "he_normal", NETWORKS)


def test_a_shallow_net_is_the_bottom_of_a_deep_one():
    # Kernel initializers take their seeds in layer order, so the first L hidden layers of a
    # depth-10 net drawn with seed s ARE the hidden layers of the depth-L net drawn with seed
    # s; one set of 2,000 depth-10 draws therefore gives exact depth-2 and depth-5 draws too.
    deep = stacked_initial_weights(Architecture(10, 2, "relu", "he_normal"), list(range(20)))
    shallow = stacked_initial_weights(Architecture(2, 2, "relu", "he_normal"), list(range(20)))
    prefix = 6 + 2 * 6  # input layer (2x2 + 2), then two hidden layers (2x2 + 2 each)
    np.testing.assert_array_equal(deep[:, :prefix], shallow[:, :prefix])
    np.testing.assert_array_equal(
        dead_layers(10, "he_normal", 200)[:, :2], dead_layers(2, "he_normal", 200)
    )


@pytest.mark.parametrize("depth", [2, 5, 10])
def test_born_dead_fraction_matches_one_minus_three_quarters_to_the_depth(deep_he_draws, depth):
    measured = float(np.mean(np.any(deep_he_draws[:, :depth], axis=1)))
    expected = born_dead_probability(depth)
    standard_error = math.sqrt(expected * (1 - expected) / NETWORKS)
    print(f"L={depth}: born dead {measured:.4f}, theory {expected:.4f} +- {standard_error:.4f}")
    assert abs(measured - expected) < 4 * standard_error


def test_each_layer_dies_with_probability_one_quarter(deep_he_draws):
    # Given the layers below are alive, the next one is dead with probability 1/4.
    alive_below = np.cumprod(~deep_he_draws, axis=1)[:, :-1].astype(bool)
    next_dead = deep_he_draws[:, 1:][alive_below]
    assert abs(next_dead.mean() - 0.25) < 4 * math.sqrt(0.25 * 0.75 / len(next_dead))


def test_the_write_ups_uniform_init_dies_the_same_way():
    networks = 400
    measured = float(np.mean(np.any(dead_layers(10, "uniform", networks), axis=1)))
    expected = born_dead_probability(10)
    assert abs(measured - expected) < 4 * math.sqrt(expected * (1 - expected) / networks)


def test_leaky_relu_is_never_born_dead():
    architecture = Architecture(depth=10, width=2, activation="leaky_relu", initializer="he_normal")
    weights = stacked_initial_weights(architecture, list(range(50)))
    assert diagnose_at_init(architecture, weights, TRUTH_TABLE).dead_fraction.max() == 0.0
