"""The pure, jitted, data-parallel GAN train step: `(state, batch) -> (state, metrics)`.

    train_step = jaxgan.step.make_train_step(cfg, mesh)
    state, metrics = train_step(state, batch)      # batch from data.Batches.get(step)

One step, written per device (pmap semantics, see parallel.py):
1. z for every D update is drawn from `fold_in(state key, step)`, for the whole global batch, so the images a step
   sees do not depend on how many devices share it.
2. The generator runs once on the last z with its VJP kept. D updates `n_dis` times (each on its own real batch),
   the generated images wrapped in `stop_gradient`: D's loss cannot reach G. Earlier D updates draw their own fakes.
3. G updates once through the *updated* D, whose parameters and statistics are wrapped in `stop_gradient`: G's
   loss cannot change D. The gradient flows back into G through the VJP kept in 2 (the PyTorch DCGAN recipe:
   one generator forward serves both updates).
4. The EMA generator follows G.
Gradients and batch norm statistics are averaged over the device axis. The coursework's tips are options:
`pretrain_d_steps` (D alone while G is held fixed) and `balance` (skip D's updates when it wins too easily, add one
when it loses), read from D's smoothed accuracy on fakes; what the control did is in the metrics.
"""
from __future__ import annotations


import chex
import jax
import jax.numpy as jnp
import optax

from jaxgan import data, losses, models, parallel
from jaxgan.config import Config
from jaxgan.state import GANState, optimizers

AXIS = parallel.AXIS
# Purposes of the keys folded from a step's key.
KEY_Z, KEY_Y, KEY_DEVICE = 0, 1, 2
BALANCE_SMOOTHING = 0.9
EMA_WARMUP = 10  # EMA decay ramps as (1 + n) / (EMA_WARMUP + n) so early samples are not pinned to the init


def _cast_floats(tree, dtype):
    return jax.tree.map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)


def _cast_like(tree, like):
    """`tree` in the dtypes of `like`: statistics updated in the compute dtype go back to the state's."""
    return jax.tree.map(lambda a, b: a.astype(b.dtype), tree, like)


