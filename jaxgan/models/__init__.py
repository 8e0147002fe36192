"""Model registry: `build(config)` returns the (generator, discriminator) Flax modules a config names.

Every generator is called as `G.apply(variables, z, y, train=...)` -> images in [-1, 1] (NHWC, 32x32x3), every
discriminator as `D.apply(variables, x, y, train=...)` -> one logit per image; `probability(logit)` reads it as
the probability that the image is real. `y` (class labels) is ignored by unconditional models (num_classes=0).
"""
from __future__ import annotations

import jax

from jaxgan.config import Config
from jaxgan.models import biggan, dcgan, resnet

_MODELS = {
    "dcgan": (dcgan.Generator, dcgan.Discriminator),
    "dcgan_tutorial": (dcgan.TutorialGenerator, dcgan.TutorialDiscriminator),
    "sngan": (resnet.Generator, resnet.Discriminator),
    # Class-conditional: CBN generator with a shared embedding, spectrally normalised projection discriminator.
    "biggan": (biggan.Generator, resnet.Discriminator),
    # The same conditioning in DCGAN-sized networks, affordable on a CPU.
    "cdcgan": (biggan.DCGANGenerator, dcgan.SNDiscriminator),
}
# Generators whose class input may be a mixture of classes (a shared embedding feeding every block).
MIXABLE = ("biggan", "cdcgan")


def build(cfg: Config, axis_name: str | None = None):
    """(G, D) for `cfg`; `axis_name` is the data-parallel axis batch norm averages over (None outside shard_map)."""
    g_cls, d_cls = _MODELS[cfg.model]
    g = g_cls(width=cfg.g_width, num_classes=cfg.num_classes, axis_name=axis_name)
    d = d_cls(width=cfg.d_width, num_classes=cfg.num_classes, dropout=cfg.d_dropout, axis_name=axis_name)
    return g, d


def probability(logits: jax.Array) -> jax.Array:
    """D's output read as the probability that the input is a real image."""
    return jax.nn.sigmoid(logits)
