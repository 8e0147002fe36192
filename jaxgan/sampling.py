"""Images from a trained generator: seeded latents, the EMA generator in inference mode, PNG grids.

    images, labels = sampling.sample(cfg, state, n=64, seed=0)     # uint8 (n, 32, 32, 3), int32 (n,) or None
    sampling.save_grid(images, "grid.png")

Latent i of seed s is drawn from `fold_in(key(s), i)`, and the generator runs with its running batch norm
statistics, so an image depends only on (seed, index): the same seed gives the same images at any batch size,
and the first k of n samples are the samples of n=k.
"""
from __future__ import annotations

import functools
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import data, models
from jaxgan.config import Config
from jaxgan.state import GANState

KEY_LATENT = 0  # purpose folded into key(seed) for the latents


@functools.partial(jax.jit, static_argnums=(2, 3))
def latents(seed: int, start: int, count: int, z_dim: int, truncation=None) -> jax.Array:
    """Latents of images start..start+count-1 of `seed`; with `truncation` t, drawn from N(0, 1) cut to [-t, t]."""
    base = jax.random.fold_in(jax.random.key(seed), KEY_LATENT)
    idx = start + jnp.arange(count)  # start is traced: one compile serves every batch
    if truncation is None:
        return jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(base, i), (z_dim,)))(idx)
    return jax.vmap(lambda i: jax.random.truncated_normal(jax.random.fold_in(base, i), -truncation, truncation,
                                                          (z_dim,)))(idx)


def parse_mix(text: str, cfg: Config) -> np.ndarray:
    """Class mixture weights from text, for generators that mix classes.

    Args:
      text: "horse=0.6,bird=0.4"; or LEVELS such mixtures separated by "|" for the generator's blocks, coarse to
        fine ("horse=1|horse=0.5,bird=0.5|bird=1"); or a class map (`jaxgan.classmap`): a mixture for every cell,
        then ";"-separated regions MIXTURE@ROWS,COLS whose cells take another one, rows and columns as I or I-J
        (inclusive) of the GRID x GRID cells, top-left 0 ("horse=1; bird=1@0,1-2": bird in the two middle cells of
        the top row). A model trained with `spatial_mix` has learnt to draw such maps.
      cfg: the run's config (its classes and model).

    Returns:
      float32 weights over the model's classes: (C,), (LEVELS, C) with "|", or (GRID, GRID, C) with ";".

    Raises:
      UserError: an unconditional or non-mixing model, an unknown class, bad syntax, weights not summing to 1,
        a region outside the grid.

    Example:
      >>> import jaxgan
      >>> cfg = jaxgan.Config(model="cdcgan", num_classes=2, classes=("bird", "horse"))
      >>> m = parse_mix("horse=1; bird=1@0,1-2", cfg)
      >>> m.shape, m[0, :, 0].tolist(), m[1, :, 1].tolist()
      ((4, 4, 2), [0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    """
    from jaxgan.classmap import GRID
    from jaxgan.errors import UserError

    base, *regions = [part.strip() for part in text.split(";")]
    if not regions:
        return _parse_mixture(text, cfg)
    if "|" in text:
        raise UserError(f"class map {text!r}: per-block mixtures ('|') and regions (';') do not combine")
    out = np.broadcast_to(_parse_mixture(base, cfg), (GRID, GRID, cfg.num_classes)).copy()
    for region in regions:
        mix, at, cells = region.partition("@")
        try:
            if not at:
                raise ValueError
            rows, cols = (_cell_range(part, GRID) for part in cells.split(","))
        except ValueError:
            raise UserError(f"class map region {region!r}: write MIXTURE@ROWS,COLS with rows and columns as I or "
                            f"I-J in 0..{GRID - 1}, e.g. bird=1@0,1-2") from None
        out[rows, cols] = _parse_mixture(mix, cfg)
    return out


def _cell_range(text: str, grid: int) -> slice:
    first, _, last = text.strip().partition("-")
    first, last = int(first), int(last or first)
    if not 0 <= first <= last < grid:
        raise ValueError
    return slice(first, last + 1)


