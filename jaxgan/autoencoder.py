"""The coursework's original base code, kept as the baseline the GAN is shown beside: an MLP autoencoder.

    python -m jaxgan.experiments.autoencoder_baseline --workdir runs/ae [--data-dir DIR]

Encoder 3072-512-32, decoder 32-512-3072 (ReLU, sigmoid output), L2 reconstruction loss, Adam 1e-3, batch 16,
10 x 1000 steps on CIFAR-10 train. Its Pegasus: decode(0.9 z_horse + 0.1 z_bird) with z = encode(image) of the
official test-set images 13 (a horse) and 160 (a bird). tfds stores the test split in its own order; the official
index is in each record's id (`test_00013`), and that is what picks the two images.

For FID-C the autoencoder needs a way to make new images: its own, decode(0.9 z_a + 0.1 z_b) of random test pairs
(a, b) — the Pegasus recipe applied to any two images. Reconstructions of test images are scored too, as the best
the decoder can do.
"""
from __future__ import annotations

import dataclasses
import json
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan.errors import UserError

PEGASUS_IDS = {"horse": "test_00013", "bird": "test_00160"}  # official CIFAR-10 test indices 13 and 160
MIX = 0.9  # decode(MIX * z_horse + (1 - MIX) * z_bird)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The base code's training: Adam on L2 reconstruction, `rounds` x `steps_per_round` steps (the network's sizes
    are `Autoencoder`'s)."""

    lr: float = 1e-3
    batch_size: int = 16
    rounds: int = 10
    steps_per_round: int = 1000
    seed: int = 0


class Autoencoder(nn.Module):
    """The base code's MLP: 3072-hidden-latent-hidden-3072, ReLU, sigmoid output."""

    hidden: int = 512
    latent: int = 32

    def setup(self):
        self.enc_hidden, self.enc_latent = nn.Dense(self.hidden), nn.Dense(self.latent)
        self.dec_hidden, self.dec_out = nn.Dense(self.hidden), nn.Dense(32 * 32 * 3)

    def encode(self, x):
        return self.enc_latent(nn.relu(self.enc_hidden(x.reshape(x.shape[0], -1))))

    def decode(self, z):
        return nn.sigmoid(self.dec_out(nn.relu(self.dec_hidden(z)))).reshape(z.shape[0], 32, 32, 3)

    def __call__(self, x):
        return self.decode(self.encode(x))


def train(images: np.ndarray, recipe: Recipe = Recipe(), log=print):
    """(model, params, per-round mean losses) after recipe.rounds x recipe.steps_per_round Adam steps."""
    model = Autoencoder()
    key = jax.random.key(recipe.seed)
    params = model.init(jax.random.fold_in(key, 0), jnp.zeros((1, 32, 32, 3)))["params"]
    tx = optax.adam(recipe.lr)
    opt = tx.init(params)
    data = jnp.asarray(images)

    @jax.jit
    def run_round(params, opt, r):
        def step(carry, i):
            params, opt = carry
            idx = jax.random.randint(jax.random.fold_in(jax.random.fold_in(key, 1 + r), i), (recipe.batch_size,), 0,
                                     len(data))
            x = data[idx].astype(jnp.float32) / 255.0
            loss, grads = jax.value_and_grad(lambda p: jnp.mean((model.apply({"params": p}, x) - x) ** 2))(params)
            updates, opt = tx.update(grads, opt, params)
            return (optax.apply_updates(params, updates), opt), loss

        (params, opt), losses = jax.lax.scan(step, (params, opt), jnp.arange(recipe.steps_per_round))
        return params, opt, jnp.mean(losses)

    losses = []
    for r in range(recipe.rounds):
        params, opt, loss = run_round(params, opt, r)
        losses.append(float(loss))
        log(f"round {r + 1}/{recipe.rounds}: mean L2 loss {losses[-1]:.5f}")
    return model, params, losses


def _to_uint8(x):
    return np.asarray(jnp.clip(jnp.round(x * 255.0), 0, 255).astype(jnp.uint8))


