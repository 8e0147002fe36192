"""SNGAN (Miyato et al. 2018) for CIFAR-10: ResNet G (256 ch), spectrally normalised ResNet D (128 ch), hinge loss,
five D updates per G update, Adam(2e-4, 0, 0.9). Sized for an accelerator; on a 2-core CPU it is slow.

    jaxgan train sngan --workdir runs/sngan --steps 50000
"""
from jaxgan.config import Config
from jaxgan.experiments import dcgan


def get_config() -> Config:
    return dcgan.get_config().replace(model="sngan", g_width=256, d_width=128, loss="hinge", beta1=0.0, beta2=0.9,
                                      n_dis=5, ema_decay=0.9999, steps=50000)
