"""The flagship Pegasus model, for an accelerator: `pegasus`'s four classes in the residual class-conditional
generator (`biggan`: a shared class embedding + z into a conditional batch norm in every up-block) against the
spectrally normalised residual projection discriminator, hinge loss, DiffAugment on everything D sees plus x-flips,
an EMA generator, bfloat16 compute and a large batch.

Not yet trained or timed anywhere: the sizes follow BigGAN's CIFAR-10 recipe (Brock et al. 2019: Adam 2e-4,
betas (0, 0.999), several D steps per G step) with DiffAugment (Zhao et al. 2020), and the length is a first
guess to be replaced by measurement on the accelerator it is meant for. On 2 CPU cores a step is far too slow.

    jaxgan train pegasus_xl --workdir runs/pegasus_xl          # on a GPU or TPU
    jaxgan export --workdir runs/pegasus_xl --out jaxgan/pretrained_models/pegasus
"""
from jaxgan.config import Config
from jaxgan.experiments import pegasus


def get_config() -> Config:
    """`pegasus` scaled up: residual networks, augmentation, large batch, bfloat16."""
    return pegasus.get_config().replace(
        model="biggan", g_width=256, d_width=128, batch_size=256, n_dis=2, beta1=0.0, beta2=0.999,
        ema_decay=0.9999, augment="flip,color,translation,cutout", compute_dtype="bfloat16", steps=20000,
        checkpoint_every=1000, sample_every=2000)
