"""Losses against values computed by hand."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses
from jaxgan.errors import UserError

REAL = jnp.array([2.0, -1.0])
FAKE = jnp.array([0.5, -3.0])


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_non_saturating_is_the_original_gan_objective_with_probabilities():
    # D: -[log D(x) + log(1 - D(G(z)))], averaged; G: -log D(G(z)).
    d = -np.mean([math.log(sig(2.0)), math.log(sig(-1.0))]) - np.mean([math.log(1 - sig(0.5)), math.log(1 - sig(-3.0))])
    g = -np.mean([math.log(sig(0.5)), math.log(sig(-3.0))])
    np.testing.assert_allclose(losses.discriminator_loss("ns", REAL, FAKE), d, rtol=1e-6)
    np.testing.assert_allclose(losses.generator_loss("ns", FAKE), g, rtol=1e-6)
    mm = np.mean([math.log(1 - sig(0.5)), math.log(1 - sig(-3.0))])
    np.testing.assert_allclose(losses.generator_loss("minimax", FAKE), mm, rtol=1e-6)


def test_hinge():
    # relu(1 - 2) = 0, relu(1 + 1) = 2 -> 1;  relu(1 + 0.5) = 1.5, relu(1 - 3) = 0 -> 0.75
    np.testing.assert_allclose(losses.discriminator_loss("hinge", REAL, FAKE), 1.75, rtol=1e-6)
    np.testing.assert_allclose(losses.generator_loss("hinge", FAKE), 1.25, rtol=1e-6)


def test_wasserstein_and_least_squares():
    np.testing.assert_allclose(losses.discriminator_loss("wgan", REAL, FAKE), -1.25 - 0.5, rtol=1e-6)
    np.testing.assert_allclose(losses.generator_loss("wgan", FAKE), 1.25, rtol=1e-6)
    # 0.5 * (mean((1, 4)) + mean((0.25, 9))) = 0.5 * (2.5 + 4.625)
    np.testing.assert_allclose(losses.discriminator_loss("ls", REAL, FAKE), 3.5625, rtol=1e-6)
    np.testing.assert_allclose(losses.generator_loss("ls", FAKE), 0.5 * (0.25 + 16) / 2, rtol=1e-6)


def test_unknown_loss():
    with pytest.raises(UserError, match="registered: ns, minimax, hinge, wgan, ls"):
        losses.generator_loss("nope", FAKE)


def test_a_registered_loss_is_used_by_name_and_names_cannot_be_taken_twice():
    d_fn, g_fn = (lambda r, f: jnp.mean(f) - 2 * jnp.mean(r)), (lambda f: -2 * jnp.mean(f))
    losses.register("test_double_wgan", d_fn, g_fn)
    losses.register("test_double_wgan", d_fn, g_fn)  # the same pair again (a re-imported file) is fine
    np.testing.assert_allclose(losses.discriminator_loss("test_double_wgan", REAL, FAKE), -1.25 - 2 * 0.5)
    np.testing.assert_allclose(losses.generator_loss("test_double_wgan", FAKE), 2.5)
    with pytest.raises(UserError, match="'hinge' is already registered"):
        losses.register("hinge", d_fn, g_fn)
    with pytest.raises(UserError, match="letters, digits"):
        losses.register("no spaces", d_fn, g_fn)


def test_r1_and_gradient_penalty_of_a_linear_critic():
    # logit = <w, x> has input gradient w everywhere: R1 = |w|^2, GP = (|w| - 1)^2.
    w = jnp.array([3.0, 4.0])
    fn = lambda x: x @ w
    x = jax.random.normal(jax.random.key(0), (5, 2))
    np.testing.assert_allclose(losses.r1_penalty(fn, x), 25.0, rtol=1e-6)
    np.testing.assert_allclose(losses.gradient_penalty(fn, x, -x, jax.random.key(1)), 16.0, rtol=1e-5)


def test_r1_of_a_quadratic_critic():
    # logit = sum(x^2) has gradient 2x, so R1 = mean over images of 4 |x|^2.
    x = jnp.array([[1.0, 2.0], [0.0, 1.0]])
    np.testing.assert_allclose(losses.r1_penalty(lambda x: jnp.sum(x ** 2, axis=-1), x), (4 * 5 + 4 * 1) / 2, rtol=1e-6)


def test_saturation_penalty_pays_only_past_the_margin_and_pulls_towards_it():
    u = jnp.array([0.0, 1.9, -2.0, 2.5, -4.0])
    assert float(losses.saturation_penalty(u)) == pytest.approx((0.5 ** 2 + 2.0 ** 2) / 5)
    g = jax.grad(losses.saturation_penalty)(u)
    np.testing.assert_allclose(g, [0, 0, 0, 2 * 0.5 / 5, -2 * 2.0 / 5], rtol=1e-6)  # 2 (|u| - 2) sign(u) / n
    assert float(losses.saturation_penalty(u, margin=5.0)) == 0.0


def test_class_loss_is_the_cross_entropy_of_the_scores_and_raises_the_labelled_one():
    scores = jnp.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    labels = jnp.array([1, 0])
    by_hand = [-(2.0 - math.log(math.exp(1) + math.exp(2) + 1)), -(0.0 - math.log(2 + math.exp(3)))]
    assert float(losses.class_loss(scores, labels)) == pytest.approx(sum(by_hand) / 2, rel=1e-6)
    g = np.asarray(jax.grad(losses.class_loss)(scores, labels))
    assert g[0, 1] < 0 and g[1, 0] < 0  # descending the loss raises each image's own class
    assert (np.delete(g[0], 1) > 0).all() and (np.delete(g[1], 0) > 0).all()  # and lowers the others
    np.testing.assert_allclose(g.sum(axis=1), 0, atol=1e-7)  # softmax: only differences between scores matter
