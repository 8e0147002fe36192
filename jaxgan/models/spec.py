"""The model registry: a name -> (generator class, discriminator class, mixable) table that configs name.

    from jaxgan.models.spec import register
    register("mygan", MyGenerator, MyDiscriminator)        # also `jaxgan.models.register`

The module protocol every registered pair follows (the one place it is written down):
- constructed with the keywords `width`, `num_classes`, `axis_name` (and `dropout` for the discriminator);
  `axis_name` is the data-parallel axis batch norm must average its statistics over (None outside the step);
- `G(z, y, train=...)`: z float (N, z_dim), y int labels (N,) or None -> images in [-1, 1], float (N, 32, 32, 3);
- `D(x, y, train=...)`: x as G's output -> one logit per image, float (N,); `jaxgan.models.probability` reads it
  as the probability that x is real;
- non-trainable state (batch norm averages, spectral-norm vectors) lives in mutable collections other than
  "params"; D may use the "dropout" RNG stream;
- a generator whose images are tanh(u) may sow u into the `PRE_TANH` collection (`GeneratorModule.tanh_output`):
  the training step's saturation penalty (`pre_tanh_weight`) reads it, and needs it;
- a conditional discriminator whose logit ends in a projection term <embed(y), h> may sow every class's term
  <embed(c), h>, float (N, num_classes), into the `CLASS_SCORES` collection (`dcgan.logit_head(..., sow_into=self)`
  does): the training step's class loss (`class_weight`) reads them, and needs them.
A `mixable` generator reads its class through a shared embedding and also accepts mixture weights (N, C) or
(N, LEVELS, C) as `y`; `jaxgan sample --mix` and `jaxgan pegasus` need one, and it must be trained with classes.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import registry

PRE_TANH = "pre_tanh"  # the collection a generator sows its output's pre-tanh values into (`tanh_output`)
CLASS_SCORES = "class_scores"  # the collection a projection discriminator sows its per-class terms into


class GeneratorModule(nn.Module):
    """The generator protocol's constructor keywords, as a base class (optional: any module taking them will do).
    Subclasses change the defaults they need and define `__call__(self, z, y=None, train=True)`."""

    width: int = 64
    num_classes: int = 0
    axis_name: str | None = None  # the data-parallel axis batch norm averages its statistics over

    def tanh_output(self, u: jax.Array) -> jax.Array:
        """The image tanh(u); u also sown into the `PRE_TANH` collection when the caller makes it mutable (only
        the training step does, for `pre_tanh_weight`: tanh's gradient vanishes where pixels clip, u's does not).

        Args:
          u: the output layer's pre-activation, float (N, 32, 32, 3).

        Returns:
          tanh(u).
        """
        if not self.is_initializing():  # `init` makes every collection mutable; the state must not hold this one
            self.sow(PRE_TANH, "out", u)
        return jnp.tanh(u)


class DiscriminatorModule(nn.Module):
    """The discriminator protocol's constructor keywords, as a base class (optional, like `GeneratorModule`).
    Subclasses define `__call__(self, x, y=None, train=True)` returning one logit per image."""

    width: int = 64
    num_classes: int = 0
    dropout: float = 0.0
    axis_name: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A registered model: its two Flax module classes, and whether its generator accepts class mixtures."""

    generator: Any
    discriminator: Any
    mixable: bool = False


MODELS: registry.Registry[ModelSpec] = registry.Registry("model")


def register(name: str, generator_cls, discriminator_cls, mixable: bool = False) -> None:
    """Makes `model=name` build this generator and discriminator.

    Args:
      name: the config value that selects the pair.
      generator_cls: a Flax module class following the protocol above.
      discriminator_cls: a Flax module class following the protocol above.
      mixable: the generator takes class mixtures through a shared embedding (needs `num_classes > 0`).

    Raises:
      UserError: the name is taken by another pair, or is not a plain identifier.

    Example:
      >>> import flax.linen as nn
      >>> from jaxgan import models
      >>> class G(nn.Module):
      ...     width: int = 8; num_classes: int = 0; axis_name: str | None = None
      ...     @nn.compact
      ...     def __call__(self, z, y=None, train=True):
      ...         return nn.tanh(nn.Dense(32 * 32 * 3)(z)).reshape(-1, 32, 32, 3)
      >>> models.register("doctest_mlp", G, models.get("dcgan").discriminator)
      >>> "doctest_mlp" in models.names()
      True
    """
    MODELS.register(name, ModelSpec(generator_cls, discriminator_cls, bool(mixable)),
                    caller_file=registry.caller_file())
