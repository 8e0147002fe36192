"""The Keras "DCGAN for CIFAR-10" tutorial recipe, as a reference point users know.

G: Dense 4x4x256, three 4x4 stride-2 transposed convs of 128 with LeakyReLU 0.2, 3x3 conv to 3 with tanh.
D: conv 64, three 3x3 stride-2 convs 128/128/256 with LeakyReLU 0.2, dropout 0.4, dense sigmoid.
Adam 2e-4, beta1 0.5; batch 128; latent 100; no EMA (the tutorial samples from G itself).

    jaxgan train dcgan_tutorial --workdir runs/tutorial
"""
from jaxgan.config import Config


def get_config() -> Config:
    return Config(model="dcgan_tutorial", z_dim=100, g_width=128, d_width=64, d_dropout=0.4, loss="ns",
                  batch_size=128, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, n_dis=1, ema_decay=0.0, steps=2000)
