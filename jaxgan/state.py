"""The GAN's whole training state as one immutable pytree, and its creation from a config.

    state = jaxgan.state.create(cfg)

`GANState` holds G and D as one `NetState` each (parameters, non-trainable statistics such as batch norm running
averages and spectral-norm power-iteration vectors, optax optimizer state), the EMA generator (`EMAState`), the
step counter, the root PRNG key (as raw key data, so checkpoints store plain arrays), the balance control's
smoothed D accuracy and, when LeCam regularisation is on, its two anchors (None otherwise: a field that is None
holds no arrays, so runs without it have the same checkpoints as before it existed). Every key a run uses is
derived from the config's seed by `fold_in`, by purpose and then by step: never reused.
"""
from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from jaxgan import models
from jaxgan.config import Config

# Purposes of the keys derived from the seed. Each is folded into the root key exactly once.
KEY_INIT_G, KEY_INIT_D, KEY_TRAIN, KEY_DATA = 0, 1, 2, 3
BALANCE_START = 0.75  # D's smoothed accuracy on fakes starts in the middle of a typical band


@flax.struct.dataclass
class NetState:
    """One network's training state."""

    params: Any
    stats: Any  # the non-"params" collections: {"batch_stats": ...}, {"spectral": ...} or {}
    opt_state: Any  # optax state of `params`

    @property
    def variables(self) -> dict:
        """What `module.apply` takes: {"params": ..., **stats}."""
        return {"params": self.params, **self.stats}


@flax.struct.dataclass
class EMAState:
    """The exponential moving average of G's parameters and statistics: the generator that samples."""

    params: Any
    stats: Any

    @property
    def variables(self) -> dict:
        """What `module.apply` takes: {"params": ..., **stats}."""
        return {"params": self.params, **self.stats}


@flax.struct.dataclass
class GANState:
    """Everything a run trains and carries from step to step."""

    step: jax.Array  # int32: training steps completed
    g: NetState
    d: NetState
    ema: EMAState
    rng: jax.Array  # uint32 key data of the training key; step s uses fold_in(key, s)
    d_fake_acc: jax.Array  # float32: smoothed accuracy of D on generated images (balance control)
    lecam: jax.Array | None = None  # float32 (2,): moving averages of D's mean logit on reals, fakes; None: off

    @property
    def key(self) -> jax.Array:
        """The training key (typed), from the raw key data the state stores."""
        return jax.random.wrap_key_data(self.rng)


def root_key(cfg: Config, purpose: int) -> jax.Array:
    """The key of one purpose (KEY_INIT_G, KEY_INIT_D, KEY_TRAIN, KEY_DATA) of a run.

    Args:
      cfg: the run's config (its seed).
      purpose: one of the KEY_* constants of this module.

    Returns:
      `fold_in(key(seed), purpose)`.
    """
    return jax.random.fold_in(jax.random.key(cfg.seed), purpose)


def optimizers(cfg: Config) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
    """G's and D's optimizers: Adam with the config's learning rates and betas.

    Args:
      cfg: the run's config.

    Returns:
      (g_tx, d_tx).
    """
    g_tx = optax.adam(cfg.lr_g, b1=cfg.beta1, b2=cfg.beta2)
    d_tx = optax.adam(cfg.lr_d, b1=cfg.beta1, b2=cfg.beta2)
    return g_tx, d_tx


def learning_rate_scale(cfg: Config, step: jax.Array) -> jax.Array:
    """What both learning rates are multiplied by at `step`: 1, then a linear fall to 0 (`lr_decay_*`).

    Applied to Adam's updates in the step, as a function of the run's step rather than of a count inside the
    optimizer state: the schedule goes on across slices and `--init-from`, and checkpoints keep their structure
    whether it is on or not (for Adam, scaling its updates is scaling its learning rate).

    Args:
      cfg: the run's config.
      step: the step (may be traced).

    Returns:
      float32 scalar in [0, 1].

    Example:
      >>> cfg = Config(lr_decay_start=100, lr_decay_steps=50)
      >>> [float(learning_rate_scale(cfg, s)) for s in (0, 100, 125, 150, 200)]
      [1.0, 1.0, 0.5, 0.0, 0.0]
    """
    if not cfg.lr_decay_steps:
        return jnp.ones((), jnp.float32)
    return jnp.asarray(optax.linear_schedule(1.0, 0.0, cfg.lr_decay_steps, cfg.lr_decay_start)(step), jnp.float32)


def _split(variables) -> tuple[Any, Any]:
    variables = dict(variables)
    params = variables.pop("params")
    return params, variables


def create(cfg: Config) -> GANState:
    """A fresh state; the same config (seed included) always gives bit-identical arrays.

    Compiled as one program: run op by op, initialising the models took 6-13 s of a run's start on 2 CPU cores
    (hundreds of small dispatches and compiles); compiled, it is one executable the compilation cache keeps. On
    CPU that program is compiled without XLA's backend optimisations, which it runs once and does not need: 0.8-3.4
    s instead of 5.7-11.2 s for the configs measured (benchmarks/RESULTS.md, *Start-up*). Its arrays may then
    differ from an optimised compile's by one unit in the last place in a few percent of the weights (dcgan: 2-5%
    per layer): the same config still gives the same state on a machine, as before, but a fresh run of an older
    jaxgan started from different last bits.

    Args:
      cfg: the run's config.

    Returns:
      The `GANState` at step 0.
    """
    return (_create_unoptimised if jax.default_backend() == "cpu" else _create_compiled)(cfg)


def _create(cfg: Config) -> GANState:
    g, d = models.build(cfg)
    z = jnp.zeros((2, cfg.z_dim), jnp.float32)
    y = jnp.zeros((2,), jnp.int32)
    x = jnp.zeros((2, 32, 32, 3), jnp.float32)
    g_params, g_stats = _split(g.init(root_key(cfg, KEY_INIT_G), z, y, train=False))
    d_params, d_stats = _split(d.init(root_key(cfg, KEY_INIT_D), x, y, train=False))
    g_tx, d_tx = optimizers(cfg)
    return GANState(
        step=jnp.zeros((), jnp.int32),
        g=NetState(g_params, g_stats, g_tx.init(g_params)),
        d=NetState(d_params, d_stats, d_tx.init(d_params)),
        # Own buffers, not aliases of G's: the step donates the state and each buffer may be donated only once.
        ema=EMAState(jax.tree.map(jnp.copy, g_params), jax.tree.map(jnp.copy, g_stats)),
        rng=jax.random.key_data(root_key(cfg, KEY_TRAIN)),
        d_fake_acc=jnp.full((), BALANCE_START, jnp.float32),
        lecam=jnp.zeros((2,), jnp.float32) if cfg.lecam_weight else None,
    )


_create_compiled = jax.jit(_create, static_argnums=0)
# Asked of XLA:CPU only (measured there); GPU and TPU compile init as they always did.
_create_unoptimised = jax.jit(_create, static_argnums=0, compiler_options={"xla_backend_optimization_level": 0})


def abstract(cfg: Config) -> GANState:
    """Shapes and dtypes of `create(cfg)` without computing it (the restore target for checkpoints).

    Args:
      cfg: the run's config.

    Returns:
      A `GANState` of `jax.ShapeDtypeStruct` leaves.
    """
    return jax.eval_shape(lambda: _create(cfg))