def _parse_mixture(text: str, cfg: Config) -> np.ndarray:
    """One mixture, or LEVELS of them separated by "|" (see `parse_mix`)."""
    from jaxgan.config import CIFAR10_CLASSES
    from jaxgan.errors import UserError
    from jaxgan.models.biggan import LEVELS

    if not cfg.num_classes:
        raise UserError("a class mixture needs a class-conditional model; this run is unconditional")
    if not models.is_mixable(cfg.model):
        raise UserError(f"a class mixture needs a generator with a shared class embedding "
                        f"({', '.join(models.mixable_names())}); "
                        f"this run is {cfg.model}")
    names = [CIFAR10_CLASSES[i] for i in cfg.class_ids]
    parts = text.split("|")
    if len(parts) not in (1, LEVELS):
        raise UserError(f"class mixture {text!r}: give one mixture, or {LEVELS} separated by '|' (coarse to fine)")
    out = np.zeros((len(parts), len(names)), np.float32)
    for row, part in enumerate(parts):
        for item in filter(None, (p.strip() for p in part.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if name not in names:
                raise UserError(f"class mixture: unknown class '{name}' (this model's classes: {', '.join(names)})")
            try:
                if not sep:
                    raise ValueError
                out[row, names.index(name)] += float(value)
            except ValueError:
                raise UserError(f"class mixture: '{item}' is not class=weight") from None
        if not np.all(np.isfinite(out[row])) or np.any(out[row] < 0) or abs(out[row].sum() - 1) > 1e-4:
            raise UserError(f"class mixture {part!r}: weights must be non-negative numbers summing to 1 "
                            f"(they sum to {np.nansum(out[row]):g})")
    return out[0] if len(parts) == 1 else out


@functools.lru_cache(maxsize=8)
def _generator(cfg: Config):
    g, _ = models.build(cfg)

    @jax.jit
    def generate(params, stats, z, y):
        images = g.apply({"params": params, **stats}, z, y if cfg.num_classes else None, train=False)
        return data.to_uint8(images)

    return generate


def default_labels(cfg: Config, n: int) -> np.ndarray | None:
    """The labels `sample` gives when none are asked for: class i % num_classes for sample i.

    Args:
      cfg: the run's config.
      n: how many.

    Returns:
      int32 (n,), or None for an unconditional model.
    """
    return (np.arange(n) % cfg.num_classes).astype(np.int32) if cfg.num_classes else None


def _pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """`a` with zero rows appended up to `rows` (a fixed shape: one compiled generator for every batch)."""
    return np.pad(a, [(0, rows - len(a))] + [(0, 0)] * (a.ndim - 1))


def generate(cfg: Config, state: GANState, z, y=None, use_ema: bool = True, batch_size: int | None = None
             ) -> np.ndarray:
    """Images of given latents (interpolations; many mixtures of the same latents at once).

    Args:
      cfg: the run's config.
      state: the trained `GANState`.
      z: latents (B, z_dim).
      y: class labels (B,) or mixtures (B, C) / (B, LEVELS, C), as in `sample`; None for unconditional models.
      use_ema: sample the EMA generator (else G itself).
      batch_size: rows per generator call, the last call padded: one compile for any B, and each image as
        `sample` at that batch size draws it; None: all B rows in one call (one compile per B).

    Returns:
      uint8 (B, 32, 32, 3).
    """
    net = state.ema if use_ema else state.g  # the EMA generator or G itself
    params, stats = net.params, net.stats
    z = np.asarray(z, np.float32)
    y = np.zeros((len(z),), np.int32) if y is None else np.asarray(y)
    size = batch_size or len(z)
    out = [np.asarray(_generator(cfg)(params, stats, jnp.asarray(_pad_rows(z[i:i + size], size)),
                                      jnp.asarray(_pad_rows(y[i:i + size], size))))[:len(z[i:i + size])]
           for i in range(0, len(z), size)]
    return np.concatenate(out)


def sample(cfg: Config, state: GANState, n: int, seed: int = 0, labels=None, batch_size: int = 500,
           use_ema: bool = True, truncation: float | None = None, first: int = 0
           ) -> tuple[np.ndarray, np.ndarray | None]:
    """Images `first`..`first`+n-1 of `seed`: image i's latent depends only on (seed, i), whatever the batch size
    (the images then agree bit for bit at the same batch size, and to XLA's rounding, within a level, at another).

    Args:
      cfg: the run's config.
      state: the trained `GANState`.
      n: how many images.
      seed: the sampling seed.
      labels: int class ids (n,) of the model's classes, or (mixable models) mixture weights (n, C) or
        (n, LEVELS, C); default: every class in turn.
      batch_size: images per generator call (memory, not results).
      use_ema: sample the EMA generator (else G itself).
      truncation: cut the latents to [-t, t] (less variety, more typical images).
      first: index of the first image.

    Returns:
      (images uint8 (n, 32, 32, 3), labels as used or None for unconditional models).
    """
    if labels is None:
        labels = default_labels(cfg, n)
    else:
        labels = np.asarray(labels)
        labels = labels.astype(np.int32 if np.issubdtype(labels.dtype, np.integer) else np.float32)
    out = []
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        z = latents(seed, first + start, batch_size, cfg.z_dim, truncation)  # a whole batch: one compile
        y = None if labels is None else _pad_rows(labels[start:start + count], batch_size)
        out.append(generate(cfg, state, z, y, use_ema)[:count])
    return np.concatenate(out), labels


def grid(images: np.ndarray, ncol: int | None = None, pad: int = 2) -> np.ndarray:
    """Images tiled on a white background.

    Args:
      images: uint8 (N, H, W, 3).
      ncol: columns (default: a square).
      pad: pixels between and around images.

    Returns:
      uint8 (rows*(H+pad)+pad, cols*(W+pad)+pad, 3).
    """
    n, h, w, c = images.shape
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    out = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), 255, np.uint8)
    for i, img in enumerate(images):
        r, q = divmod(i, ncol)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = img
    return out


def picture(images: np.ndarray, ncol: int | None = None, scale: int = 1):
    """Images as one PIL picture (a grid, or a single image as it is), enlarged pixel for pixel; a notebook shows
    it as a PNG when it is a cell's last value.

    Args:
      images: uint8 (N, H, W, 3).
      ncol: columns (default: a square).
      scale: enlarge by this factor (nearest neighbour).

    Returns:
      A `PIL.Image.Image`.

    Example:
      >>> picture(np.zeros((4, 32, 32, 3), np.uint8), ncol=4, scale=2).size
      (276, 72)
    """
    from PIL import Image

    img = Image.fromarray(images[0] if len(images) == 1 else grid(images, ncol))
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img


def save_grid(images: np.ndarray, path: str | pathlib.Path, ncol: int | None = None, scale: int = 1) -> np.ndarray:
    """Saves a PNG grid of `images`; a single image is saved as it is (no border), pixel for pixel.

    Args:
      images: uint8 (N, H, W, 3).
      path: the PNG file.
      ncol: columns (default: a square).
      scale: enlarge by this factor (nearest neighbour).

    Returns:
      The grid before scaling, uint8.
    """
    picture(images, ncol, scale).save(path)
    return images[0] if len(images) == 1 else grid(images, ncol)
