"""GAN objectives as pure functions of discriminator logits, and gradient penalties kept apart from them.

    d = losses.discriminator_loss("hinge", real_logits, fake_logits)   # scalar, D minimises it
    g = losses.generator_loss("hinge", fake_logits)                   # scalar, G minimises it
    p = losses.r1_penalty(lambda x: logits_of(x), real_images)        # E ||grad_x D(x)||^2

Names: "ns" (the original GAN: D maximises log D(x) + log(1 - D(G(z))) with D = sigmoid(logit); G uses the
non-saturating -log D(G(z))), "minimax" (same D; G minimises log(1 - D(G(z))) as in the original minimax game),
"hinge", "wgan" (use with `gradient_penalty`), "ls" (least squares, targets 1 for real and 0 for fake).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

# -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l), computed stably.


def discriminator_loss(kind: str, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    if kind in ("ns", "minimax"):
        return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))
    if kind == "hinge":
        return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))
    if kind == "wgan":
        return jnp.mean(fake_logits) - jnp.mean(real_logits)
    if kind == "ls":
        return 0.5 * (jnp.mean((real_logits - 1.0) ** 2) + jnp.mean(fake_logits ** 2))
    raise ValueError(f"unknown loss {kind!r}")


def generator_loss(kind: str, fake_logits: jax.Array) -> jax.Array:
    if kind == "ns":
        return jnp.mean(jax.nn.softplus(-fake_logits))
    if kind == "minimax":
        return -jnp.mean(jax.nn.softplus(fake_logits))
    if kind in ("hinge", "wgan"):
        return -jnp.mean(fake_logits)
    if kind == "ls":
        return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)
    raise ValueError(f"unknown loss {kind!r}")


def _input_grads(logits_fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    # Each logit depends only on its own image (exactly so when D has no batch norm), so the gradient of the sum
    # gives every per-image gradient.
    return jax.grad(lambda x: jnp.sum(logits_fn(x)))(x)


def r1_penalty(logits_fn: Callable[[jax.Array], jax.Array], real: jax.Array) -> jax.Array:
    """R1 (Mescheder et al. 2018): mean over images of ||d logit / d x||^2 at real data. Weight it by gamma / 2."""
    g = _input_grads(logits_fn, real)
    return jnp.mean(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=-1))


def gradient_penalty(logits_fn: Callable[[jax.Array], jax.Array], real: jax.Array, fake: jax.Array,
                     key: jax.Array) -> jax.Array:
    """WGAN-GP (Gulrajani et al. 2017): mean of (||grad D(x_hat)|| - 1)^2 on random real/fake interpolates."""
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
    g = _input_grads(logits_fn, eps * real + (1.0 - eps) * fake)
    norms = jnp.sqrt(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=-1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)
