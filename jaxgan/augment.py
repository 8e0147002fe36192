"""Augmentation for GAN training: x-flips of real images and DiffAugment, differentiable, one key per image.

    x = augment.apply("flip,color,translation,cutout", x, keys)    # x (N, 32, 32, 3) in [-1, 1], keys (N,)

`config.augment` names the transforms, comma-separated, applied in the order of `TRANSFORMS`:
- "flip": mirror left-right with probability 1/2 (in the step: real images only, before anything else);
- DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"), applied to every
  image D sees, real and fake, in D's update and in G's, so D never sees an un-augmented image and G's gradient
  flows through the same transform: "color" (brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5]),
  "translation" (shift by up to 1/8 of the side, zero padding), "cutout" (zero a square of half the side).
Each image's transform depends only on its own key; the step derives those keys from the step key and the
image's index in the *global* batch, so augmentations are the same on 1 or N devices and never reuse a key.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5  # the paper's CIFAR-10 settings


def _color(x: jax.Array, key: jax.Array) -> jax.Array:
    kb, ks, kc = jax.random.split(key, 3)
    x = x + (jax.random.uniform(kb) - 0.5)
    mean = jnp.mean(x, axis=-1, keepdims=True)
    x = (x - mean) * (jax.random.uniform(ks) * 2.0) + mean
    mean = jnp.mean(x)
    return (x - mean) * (jax.random.uniform(kc) + 0.5) + mean


def _translation(x: jax.Array, key: jax.Array) -> jax.Array:
    h, w, _ = x.shape
    sh, sw = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy = jax.random.randint(jax.random.fold_in(key, 0), (), -sh, sh + 1)
    dx = jax.random.randint(jax.random.fold_in(key, 1), (), -sw, sw + 1)
    padded = jnp.pad(x, ((sh, sh), (sw, sw), (0, 0)))
    return jax.lax.dynamic_slice(padded, (sh - dy, sw - dx, 0), x.shape)  # content moves by (dy, dx)


def _cutout(x: jax.Array, key: jax.Array) -> jax.Array:
    h, w, _ = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    cy = jax.random.randint(jax.random.fold_in(key, 0), (), 0, h + (1 - ch % 2))
    cx = jax.random.randint(jax.random.fold_in(key, 1), (), 0, w + (1 - cw % 2))
    rows, cols = jnp.arange(h)[:, None], jnp.arange(w)[None, :]
    inside = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch) & (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    return x * (~inside)[..., None].astype(x.dtype)


def _flip(x: jax.Array, key: jax.Array) -> jax.Array:
    return jnp.where(jax.random.bernoulli(key), x[:, ::-1], x)


# name -> per-image transform (image (H, W, C), key) -> image; applied in this order.
TRANSFORMS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "flip": _flip, "color": _color, "translation": _translation, "cutout": _cutout}
DIFFAUGMENT = ("color", "translation", "cutout")  # the transforms every image D sees gets


def parse(policy: str) -> tuple[str, ...]:
    """The transform names of a policy string, in application order.

    Args:
      policy: comma-separated names from `TRANSFORMS` ("" for none).

    Returns:
      The names, ordered as in `TRANSFORMS`.

    Raises:
      ValueError: an unknown name (config validation turns it into a message naming the key).

    Example:
      >>> parse("cutout, flip")
      ('flip', 'cutout')
    """
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown augmentation '{unknown[0]}' (known: {', '.join(TRANSFORMS)})")
    return tuple(n for n in TRANSFORMS if n in names)


def apply(names, x: jax.Array, keys: jax.Array) -> jax.Array:
    """Applies the transforms `names` to each image with its own key.

    Args:
      names: a policy string or a tuple of names (see `parse`); empty: `x` unchanged.
      x: images (N, H, W, C) in [-1, 1].
      keys: one PRNG key per image, (N,).

    Returns:
      The transformed images, same shape and dtype; differentiable with respect to `x`.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> x = jnp.ones((2, 32, 32, 3))
      >>> y = apply("translation,cutout", x, jax.random.split(jax.random.key(0), 2))
      >>> y.shape, bool((y == 0).any())
      ((2, 32, 32, 3), True)
    """
    names = parse(names) if isinstance(names, str) else tuple(names)
    if not names:
        return x

    def one(image, key):
        for i, name in enumerate(names):
            image = TRANSFORMS[name](image, jax.random.fold_in(key, i))
        return image

    return jax.vmap(one)(x, keys)


def image_keys(key: jax.Array, first: jax.Array, count: int) -> jax.Array:
    """Keys of images first..first+count-1 of a global batch: `fold_in(key, index)` each.

    Args:
      key: the key of one purpose in one step.
      first: global index of this device's first image (traced).
      count: images on this device.

    Returns:
      (count,) keys.
    """
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(first + jnp.arange(count))
