"""What theory predicts for this network, before any training: born dead, and sigmoid's depth.

**Born dead (ReLU).** A ReLU layer of ``width`` units with zero biases is all dead with
probability 2^-width: after the sigmoid input layer the OR inputs lie in a narrow cone, so
each unit is negative on all of them with probability 1/2, independently of the others. A
depth-L net has some dead layer with probability 1 - (1 - 2^-width)^L (width 2:
1 - (3/4)^L, 0.944 at L = 10; Lu, Shin, Su, Karniadakis 2020). It does not apply to RAI
(nonzero biases), to residual nets (the skip carries the gradient past a dead layer), nor
to sign-flipped ones (each unit's sign is chosen from the data).

**Born dead on a line (the |x| regression, no input layer).** When the first ReLU layer sees a
single real input x of both signs, the cone argument fails at the bottom. A zero-bias net is
positively homogeneous, so every x > 0 meets the layers as x = +1 does and every x < 0 as
x = -1: the data are two rays. The first layer never dies (a unit relu(w x) is alive on the
side of w's sign). The second layer sees the images of +1 and -1, relu(w) and relu(-w):
if every first-layer weight has one sign (probability 2^(1 - width)) one image is zero and the
other a single ray, and each unit dies with probability 1/2; otherwise the two images lie on
disjoint coordinates, and a unit dies on both with probability 1/4. So the second layer is dead
with probability 2^(1 - width) 2^-width + (1 - 2^(1 - width)) 4^-width (5/32 at width 2), and
each deeper layer with a probability that depends on the angle between the two images
(4^-width where they lie on disjoint coordinates, 2^-width where they coincide).
``born_dead_on_a_line`` follows the two rays through the layers of many drawn nets (a Monte
Carlo of the draw alone, no training); it is at most 1 - (1 - 2^-width)^(depth - 1), and does
not depend on the input range.

**Sigmoid's critical depth.** An attempt to predict why the write-up's sigmoid net trains at
depth 6 and not at 7. The model, as stated before the other scales were measured:

1. *Attenuation at initialisation.* Backpropagating through one sigmoid layer multiplies the
   gradient by sigma'(z) W^T with sigma'(z) ~ 1/4 (z ~ 0 for small weights) and W uniform on
   [-s, s]. Over many layers the gradient shrinks by ``attenuation_decades(s)`` = log10(4/s)
   + lambda decades per layer, where lambda = -E log10 |U v| / |v| is the Lyapunov exponent of
   products of 2x2 matrices with entries uniform on [-1, 1] (computed here by Monte Carlo).
   For the write-up's s = 0.05 that is 2.07 decades a layer.
2. *Adam's epsilon.* Adam's step is lr * m / (sqrt(v) + epsilon). A weight whose gradient is
   far below epsilon (Keras: 1e-7) moves as under plain SGD with rate lr / epsilon, by
   about lr * T * g / epsilon over T steps. Measured (``docs/sigmoid.md``): at depth 7,
   epsilon 1e-11 makes the write-up's net train, epsilon 1e-3 makes depth 5 fail, and
   doubling the epochs moves the transition one layer deeper; read then as "the gradient at
   initialisation is the limit".
3. *The prediction.* The first hidden layer learns when its gradient at initialisation,
   ``g1 * 10^(-attenuation_decades(s) * (L - 1))``, is large enough to move it by its own
   scale s within the training budget: at least ``s * epsilon / (lr * T)`` times a constant
   c. The dynamics after initialisation (upper layers grow and pass more gradient down) are
   not modelled; they set c. We fix c once, at the write-up's scale (the measured transition
   between depth 6 and 7, so L* = 6.5), and predict every other scale from the formula:
   ``L*(s) = 1 + (B - log10(s / s0)) / attenuation_decades(s)`` with
   B = (6.5 - 1) * attenuation_decades(s0). Training succeeds below L* and fails above it.

The scales were predicted before they were measured (commits b89636d and 026599e stated
them in ``docs/sigmoid.md``). **The model is refuted**: right at 0.01 (and at 0.05, where it is
fixed), wrong at 0.2, 0.5 and 1.0, where the measured transition stays at depth 7 (8 at 1.0).
Step 1 is right (``tests/test_theory.py`` checks the attenuation against the network's own
gradients); step 3's premise, that the gradient at initialisation limits depth, is not.
``docs/sigmoid.md`` gives the numbers and what the measurements show instead.
"""

