"""DCGAN generator and discriminator for 32x32x3 images, and the Keras-tutorial recipe users know.

`Generator`: z (128) -> 4x4x4w -> 8x8x2w -> 16x16xw -> 32x32x3, batch norm + ReLU, tanh output. Each upsampling is
nearest-neighbour + 3x3 conv (see `layers.UpsampleConv`), not a transposed conv: same receptive field, no
checkerboard artefacts, and far faster on XLA:CPU.
`Discriminator`: 4x4 stride-2 convs of w, 2w, 4w with LeakyReLU 0.2 and batch norm after the first, then one
logit. Its probability is `sigmoid(logit)`; losses take logits for numerical stability.

Class labels `y` are optional everywhere: with `num_classes > 0` G appends a learned class embedding to z and D adds
a projection term (Miyato & Koyama 2018).
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.layers import BatchNorm, SNConv, SNDense, UpsampleConv
from jaxgan.models.spec import CLASS_SCORES, DiscriminatorModule, GeneratorModule, register

BN_MOMENTUM = 0.9  # PyTorch's 0.1


def batch_norm(axis_name, train):
    return BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, axis_name=axis_name)


def with_class_embedding(z, y, num_classes):
    """z, with a learned embedding of the class labels y appended when the model is conditional."""
    if not num_classes:
        return z
    return jnp.concatenate([z, nn.Embed(num_classes, z.shape[-1], name="class_embed")(y)], axis=-1)


def logit_head(h, y, num_classes, dropout, train, linear=None, sow_into: nn.Module | None = None):
    """Features -> one logit each: dropout, a linear layer (`linear`, default `nn.Dense(1)`), and for conditional
    models the projection term <embed(y), h> (Miyato & Koyama 2018).

    `h` is (N, d), or a (N, H, W, K) feature map read flattened. `y` is int labels (N,) or class maps
    (N, H', W', C) (`jaxgan.classmap`): with a feature map of the map's grid, each cell's features are projected
    on that cell's class embedding (the flattened embedding has one part per cell, so a map whose cells all hold
    one label gives exactly that label's term); with pooled features, on the map's mean over its cells.

    `sow_into`: the calling discriminator. A conditional one gets every class's term <embed(c), h>, (N, C), sown
    into its `CLASS_SCORES` collection when the caller makes that mutable (only the training step does, for
    `class_weight`): a softmax over them is the classifier the projection implies, and their differences are the
    differences of the logits D gives x under each label.
    """
    h_map = h if h.ndim == 4 else None
    h = nn.Dropout(dropout, deterministic=not train or dropout == 0)(h.reshape(h.shape[0], -1))
    logit = (linear or nn.Dense(1))(h)[:, 0]
    if not num_classes:
        return logit
    embed = nn.Embed(num_classes, h.shape[-1], name="class_projection")
    table = embed(jnp.arange(num_classes))  # (C, d)
    if sow_into is not None and not sow_into.is_initializing():  # `init` makes every collection mutable
        sow_into.sow(CLASS_SCORES, "out", h @ table.T)
    if jnp.issubdtype(jnp.asarray(y).dtype, jnp.integer):
        return logit + jnp.sum(embed(y) * h, axis=-1)
    if h_map is not None and h_map.shape[1:3] == y.shape[1:3]:
        per_cell = table.reshape((num_classes,) + h_map.shape[1:])  # (C, H, W, K), as h is flattened
        projection = jnp.einsum("nijc,cijk->nijk", y.astype(h.dtype), per_cell).reshape(h.shape)
    else:
        projection = jnp.mean(y.astype(h.dtype), axis=(1, 2)) @ table
    return logit + jnp.sum(projection * h, axis=-1)


class Generator(GeneratorModule):
    """DCGAN's generator (see the module docstring)."""

    @nn.compact
    def __call__(self, z, y=None, train: bool = True):
        z = with_class_embedding(z, y, self.num_classes)
        # No bias before batch norm: it would be cancelled, and its zero gradient only feeds Adam noise.
        x = nn.Dense(4 * 4 * 4 * self.width, use_bias=False)(z).reshape(z.shape[0], 4, 4, 4 * self.width)
        x = nn.relu(batch_norm(self.axis_name, train)(x))
        for features in (2 * self.width, self.width):
            x = nn.relu(batch_norm(self.axis_name, train)(UpsampleConv(features, use_bias=False)(x)))
        return self.tanh_output(UpsampleConv(3)(x))


class Discriminator(DiscriminatorModule):
    """DCGAN's discriminator (see the module docstring)."""

    @nn.compact
    def __call__(self, x, y=None, train: bool = True):
        x = nn.leaky_relu(nn.Conv(self.width, (4, 4), (2, 2), padding=1)(x), 0.2)
        for features in (2 * self.width, 4 * self.width):
            x = nn.Conv(features, (4, 4), (2, 2), padding=1, use_bias=False)(x)
            x = nn.leaky_relu(batch_norm(self.axis_name, train)(x), 0.2)
        return logit_head(x, y, self.num_classes, self.dropout, train, sow_into=self)


class SNDiscriminator(DiscriminatorModule):
    """The DCGAN discriminator with spectral normalisation instead of batch norm (Miyato et al. 2018, whose CIFAR
    "standard CNN" this trims to DCGAN's three strided convs for CPU budgets), LeakyReLU 0.1, and the projection
    head for conditional models: pair with the hinge loss. (`axis_name` is unused: no batch statistics to share.)"""

    @nn.compact
    def __call__(self, x, y=None, train: bool = True):
        for features in (self.width, 2 * self.width, 4 * self.width):
            x = nn.leaky_relu(SNConv(features, (4, 4), (2, 2), padding=1)(x, train), 0.1)
        return logit_head(x, y, self.num_classes, self.dropout, train,
                          linear=lambda h: SNDense(1)(h, train), sow_into=self)


class TutorialGenerator(GeneratorModule):
    """Keras DCGAN-for-CIFAR-10 tutorial: Dense 4x4x256, three 4x4 stride-2 transposed convs, 3x3 conv, tanh."""

    width: int = 128

    @nn.compact
    def __call__(self, z, y=None, train: bool = True):
        z = with_class_embedding(z, y, self.num_classes)
        x = nn.leaky_relu(nn.Dense(4 * 4 * 2 * self.width)(z), 0.2).reshape(z.shape[0], 4, 4, 2 * self.width)
        for _ in range(3):
            x = nn.leaky_relu(nn.ConvTranspose(self.width, (4, 4), (2, 2), padding="SAME")(x), 0.2)
        return self.tanh_output(nn.Conv(3, (3, 3))(x))


class TutorialDiscriminator(DiscriminatorModule):
    """Keras tutorial D: conv 64, three 3x3 stride-2 convs 128/128/256, LeakyReLU 0.2, dropout 0.4, dense."""

    dropout: float = 0.4

    @nn.compact
    def __call__(self, x, y=None, train: bool = True):
        x = nn.leaky_relu(nn.Conv(self.width, (3, 3))(x), 0.2)
        for features in (2 * self.width, 2 * self.width, 4 * self.width):
            x = nn.leaky_relu(nn.Conv(features, (3, 3), (2, 2))(x), 0.2)
        return logit_head(x, y, self.num_classes, self.dropout, train, sow_into=self)


register("dcgan", Generator, Discriminator)
register("dcgan_tutorial", TutorialGenerator, TutorialDiscriminator)
