"""The judge: a second CIFAR-10 classifier, of another architecture family and seed, used only to *report*.

`jaxgan pegasus` selects its Pegasus on the evaluator's class probabilities, so the evaluator's scores of the
winner are biased upwards (the search maximised them). The judge never takes part in any choice; its verdicts
on the Pegasus, the top 16 and the batch of 64 are written beside the evaluator's, as a held-out opinion.

    jaxgan evaluator train --network judge --out jaxgan/evaluator/cifar10_judge.msgpack    # the shipped weights
    from jaxgan import evaluator
    judge = evaluator.load_judge()
    _, logits = judge.features_and_logits(images_uint8)

Where the evaluator is a plain VGG-like stack with max pools (airbench), the judge is a small residual network:
a stem, then per stage a 2x2 average pool, a projection conv and one residual block (two 3x3 convs, batch norm,
ReLU), and a linear head on the global *average* pool. Different family, different widths, different seed, a
shorter schedule (`jaxgan.evaluator.train.JUDGE_RECIPE`): its mistakes are its own.
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.layers import Conv3x3

WIDTHS = (32, 64, 128)


class JudgeNet(nn.Module):
    widths: tuple[int, ...] = WIDTHS
    stem_width: int = 16
    num_classes: int = 10

    @nn.compact
    def __call__(self, x, train: bool = False):
        def conv_bn(h, width, zero_scale=False):
            h = Conv3x3(width)(h)
            # A zero-initialised last norm makes each residual block start as the identity (Goyal et al. 2017).
            return nn.BatchNorm(use_running_average=not train, momentum=0.9,
                                scale_init=nn.initializers.zeros if zero_scale else nn.initializers.ones)(h)

        h = nn.relu(conv_bn(x, self.stem_width))
        for width in self.widths:
            h = nn.relu(conv_bn(nn.avg_pool(h, (2, 2), (2, 2)), width))
            r = conv_bn(nn.relu(conv_bn(h, width)), width, zero_scale=True)
            h = nn.relu(h + r)
        features = jnp.mean(h, axis=(1, 2))
        return features, nn.Dense(self.num_classes)(features)
