"""DCGAN (width 64) with the original GAN objective: D's sigmoid output is the probability an image is real.

    jaxgan train dcgan --workdir runs/dcgan --steps 2000
"""
from jaxgan.config import Config


def get_config() -> Config:
    return Config(model="dcgan", z_dim=128, g_width=64, d_width=64, loss="ns", batch_size=64,
                  lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, n_dis=1, ema_decay=0.999, steps=2000)
