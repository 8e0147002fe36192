"""The recipe of the shipped `pegasus` model (issue 21): the `pegasus` experiment with x-flips and DiffAugment on
everything D sees (Zhao et al. 2020) and LeCam regularisation (Tseng et al. 2021, weight 0.3 as in the authors'
CIFAR-10 scripts) — what keeps D from overfitting the four classes' 20000 images past the plain recipe's plateau
near 17000 steps. This recipe's run at step 66075 (10.3 hours of training on one core of a 2-core CPU) was the
shipped model from 2026-12-04; the model shipped since 2026-12-07 started there and was taught all ten classes
with the same recipe (`--set classes= --set num_classes=10`) and a class loss (`class_weight`), 124675 steps in all
(its card's `lineage` gives every stage's command; `benchmarks/flagship_state/README.md` how to make each again).
The curves against CPU-hours are `benchmarks/flagship_curves.png`.

    jaxgan train pegasus_lecam --workdir runs/pegasus_lecam --time-limit 120     # in slices; the same to resume
    make pegasus-train PEGASUS_EXPERIMENT=pegasus_lecam PEGASUS_STEPS=66075       # train, search, eval, report
"""
from jaxgan.config import Config
from jaxgan.experiments import pegasus


def get_config() -> Config:
    """`pegasus` with flips, DiffAugment and LeCam, 100000 steps (the shipped run's planned length)."""
    return pegasus.get_config().replace(augment="flip,color,translation,cutout", lecam_weight=0.3, steps=100000)