def _select(pred, on_true, on_false):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def make_train_step(cfg: Config, mesh, phases: tuple[str, ...] = ("d", "g"), max_traces: int | None = None):
    """The jitted step for `cfg` on `mesh`. `phases` may drop "d" or "g" (tests use it to hold one network still);
    `max_traces` wraps the step in `chex.assert_max_traces` (tests use it to prove it never retraces)."""
    parallel.check_batch_divides(cfg.batch_size, mesh)
    g_model, d_model = models.build(cfg, axis_name=AXIS)
    g_tx, d_tx = optimizers(cfg)
    conditional = cfg.num_classes > 0
    n_slots = cfg.n_dis + (1 if cfg.balance else 0)

    compute = jnp.dtype(cfg.compute_dtype)
    mixed = compute != jnp.float32

    def generate(g_params, g_stats, z, y):
        if mixed:  # the float32 parameters are cast on use, so their gradients come back in float32
            g_params, z = _cast_floats(g_params, compute), z.astype(compute)
        fake, new = g_model.apply({"params": g_params, **g_stats}, z, y if conditional else None, train=True,
                                  mutable=list(g_stats))
        if mixed:  # statistics keep their dtype (the state's structure never changes); images go on as float32
            fake, new = fake.astype(jnp.float32), _cast_like(new, g_stats)
        return fake, new

    def d_logits(d_params, d_stats, x, y, key):
        if mixed:
            d_params, x = _cast_floats(d_params, compute), x.astype(compute)
        logits, new = d_model.apply({"params": d_params, **d_stats}, x, y if conditional else None, train=True,
                                    mutable=list(d_stats), rngs={"dropout": key})
        if mixed:  # losses in float32
            logits, new = logits.astype(jnp.float32), _cast_like(new, d_stats)
        return logits, new

    def d_update(d, real, y_real, fake, y_fake, key):
        """One discriminator update on (real, fake); `fake` arrives already wrapped in stop_gradient."""
        d_params, d_stats, d_opt = d

        def loss_fn(params):
            # Real and fake images are separate batches for D's batch norm (ganhacks), run one after the other.
            real_logits, stats = d_logits(params, d_stats, real, y_real, jax.random.fold_in(key, 0))
            fake_logits, stats = d_logits(params, stats, fake, y_fake, jax.random.fold_in(key, 1))
            loss = losses.discriminator_loss(cfg.loss, real_logits, fake_logits)
            # Each evaluation of D gets its own dropout key: fold_in(key, 0..4) are used once each.
            logits_fn = lambda k: lambda x: d_logits(params, d_stats, x, y_real, jax.random.fold_in(key, k))[0]
            if cfg.r1_gamma:
                loss += 0.5 * cfg.r1_gamma * losses.r1_penalty(logits_fn(2), real)
            if cfg.gp_weight:
                loss += cfg.gp_weight * losses.gradient_penalty(logits_fn(3), real, fake, jax.random.fold_in(key, 4))
            return loss, (stats, real_logits, fake_logits)

        (loss, (stats, real_logits, fake_logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(d_params)
        grads = jax.lax.pmean(grads, AXIS)
        updates, d_opt = d_tx.update(grads, d_opt, d_params)
        metrics = jax.lax.pmean({
            "d_loss": loss,
            "d_real": jnp.mean(models.probability(real_logits)),
            "d_fake": jnp.mean(models.probability(fake_logits)),
            "d_fake_acc": jnp.mean((fake_logits < 0).astype(jnp.float32)),
        }, AXIS)
        return (optax.apply_updates(d_params, updates), stats, d_opt), metrics

    def per_device(state: GANState, images, labels, z, y_fake, key):
        real = data.to_float(images)  # (n_dis, b, 32, 32, 3)
        dev_key = jax.random.fold_in(key, jax.lax.axis_index(AXIS))  # dropout and penalties differ per device
        pretraining = state.step < cfg.pretrain_d_steps
        n_updates = jnp.int32(cfg.n_dis)
        if cfg.balance:
            n_updates = jnp.where(state.d_fake_acc > cfg.balance_high, 0,
                                  jnp.where(state.d_fake_acc < cfg.balance_low, cfg.n_dis + 1, cfg.n_dis))
            n_updates = jnp.where(pretraining, cfg.n_dis, n_updates).astype(jnp.int32)

        # The generator's forward pass on the last z, kept with its VJP for the G update.
        g_forward = lambda params: generate(params, state.g_stats, z[-1], y_fake[-1])
        fake_last, g_vjp, g_stats = jax.vjp(g_forward, state.g_params, has_aux=True)

        d = (state.d_params, state.d_stats, state.d_opt_state)
        metrics = {}
        if "d" in phases:
            def slot(d, i, real_i, y_i, fake_i, y_fake_i):
                new, m = d_update(d, real_i, y_i, jax.lax.stop_gradient(fake_i), y_fake_i,
                                  jax.random.fold_in(dev_key, i))
                return _select(i < n_updates, new, d), m

            def fresh_slot(d, i):  # the first n_dis - 1 updates generate their own fakes, G fixed
                fake = generate(jax.lax.stop_gradient(state.g_params), state.g_stats, z[i], y_fake[i])[0]
                return slot(d, i, real[i], labels[i], fake, y_fake[i])

            if cfg.n_dis > 1:
                d, _ = jax.lax.scan(fresh_slot, d, jnp.arange(cfg.n_dis - 1))
            d, metrics = slot(d, cfg.n_dis - 1, real[-1], labels[-1], fake_last, y_fake[-1])
            if n_slots > cfg.n_dis:  # the balance control's extra update, on the last real batch
                d = jax.lax.cond(n_updates > cfg.n_dis,
                                 lambda d: slot(d, cfg.n_dis, real[-1], labels[-1], fake_last, y_fake[-1])[0],
                                 lambda d: d, d)
        d_params, d_stats, d_opt_state = d

        g_params, g_opt_state = state.g_params, state.g_opt_state
        ema_params, ema_stats, new_g_stats = state.ema_params, state.ema_stats, state.g_stats
        if "g" in phases:
            fixed_d_params, fixed_d_stats = jax.lax.stop_gradient((d_params, d_stats))

            def g_loss_fn(fake):  # slots used fold_in(dev_key, 0..n_slots-1); the G update takes the next one
                logits, _ = d_logits(fixed_d_params, fixed_d_stats, fake, y_fake[-1],
                                     jax.random.fold_in(dev_key, n_slots))
                return losses.generator_loss(cfg.loss, logits), logits

            (g_loss, fake_logits), d_fake_grad = jax.value_and_grad(g_loss_fn, has_aux=True)(fake_last)
            (grads,) = g_vjp(d_fake_grad)
            grads = jax.lax.pmean(grads, AXIS)
            updates, new_opt = g_tx.update(grads, g_opt_state, g_params)
            new_params = optax.apply_updates(g_params, updates)
            n_g = state.step - cfg.pretrain_d_steps  # G updates done before this one
            decay = jnp.minimum(cfg.ema_decay, (1.0 + n_g) / (EMA_WARMUP + n_g))
            new_ema = optax.incremental_update((new_params, g_stats), (ema_params, ema_stats), 1.0 - decay)
            # During pre-training G and its EMA stay exactly as they were.
            g_params, g_opt_state, new_g_stats, (ema_params, ema_stats) = _select(
                pretraining, (g_params, g_opt_state, new_g_stats, (ema_params, ema_stats)),
                (new_params, new_opt, g_stats, new_ema))
            metrics.update(jax.lax.pmean({
                "g_loss": g_loss, "g_fake": jnp.mean(models.probability(fake_logits))}, AXIS))

        d_fake_acc = state.d_fake_acc
        if "d" in phases:
            d_fake_acc = BALANCE_SMOOTHING * d_fake_acc + (1 - BALANCE_SMOOTHING) * metrics["d_fake_acc"]
        metrics.update(d_updates=n_updates if "d" in phases else jnp.int32(0),
                       balance_acc=d_fake_acc, pretraining=pretraining.astype(jnp.int32))
        new_state = state.replace(
            step=state.step + 1, g_params=g_params, g_stats=new_g_stats, g_opt_state=g_opt_state,
            d_params=d_params, d_stats=d_stats, d_opt_state=d_opt_state,
            ema_params=ema_params, ema_stats=ema_stats, d_fake_acc=d_fake_acc)
        return new_state, metrics

    sharded = parallel.data_parallel(
        per_device, mesh,
        in_specs=(parallel.REPLICATED, parallel.STEPS_BATCH, parallel.STEPS_BATCH, parallel.STEPS_BATCH,
                  parallel.STEPS_BATCH, parallel.REPLICATED),
        out_specs=(parallel.REPLICATED, parallel.REPLICATED))

    def train_step(state: GANState, batch: dict[str, jax.Array]):
        key = jax.random.fold_in(state.key, state.step)
        shape = (cfg.n_dis, cfg.batch_size)
        z = jax.random.normal(jax.random.fold_in(key, KEY_Z), shape + (cfg.z_dim,))
        y_fake = jax.random.randint(jax.random.fold_in(key, KEY_Y), shape, 0, max(cfg.num_classes, 1))
        return sharded(state, batch["image"], batch["label"], z, y_fake, jax.random.fold_in(key, KEY_DEVICE))

    if max_traces is not None:
        train_step = chex.assert_max_traces(train_step, n=max_traces)
    return jax.jit(train_step, donate_argnums=0)
