"""The pure, jitted, data-parallel GAN train step `(state, batch) -> (state, metrics)`, built from small pure parts.

    train_step = jaxgan.step.make_train_step(cfg, mesh)
    state, metrics = train_step(state, batch)      # batch from data.Batches.get(step)

One step, written per device (pmap semantics, see parallel.py):
1. z for every D update is drawn from `fold_in(state key, step)`, for the whole global batch, so the images a step
   sees do not depend on how many devices share it.
2. The generator runs once on the last z with its VJP kept. D updates `n_dis` times (`d_update`, each on its own
   real batch), the generated images wrapped in `stop_gradient`: D's loss cannot reach G. Earlier D updates draw
   their own fakes.
3. G updates once (`g_update`) through the *updated* D, whose parameters and statistics are wrapped in
   `stop_gradient`: G's loss cannot change D. The gradient flows back into G through the VJP kept in 2 (the
   PyTorch DCGAN recipe: one generator forward serves both updates).
4. The EMA generator follows G (`ema_update`).
With `spatial_mix`, the real batch is CutMix-ed and every label is a per-cell class map (`classmap`), the fakes'
maps drawn by the same law. With `lecam_weight`, D's loss adds the LeCam penalty and the anchors it uses follow
every D update (in the state); with `pre_tanh_weight`, G's loss adds the saturation penalty of its output's
pre-tanh values (kept from the same forward pass).
Gradients and batch norm statistics are averaged over the device axis. The coursework's tips are options:
`pretrain_d_steps` (D alone while G is held fixed) and `balance` (skip D's updates when it wins too easily, add one
when it loses), read from D's smoothed accuracy on fakes; what the control did is in the metrics.

A new training trick is a new pure function of (`Networks`, network states, arrays) and one line in
`per_device_step`.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import chex
import jax
import jax.numpy as jnp
import optax

from jaxgan import augment, classmap, data, losses, models, parallel
from jaxgan.config import Config
from jaxgan.errors import UserError
from jaxgan.state import EMAState, GANState, NetState, learning_rate_scale, optimizers

AXIS = parallel.AXIS
# Purposes of the keys folded from a step's key.
KEY_Z, KEY_Y, KEY_DEVICE, KEY_AUGMENT, KEY_MIX = 0, 1, 2, 3, 4
# Purposes folded into the augmentation key: per image of the global batch, for each place images are augmented.
AUG_FLIP, AUG_D_REAL, AUG_D_FAKE, AUG_G_FAKE = 0, 1, 2, 3
BALANCE_SMOOTHING = 0.9
EMA_WARMUP = 10  # EMA decay ramps as (1 + n) / (EMA_WARMUP + n) so early samples are not pinned to the init
Metrics = dict[str, jax.Array]


def _cast_floats(tree, dtype):
    return jax.tree.map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)


def _cast_like(tree, like):
    """`tree` in the dtypes of `like`: statistics updated in the compute dtype go back to the state's."""
    return jax.tree.map(lambda a, b: a.astype(b.dtype), tree, like)


def _select(pred, on_true, on_false):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


@dataclasses.dataclass(frozen=True)
class Networks:
    """What the step's parts apply: the config, the two modules (averaging over the device axis) and optimizers."""

    cfg: Config
    g_model: Any
    d_model: Any
    g_tx: optax.GradientTransformation
    d_tx: optax.GradientTransformation

    @classmethod
    def build(cls, cfg: Config, axis_name: str | None = AXIS) -> "Networks":
        """The networks and optimizers of `cfg`.

        Args:
          cfg: the run's config.
          axis_name: the device axis batch norm averages over (None outside `shard_map`).

        Returns:
          A `Networks`.
        """
        return cls(cfg, *models.build(cfg, axis_name=axis_name), *optimizers(cfg))

    @property
    def compute_dtype(self):
        """The dtype G and D compute in (`cfg.compute_dtype`)."""
        return jnp.dtype(self.cfg.compute_dtype)

    @property
    def augmentation(self) -> tuple[str, ...]:
        """The configured transforms (`augment.parse(cfg.augment)`)."""
        return augment.parse(self.cfg.augment)

    @property
    def seen_augmentation(self) -> tuple[str, ...]:
        """The transforms applied to every image D sees (all configured ones but "flip", which is for reals)."""
        return tuple(n for n in self.augmentation if n != "flip")

    @property
    def mixed(self) -> bool:
        """Whether they compute in another dtype than their float32 parameters."""
        return self.compute_dtype != jnp.float32


