"""The Pegasus experiment: the `cgan` model trained only on the four classes a winged horse is made of — horse
and deer (four-legged bodies), bird and airplane (wings). On a CPU budget every update then goes to those classes:
each sees 2.5x the updates it gets in the ten-class `cgan` run of the same length, and none of the model's
capacity is spent on cars, ships, trucks or frogs. 30000 steps (about 2.2 hours on 2 CPU cores) give the Pegasus
in the README; at 4500 steps (20 minutes) the mixtures are still horse-coloured blends. Pick the Pegasus with
`jaxgan pegasus`:

    jaxgan train pegasus --workdir runs/pegasus
    jaxgan pegasus --workdir runs/pegasus --out pegasus/ --budget 16384
"""
from jaxgan.config import Config
from jaxgan.experiments import cgan


def get_config() -> Config:
    """`cgan` on four classes, trained longer."""
    return cgan.get_config().replace(classes=("airplane", "bird", "deer", "horse"), num_classes=4, steps=30000)
