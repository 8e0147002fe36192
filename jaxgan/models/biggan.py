"""Class-conditional BigGAN-style generators for 32x32 (Brock et al. 2019), to pair with a projection D.

`Generator` (model "biggan", sized for accelerators): z -> 4x4xw, three residual up-blocks, BN-ReLU-conv3x3 -> 3,
tanh. `DCGANGenerator` (model "cdcgan", sized for a CPU): the DCGAN body, z -> 4x4x4w -> 8x8x2w -> 16x16xw ->
32x32x3, with the same conditioning. Every batch norm inside the blocks is conditional: normalised without its own
scale and offset, then scaled by 1 + W_g c and shifted by W_b c, where c is z concatenated with a *shared* class
embedding e (BigGAN's shared embedding + skip-z). The class input is a set of mixture weights over the classes and
e = weights @ table, so a label is its one-hot row (exactly the table row) and any mixture of classes — horse 0.6 +
bird 0.4, or horse in the coarse blocks and bird in the fine ones — is a valid input.

    G(z, y)       y: int labels (B,), mixture weights (B, C), per-block weights (B, LEVELS, C),
                     or class maps (B, H, W, C): one mixture per cell of the first block's grid (jaxgan.classmap)

A class map conditions every batch norm per pixel: the cell's gain and offset, spread over the cell's pixels at
each resolution (the linear maps commute with that nearest-neighbour spreading, so they are computed per cell).
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.layers import BatchNorm, UpsampleConv, upsample_nearest
from jaxgan.models import dcgan, resnet
from jaxgan.models.dcgan import BN_MOMENTUM, batch_norm
from jaxgan.models.spec import GeneratorModule, register

LEVELS = 3  # one class mixture per up-block: 4->8 (coarse layout), 8->16, 16->32 (fine detail)


def class_weights(y, num_classes: int) -> jax.Array:
    """Labels or mixtures -> float32 (B, LEVELS, num_classes) mixture weights, one row per up-block; class maps
    (B, H, W, num_classes) are returned as float32 maps."""
    y = jnp.asarray(y)
    if jnp.issubdtype(y.dtype, jnp.integer):
        y = jax.nn.one_hot(y, num_classes, dtype=jnp.float32)
    y = y.astype(jnp.float32)
    if y.ndim == 2:
        y = jnp.broadcast_to(y[:, None, :], (y.shape[0], LEVELS, num_classes))
    if y.ndim == 4 and y.shape[-1] == num_classes:
        return y
    if y.shape[1:] != (LEVELS, num_classes):
        raise ValueError(f"class input of shape {y.shape}: expected (B,), (B, {num_classes}), "
                         f"(B, {LEVELS}, {num_classes}) or a class map (B, H, W, {num_classes})")
    return y


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and offset are linear functions of a conditioning vector: one per image (B, D), or
    one per cell of a grid (B, h, w, D), spread over the feature map's pixels (its side a multiple of h)."""

    axis_name: str | None = None

    @nn.compact
    def __call__(self, x, cond, train: bool):
        x = BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, axis_name=self.axis_name,
                         use_scale=False, use_bias=False)(x)
        c = x.shape[-1]
        gain = 1.0 + nn.Dense(c, use_bias=False, kernel_init=nn.initializers.zeros, name="gain")(cond)
        offset = nn.Dense(c, use_bias=False, kernel_init=nn.initializers.zeros, name="offset")(cond)
        if cond.ndim == 2:
            return x * gain[:, None, None, :] + offset[:, None, None, :]
        factor = x.shape[1] // cond.shape[1]
        return x * upsample_nearest(gain, factor) + upsample_nearest(offset, factor)


class GBlock(nn.Module):
    features: int
    axis_name: str | None = None

    @nn.compact
    def __call__(self, x, cond, train: bool):
        h = nn.relu(ConditionalBatchNorm(self.axis_name)(x, cond, train))
        h = UpsampleConv(self.features, use_bias=False)(h)
        h = nn.relu(ConditionalBatchNorm(self.axis_name)(h, cond, train))
        h = nn.Conv(self.features, (3, 3), use_bias=False)(h)
        return h + upsample_nearest(nn.Conv(self.features, (1, 1), use_bias=False)(x))


def level_conditions(module: nn.Module, z, y) -> list[jax.Array]:
    """[z, mixture @ shared table] for each of the LEVELS blocks of a conditional generator `module` (which has
    num_classes and embed_dim); creates the module's `class_embedding` table. A class map gives every level the
    same per-cell conditions (B, H, W, z_dim + embed_dim)."""
    if not module.num_classes or y is None:
        raise ValueError(f"{type(module).__name__} is class-conditional: give num_classes > 0 and labels y")
    weights = class_weights(y, module.num_classes).astype(z.dtype)  # bfloat16 compute stays bfloat16 (float32: as is)
    table = module.param("class_embedding", nn.initializers.normal(1.0), (module.num_classes, module.embed_dim))
    if weights.ndim == 4:
        cells = weights.shape[:3]
        cond = jnp.concatenate([jnp.broadcast_to(z[:, None, None, :], cells + z.shape[-1:]), weights @ table], -1)
        return [cond] * LEVELS
    return [jnp.concatenate([z, weights[:, level] @ table], axis=-1) for level in range(LEVELS)]


class ConditionalGenerator(GeneratorModule):
    """A generator conditioned through a shared class embedding: subclasses define `__call__` and read
    `level_conditions(self, z, y)`."""

    num_classes: int = 10
    embed_dim: int = 128


class Generator(ConditionalGenerator):
    """BigGAN-style residual generator: a conditional up-block per resolution."""

    width: int = 128

    @nn.compact
    def __call__(self, z, y=None, train: bool = True):
        conds = level_conditions(self, z, y)
        x = nn.Dense(4 * 4 * self.width, use_bias=False)(z).reshape(z.shape[0], 4, 4, self.width)
        for cond in conds:
            x = GBlock(self.width, self.axis_name)(x, cond, train)
        x = nn.relu(batch_norm(self.axis_name, train)(x))
        return self.tanh_output(nn.Conv(3, (3, 3))(x))


class DCGANGenerator(ConditionalGenerator):
    """The DCGAN generator's body with BigGAN conditioning: one conditional batch norm per resolution (4, 8, 16),
    each reading its own level's class mixture."""

    @nn.compact
    def __call__(self, z, y=None, train: bool = True):
        conds = level_conditions(self, z, y)
        x = nn.Dense(4 * 4 * 4 * self.width, use_bias=False)(z).reshape(z.shape[0], 4, 4, 4 * self.width)
        for level, (cond, features) in enumerate(zip(conds, (2 * self.width, self.width, 3))):
            x = nn.relu(ConditionalBatchNorm(self.axis_name)(x, cond, train))
            # No bias before a batch norm (it cancels); the output conv keeps one.
            x = UpsampleConv(features, use_bias=level == LEVELS - 1)(x)
        return self.tanh_output(x)


# Class-conditional: CBN generator with a shared embedding, spectrally normalised projection discriminator.
register("biggan", Generator, resnet.Discriminator, mixable=True)
# The same conditioning in DCGAN-sized networks, affordable on a CPU.
register("cdcgan", DCGANGenerator, dcgan.SNDiscriminator, mixable=True)