def generate(nets: Networks, params, stats, z: jax.Array, y: jax.Array,
             saturation: bool = False) -> tuple[Any, Any]:
    """G in training mode.

    Args:
      nets: the networks.
      params: G's parameters (float32; cast to the compute dtype on use, so their gradients come back float32).
      stats: G's statistics.
      z: latents (N, z_dim).
      y: class labels (N,) (ignored by unconditional models).
      saturation: also return `losses.saturation_penalty` of the output's pre-tanh values (the generator must sow
        them: `models.spec.PRE_TANH`).

    Returns:
      (images float32 (N, 32, 32, 3) in [-1, 1], G's updated statistics in their stored dtypes); with `saturation`,
      ((images, the penalty, a float32 scalar), the statistics).

    Raises:
      UserError: `saturation` asked of a generator that sows no pre-tanh values (at trace time).
    """
    if nets.mixed:
        params, z = _cast_floats(params, nets.compute_dtype), z.astype(nets.compute_dtype)
    collections = list(stats) + ([models.PRE_TANH] if saturation else [])
    fake, new = nets.g_model.apply({"params": params, **stats}, z, y if nets.cfg.num_classes else None, train=True,
                                   mutable=collections)
    if saturation:
        if not new.get(models.PRE_TANH):
            raise UserError(f"pre_tanh_weight: the {nets.cfg.model} generator sows no pre-tanh values (make its "
                            f"output `self.tanh_output(u)`, jaxgan.models.spec)")
        penalty = losses.saturation_penalty(new[models.PRE_TANH]["out"][0].astype(jnp.float32))
        new = {k: v for k, v in new.items() if k != models.PRE_TANH}
    if nets.mixed:  # statistics keep their dtype (the state's structure never changes); images go on as float32
        fake, new = fake.astype(jnp.float32), _cast_like(new, stats)
    return ((fake, penalty) if saturation else fake), new


def discriminate(nets: Networks, params, stats, x: jax.Array, y: jax.Array, key: jax.Array,
                 class_scores: bool = False) -> tuple[Any, Any]:
    """D in training mode.

    Args:
      nets: the networks.
      params: D's parameters.
      stats: D's statistics.
      x: images (N, 32, 32, 3) in [-1, 1].
      y: class labels (N,) (ignored by unconditional models).
      key: the dropout key of this evaluation of D.
      class_scores: also return every class's projection term (the discriminator must sow them:
        `models.spec.CLASS_SCORES`).

    Returns:
      (logits float32 (N,), D's updated statistics); with `class_scores`, ((logits, scores float32 (N, C)), the
      statistics).

    Raises:
      UserError: `class_scores` asked of a discriminator that sows none (at trace time).
    """
    if nets.mixed:
        params, x = _cast_floats(params, nets.compute_dtype), x.astype(nets.compute_dtype)
    collections = list(stats) + ([models.CLASS_SCORES] if class_scores else [])
    logits, new = nets.d_model.apply({"params": params, **stats}, x, y if nets.cfg.num_classes else None,
                                     train=True, mutable=collections, rngs={"dropout": key})
    if class_scores:
        if not new.get(models.CLASS_SCORES):
            raise UserError(f"class_weight: the {nets.cfg.model} discriminator sows no class scores (end it in "
                            f"`dcgan.logit_head(..., sow_into=self)`, jaxgan.models.spec)")
        scores = new[models.CLASS_SCORES]["out"][0].astype(jnp.float32)
        new = {k: v for k, v in new.items() if k != models.CLASS_SCORES}
    if nets.mixed:  # losses in float32
        logits, new = logits.astype(jnp.float32), _cast_like(new, stats)
    return ((logits, scores) if class_scores else logits), new


