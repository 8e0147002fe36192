"""Models by name: `build(config)` returns the (generator, discriminator) Flax modules a config names.

    G, D = jaxgan.models.build(cfg)                    # cfg.model names a registered pair
    jaxgan.models.register("mygan", MyG, MyD)          # a new model: one file that calls this

Every module of this package registers the models it defines when it is imported, and this package imports all
of them, so a new built-in model is one new file here. The protocol the modules follow is written in `spec.py`.
"""
from __future__ import annotations

import importlib
import pkgutil

import jax

from jaxgan.models.spec import CLASS_SCORES, MODELS, PRE_TANH, ModelSpec, register

__all__ = ["CLASS_SCORES", "MODELS", "PRE_TANH", "ModelSpec", "build", "get", "is_mixable", "mixable_names", "names",
           "probability", "register"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "spec":
        importlib.import_module(f"{__name__}.{_module.name}")


def get(name: str) -> ModelSpec:
    """The registered model `name`.

    Args:
      name: a model name (`names()` lists them).

    Returns:
      Its `ModelSpec` (generator class, discriminator class, mixable).

    Raises:
      UserError: naming the registered models, when `name` is unknown.
    """
    return MODELS.get(name)


def names() -> list[str]:
    """The registered model names, built-ins first.

    Returns:
      A list of names.
    """
    return MODELS.names()


def is_mixable(name: str) -> bool:
    """Whether model `name`'s generator takes class mixtures (`jaxgan sample --mix`, `jaxgan pegasus`).

    Args:
      name: a registered model name.

    Returns:
      True for generators with a shared class embedding.
    """
    return get(name).mixable


def mixable_names() -> list[str]:
    """The registered models whose generators take class mixtures.

    Returns:
      A list of names.
    """
    return [name for name in names() if is_mixable(name)]


def build(cfg, axis_name: str | None = None):
    """The generator and discriminator modules `cfg` names, constructed by the protocol in `spec.py`.

    Args:
      cfg: a `jaxgan.Config` (reads model, g_width, d_width, num_classes, d_dropout).
      axis_name: the data-parallel axis batch norm averages over; None outside `shard_map`.

    Returns:
      (generator, discriminator), unbound Flax modules.
    """
    spec = get(cfg.model)
    g = spec.generator(width=cfg.g_width, num_classes=cfg.num_classes, axis_name=axis_name)
    d = spec.discriminator(width=cfg.d_width, num_classes=cfg.num_classes, dropout=cfg.d_dropout, axis_name=axis_name)
    return g, d


def probability(logits: jax.Array) -> jax.Array:
    """D's output read as the probability that the input is a real image: the sigmoid of its logit.

    Args:
      logits: D's outputs, any shape.

    Returns:
      Probabilities in (0, 1), same shape.

    Example:
      >>> import jax.numpy as jnp
      >>> float(probability(jnp.zeros(())))
      0.5
    """
    return jax.nn.sigmoid(logits)
