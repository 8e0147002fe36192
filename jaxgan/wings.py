"""Wings a person can see: a part-aware Pegasus score, and latent refinement of the best candidates.

    parts = wings.part_scores(images, evaluator)      # the horse from the whole image, the wings from above its back
    out = wings.refine(cfg, state, evaluator, z, mix, steps=100)   # gradient steps on (z, mixture)
    out = wings.refine(cfg, state, evaluator, z, mix, steps=200, sketch=wings.wing_sketch(images))  # towards a sketch

The search in `jaxgan.pegasus` reads "horse" and "wings" from the whole image, so a picture the evaluator calls
70% horse and 30% bird may be a blurred animal with bird colours, and nothing wing-shaped. Here:

- `part_scores` reads the horse from the whole image and the wings only from where a Pegasus's wings are: the
  upper `UPPER_ROWS` rows (above the back), enlarged to 32x32 and classified on their own; it also measures how far
  the foreground spreads sideways in that band against the band below (`spread`: wings are wider than a body).
  The horse is read steadily: p(horse) averaged over 18 views of the image (mirrored or not, shifted by
  `STEADY_SHIFTS` pixels each way; `steady_views`), so a picture that is a horse to the evaluator at one exact
  alignment only does not count as one.
  part recognisability = p_horse_steady^0.6 x p_wings_upper^0.4 (x `spread_factor`, as the search uses it).
- `refine` takes candidates' latents and mixtures and follows the gradient of that part recognisability (through
  the generator and the evaluator), of the discriminator's realism (its logit for "real horse") and of a prior that
  keeps |z| near sqrt(z_dim), where almost all of N(0, I)'s mass lies. The mixture is a softmax, so it stays one.
- `wing_sketch` draws, for each candidate, a white wing rising from its back and leaning away from its head, with a
  ring of blue sky around it; `refine(..., sketch=...)` then also pulls the pixels under the wing towards white and
  the ring towards sky, and holds the rest of the picture near where it started: sketch-guided editing on the
  generator's manifold (iGAN, Zhu et al. 2016). The generator cannot paint the sketch in; it can only move to the
  nearest latent whose picture has something white there, and what it finds (a wing, a rider, a white horse's
  raised neck) is what it learnt from CIFAR-10. Every pixel stays the generator's.

The evaluator selects and steers; the judge (`jaxgan.evaluator.load_judge`) only reports on what comes out, so a
refinement that merely fools the evaluator shows up as a disagreement.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import models
from jaxgan.config import CIFAR10_CLASSES, Config

HORSE = "horse"
WINGS = ("bird", "airplane")
UPPER_ROWS = 20  # of 32: the band above a standing horse's back, where wings would be
POWERS = (0.6, 0.4)  # p_horse and p_wings_upper in the weighted geometric mean, as the whole-image score
SPREAD_CAP = 1.5  # a band of wings this much wider than the body below earns the full spread factor
FOREGROUND_DISTANCE = 0.15  # RGB distance (in [0, 1] units) from the border's median colour that marks foreground
REFINE_WEIGHTS = {"recognisability": 1.0, "realism": 0.2, "prior": 0.05}
JITTER = 2  # pixels of random shift the evaluator sees refined images through
# The steady horse reading's shifts (each way, mirrored or not: 18 views), a fixed grid over `jitter`'s range. The
# search's first pick was, three checks running, a tall shape nobody could name that the evaluator called a horse
# at 0.60 from its one view and at 0.42 over these (a white horse of the same top 16: 0.61 and 0.67;
# benchmarks/pick_readability.py).
STEADY_SHIFTS = (-JITTER, 0, JITTER)
# `wing_sketch`: colours in the generator's [-1, 1] RGB; the wing rises WING_RISE rows above the back, leaning
# WING_LEAN columns per row away from the head, widening from WING_WIDTHS[0] to WING_WIDTHS[1] pixels each side of its
# axis; SKY_RING pixels of sky around it. A white wing on blue sky: the classic Pegasus, and a contrast that a rider
# or a white horse's own back does not give for free.
SKETCH_WING = (1.0, 1.0, 1.0)
SKETCH_SKY = (-0.3, 0.1, 0.7)
WING_RISE = 10
WING_LEAN = 0.6
WING_WIDTHS = (1.2, 4.2)
SKY_RING = 3
# refine(..., sketch=...): log p_horse (whole image) and log p_wings (the band above the back) weighted apart, the wings
# more than without a sketch (the sketch already holds the horse's shape; what it lacks is wing evidence), realism
# and the prior as without one, plus how closely the wing and its sky follow the sketch and how much the rest of the
# picture may move (mean squared error per pixel, [-1, 1] units).
SKETCH_WEIGHTS = {"horse": 0.5, "wings": 1.0, "realism": 0.2, "prior": 0.05, "sketch": 1.0, "sky": 1.0, "keep": 0.5}


def upper_band(x: jax.Array) -> jax.Array:
    """The upper `UPPER_ROWS` rows of float images (N, 32, 32, 3), enlarged back to 32x32 (bilinear).

    Args:
      x: float images in [-1, 1].

    Returns:
      float (N, 32, 32, 3).
    """
    n, h, w, c = x.shape
    return jax.image.resize(x[:, :UPPER_ROWS], (n, h, w, c), "linear")


@functools.partial(jax.jit, static_argnums=0)
def _probs(net, variables, x):
    return jax.nn.softmax(net.apply(variables, x, train=False)[1], axis=-1)


def _class_probs(evaluator, x: jax.Array) -> jax.Array:
    return _probs(evaluator.net, evaluator.variables, x)


def foreground_mask(images: np.ndarray) -> np.ndarray:
    """Where each image's subject is: pixels whose colour is far from the background's, read from the border.

    Args:
      images: uint8 (N, H, W, 3).

    Returns:
      bool (N, H, W): farther than FOREGROUND_DISTANCE (RGB in [0, 1]) from the median colour of the image's border.

    Example:
      >>> img = np.zeros((1, 4, 4, 3), np.uint8); img[0, 1:3, 1:3] = 255
      >>> foreground_mask(img)[0].astype(int).tolist()
      [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    x = images.astype(np.float32) / 255.0
    border = np.concatenate([x[:, 0], x[:, -1], x[:, 1:-1, 0], x[:, 1:-1, -1]], axis=1)  # (N, perimeter, 3)
    return np.linalg.norm(x - np.median(border, axis=1)[:, None, None, :], axis=-1) > FOREGROUND_DISTANCE


def foreground_spread(images: np.ndarray) -> np.ndarray:
    """How much wider the foreground is in the upper band than below it.

    Args:
      images: uint8 (N, 32, 32, 3).

    Returns:
      float (N,): columns holding foreground (`foreground_mask`) in rows [0, UPPER_ROWS) over those in
      [UPPER_ROWS, 32) (at least 1 column each).
    """
    fg = foreground_mask(images)
    upper = fg[:, :UPPER_ROWS].any(axis=1).sum(axis=1)
    lower = fg[:, UPPER_ROWS:].any(axis=1).sum(axis=1)
    return np.maximum(upper, 1) / np.maximum(lower, 1)


def spread_factor(spread: np.ndarray) -> np.ndarray:
    """(min(spread, SPREAD_CAP) / SPREAD_CAP)^0.25: a gentle preference for a band wider than the body."""
    return (np.minimum(spread, SPREAD_CAP) / SPREAD_CAP) ** 0.25


def _dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """A bool mask (H, W) grown by `pixels` in the four directions, one pixel a round (no wrap-around)."""
    for _ in range(pixels):
        padded = np.pad(mask, 1)
        mask = padded[1:-1, 1:-1] | padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    return mask


def _one_sketch(fg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`wing_sketch` for one foreground mask (32, 32)."""
    size = fg.shape[0]
    widths = fg[12:25].sum(axis=1)
    body_row = 12 + int(np.argmax(widths))  # the body: the widest foreground row of the middle band
    cols = np.flatnonzero(fg[body_row])
    c0, c1 = (int(cols.min()), int(cols.max())) if len(cols) >= 6 else (size // 4, size - size // 4)
    centre = (c0 + c1) / 2
    back = int(np.clip(body_row - 3, 12, 20))
    quarter = max((c1 - c0) // 4, 1)

    def reach(columns):  # how high the foreground above the body climbs over these columns (a row; lower is higher)
        tops = [np.flatnonzero(fg[:body_row, c])[0] for c in columns if fg[:body_row, c].any()]
        return np.mean(tops) if tops else body_row

    head_right = reach(range(c1 - quarter, c1 + 1)) < reach(range(c0, c0 + quarter + 1))  # the neck climbs there
    away = -1.0 if head_right else 1.0
    base = centre - away * 0.15 * (c1 - c0)  # the withers: a little towards the head from the middle of the back
    yy, xx = np.mgrid[0:size, 0:size]
    wing = np.zeros((size, size), bool)
    for t in np.linspace(0.0, 1.0, 40):  # the wing's axis, from the back upwards, widening as it rises
        row, col = back - t * WING_RISE, base + away * t * WING_RISE * WING_LEAN
        half = WING_WIDTHS[0] + (WING_WIDTHS[1] - WING_WIDTHS[0]) * t
        wing |= (np.abs(yy - row) <= 1.0) & (np.abs(xx - col) <= half)
    sky = _dilate(wing, SKY_RING) & ~wing & (yy < back - 1)
    head_side = (xx > centre + 3) if head_right else (xx < centre - 3)
    sky &= ~(head_side & _dilate(fg, 1))  # the head and neck stay as they are
    return wing.astype(np.float32), sky.astype(np.float32)


def wing_sketch(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A wing sketched on each candidate: where `refine(..., sketch=...)` asks for white, and the sky around it.

    The body is the widest foreground row (`foreground_mask`) among rows 12-24; the back is 3 rows above it. The
    head is at the end of the body whose foreground climbs higher. The wing rises `WING_RISE` rows from the back a
    little on the head's side of the middle (the withers), leaning away from the head and widening as it rises; the
    sky is a ring of `SKY_RING` pixels around it above the back, minus the head and neck.

    Args:
      images: uint8 (N, 32, 32, 3), the candidates as they are.

    Returns:
      (wing, sky): float32 (N, 32, 32) each, 1 inside and 0 outside, disjoint.

    Example:
      >>> horse = np.full((1, 32, 32, 3), 200, np.uint8)                 # a pale sky
      >>> horse[0, 18:26, 6:26] = 60; horse[0, 8:18, 22:26] = 60          # a dark body, its neck rising on the right
      >>> wing, sky = wing_sketch(horse)
      >>> rows, cols = np.nonzero(wing[0])
      >>> int(rows.max()) < 18, float(cols.mean()) < 16   # above the back, leaning left (towards the tail)
      (True, True)
      >>> bool((wing * sky).any()), bool(sky[0, :, 22:26].any())         # disjoint; the neck is not sky
      (False, False)
    """
    pairs = [_one_sketch(fg) for fg in foreground_mask(images)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def steady_views(x: jax.Array) -> list[jax.Array]:
    """The views the steady horse reading averages: `x` as is and mirrored, each shifted by every pair of
    `STEADY_SHIFTS` (rows, columns; edge pixels repeated) — `jitter`'s draws, on a fixed grid.

    Args:
      x: float images (N, H, W, 3).

    Returns:
      2 x len(STEADY_SHIFTS)^2 float arrays (N, H, W, 3); the unshifted, unmirrored `x` among them.

    Example:
      >>> x = jnp.arange(16.0).reshape(1, 4, 4, 1).repeat(3, axis=-1)
      >>> v = steady_views(x)
      >>> len(v), bool((v[4] == x).all()), float(v[0][0, 0, 0, 0]), float(v[13][0, 0, 0, 0])
      (18, True, 0.0, 3.0)
    """
    m = max(STEADY_SHIFTS)
    h, w = x.shape[1:3]
    out = []
    for img in (x, x[:, :, ::-1]):
        padded = jnp.pad(img, ((0, 0), (m, m), (m, m), (0, 0)), mode="edge")
        out += [padded[:, m + dy:m + dy + h, m + dx:m + dx + w] for dy in STEADY_SHIFTS for dx in STEADY_SHIFTS]
    return out


def _batches(images: np.ndarray, batch_size: int):
    """Float images in [-1, 1], `batch_size` at a time (the last padded: one shape, one compile), with the count of
    real ones in each."""
    for start in range(0, len(images), batch_size):
        chunk = np.asarray(images[start:start + batch_size])
        pad = batch_size - len(chunk)
        x = jnp.asarray(np.concatenate([chunk, np.zeros((pad,) + chunk.shape[1:], np.uint8)]), jnp.float32)
        yield x / 127.5 - 1.0, len(chunk)


def part_scores(images: np.ndarray, evaluator, batch_size: int = 500, steady=None) -> dict[str, np.ndarray]:
    """The horse from the whole image (read steadily), the wings from the band above its back.

    Args:
      images: uint8 (N, 32, 32, 3).
      evaluator: the classifier that reads them (`jaxgan.evaluator.load()`).
      batch_size: images per evaluator call (memory, not results).
      steady: bool (N,): the images whose horse is read over the 18 `steady_views` (the rest keep their one-view
        p_horse: 18 evaluator passes each cost time, and the search only ranks its eligible candidates by it);
        default all.

    Returns:
      {"p_horse", "p_horse_steady", "p_wings_upper", "spread", "part_recognisability"}: float (N,) each;
      p_horse from the image as it is, p_horse_steady its mean over the views (p_horse where not `steady`),
      part_recognisability = p_horse_steady^0.6 x p_wings_upper^0.4 x spread_factor(spread).
    """
    horse = CIFAR10_CLASSES.index(HORSE)
    wings = [CIFAR10_CLASSES.index(w) for w in WINGS]
    whole, upper = [], []
    for x, n in _batches(images, batch_size):
        whole.append(np.asarray(_class_probs(evaluator, x))[:n])
        upper.append(np.asarray(_class_probs(evaluator, upper_band(x)))[:n])
    whole, upper = np.concatenate(whole), np.concatenate(upper)
    p_horse, p_wings_upper = whole[:, horse], upper[:, wings].sum(axis=1)
    p_horse_steady = p_horse.copy()
    chosen = np.arange(len(images)) if steady is None else np.flatnonzero(steady)
    if len(chosen):
        read = [np.mean([np.asarray(_class_probs(evaluator, v))[:n, horse] for v in steady_views(x)], axis=0)
                for x, n in _batches(np.asarray(images)[chosen], batch_size)]
        p_horse_steady[chosen] = np.concatenate(read)
    spread = foreground_spread(images)
    a, b = POWERS
    return {"p_horse": p_horse, "p_horse_steady": p_horse_steady, "p_wings_upper": p_wings_upper, "spread": spread,
            "part_recognisability": p_horse_steady ** a * p_wings_upper ** b * spread_factor(spread)}


def jitter(key: jax.Array, x: jax.Array, max_shift: int = JITTER) -> jax.Array:
    """Each image shifted by up to `max_shift` pixels each way (edge pixels repeated) and mirrored at random.

    Args:
      key: the PRNG key of this draw.
      x: float images (N, H, W, 3).
      max_shift: the largest shift, in pixels.

    Returns:
      float (N, H, W, 3).
    """
    n, h, w, _ = x.shape
    k_shift, k_flip = jax.random.split(key)
    shifts = jax.random.randint(k_shift, (n, 2), -max_shift, max_shift + 1)
    padded = jnp.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)), mode="edge")
    crop = jax.vmap(lambda img, s: jax.lax.dynamic_slice(img, (max_shift + s[0], max_shift + s[1], 0), (h, w, 3)))
    out = crop(padded, shifts)
    flip = jax.random.bernoulli(k_flip, 0.5, (n, 1, 1, 1))
    return jnp.where(flip, out[:, :, ::-1], out)