def test_images_by_id(ids, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images, labels) of the CIFAR-10 test records with these tfds ids ("test_00013": official index 13)."""
    import tensorflow_datasets as tfds

    from jaxgan import data

    root = data.resolve_data_dir(data_dir)
    try:
        source = tfds.data_source(data.DATASET, split="test", data_dir=None if root is None else str(root),
                                  download=False)
        records = [r for s in range(0, len(source), 2500)
                   for r in source.__getitems__(list(range(s, min(s + 2500, len(source)))))]
    except Exception as e:  # tfds raises many types for missing or damaged files
        raise UserError(f"cannot read the CIFAR-10 test split ({type(e).__name__}); {data.HOW_TO_GET}") from None
    by_id = {(r["id"].decode() if isinstance(r["id"], bytes) else r["id"]): r for r in records}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise UserError(f"CIFAR-10 test split has no record {missing[0]}")
    return (np.stack([np.asarray(by_id[i]["image"], np.uint8) for i in ids]),
            np.array([by_id[i]["label"] for i in ids]))


def pegasus(model, params, horse: np.ndarray, bird: np.ndarray) -> np.ndarray:
    x = jnp.asarray(np.stack([horse, bird]), jnp.float32) / 255.0
    z = model.apply({"params": params}, x, method=Autoencoder.encode)
    return _to_uint8(model.apply({"params": params}, MIX * z[:1] + (1 - MIX) * z[1:], method=Autoencoder.decode))[0]


def mixtures(model, params, images: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """decode(0.9 z_a + 0.1 z_b) for n random pairs (a, b) of `images`: the baseline's way to make new images."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(images), n), rng.integers(0, len(images), n)
    enc = jax.jit(lambda x: model.apply({"params": params}, x.astype(jnp.float32) / 255.0,
                                        method=Autoencoder.encode))
    dec = jax.jit(lambda z: model.apply({"params": params}, z, method=Autoencoder.decode))
    out = [_to_uint8(dec(MIX * enc(images[a[s:s + 1000]]) + (1 - MIX) * enc(images[b[s:s + 1000]])))
           for s in range(0, n, 1000)]
    return np.concatenate(out)


def reconstructions(model, params, images: np.ndarray) -> np.ndarray:
    rec = jax.jit(lambda x: model.apply({"params": params}, x.astype(jnp.float32) / 255.0))
    return np.concatenate([_to_uint8(rec(images[s:s + 1000])) for s in range(0, len(images), 1000)])


def run(workdir, data_dir=None, recipe: Recipe = Recipe(), n_eval: int = 10_000, reference=None, log=print) -> dict:
    """Train, write ae_pegasus.png (+ _x8), ae_pegasus_inputs.png, ae_samples.png and metrics.json (FID-C etc. of
    mixtures and of reconstructions) into `workdir`. `reference`: the shipped evaluator's train-split Reference,
    when the caller has it already (its images are the training set)."""
    from PIL import Image

    from jaxgan import data, evaluation, evaluator as evaluator_lib, run as run_lib, sampling
    from jaxgan.metrics import reference as reference_lib

    workdir = run_lib.output_folder(workdir)
    evaluator = evaluator_lib.load()
    ref = reference or reference_lib.load(evaluator, "train", data_dir, log=log)
    train_images = ref.images  # the reference holds CIFAR-10 train: read it once
    test_images, _ = data.load_cifar10("test", data_dir)
    (horse, bird), _ = test_images_by_id([PEGASUS_IDS["horse"], PEGASUS_IDS["bird"]], data_dir)
    workdir.mkdir(exist_ok=True)
    start = time.perf_counter()
    model, params, losses = train(train_images, recipe, log)
    train_s = time.perf_counter() - start

    peg = pegasus(model, params, horse, bird)
    Image.fromarray(peg).save(workdir / "ae_pegasus.png")
    Image.fromarray(np.repeat(np.repeat(peg, 8, 0), 8, 1)).save(workdir / "ae_pegasus_x8.png")
    sheet = np.stack([horse, bird, *reconstructions(model, params, np.stack([horse, bird])), peg])
    sampling.save_grid(sheet, workdir / "ae_pegasus_inputs.png", ncol=5, scale=4)

    made = mixtures(model, params, test_images, n_eval)
    sampling.save_grid(made[:64], workdir / "ae_samples.png", ncol=8, scale=4)
    result = {"recipe": dataclasses.asdict(recipe), "losses": losses, "train_seconds": round(train_s, 1)}
    recon = reconstructions(model, params, test_images[:n_eval])
    for name, images in (("mixtures", made), ("reconstructions", recon)):
        m = evaluation.evaluate_images(images, evaluator=evaluator, reference=ref)
        result[name] = evaluation.to_json(m)
        log(f"{name}: FID-C {m['fid_c']:.3f}, precision {m['precision']:.3f}, recall {m['recall']:.3f}")
    _, logits = evaluator.features_and_logits(peg[None])
    probs = np.asarray(jax.nn.softmax(logits[0]))
    from jaxgan.config import CIFAR10_CLASSES

    result["pegasus"] = {"class_probabilities": {c: round(float(p), 5) for c, p in zip(CIFAR10_CLASSES, probs)},
                         "test_ids": PEGASUS_IDS, "mix": MIX}
    (workdir / "metrics.json").write_text(json.dumps(result, indent=1) + "\n")
    log(f"wrote {workdir}/ae_pegasus.png, ae_pegasus_x8.png, ae_pegasus_inputs.png, ae_samples.png, metrics.json")
    return result