def d_update(nets: Networks, d: NetState, real: jax.Array, y_real: jax.Array, fake: jax.Array, y_fake: jax.Array,
             key: jax.Array, anchors: jax.Array | None = None, lr_scale: jax.Array | None = None
             ) -> tuple[NetState, jax.Array | None, Metrics]:
    """One discriminator update on (real, fake) with G held fixed.

    Args:
      nets: the networks.
      d: D's state.
      real: real images (N, 32, 32, 3) in [-1, 1].
      y_real: their labels (N,), or class maps (N, GRID, GRID, C) with `spatial_mix`.
      fake: generated images, already wrapped in `stop_gradient`.
      y_fake: their labels (N,), or class maps.
      key: this update's key; fold_in(key, 0..4) serve its evaluations of D and the penalties, once each.
      anchors: the LeCam anchors (`GANState.lecam`) when `lecam_weight` > 0, else None.
      lr_scale: the learning-rate factor of this step (`state.learning_rate_scale`); None: 1.

    Returns:
      (D's new state, the anchors moved by this update's logits (None when off), {"d_loss", "d_real", "d_fake",
      "d_fake_acc"}, with LeCam "lecam" and with the class loss "d_class" (each before its weight), averaged over
      devices).
    """
    cfg = nets.cfg

    def loss_fn(params):
        # Real and fake images are separate batches for D's batch norm (ganhacks), run one after the other.
        extra = {}
        real_logits, stats = discriminate(nets, params, d.stats, real, y_real, jax.random.fold_in(key, 0),
                                          class_scores=bool(cfg.class_weight))
        if cfg.class_weight:  # D learns to classify real images only: fakes' labels are what G aims at
            real_logits, scores = real_logits
            extra["d_class"] = losses.class_loss(scores, classmap.image_labels(y_real))
        fake_logits, stats = discriminate(nets, params, stats, fake, y_fake, jax.random.fold_in(key, 1))
        loss = losses.discriminator_loss(cfg.loss, real_logits, fake_logits)
        if cfg.class_weight:
            loss += cfg.class_weight * extra["d_class"]
        logits_fn = lambda k: lambda x: discriminate(nets, params, d.stats, x, y_real, jax.random.fold_in(key, k))[0]
        if cfg.r1_gamma:
            loss += 0.5 * cfg.r1_gamma * losses.r1_penalty(logits_fn(2), real)
        if cfg.gp_weight:
            loss += cfg.gp_weight * losses.gradient_penalty(logits_fn(3), real, fake, jax.random.fold_in(key, 4))
        if cfg.lecam_weight:
            extra["lecam"] = losses.lecam_penalty(real_logits, fake_logits, anchors)
            loss += cfg.lecam_weight * extra["lecam"]
        return loss, (stats, real_logits, fake_logits, extra)

    (loss, (stats, real_logits, fake_logits, extra)), grads = jax.value_and_grad(loss_fn, has_aux=True)(d.params)
    grads = parallel.mean(grads)
    updates, opt_state = nets.d_tx.update(grads, d.opt_state, d.params)
    if lr_scale is not None:
        updates = optax.tree_utils.tree_scale(lr_scale, updates)
    metrics = parallel.mean({
        "d_loss": loss,
        "d_real": jnp.mean(models.probability(real_logits)),
        "d_fake": jnp.mean(models.probability(fake_logits)),
        "d_fake_acc": jnp.mean((fake_logits < 0).astype(jnp.float32)),
        **extra,
    })
    if cfg.lecam_weight:  # the anchors are replicated, so the mean over devices moves them by the global means
        anchors = parallel.mean(losses.lecam_anchors(anchors, real_logits, fake_logits, cfg.lecam_decay))
    return NetState(optax.apply_updates(d.params, updates), stats, opt_state), anchors, metrics


def g_update(nets: Networks, g: NetState, g_vjp: Callable, fake: jax.Array, y_fake: jax.Array, d: NetState,
             key: jax.Array, transform: Callable[[jax.Array], jax.Array] | None = None,
             lr_scale: jax.Array | None = None, saturation: jax.Array | None = None) -> tuple[NetState, Metrics]:
    """One generator update through D, with D held fixed by `stop_gradient`.

    Args:
      nets: the networks.
      g: G's state (its `stats` already those of the forward pass that made `fake`).
      g_vjp: the VJP of that forward pass with respect to G's parameters (of (images, penalty) with `saturation`).
      fake: the images it made (N, 32, 32, 3).
      y_fake: their labels (N,), or class maps.
      d: D's state after this step's D updates.
      key: the dropout key of this evaluation of D.
      transform: a differentiable map applied to the images before D sees them (augmentation); None: none.
      lr_scale: the learning-rate factor of this step (`state.learning_rate_scale`); None: 1.
      saturation: the forward pass's saturation penalty (`generate(..., saturation=True)`), added to G's loss with
        weight `pre_tanh_weight`; None: off.

    Returns:
      (G's new state, {"g_loss", "g_fake"}, with the penalty "pre_tanh" and with the class loss "g_class" (each
      before its weight), averaged over devices).
    """
    fixed_params, fixed_stats = jax.lax.stop_gradient((d.params, d.stats))

    def loss_fn(fake):
        seen = fake if transform is None else transform(fake)
        weight, extra = nets.cfg.class_weight, {}
        logits, _ = discriminate(nets, fixed_params, fixed_stats, seen, y_fake, key, class_scores=bool(weight))
        if weight:  # G aims its images at the classes asked for, as D learned them from real images
            logits, scores = logits
            extra["g_class"] = losses.class_loss(scores, classmap.image_labels(y_fake))
        loss = losses.generator_loss(nets.cfg.loss, logits)
        if weight:
            loss += weight * extra["g_class"]
        return loss, (logits, extra)

    (loss, (fake_logits, extra)), fake_grad = jax.value_and_grad(loss_fn, has_aux=True)(fake)
    if saturation is not None:  # d(loss + w * penalty): the penalty's cotangent is its weight
        fake_grad = (fake_grad, jnp.asarray(nets.cfg.pre_tanh_weight, saturation.dtype))
        extra["pre_tanh"] = saturation
    (grads,) = g_vjp(fake_grad)
    grads = parallel.mean(grads)
    updates, opt_state = nets.g_tx.update(grads, g.opt_state, g.params)
    if lr_scale is not None:
        updates = optax.tree_utils.tree_scale(lr_scale, updates)
    metrics = parallel.mean({"g_loss": loss, "g_fake": jnp.mean(models.probability(fake_logits)), **extra})
    return NetState(optax.apply_updates(g.params, updates), g.stats, opt_state), metrics


