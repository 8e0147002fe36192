"""GAN objectives as pure functions of discriminator logits, registered by name; gradient penalties kept apart.

    d = losses.discriminator_loss("hinge", real_logits, fake_logits)   # scalar, D minimises it
    g = losses.generator_loss("hinge", fake_logits)                   # scalar, G minimises it
    p = losses.r1_penalty(lambda x: logits_of(x), real_images)        # E ||grad_x D(x)||^2
    p = losses.lecam_penalty(real_logits, fake_logits, anchors)       # D's outputs kept near each other's EMA
    p = losses.saturation_penalty(pre_tanh)                           # G's output kept short of clipping
    c = losses.class_loss(class_scores, labels)                       # the projection read as a classifier
    losses.register("mine", my_d_loss, my_g_loss)                     # then `--set loss=mine`

Built in: "ns" (the original GAN: D maximises log D(x) + log(1 - D(G(z))) with D = sigmoid(logit); G uses the
non-saturating -log D(G(z))), "minimax" (same D; G minimises log(1 - D(G(z))) as in the original minimax game),
"hinge", "wgan" (use with `gp_weight`), "ls" (least squares, targets 1 for real and 0 for fake).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import optax

from jaxgan import registry

DLoss = Callable[[jax.Array, jax.Array], jax.Array]  # (real_logits, fake_logits) -> scalar
GLoss = Callable[[jax.Array], jax.Array]  # fake_logits -> scalar


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """A registered objective: D's loss of (real, fake) logits and G's loss of fake logits, both minimised."""

    d_loss: DLoss
    g_loss: GLoss


LOSSES: registry.Registry[LossSpec] = registry.Registry("loss")


def register(name: str, d_loss_fn: DLoss, g_loss_fn: GLoss) -> None:
    """Makes `loss=name` train with these two functions.

    Args:
      name: the config value that selects the objective.
      d_loss_fn: `(real_logits (N,), fake_logits (N,)) -> scalar`, minimised by D; pure and jittable.
      g_loss_fn: `fake_logits (N,) -> scalar`, minimised by G; pure and jittable.

    Raises:
      UserError: `name` already names another objective, or is not a plain identifier.

    Example:
      >>> import jax.numpy as jnp
      >>> register("doctest_linear", lambda r, f: jnp.mean(f) - jnp.mean(r), lambda f: -jnp.mean(f))
      >>> float(generator_loss("doctest_linear", jnp.array([1.0, 3.0])))
      -2.0
    """
    LOSSES.register(name, LossSpec(d_loss_fn, g_loss_fn), caller_file=registry.caller_file())


def names() -> list[str]:
    """The registered loss names, built-ins first.

    Returns:
      A list of names.
    """
    return LOSSES.names()


def discriminator_loss(kind: str, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """D's loss under the objective `kind`.

    Args:
      kind: a registered loss name.
      real_logits: D's logits on real images, (N,).
      fake_logits: D's logits on generated images, (N,).

    Returns:
      A scalar to minimise.

    Example:
      >>> import jax.numpy as jnp
      >>> float(discriminator_loss("hinge", jnp.array([2.0]), jnp.array([-2.0])))
      0.0
    """
    return LOSSES.get(kind).d_loss(real_logits, fake_logits)


def generator_loss(kind: str, fake_logits: jax.Array) -> jax.Array:
    """G's loss under the objective `kind`.

    Args:
      kind: a registered loss name.
      fake_logits: D's logits on generated images, (N,).

    Returns:
      A scalar to minimise.

    Example:
      >>> import jax.numpy as jnp
      >>> float(generator_loss("wgan", jnp.array([1.0, 3.0])))
      -2.0
    """
    return LOSSES.get(kind).g_loss(fake_logits)


# -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l), computed stably.
def _bce_d(real_logits, fake_logits):
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


register("ns", _bce_d, lambda fake_logits: jnp.mean(jax.nn.softplus(-fake_logits)))
register("minimax", _bce_d, lambda fake_logits: -jnp.mean(jax.nn.softplus(fake_logits)))
register("hinge", lambda r, f: jnp.mean(jax.nn.relu(1.0 - r)) + jnp.mean(jax.nn.relu(1.0 + f)),
         lambda fake_logits: -jnp.mean(fake_logits))
register("wgan", lambda r, f: jnp.mean(f) - jnp.mean(r), lambda fake_logits: -jnp.mean(fake_logits))
register("ls", lambda r, f: 0.5 * (jnp.mean((r - 1.0) ** 2) + jnp.mean(f ** 2)),
         lambda fake_logits: 0.5 * jnp.mean((fake_logits - 1.0) ** 2))


def _input_grads(logits_fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    # Each logit depends only on its own image (exactly so when D has no batch norm), so the gradient of the sum
    # gives every per-image gradient.
    return jax.grad(lambda x: jnp.sum(logits_fn(x)))(x)


def r1_penalty(logits_fn: Callable[[jax.Array], jax.Array], real: jax.Array) -> jax.Array:
    """R1 (Mescheder et al. 2018): mean over images of ||d logit / d x||^2 at real data. Weight it by gamma / 2.

    Args:
      logits_fn: x (N, 32, 32, 3) -> D's logits (N,), with D's parameters closed over.
      real: real images, (N, 32, 32, 3).

    Returns:
      A scalar.
    """
    g = _input_grads(logits_fn, real)
    return jnp.mean(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=-1))


def gradient_penalty(logits_fn: Callable[[jax.Array], jax.Array], real: jax.Array, fake: jax.Array,
                     key: jax.Array) -> jax.Array:
    """WGAN-GP (Gulrajani et al. 2017): mean of (||grad D(x_hat)|| - 1)^2 on random real/fake interpolates.

    Args:
      logits_fn: x -> D's logits, with D's parameters closed over.
      real: real images, (N, 32, 32, 3).
      fake: generated images, same shape.
      key: PRNG key of the interpolation weights.

    Returns:
      A scalar.
    """
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
    g = _input_grads(logits_fn, eps * real + (1.0 - eps) * fake)
    norms = jnp.sqrt(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=-1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


def lecam_penalty(real_logits: jax.Array, fake_logits: jax.Array, anchors: jax.Array) -> jax.Array:
    """LeCam regularisation (Tseng et al. 2021, "Regularizing GANs under limited data"), added to D's loss.

    D's logits on real images are pulled towards the moving average of its logits on fakes and vice versa, one-sided
    as in the authors' code: only reals scored above the fake anchor and fakes scored below the real anchor pay. On
    little data this keeps D from separating the training images ever further, which is how it overfits.

    Args:
      real_logits: D's logits on real images, (N,).
      fake_logits: D's logits on generated images, (N,).
      anchors: float32 (2,): the moving averages of D's mean logit on reals and on fakes (`lecam_anchors`); treated
        as constants.

    Returns:
      mean(relu(real - anchor_fake)^2) + mean(relu(anchor_real - fake)^2), a scalar; weight it by `lecam_weight`.

    Example:
      >>> import jax.numpy as jnp
      >>> float(lecam_penalty(jnp.array([3.0, -1.0]), jnp.array([0.0, 2.0]), jnp.array([1.0, -1.0])))
      8.5
    """
    anchor_real, anchor_fake = jax.lax.stop_gradient(anchors)
    return (jnp.mean(jax.nn.relu(real_logits - anchor_fake) ** 2)
            + jnp.mean(jax.nn.relu(anchor_real - fake_logits) ** 2))


def lecam_anchors(anchors: jax.Array, real_logits: jax.Array, fake_logits: jax.Array, decay: float) -> jax.Array:
    """The LeCam anchors one D update on: an exponential moving average of D's mean logits on reals and on fakes.

    Args:
      anchors: float32 (2,), the anchors so far (real, fake).
      real_logits: this update's logits on real images, (N,) (already averaged over devices, or to be).
      fake_logits: this update's logits on generated images, (N,).
      decay: the moving average's decay (`lecam_decay`).

    Returns:
      The new anchors, float32 (2,), carrying no gradient.

    Example:
      >>> import jax.numpy as jnp
      >>> lecam_anchors(jnp.zeros(2), jnp.array([1.0, 3.0]), jnp.array([-4.0]), 0.75).tolist()
      [0.5, -1.0]
    """
    means = jnp.stack([jnp.mean(real_logits), jnp.mean(fake_logits)]).astype(jnp.float32)
    return jax.lax.stop_gradient(decay * anchors + (1.0 - decay) * means)


def class_loss(class_scores: jax.Array, labels: jax.Array) -> jax.Array:
    """Cross-entropy of the classifier a projection discriminator implies (`class_weight`; the label-matching term
    of Han et al. 2021, "Dual Projection GANs", NeurIPS): D minimises it on real images, G on its own with the
    labels it was asked for, so images of one class move apart from those of the others in D's features.

    A projection D scores x under label y as lin(h) + <embed(y), h>, so softmax over c of <embed(c), h> is the
    class posterior its logits imply; the adversarial loss alone only ever reads the term of the one label given.
    A spatially mixed image (`jaxgan.classmap`) has soft labels instead: its map's class weights averaged over the
    cells, each class's share of the image (CutMix's area rule), so a horse with a bird pasted on its back is to be
    read as mostly horse and partly bird, not as either alone.

    Args:
      class_scores: float (N, C), every class's projection term <embed(c), h> (`models.CLASS_SCORES`).
      labels: int (N,), the classes the images are meant to show, or float (N, C) class weights summing to one
        (`classmap.image_labels`).

    Returns:
      mean over images of the cross-entropy between the labels and softmax(class_scores) (-log softmax(...)[label]
      for int labels), a scalar; weight it by `class_weight`.

    Example:
      >>> import jax.numpy as jnp
      >>> scores = jnp.array([[0.0, 0.0], [2.0, 0.0]])  # (log 2 + log(1 + e^2)) / 2
      >>> round(float(class_loss(scores, jnp.array([0, 1]))), 4)
      1.41
      >>> round(float(class_loss(scores, jnp.array([[1.0, 0.0], [0.0, 1.0]]))), 4)  # one-hot weights: the same
      1.41
      >>> round(float(class_loss(scores[:1], jnp.array([[0.5, 0.5]]))), 4)  # log 2: half of each, read as such
      0.6931
    """
    scores = class_scores.astype(jnp.float32)
    if jnp.issubdtype(labels.dtype, jnp.integer):
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(scores, labels))
    return jnp.mean(optax.softmax_cross_entropy(scores, labels.astype(jnp.float32)))


# tanh(2.0) = 0.964: the pre-activation past which a pixel lands above 250 of 255 or below 5 (where
# benchmarks/saturation.py calls it clipped; atanh(250 / 127.5 - 1) = 1.96).
SATURATION_MARGIN = 2.0


def saturation_penalty(pre_tanh: jax.Array, margin: float = SATURATION_MARGIN) -> jax.Array:
    """How far a generator drives its tanh output past clipping, added to G's loss (`pre_tanh_weight`).

    A generator can paint flat white or black blots by driving its output's pre-activation u far into tanh's
    tails, where the image no longer changes and tanh's gradient vanishes, so nothing in the adversarial loss pulls
    it back. This pays for |u| beyond `margin`, on u itself.

    Args:
      pre_tanh: the generator's output pre-activation u (images = tanh(u)), any shape.
      margin: |u| up to which nothing is paid.

    Returns:
      mean(relu(|u| - margin)^2), a scalar.

    Example:
      >>> import jax.numpy as jnp
      >>> float(saturation_penalty(jnp.array([0.5, -3.0, 4.0, 1.0])))
      1.25
    """
    return jnp.mean(jax.nn.relu(jnp.abs(pre_tanh) - margin) ** 2)