def _masked_mse(x: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """Per image, the mean squared distance of `x` from `target` over the mask's pixels (0 for an empty mask)."""
    return jnp.sum(mask * (x - target) ** 2, axis=(1, 2, 3)) / (3.0 * jnp.sum(mask, axis=(1, 2, 3)) + 1e-6)


def refine(cfg: Config, state, evaluator, z: np.ndarray, mix: np.ndarray, steps: int = 100, lr: float = 0.05,
           weights: dict | None = None, seed: int = 0, sketch: tuple[np.ndarray, np.ndarray] | None = None
           ) -> dict[str, np.ndarray]:
    """Gradient ascent on candidates' latents and mixtures towards part recognisability and D's realism.

    Args:
      cfg: the model's config (a mixable, class-conditional model with horse among its classes).
      state: its `GANState` (the EMA generator draws; the discriminator judges realism).
      evaluator: the classifier whose probabilities are followed.
      z: float (K, z_dim) starting latents.
      mix: float (K, C) or (K, LEVELS, C) starting mixtures over the model's classes (each sums to 1).
      steps: Adam steps.
      lr: Adam's learning rate.
      weights: {"recognisability", "realism", "prior"} weights of the objective's terms (default REFINE_WEIGHTS);
        with a sketch {"horse", "wings", "realism", "prior", "sketch", "sky", "keep"} (default SKETCH_WEIGHTS).
      seed: the key of the random jitter the evaluator sees the images through (`fold_in(key, step)` per step).
      sketch: optional (wing, sky) float (K, 32, 32) masks (`wing_sketch` of the starting images): the objective
        also asks for `SKETCH_WING` under the wing, `SKETCH_SKY` under the sky and the starting picture elsewhere.

    Returns:
      {"z": (K, z_dim), "mix": mixtures shaped as `mix`, "images": uint8 (K, 32, 32, 3), "objective": (steps + 1,)
      the mean objective before each step and after the last}.

    The objective, averaged over the K candidates: log(p_horse^0.6 p_wings_upper^0.4) (whole image / upper band)
    + realism x log sigmoid(D(x, horse)) - prior x (|z| - sqrt(z_dim))^2 / z_dim; with a sketch, horse x log p_horse
    + wings x log p_wings_upper in place of the first term, and minus sketch x the wing's, sky x the sky's and keep x
    the rest's mean squared distance from its target. `mix` may also be per level,
    (K, LEVELS, C): each level's mixture is then refined on its own (coarse layout, fine detail). The evaluator
    reads each step's images through a fresh random shift and mirror (`jitter`): a change that only sways it at one
    exact pixel alignment (an adversarial perturbation rather than a wing) then does not pay.
    """
    w = dict(REFINE_WEIGHTS if sketch is None else SKETCH_WEIGHTS, **(weights or {}))
    g, d = models.build(cfg)
    names = [CIFAR10_CLASSES[i] for i in cfg.class_ids]
    horse_label = names.index(HORSE)
    horse, wing_ids = CIFAR10_CLASSES.index(HORSE), [CIFAR10_CLASSES.index(c) for c in WINGS]
    g_vars = {"params": state.ema.params, **state.ema.stats}
    d_vars = state.d.variables
    a, b = POWERS
    radius = np.sqrt(cfg.z_dim)

    def images_of(params):
        y = jax.nn.softmax(params["mix_logits"], axis=-1)
        return g.apply(g_vars, params["z"], y, train=False), y

    def objective(params, key):
        x, _ = images_of(params)
        seen = jitter(key, x)
        whole = _class_probs(evaluator, seen)
        upper = _class_probs(evaluator, upper_band(seen))
        log_horse, log_wings = jnp.log(whole[:, horse] + 1e-8), jnp.log(upper[:, wing_ids].sum(axis=1) + 1e-8)
        logit = d.apply(d_vars, x, jnp.full((len(x),), horse_label), train=False)
        prior = (jnp.linalg.norm(params["z"], axis=1) - radius) ** 2 / cfg.z_dim
        recog = (w["recognisability"] * (a * log_horse + b * log_wings) if sketch is None
                 else w["horse"] * log_horse + w["wings"] * log_wings)
        value = recog + w["realism"] * jax.nn.log_sigmoid(logit) - w["prior"] * prior
        if sketch is not None:
            value -= (w["sketch"] * _masked_mse(x, jnp.asarray(SKETCH_WING), wing_mask)
                      + w["sky"] * _masked_mse(x, jnp.asarray(SKETCH_SKY), sky_mask)
                      + w["keep"] * _masked_mse(x, start, (1.0 - wing_mask) * (1.0 - sky_mask)))
        return jnp.mean(value)

    tx = optax.adam(lr)

    @jax.jit
    def step(params, opt_state, key):
        value, grads = jax.value_and_grad(objective)(params, key)
        updates, opt_state = tx.update(jax.tree.map(jnp.negative, grads), opt_state, params)  # ascent
        return optax.apply_updates(params, updates), opt_state, value

    params = {"z": jnp.asarray(z, jnp.float32), "mix_logits": jnp.log(jnp.clip(jnp.asarray(mix, jnp.float32), 1e-4))}
    if sketch is not None:
        wing_mask, sky_mask = (jnp.asarray(m, jnp.float32)[..., None] for m in sketch)
        start = jax.jit(images_of)(params)[0]
    opt_state = tx.init(params)
    root = jax.random.key(seed)
    trace = []
    for i in range(steps):
        params, opt_state, value = step(params, opt_state, jax.random.fold_in(root, i))
        trace.append(value)
    trace.append(jax.jit(objective)(params, jax.random.fold_in(root, steps)))
    x, y = jax.jit(images_of)(params)
    from jaxgan import data

    return {"z": np.asarray(params["z"]), "mix": np.asarray(y), "images": np.asarray(data.to_uint8(x)),
            "objective": np.asarray(jax.device_get(trace), np.float32)}