def ema_update(ema: EMAState, g: NetState, g_updates_before: jax.Array, decay: float) -> EMAState:
    """The EMA generator one step towards G, with the decay ramped up over the first updates.

    Args:
      ema: the EMA generator.
      g: G after its update.
      g_updates_before: how many G updates came before this one.
      decay: the config's `ema_decay` (the ramp's ceiling).

    Returns:
      The new `EMAState`.
    """
    n = g_updates_before
    rate = jnp.minimum(decay, (1.0 + n) / (EMA_WARMUP + n))
    params, stats = optax.incremental_update((g.params, g.stats), (ema.params, ema.stats), 1.0 - rate)
    return EMAState(params, stats)


def augment_seen(names: tuple[str, ...], aug_key: jax.Array, purpose: int, slot, x: jax.Array) -> jax.Array:
    """This device's shard of a batch, augmented with one key per image of the global batch.

    Args:
      names: the transforms (`augment.parse`); empty: `x` is returned as it is.
      aug_key: the step's augmentation key.
      purpose: where the images are augmented (AUG_FLIP, AUG_D_REAL, AUG_D_FAKE, AUG_G_FAKE).
      slot: which D update of the step (may be traced).
      x: images (b, 32, 32, 3), this device's shard.

    Returns:
      The augmented images; image j of device k uses fold_in(fold_in(fold_in(aug_key, purpose), slot), k * b + j),
      so the result does not depend on how many devices share the batch.
    """
    if not names:
        return x
    b = x.shape[0]
    key = jax.random.fold_in(jax.random.fold_in(aug_key, purpose), slot)
    return augment.apply(names, x, augment.image_keys(key, jax.lax.axis_index(AXIS) * b, b))


def d_updates_this_step(cfg: Config, d_fake_acc: jax.Array, pretraining: jax.Array) -> jax.Array:
    """How many D updates the step makes: `n_dis`, or with `balance` 0 / n_dis + 1 when D wins / loses too easily.

    Args:
      cfg: the run's config.
      d_fake_acc: D's smoothed accuracy on fakes.
      pretraining: whether the step is one of the `pretrain_d_steps` (the balance control waits for G).

    Returns:
      int32 scalar.
    """
    if not cfg.balance:
        return jnp.int32(cfg.n_dis)
    n = jnp.where(d_fake_acc > cfg.balance_high, 0,
                  jnp.where(d_fake_acc < cfg.balance_low, cfg.n_dis + 1, cfg.n_dis))
    return jnp.where(pretraining, cfg.n_dis, n).astype(jnp.int32)


