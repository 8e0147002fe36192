"""The evaluator's network: a small, fast CIFAR-10 classifier whose penultimate layer is jaxgan's feature space.

    net = EvaluatorNet()
    features, logits = net.apply(variables, images_float, train=False)   # images in [-1, 1], (N, 32, 32, 3)

The layout follows the fastest known CIFAR-10 recipes (Page's ResNet-9, Keller Jordan's airbench): a stem conv,
then three groups of conv -> 2x2 max-pool -> batch norm -> GELU -> conv -> batch norm -> GELU, then a global max
pool and a linear layer. Pooling right after each group's first conv keeps most of the arithmetic at low resolution,
which is what makes it trainable on a 2-core CPU.

The classifier reads the global *max* pool of the last block (the recipe it was trained with); the feature vector
for distances is its global *average* pool (`widths[-1]` numbers), as Inception's pool3 features are for FID.
Measured on CIFAR-10 (benchmarks/RESULTS.md): under the max pool, uniform noise landed inside the real images'
k-NN manifold (precision 0.79) and scored a lower Fréchet distance than a single real class; under the average
pool noise is far off the manifold (precision 0.04).
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.evaluator.judge import JudgeNet
from jaxgan.layers import Conv3x3

WIDTHS = (32, 128, 256)
FEATURE_DIM = WIDTHS[-1]


class EvaluatorNet(nn.Module):
    widths: tuple[int, ...] = WIDTHS
    stem_width: int = 32
    num_classes: int = 10

    @nn.compact
    def __call__(self, x, train: bool = False):
        def conv_bn_gelu(h, width, pool=False):
            h = Conv3x3(width)(h)
            if pool:
                h = nn.max_pool(h, (2, 2), (2, 2))
            # A low momentum suits the short schedule: the statistics track the fast-moving weights.
            h = nn.BatchNorm(use_running_average=not train, momentum=0.6)(h)
            return nn.gelu(h)

        h = conv_bn_gelu(x, self.stem_width)
        for width in self.widths:
            h = conv_bn_gelu(h, width, pool=True)
            h = conv_bn_gelu(h, width)
        # airbench's fixed logit scale: with a bias-free head it keeps the early softmax soft.
        logits = nn.Dense(self.num_classes, use_bias=False)(jnp.max(h, axis=(1, 2))) / 9.0
        return jnp.mean(h, axis=(1, 2)), logits


# The classifier families a weight file may hold, by the name its metadata records ("network").
NETWORKS = {"evaluator": EvaluatorNet, "judge": JudgeNet}
