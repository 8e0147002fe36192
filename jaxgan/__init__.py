"""jaxgan: a functional JAX/Flax GAN library that trains on CIFAR-10, on CPU, GPU or TPU.

    import jax, jaxgan
    cfg = jaxgan.load_experiment("dcgan", overrides={"steps": 100})
    mesh = jaxgan.parallel.make_mesh()
    state = jaxgan.parallel.replicate(jaxgan.state.create(cfg), mesh)
    images, labels = jaxgan.data.load_cifar10("train", data_dir="../shared/tensorflow_datasets")
    batches = jaxgan.data.Batches(images, labels, cfg.batch_size, cfg.n_dis, jaxgan.state.root_key(cfg, jaxgan.state.KEY_DATA), mesh)
    train_step = jaxgan.step.make_train_step(cfg, mesh)
    for i in range(cfg.steps):
        state, metrics = train_step(state, batches.get(i))
"""
from jaxgan import config, data, errors, losses, models, parallel, state, step
from jaxgan.config import Config, load_experiment
from jaxgan.errors import UserError
from jaxgan.state import GANState

__version__ = "0.1.0"
__all__ = ["Config", "GANState", "UserError", "config", "data", "errors", "load_experiment", "losses", "models",
           "parallel", "state", "step"]