def d_phase(nets: Networks, state: GANState, real, labels, z, y_fake, fake_last, n_updates, dev_key, aug_key,
            lr_scale: jax.Array | None = None) -> tuple[NetState, Metrics]:
    """All of a step's D updates (`n_dis`, plus the balance control's extra one), G held fixed.

    Args:
      nets: the networks.
      state: the state at the start of the step.
      real: real images (n_dis, b, 32, 32, 3) in [-1, 1].
      labels: their labels (n_dis, b).
      z: latents (n_dis, b, z_dim).
      y_fake: the fakes' labels (n_dis, b).
      fake_last: G's images of z[-1] (the forward pass whose VJP G's update reuses).
      n_updates: how many of the slots take effect (`d_updates_this_step`).
      dev_key: this device's key of the step; slot i uses fold_in(dev_key, i).
      aug_key: the step's augmentation key (DiffAugment on every image D sees, when configured).
      lr_scale: the step's learning-rate factor (`state.learning_rate_scale`); None: 1.

    Returns:
      (D's new state, the LeCam anchors after them (None when off), the last update's metrics).
    """
    cfg = nets.cfg
    seen = nets.seen_augmentation

    def slot(carry, i, real_i, y_i, fake_i, y_fake_i):  # carry: (D's state, LeCam anchors or None)
        real_i = augment_seen(seen, aug_key, AUG_D_REAL, i, real_i)
        fake_i = augment_seen(seen, aug_key, AUG_D_FAKE, i, jax.lax.stop_gradient(fake_i))
        d, anchors, m = d_update(nets, carry[0], real_i, y_i, fake_i, y_fake_i, jax.random.fold_in(dev_key, i),
                                 carry[1], lr_scale)
        return _select(i < n_updates, (d, anchors), carry), m

    def fresh_slot(carry, i):  # the first n_dis - 1 updates generate their own fakes, G fixed
        fake = generate(nets, jax.lax.stop_gradient(state.g.params), state.g.stats, z[i], y_fake[i])[0]
        return slot(carry, i, real[i], labels[i], fake, y_fake[i])

    carry = (state.d, state.lecam)
    if cfg.n_dis > 1:
        carry, _ = jax.lax.scan(fresh_slot, carry, jnp.arange(cfg.n_dis - 1))
    carry, metrics = slot(carry, cfg.n_dis - 1, real[-1], labels[-1], fake_last, y_fake[-1])
    if cfg.balance:  # the balance control's extra update, on the last real batch
        carry = jax.lax.cond(n_updates > cfg.n_dis,
                             lambda c: slot(c, cfg.n_dis, real[-1], labels[-1], fake_last, y_fake[-1])[0],
                             lambda c: c, carry)
    return *carry, metrics


def per_device_step(nets: Networks, phases: tuple[str, ...], state: GANState, images, labels, z, y_fake, key,
                    aug_key) -> tuple[GANState, Metrics]:
    """One step on one device's shard of the batch (pmap semantics: cross-device means are explicit).

    Args:
      nets: the networks.
      phases: ("d", "g"), or one of them to hold the other network still (tests).
      state: the replicated state.
      images: uint8 real images (n_dis, b, 32, 32, 3), this device's shard.
      labels: their labels, int32 (n_dis, b), or class maps (n_dis, b, GRID, GRID, C) with `spatial_mix`.
      z: latents (n_dis, b, z_dim) of this shard.
      y_fake: the fakes' labels (n_dis, b), or class maps like `labels`.
      key: the step's device key base (fold_in of the step key); folded with the device index here.
      aug_key: the step's augmentation key (replicated: images are keyed by their global index).

    Returns:
      (the new state, metrics averaged over devices).
    """
    cfg = nets.cfg
    real = data.to_float(images)
    if "flip" in nets.augmentation:
        real = jnp.stack([augment_seen(("flip",), aug_key, AUG_FLIP, i, real[i]) for i in range(cfg.n_dis)])
        if labels.ndim > 2:  # class maps mirror with their images (same keys, same coin)
            labels = jnp.stack([augment_seen(("flip",), aug_key, AUG_FLIP, i, labels[i]) for i in range(cfg.n_dis)])
    dev_key = jax.random.fold_in(key, jax.lax.axis_index(AXIS))  # dropout and penalties differ per device
    pretraining = state.step < cfg.pretrain_d_steps
    n_updates = d_updates_this_step(cfg, state.d_fake_acc, pretraining)
    n_slots = cfg.n_dis + (1 if cfg.balance else 0)  # D slots use fold_in(dev_key, 0..n_slots-1); G the next
    # None with constant rates leaves the updates untouched: such runs stay bit-identical to those before the
    # schedule (a traced factor of 1 lets XLA round Adam's update differently in the last place).
    lr_scale = learning_rate_scale(cfg, state.step) if cfg.lr_decay_steps else None

    # The generator's forward pass on the last z, kept with its VJP for the G update.
    saturating = bool(cfg.pre_tanh_weight)
    g_forward = lambda params: generate(nets, params, state.g.stats, z[-1], y_fake[-1], saturating)
    fake_last, g_vjp, g_stats = jax.vjp(g_forward, state.g.params, has_aux=True)
    fake_last, saturation = fake_last if saturating else (fake_last, None)

    d, anchors, metrics, d_fake_acc = state.d, state.lecam, {}, state.d_fake_acc
    if "d" in phases:
        d, anchors, metrics = d_phase(nets, state, real, labels, z, y_fake, fake_last, n_updates, dev_key, aug_key,
                                      lr_scale)
        d_fake_acc = BALANCE_SMOOTHING * d_fake_acc + (1 - BALANCE_SMOOTHING) * metrics["d_fake_acc"]
    g, ema = state.g, state.ema
    if "g" in phases:
        seen = lambda x: augment_seen(nets.seen_augmentation, aug_key, AUG_G_FAKE, 0, x)
        new_g, g_metrics = g_update(nets, state.g.replace(stats=g_stats), g_vjp, fake_last, y_fake[-1], d,
                                    jax.random.fold_in(dev_key, n_slots), seen, lr_scale, saturation)
        new_ema = ema_update(state.ema, new_g, state.step - cfg.pretrain_d_steps, cfg.ema_decay)
        g, ema = _select(pretraining, (g, ema), (new_g, new_ema))  # pre-training: G and its EMA stay as they were
        metrics.update(g_metrics)
    metrics.update(d_updates=n_updates if "d" in phases else jnp.int32(0), balance_acc=d_fake_acc,
                   pretraining=pretraining.astype(jnp.int32))
    return state.replace(step=state.step + 1, g=g, d=d, ema=ema, d_fake_acc=d_fake_acc, lecam=anchors), metrics