from __future__ import annotations

import functools
import math

from or_gate.params import RAI

import numpy as np

# The write-up's scale and the transition measured there (success 1.0 at depth 6, 0.0 at 7,
# in the committed depth sweep): the one constant the sigmoid prediction is fixed by.
WRITE_UP_SCALE = 0.05
WRITE_UP_CRITICAL_DEPTH = 6.5
SIGMOID_SLOPE_AT_ZERO = 0.25


def born_dead_probability(depth, width: int = 2):
    """P(some hidden layer of a zero-bias ReLU net of ``width`` and ``depth`` is all dead)."""
    return 1 - (1 - 0.5**width) ** depth


def second_layer_dead_on_a_line(width: int = 2) -> float:
    """P(the second hidden layer is dead on both rays): the module docstring's closed form."""
    one_sign = 2.0 ** (1 - width)
    return one_sign * 2.0**-width + (1 - one_sign) * 4.0**-width


# He normal as Keras draws it: a normal truncated at two standard deviations (the scale does
# not matter: whether a unit is blocked depends on signs and angles only).
HE_TRUNCATION = 2.0


def _he_draw(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    values = rng.standard_normal(shape)
    outside = np.abs(values) > HE_TRUNCATION
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > HE_TRUNCATION
    return values


def born_dead_on_a_line(
    max_depth: int, width: int = 2, nets: int = 200_000, seed: int = 0
) -> np.ndarray:
    """(max_depth,) P(some hidden layer is dead on every input) for depths 1 .. max_depth, for
    zero-bias He nets whose first ReLU layer sees one real input of both signs: ``nets`` drawn
    nets, each followed along the rays x = +1 and x = -1 (the module docstring says why)."""
    rng = np.random.default_rng(seed)
    first = _he_draw(rng, (nets, width))
    rays = np.stack([np.maximum(first, 0.0), np.maximum(-first, 0.0)], axis=1)  # (nets, 2, w)
    dead = np.zeros(nets, dtype=bool)
    rates = [0.0]  # the first layer never dies
    for _ in range(max_depth - 1):
        before = np.einsum("nij,nrj->nri", _he_draw(rng, (nets, width, width)), rays)
        dead |= np.all(before <= 0.0, axis=(1, 2))  # blocked on both rays: on every input
        rays = np.maximum(before, 0.0)
        rates.append(float(dead.mean()))
    return np.array(rates)


def born_dead_theory_applies(
    activation: str, initializer: str, residual: bool, sign_flip: bool = False
) -> bool:
    """The born-dead theory is for ReLU layers with zero biases and no skip connection, drawn
    independently of the data (sign flipping chooses each unit's sign from it)."""
    return activation == "relu" and not residual and initializer != RAI and not sign_flip


@functools.cache
def uniform_lyapunov_decades(width: int = 2, steps: int = 200_000, seed: int = 0) -> float:
    """-E log10 |U v| / |v| per step for U (width x width) uniform on [-1, 1]: how many
    decades a vector loses per multiplication, on average over a long product."""
    rng = np.random.default_rng(seed)
    matrices = rng.uniform(-1.0, 1.0, size=(steps, width, width))
    vector, decades = np.ones(width) / math.sqrt(width), 0.0
    for matrix in matrices:
        vector = matrix @ vector
        norm = float(np.linalg.norm(vector))
        decades -= math.log10(norm)
        vector /= norm
    return decades / steps


def attenuation_decades(scale: float, width: int = 2) -> float:
    """Decades the gradient loses per sigmoid layer with weights uniform on [-scale, scale]."""
    return math.log10(1 / (SIGMOID_SLOPE_AT_ZERO * scale)) + uniform_lyapunov_decades(width)


def sigmoid_critical_depth(scale: float, width: int = 2) -> float:
    """L*: the depth beyond which a sigmoid net with uniform(-scale, scale) hidden weights
    does not train, under the write-up's training (200 epochs of Adam, lr 1e-3, batch 1)."""
    budget = (WRITE_UP_CRITICAL_DEPTH - 1) * attenuation_decades(WRITE_UP_SCALE, width)
    return 1 + (budget - math.log10(scale / WRITE_UP_SCALE)) / attenuation_decades(scale, width)


def first_failing_depth(critical_depth: float) -> int:
    """The first whole depth past L*: where success is predicted to drop below one half."""
    return math.floor(critical_depth) + 1
