"""The Keras "DCGAN for CIFAR-10" tutorial recipe, as a reference point users know: `dcgan` with the tutorial's
networks and settings.

G: Dense 4x4x256, three 4x4 stride-2 transposed convs of 128 with LeakyReLU 0.2, 3x3 conv to 3 with tanh.
D: conv 64, three 3x3 stride-2 convs 128/128/256 with LeakyReLU 0.2, dropout 0.4, dense sigmoid.
Adam 2e-4, beta1 0.5; batch 128; latent 100; no EMA (the tutorial samples from G itself).

    jaxgan train dcgan_tutorial --workdir runs/tutorial
"""
from jaxgan.config import Config
from jaxgan.experiments import dcgan


def get_config() -> Config:
    return dcgan.get_config().replace(model="dcgan_tutorial", z_dim=100, g_width=128, d_dropout=0.4, batch_size=128,
                                      ema_decay=0.0)