def make_train_step(cfg: Config, mesh, phases: tuple[str, ...] = ("d", "g"), max_traces: int | None = None):
    """The jitted, state-donating step for `cfg` on `mesh`.

    Args:
      cfg: the run's config.
      mesh: the data-parallel mesh (`parallel.make_mesh()`); the batch must split evenly over it.
      phases: may drop "d" or "g" (tests use it to hold one network still).
      max_traces: wrap the step in `chex.assert_max_traces` (tests use it to prove it never retraces).

    Returns:
      `train_step(state, batch) -> (state, metrics)`; `batch` is {"image": uint8 (n_dis, B, 32, 32, 3),
      "label": int32 (n_dis, B)} as `data.Batches.get` gives it. The input state is donated.
    """
    parallel.check_batch_divides(cfg.batch_size, mesh)
    per_device = functools.partial(per_device_step, Networks.build(cfg), tuple(phases))
    sharded = parallel.data_parallel(
        per_device, mesh,
        in_specs=(parallel.REPLICATED, parallel.STEPS_BATCH, parallel.STEPS_BATCH, parallel.STEPS_BATCH,
                  parallel.STEPS_BATCH, parallel.REPLICATED, parallel.REPLICATED),
        out_specs=(parallel.REPLICATED, parallel.REPLICATED))

    def train_step(state: GANState, batch: dict[str, jax.Array]):
        key = jax.random.fold_in(state.key, state.step)
        shape = (cfg.n_dis, cfg.batch_size)
        z = jax.random.normal(jax.random.fold_in(key, KEY_Z), shape + (cfg.z_dim,))
        y_fake = jax.random.randint(jax.random.fold_in(key, KEY_Y), shape, 0, max(cfg.num_classes, 1))
        images, labels = batch["image"], batch["label"]
        if cfg.spatial_mix:  # on the global batch: the same composites on any number of devices
            mix_key = jax.random.fold_in(key, KEY_MIX)
            images, maps = classmap.cutmix(jax.random.fold_in(mix_key, 0), images, labels, cfg.num_classes,
                                           cfg.spatial_mix, cfg.spatial_mix_paste)
            # soft object cells: the fakes are asked for the real maps' cell weights, with their own classes
            weights = classmap.pasted_weights(maps, labels) if cfg.spatial_mix_paste in classmap.SOFT_PASTES else None
            y_fake = classmap.random_maps(jax.random.fold_in(mix_key, 1), y_fake, cfg.num_classes, cfg.spatial_mix,
                                          weights)
            labels = maps
        return sharded(state, images, labels, z, y_fake, jax.random.fold_in(key, KEY_DEVICE),
                       jax.random.fold_in(key, KEY_AUGMENT))

    if max_traces is not None:
        train_step = chex.assert_max_traces(train_step, n=max_traces)
    return jax.jit(train_step, donate_argnums=0)
