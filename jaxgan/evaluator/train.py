"""Training the evaluator: the CIFAR-10 classifier whose features jaxgan's FID-C, KID-C and precision/recall use.

    jaxgan evaluator train --out jaxgan/evaluator/cifar10_evaluator.msgpack      # the shipped weights
    python -m jaxgan.evaluator.train --out PATH                                  # the same

Trained on the CIFAR-10 train split only; the test split is only measured, once, at the end. The recipe is the
one-cycle SGD schedule of the fast CIFAR-10 trainers (Page's ResNet-9, airbench): Nesterov momentum, a linear
warm-up then a linear decay to zero, label smoothing, weight decay, random flips and 2-pixel translations.
Everything is drawn from `fold_in(key(seed), step)`, so one seed gives one set of weights on one platform.
"""
from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan.evaluator.judge import WIDTHS as JUDGE_WIDTHS
from jaxgan.evaluator.network import NETWORKS


@dataclasses.dataclass(frozen=True)
class Recipe:
    # Chosen by a sweep (epochs 6-12, peak lr 0.2-1.6, widths (32|64, 128, 256)) for >= 90% test accuracy at the
    # least CPU time; see benchmarks/RESULTS.md.
    epochs: int = 12
    batch_size: int = 512
    peak_lr: float = 0.8
    warmup_epochs: float = 2.0
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    translate: int = 2
    seed: int = 0
    widths: tuple[int, ...] = (32, 128, 256)
    stem_width: int = 32
    network: str = "evaluator"  # a name in jaxgan.evaluator.NETWORKS


# The judge's recipe: the same schedule, shorter, with its own seed, so that it trains in about 15 minutes on 2
# CPU cores (its test accuracy is recorded in its weight file).
JUDGE_RECIPE = Recipe(epochs=8, peak_lr=0.4, label_smoothing=0.1, seed=1, widths=JUDGE_WIDTHS, stem_width=16,
                      network="judge")


def augment(key, images, pad: int = 2):
    """Random horizontal flip and translation by up to `pad` pixels (reflect padding), per image, on device."""
    n = images.shape[0]
    k_flip, k_shift = jax.random.split(key)
    flip = jax.random.bernoulli(k_flip, 0.5, (n,))
    images = jnp.where(flip[:, None, None, None], images[:, :, ::-1], images)
    padded = jnp.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    shifts = jax.random.randint(k_shift, (n, 2), 0, 2 * pad + 1)
    return jax.vmap(lambda im, s: jax.lax.dynamic_slice(im, (s[0], s[1], 0), (32, 32, 3)))(padded, shifts)


def to_input(images_uint8):
    """The evaluator's input: uint8 [0, 255] -> float32 [-1, 1] (the generators' output range)."""
    return images_uint8.astype(jnp.float32) / 127.5 - 1.0


def make_step(net, tx, recipe: Recipe):
    def step(variables, opt_state, images, labels, key):
        x = to_input(augment(key, images, recipe.translate))

        def loss_fn(params):
            (_, logits), new_state = net.apply({"params": params, "batch_stats": variables["batch_stats"]}, x,
                                               train=True, mutable=["batch_stats"])
            targets = optax.smooth_labels(jax.nn.one_hot(labels, net.num_classes), recipe.label_smoothing)
            loss = optax.softmax_cross_entropy(logits, targets).mean()
            return loss, (new_state["batch_stats"], jnp.mean(jnp.argmax(logits, -1) == labels))

        (loss, (stats, acc)), grads = jax.value_and_grad(loss_fn, has_aux=True)(variables["params"])
        updates, opt_state = tx.update(grads, opt_state, variables["params"])
        params = optax.apply_updates(variables["params"], updates)
        return {"params": params, "batch_stats": stats}, opt_state, {"loss": loss, "accuracy": acc}

    return jax.jit(step, donate_argnums=(0, 1))


@functools.partial(jax.jit, static_argnums=0)
def _predict(net, variables, images):
    return net.apply(variables, to_input(images), train=False)


# `benchmarks/evaluator_batch.py` on one core of this project's 2-core CPU (5000 images): 693 images/s in batches of
# 100, 609 in 250, 540 in 1000, the outputs bit-identical; small batches also pad little when few images are read.
PREDICT_BATCH = 100


def predict(net, variables, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """(features, logits) of uint8 images, in batches of a fixed size (the last one padded, so one compile)."""
    feats, logits = [], []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        padded = np.concatenate([chunk, np.zeros((batch_size - len(chunk),) + chunk.shape[1:], chunk.dtype)])
        f, l = _predict(net, variables, padded)
        feats.append(np.asarray(f)[:len(chunk)])
        logits.append(np.asarray(l)[:len(chunk)])
    return np.concatenate(feats), np.concatenate(logits)


def train_evaluator(train_images, train_labels, recipe: Recipe = Recipe(), log=None):
    """Trains from scratch; returns (net, variables, seconds spent training). `log` gets a line per epoch."""
    log = log or functools.partial(print, flush=True)
    net = NETWORKS[recipe.network](widths=recipe.widths, stem_width=recipe.stem_width)
    root = jax.random.key(recipe.seed)
    variables = net.init(jax.random.fold_in(root, 0), jnp.zeros((2, 32, 32, 3)), train=False)
    steps_per_epoch = len(train_images) // recipe.batch_size
    total = recipe.epochs * steps_per_epoch
    warmup = int(recipe.warmup_epochs * steps_per_epoch)
    schedule = optax.join_schedules([optax.linear_schedule(0.0, recipe.peak_lr, warmup),
                                     optax.linear_schedule(recipe.peak_lr, 0.0, total - warmup)], [warmup])
    decay_mask = jax.tree_util.tree_map_with_path(lambda path, _: path[-1].key == "kernel", variables["params"])
    tx = optax.chain(optax.add_decayed_weights(recipe.weight_decay, mask=decay_mask),
                     optax.sgd(schedule, momentum=0.9, nesterov=True))
    opt_state = tx.init(variables["params"])
    step = make_step(net, tx, recipe)
    images, labels = jax.device_put(train_images), jax.device_put(np.asarray(train_labels, np.int32))
    data_key, aug_key = jax.random.fold_in(root, 1), jax.random.fold_in(root, 2)
    permute = jax.jit(lambda epoch: jax.random.permutation(jax.random.fold_in(data_key, epoch), len(train_images)))
    start = time.perf_counter()
    for epoch in range(recipe.epochs):
        perm = permute(epoch)
        for i in range(steps_per_epoch):
            idx = perm[i * recipe.batch_size:(i + 1) * recipe.batch_size]
            n = epoch * steps_per_epoch + i
            variables, opt_state, metrics = step(variables, opt_state, images[idx], labels[idx],
                                                 jax.random.fold_in(aug_key, n))
        metrics = jax.device_get(metrics)  # once an epoch: the loop never waits on the device otherwise
        log(f"epoch {epoch + 1}/{recipe.epochs}: loss {metrics['loss']:.3f}, batch accuracy "
            f"{metrics['accuracy']:.3f}, {time.perf_counter() - start:.0f} s")
    jax.block_until_ready(variables)
    return net, variables, time.perf_counter() - start


def accuracy(net, variables, images, labels) -> float:
    _, logits = predict(net, variables, images)
    return float(np.mean(np.argmax(logits, -1) == np.asarray(labels)))
