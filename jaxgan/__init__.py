"""jaxgan: a functional JAX/Flax GAN library that trains on CIFAR-10, on CPU, GPU or TPU.

    import jaxgan
    cfg = jaxgan.load_experiment("dcgan", {"steps": 100})
    state = jaxgan.train.train(cfg, "runs/dcgan", data_dir="../shared/tensorflow_datasets")
    images, labels = jaxgan.sampling.sample(cfg, state, n=64, seed=0)

The README's "Use the library from JAX code" shows the pure step in a loop of your own, "Add your own model or
loss" the registries (`jaxgan.models.register`, `jaxgan.losses.register`), "Scale out" training over processes and
machines (`jaxgan.distributed`); docs/API.md lists every public function.
"""
from jaxgan import (checkpoint, config, data, distributed, errors, losses, models, parallel, run, sampling, state, step,
                    train)
from jaxgan.config import Config, load_experiment
from jaxgan.errors import UserError
from jaxgan.state import GANState

__version__ = "0.1.0"
__all__ = ["Config", "GANState", "UserError", "checkpoint", "config", "data", "distributed", "errors",
           "load_experiment", "losses", "models", "parallel", "run", "sampling", "state", "step", "train"]
