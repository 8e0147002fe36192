"""SNGAN-style residual generator and spectrally normalised residual discriminator for 32x32 (Miyato et al. 2018).

G: z -> 4x4xC, three up-blocks (BN-ReLU-upsample-conv3x3, BN-ReLU-conv3x3; shortcut conv1x1 + upsample),
BN-ReLU-conv3x3 -> 3, tanh. D: an optimized first down-block, a down-block, two plain blocks, ReLU, global sum
pooling, linear -> logit; every conv and dense layer is spectrally normalised. Train with the hinge loss.
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.layers import SNConv, SNDense, UpsampleConv, upsample_nearest
from jaxgan.models.dcgan import batch_norm, logit_head, with_class_embedding
from jaxgan.models.spec import DiscriminatorModule, GeneratorModule, register


def _avg_pool(x):
    return nn.avg_pool(x, (2, 2), (2, 2))


class GBlock(nn.Module):
    features: int
    axis_name: str | None = None

    @nn.compact
    def __call__(self, x, train: bool):
        bn = lambda: batch_norm(self.axis_name, train)
        # No biases in G's blocks: every block output reaches the generator's output only through a later batch
        # norm, which cancels a per-channel constant; their zero gradients would only feed Adam noise.
        h = UpsampleConv(self.features, use_bias=False)(nn.relu(bn()(x)))
        h = nn.Conv(self.features, (3, 3), use_bias=False)(nn.relu(bn()(h)))
        # A 1x1 conv commutes with nearest upsampling: do it on the small image.
        return h + upsample_nearest(nn.Conv(self.features, (1, 1), use_bias=False)(x))


class Generator(GeneratorModule):
    """SNGAN's residual generator: three up-blocks of `width` channels."""

    width: int = 256

    @nn.compact
    def __call__(self, z, y=None, train: bool = True):
        z = with_class_embedding(z, y, self.num_classes)
        x = nn.Dense(4 * 4 * self.width, use_bias=False)(z).reshape(z.shape[0], 4, 4, self.width)
        for _ in range(3):
            x = GBlock(self.width, self.axis_name)(x, train)
        x = batch_norm(self.axis_name, train)(x)
        return self.tanh_output(nn.Conv(3, (3, 3))(nn.relu(x)))


class DBlock(nn.Module):
    features: int
    down: bool
    first: bool = False  # the "optimized" first block: no ReLU before the first conv, shortcut pools first

    @nn.compact
    def __call__(self, x, train: bool):
        h = x if self.first else nn.relu(x)
        h = SNConv(self.features)(h, train)
        h = SNConv(self.features)(nn.relu(h), train)
        if self.down:
            h = _avg_pool(h)
        shortcut = x
        if self.first:
            shortcut = SNConv(self.features, (1, 1))(_avg_pool(x), train)
        elif self.down or x.shape[-1] != self.features:
            shortcut = SNConv(self.features, (1, 1))(x, train)
            shortcut = _avg_pool(shortcut) if self.down else shortcut
        return h + shortcut


class Discriminator(DiscriminatorModule):
    """SNGAN's spectrally normalised residual discriminator, with the projection head for conditional models."""

    width: int = 128

    @nn.compact
    def __call__(self, x, y=None, train: bool = True):
        x = DBlock(self.width, down=True, first=True)(x, train)
        x = DBlock(self.width, down=True)(x, train)
        x = DBlock(self.width, down=False)(x, train)
        x = DBlock(self.width, down=False)(x, train)
        h = jnp.sum(nn.relu(x), axis=(1, 2))
        return logit_head(h, y, self.num_classes, self.dropout, train, linear=lambda h: SNDense(1)(h, train),
                          sow_into=self)


register("sngan", Generator, Discriminator)
