"""The recipe of the shipped `pegasus` model (issue 21): the `pegasus` experiment with x-flips and DiffAugment on
everything D sees (Zhao et al. 2020) and LeCam regularisation (Tseng et al. 2021, weight 0.3 as in the authors'
CIFAR-10 scripts) — what keeps D from overfitting the four classes' 20000 images past the plain recipe's plateau
near 17000 steps. The shipped model is this recipe's run at step 66075: 10.3 hours of training on one core of a
2-core CPU (its card's `training_sessions`); the curve against CPU-hours is `benchmarks/flagship_curves.png`.

    jaxgan train pegasus_lecam --workdir runs/pegasus_lecam --time-limit 120     # in slices; the same to resume
    make pegasus-train PEGASUS_EXPERIMENT=pegasus_lecam PEGASUS_STEPS=66075       # train, search, eval, report
"""
from jaxgan.config import Config
from jaxgan.experiments import pegasus


def get_config() -> Config:
    """`pegasus` with flips, DiffAugment and LeCam, 100000 steps (the shipped run's planned length)."""
    return pegasus.get_config().replace(augment="flip,color,translation,cutout", lecam_weight=0.3, steps=100000)
