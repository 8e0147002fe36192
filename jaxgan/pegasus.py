"""The Pegasus search: a winged horse from a class-conditional GAN that has only seen CIFAR-10.

    jaxgan pegasus --workdir runs/pegasus --out pegasus/ [--budget 4096] [--seed 0] [--baseline runs/ae]

CIFAR-10 has horses, birds and airplanes but no winged horse, so the generator is asked for one: its class input is
a mixture of the shared class embedding (mostly horse, some bird or airplane; per block too, horse for the coarse
layout and bird for the fine detail; and for a model trained with `spatial_mix`, class maps: horse everywhere but
bird or airplane in `WING_REGIONS`, above the back). The search draws `budget` candidates over mixtures x
truncations x latents and scores each one:

- recognisability: the evaluator's class probabilities, p_horse^0.6 * p_wings^0.4 with p_wings = p_bird +
  p_airplane (a Pegasus is a horse first); a candidate must be classified horse, with p_wings >= MIN_WINGS;
- realism: the geometric mean of the discriminator's opinion (the share of a pool of real training horses and
  all candidates that D scores below the candidate, asked as a horse) and the evaluator-feature density (the
  realism score of Kynkäänniemi et al. 2019: >= 1 inside the real images' k-NN manifold; capped at 1);
- uniqueness: the distance to the nearest training image, in pixels and in evaluator features, over the 1st
  percentile of train-to-train nearest-neighbour distances; a candidate must exceed 1 in both (not a near-copy).

score = recognisability x realism, among the candidates that pass all three checks. The default ranking
(`score="part"`, `jaxgan.wings`) reads the wings where they belong instead: p_horse from the whole image, averaged
over 18 shifted and mirrored views (a horse from one exact view only is not a readable one), p_wings also from the
band above the back, with a gentle preference for a band wider than the body; `score="whole"` is
the whole-image ranking above. `refine_steps` also refines the top 16 by gradient steps (`refine_top`), reported
apart from the search; `sketch_steps` refines the 16 best white candidates towards a white wing sketched above each
one's back (`jaxgan.wings.wing_sketch`: sketch-guided editing on the generator's manifold), reported apart too. With `prefer="white"` (the classic Pegasus is white), eligible candidates are ranked by
score x whiteness instead: the brightness times (1 - saturation) of the image's foreground, the pixels that differ
from the median colour of its border. Every
candidate, its scores and the `jaxgan sample` command that regenerates it bit for bit go to pegasus.json; the
pictures are described in `write_outputs`.

Because the search maximises the evaluator's probabilities, the evaluator's verdict on the winner is biased. A
second classifier, the *judge* (`jaxgan.evaluator.judge`: another architecture family and seed), never selects
anything; its verdicts on the Pegasus, the top 16 and the batch of 64 are reported beside the evaluator's
(pegasus.json's "judge").
"""
from __future__ import annotations

import json
import pathlib
import shlex
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import models, run as run_lib, sampling, wings
from jaxgan.config import CIFAR10_CLASSES, Config
from jaxgan.errors import UserError
from jaxgan.metrics import prdc, reference as reference_lib, uniqueness

HORSE, WINGS = wings.HORSE, wings.WINGS  # "horse"; ("bird", "airplane")
MIN_WINGS = 0.1  # p_bird + p_airplane of an accepted Pegasus: clearly non-zero
RECOGNISABILITY_POWERS = (0.6, 0.4)  # weights of p_horse and p_wings in the weighted geometric mean
TRUNCATIONS = (None, 1.5, 1.0, 0.7)  # None: the untruncated normal
HORSE_WEIGHTS = (0.9, 0.8, 0.7, 0.6, 0.5)
# Class-map regions (rows, columns of jaxgan.classmap's 4x4 cells) where the search asks for wings, for models
# trained with spatial_mix: the two middle cells of the top row, the whole top row, the 2x2 block above the middle.
WING_REGIONS = ("0,1-2", "0,0-3", "0-1,1-2")
MIN_BUDGET = 64
SAMPLE_BATCH = 500  # `sampling.sample`'s default batch size: candidates drawn as `jaxgan sample` draws them
PREFERENCES = ("none", "white")
SCORES = ("whole", "part")  # what reads the wings: the whole image, or the band above the back (jaxgan.wings)
MIN_FOREGROUND = 0.1  # below this share of foreground pixels, the centre 16x16 stands in for the foreground
REALISM_K = 3
REALISM_REALS = 10_000  # training images whose features span the real manifold of the realism score
D_REALS = 2_000  # real horses in the pool D's score of a candidate is ranked in
BATCH_SEED = 0  # the 64 non-cherry-picked samples are images 0..63 of this seed
TOP = 16
NEIGHBOURS = 5
SCORING = {
    "score": "recognisability * realism; eligible candidates first",
    "recognisability": "p_horse^0.6 * p_wings^0.4 (evaluator softmax; p_wings = p_bird + p_airplane)",
    "realism": "sqrt(d_percentile * min(feature_density, 1))",
    "d_percentile": "share of a pool (2000 real training horses + every candidate) the discriminator scores below the "
                    "candidate (asked as horse)",
    "feature_density": "realism score of Kynkaanniemi et al. 2019 in evaluator features (k=3, 10k training images)",
    "uniqueness_pixel": "nearest-training-image distance in pixels / 1st percentile of train-to-train distances",
    "uniqueness_feature": "the same in evaluator features",
    "eligible": f"classified horse, p_wings >= {MIN_WINGS}, uniqueness_pixel > 1 and uniqueness_feature > 1",
    "p_wings_upper": "p_bird + p_airplane of the upper 20 rows (above the back) enlarged to 32x32 (jaxgan.wings)",
    "spread": "foreground columns in the upper band / those below it (wings are wider than a body)",
    "p_horse_steady": "p_horse averaged over 18 views (mirrored or not, shifted by -2, 0 or 2 pixels each way; "
                      "jaxgan.wings.steady_views), for eligible candidates; the others keep p_horse",
    "part_recognisability": "p_horse_steady^0.6 * p_wings_upper^0.4 * (min(spread, 1.5) / 1.5)^0.25",
    "part_score": "part_recognisability * realism; the ranking of --score part (the default)",
    "part_eligible": "eligible and p_wings_upper >= 0.1",
    "whiteness": "mean of brightness * (1 - saturation) over the foreground (pixels farther than "
                 f"{wings.FOREGROUND_DISTANCE} in RGB from the border's median colour); used only with --prefer white, "
                 "where eligible candidates rank by score * whiteness",
}


def mixtures(cfg: Config) -> list[str]:
    """The mixtures the search tries, in `jaxgan sample --mix` syntax (one, or three coarse-to-fine)."""
    names = [CIFAR10_CLASSES[i] for i in cfg.class_ids]
    if not cfg.num_classes or not models.is_mixable(cfg.model):
        raise UserError(f"the Pegasus search needs a class-conditional run whose generator mixes classes "
                        f"({', '.join(models.mixable_names())}, e.g. the cgan or pegasus experiments); this run is "
                        f"{cfg.model}{'' if cfg.num_classes else ' (unconditional)'}")
    wing_classes = [w for w in WINGS if w in names]
    if HORSE not in names or not wing_classes:
        raise UserError(f"jaxgan pegasus needs a model trained on horse and on bird or airplane; this one knows "
                        f"{', '.join(names)}")
    out = []
    for w in HORSE_WEIGHTS:
        for wing in wing_classes:
            out.append(f"{HORSE}={w:g},{wing}={1 - w:.2g}")
        if len(wing_classes) == 2:
            out.append(f"{HORSE}={w:g},{wing_classes[0]}={(1 - w) / 2:.3g},{wing_classes[1]}={(1 - w) / 2:.3g}")
    for wing in wing_classes:  # horse lays out the image, the wing class paints the detail
        out.append(f"{HORSE}=1|{HORSE}=0.7,{wing}=0.3|{wing}=1")
        out.append(f"{HORSE}=1|{HORSE}=1|{HORSE}=0.5,{wing}=0.5")
    if cfg.spatial_mix:  # a model trained on class maps: horse everywhere, the wing class above the back
        out += [f"{HORSE}=1; {wing}=1@{region}" for wing in wing_classes for region in WING_REGIONS]
    return out


def command(source: list[str], seed: int, index: int, mix: str, truncation, out: str = "pegasus.png") -> str:
    """The `jaxgan sample` line that regenerates candidate `index` of `seed` exactly; `source` names the model
    (["--workdir", DIR] or ["--pretrained", NAME])."""
    parts = ["jaxgan", "sample", *source, "--seed", str(seed), "--first", str(index), "--n", "1",
             "--mix", mix]
    if truncation is not None:
        parts += ["--truncation", f"{truncation:g}"]
    return shlex.join(parts + ["--out", out])


def _mixture_array(cfg, mix: str, n: int) -> np.ndarray:
    m = sampling.parse_mix(mix, cfg)
    return np.broadcast_to(m, (n,) + m.shape)


def _d_logits(cfg, state, images, label: int) -> np.ndarray:
    _, d = models.build(cfg)
    fn = jax.jit(lambda x: d.apply(state.d.variables, x, jnp.full((len(x),), label),
                                   train=False))
    out = [np.asarray(fn(jnp.asarray(images[s:s + 500], jnp.float32) / 127.5 - 1.0))
           for s in range(0, len(images), 500)]
    return np.concatenate(out)


def _realism_score(features, real_features, k: int = REALISM_K) -> np.ndarray:
    """max_j r_j / |f - f_j| over reals j whose k-NN radius r_j is in the smaller half (Kynkäänniemi et al. 2019)."""
    radii = prdc.knn_radii(real_features, k)
    keep = radii <= np.median(radii)  # the paper drops the sparsest half: outliers would inflate the score
    reals, radii = real_features[keep], radii[keep]
    out = np.empty(len(features))
    for start, d in prdc.pairwise_distances(features, reals):
        out[start:start + len(d)] = np.max(radii[None, :] / np.maximum(d, 1e-12), axis=1)
    return out


def score_images(cfg, state, images, evaluator, ref) -> dict[str, np.ndarray]:
    """Every score of every image (uint8 (N, 32, 32, 3)) against the training set `ref`."""
    feats, logits = evaluator.features_and_logits(images)
    probs = np.asarray(jax.nn.softmax(logits, axis=-1))
    horse = CIFAR10_CLASSES.index(HORSE)
    p_horse = probs[:, horse]
    p_wings = sum(probs[:, CIFAR10_CLASSES.index(w)] for w in WINGS)
    a, b = RECOGNISABILITY_POWERS
    recognisability = p_horse ** a * p_wings ** b

    rng = np.random.default_rng(0)
    real_horses = np.flatnonzero(ref.labels == horse)
    real_horses = np.sort(rng.choice(real_horses, min(D_REALS, len(real_horses)), replace=False))
    horse_label = cfg.class_ids.index(horse)
    real_d = np.sort(_d_logits(cfg, state, ref.images[real_horses], horse_label))
    fake_d = _d_logits(cfg, state, images, horse_label)
    # Ranked in a pool of reals and candidates: a well-trained D scores every fake below every real horse, and a
    # percentile among reals alone would then be 0 for all candidates and tell them apart no more.
    pool = np.sort(np.concatenate([real_d, fake_d]))
    d_percentile = (np.searchsorted(pool, fake_d, side="right") - 1) / (len(pool) - 1)
    subset = np.sort(rng.choice(len(ref.features), min(REALISM_REALS, len(ref.features)), replace=False))
    density = _realism_score(feats.astype(np.float32), ref.features[subset].astype(np.float32))
    realism = np.sqrt(d_percentile * np.minimum(density, 1.0))

    pix_d, _ = uniqueness.nearest_neighbours(reference_lib.pixels(images), reference_lib.pixels(ref.images))
    feat_d, _ = uniqueness.nearest_neighbours(feats, ref.features)
    pix_u, feat_u = pix_d / ref.pixel_nn_threshold, feat_d / ref.feature_nn_threshold
    eligible = (np.argmax(probs, axis=1) == horse) & (p_wings >= MIN_WINGS) & (pix_u > 1) & (feat_u > 1)
    # The steady horse reading costs 18 evaluator passes: only the eligible candidates, which it can reorder.
    parts = wings.part_scores(images, evaluator, steady=eligible)
    return {"probs": probs, "p_horse": p_horse, "p_wings": p_wings, "recognisability": recognisability,
            "d_logit": fake_d, "d_percentile": d_percentile, "feature_density": density, "realism": realism,
            "nn_pixel_distance": pix_d, "nn_feature_distance": feat_d, "uniqueness_pixel": pix_u,
            "uniqueness_feature": feat_u, "eligible": eligible, "score": recognisability * realism,
            "whiteness": whiteness(images), "p_horse_steady": parts["p_horse_steady"],
            "p_wings_upper": parts["p_wings_upper"], "spread": parts["spread"],
            "part_recognisability": parts["part_recognisability"],
            "part_score": parts["part_recognisability"] * realism,
            # Wings read in the band above the back, on top of the whole image's: the band alone is often sky,
            # which reads as bird or airplane without any wing.
            "part_eligible": eligible & (parts["p_wings_upper"] >= MIN_WINGS)}


def judge_verdicts(judge, images: np.ndarray) -> dict:
    """The judge's opinion of uint8 images: per image its top class, p(horse) and p(bird) + p(airplane); over them
    the share whose top class is horse and the means.

    Args:
      judge: an `evaluator.Evaluator` holding the judge (`evaluator.load_judge()`).
      images: uint8 (N, 32, 32, 3).

    Returns:
      {"horse_share", "mean_p_horse", "mean_p_wings", "top_classes": {class: count}, "images": [{"top_class",
      "p_horse", "p_wings"}, ...]}.
    """
    _, logits = judge.features_and_logits(images)
    probs = np.asarray(jax.nn.softmax(logits, axis=-1))
    top = [CIFAR10_CLASSES[i] for i in np.argmax(probs, axis=1)]
    p_horse = probs[:, CIFAR10_CLASSES.index(HORSE)]
    p_wings = sum(probs[:, CIFAR10_CLASSES.index(w)] for w in WINGS)
    return {"horse_share": round(float(np.mean([t == HORSE for t in top])), 5),
            "mean_p_horse": round(float(p_horse.mean()), 5), "mean_p_wings": round(float(p_wings.mean()), 5),
            "top_classes": {c: top.count(c) for c in CIFAR10_CLASSES if c in top},
            "images": [{"top_class": t, "p_horse": round(float(h), 5), "p_wings": round(float(w), 5)}
                       for t, h, w in zip(top, p_horse, p_wings)]}


def whiteness(images: np.ndarray) -> np.ndarray:
    """How white each image's foreground is: brightness x (1 - saturation), averaged over the foreground.

    Args:
      images: uint8 (N, H, W, 3).

    Returns:
      float (N,) in [0, 1]: 1 for a pure white subject.
    """
    x = images.astype(np.float32) / 255.0
    fg = wings.foreground_mask(images)
    h, w = images.shape[1:3]
    centre = np.zeros((h, w), bool)
    centre[h // 4:h - h // 4, w // 4:w - w // 4] = True
    fg = np.where(fg.mean(axis=(1, 2), keepdims=True) < MIN_FOREGROUND, centre[None], fg)
    value = x.max(axis=-1)
    saturation = np.where(value > 0, (value - x.min(axis=-1)) / np.maximum(value, 1e-6), 0.0)
    white = value * (1.0 - saturation)
    return (white * fg).sum(axis=(1, 2)) / fg.sum(axis=(1, 2))


def latents_per_combination(cfg, budget: int) -> int:
    """Latents per (mixture, truncation) that `budget` candidates allow; UserError when not even one."""
    combos = len(mixtures(cfg)) * len(TRUNCATIONS)
    if budget < combos:
        raise UserError(f"search budget {budget}: give at least {combos} (one latent per mixture and truncation)")
    return budget // combos


def search(cfg, state, budget: int, seed: int, evaluator, ref, log=print):
    """(candidate records, their images, their scores): `budget` candidates over mixtures x truncations x latents
    (the same latent indices under every mixture, so a latent's best mixture can be found)."""
    mixes = mixtures(cfg)
    per = latents_per_combination(cfg, budget)
    labels = [_mixture_array(cfg, mix, per) for mix in mixes]
    by_shape: dict = {}  # mixtures whose arrays stack (flat, per level, class map): one generator call each
    for k, y in enumerate(labels):
        by_shape.setdefault(y.shape, []).append(k)
    records, images = [], []
    for t in TRUNCATIONS:
        # `sample`'s latents and batch size, every mixture of a shape in one pass: a small budget does not pay a
        # whole padded batch per mixture, and each image is the one `jaxgan sample --first I --n 1` draws.
        z = np.asarray(sampling.latents(seed, 0, per, cfg.z_dim, t))
        drawn = [None] * len(mixes)
        for ks in by_shape.values():
            imgs = sampling.generate(cfg, state, np.tile(z, (len(ks), 1)), np.concatenate([labels[k] for k in ks]),
                                     batch_size=SAMPLE_BATCH)
            for j, k in enumerate(ks):
                drawn[k] = imgs[j * per:(j + 1) * per]
        for mix, imgs in zip(mixes, drawn):
            images.append(imgs)
            records += [{"seed": seed, "index": i, "mix": mix, "truncation": t} for i in range(per)]
    images = np.concatenate(images)
    log(f"generated {len(images)} candidates ({len(mixes)} mixtures x {len(TRUNCATIONS)} truncations x {per} "
        f"latents); scoring")
    return records, images, score_images(cfg, state, images, evaluator, ref)


def ranking(records, scores, prefer: str = "none", score: str = "whole") -> list[int]:
    """Candidate indices, best first: eligible ones by score (times whiteness with prefer="white"), then the rest
    by score; one per latent first (a latent under two mixtures or truncations is nearly the same picture:
    truncated latents are drawn by inverse CDF from the same uniforms), then the remaining candidates in the same
    order. `score="part"` ranks by the part-aware score and eligibility (`jaxgan.wings`) instead."""
    value, eligible = (scores["part_score"], scores["part_eligible"]) if score == "part" else \
        (scores["score"], scores["eligible"])
    key = value * (scores["whiteness"] if prefer == "white" else 1.0)
    order = np.lexsort((-key, ~eligible))
    seen, first, rest = set(), [], []
    for i in order:
        key = (records[i]["seed"], records[i]["index"])
        (rest if key in seen else first).append(int(i))
        seen.add(key)
    return first + rest


# ---------------------------------------------------------------------------------------------------------- pictures

def _font():
    from PIL import ImageFont

    return ImageFont.load_default()


def _upscale(img: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def _sheet(rows: list[list[np.ndarray]], scale: int, pad: int = 4, gaps=(), labels=None, captions=None,
           title: str | None = None):
    """A white sheet of image rows (each image upscaled by `scale`, nearest neighbour); an extra gap after the
    columns listed in `gaps`; a title line, a label left of each row and a caption under each image, when given."""
    from PIL import Image, ImageDraw

    size = 32 * scale
    left = 90 if labels else 0
    cap_h = 12 * max((len(c.split("\n")) for row in captions for c in row), default=0) if captions else 0
    ncol = max(len(r) for r in rows)
    width = left + pad + ncol * (size + pad) + pad * 3 * len(gaps)
    top = 18 if title else 0
    height = top + pad + len(rows) * (size + cap_h + pad)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((left + pad, 4), title, fill="black", font=_font())
    for r, row in enumerate(rows):
        y = top + pad + r * (size + cap_h + pad)
        x = left + pad
        if labels:
            draw.text((4, y + size // 2 - 6), labels[r], fill="black", font=_font())
        for c, img in enumerate(row):
            sheet.paste(Image.fromarray(_upscale(img, scale)), (x, y))
            if captions:
                draw.multiline_text((x, y + size + 1), captions[r][c], fill="black", font=_font(), spacing=1)
            x += size + pad + (pad * 3 if c in gaps else 0)
    return sheet


def _slerp(a, b, t):
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1, 1))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def write_outputs(out: pathlib.Path, source: list[str], cfg, state, records, images, scores, evaluator, ref,
                  log=print, prefer: str = "none", judge=None, score: str = "whole"):
    """pegasus.png (as generated) and pegasus_x8.png; candidates.png (top 16, captioned with their scores);
    batch64.png (images 0..63 of BATCH_SEED under the Pegasus's mixture and truncation: not selected);
    interpolations.png (8 pairs of batch64 latents, slerp in 10 steps; then the Pegasus's latent swept from horse to
    its wing class); neighbours.png (the Pegasus and 8 batch64 samples, each with its 5 nearest training images in
    pixels, then in evaluator features); pegasus.json. With a preference, pegasus.png is the preferred pick and
    preference.png shows it beside the pick without the preference (pegasus_default.png). With a `judge`, its
    verdicts (`judge_verdicts`) on the Pegasus, the pick without preference, the top 16 and the batch of 64 go to
    pegasus.json's "judge"."""
    from PIL import Image

    order = ranking(records, scores, prefer, score)
    best = order[0]
    rec = records[best]
    Image.fromarray(images[best]).save(out / "pegasus.png")
    Image.fromarray(_upscale(images[best], 8)).save(out / "pegasus_x8.png")
    default = ranking(records, scores, score=score)[0]
    if prefer != "none":
        Image.fromarray(images[default]).save(out / "pegasus_default.png")
        _sheet([[images[default], images[best]]], 8, pad=8, captions=[[
            f"no preference\nscore {scores['score'][default]:.2f}, whiteness {scores['whiteness'][default]:.2f}",
            f"prefer {prefer}\nscore {scores['score'][best]:.2f}, whiteness {scores['whiteness'][best]:.2f}"]]
               ).save(out / "preference.png")

    top = order[:TOP]
    caps = [f"#{r + 1} score {scores['score'][i]:.2f}\nhorse {scores['p_horse'][i]:.2f} wings "
            f"{scores['p_wings'][i]:.2f}\nD {scores['d_percentile'][i]:.2f} dens "
            f"{min(scores['feature_density'][i], 9.99):.2f}\nNN {scores['uniqueness_pixel'][i]:.1f}x"
            f"{'' if scores['eligible'][i] else ' (x)'}" for r, i in enumerate(top)]
    rows = [[images[i] for i in top[r:r + 4]] for r in range(0, len(top), 4)]
    _sheet(rows, 4, captions=[caps[r:r + 4] for r in range(0, len(top), 4)]).save(out / "candidates.png")

    mix, trunc = rec["mix"], rec["truncation"]
    batch, _ = sampling.sample(cfg, state, 64, seed=BATCH_SEED, labels=_mixture_array(cfg, mix, 64),
                               truncation=trunc)
    sampling.save_grid(batch, out / "batch64.png", ncol=8, scale=4)

    z = np.asarray(sampling.latents(BATCH_SEED, 0, 16, cfg.z_dim, trunc))
    steps = np.linspace(0, 1, 10)
    m = sampling.parse_mix(mix, cfg)
    inter = [sampling.generate(cfg, state, np.stack([_slerp(z[2 * p], z[2 * p + 1], t) for t in steps]),
                               np.broadcast_to(m, (10,) + m.shape)) for p in range(8)]
    z_best = np.asarray(sampling.latents(rec["seed"], rec["index"], 1, cfg.z_dim, trunc))[0]
    names = [CIFAR10_CLASSES[i] for i in cfg.class_ids]
    wing = "bird" if "bird" in names else "airplane"  # the coursework's horse -> bird sweep
    sweep_mix = np.zeros((10, len(names)), np.float32)
    sweep_mix[:, names.index(HORSE)] = 1 - steps
    sweep_mix[:, names.index(wing)] = steps
    inter.append(sampling.generate(cfg, state, np.repeat(z_best[None], 10, 0), sweep_mix))
    _sheet([list(r) for r in inter], 3, labels=[f"pair {p + 1}" for p in range(8)] + [f"{HORSE} -> {wing}"],
           title=f"rows 1-8: slerp between two latents at {mix}; last row: the Pegasus's latent, class "
                 f"{HORSE} -> {wing}").save(out / "interpolations.png")

    queries = np.concatenate([images[best][None], batch[:8]])
    q_feats, _ = evaluator.features_and_logits(queries)
    _, pix_idx = uniqueness.k_nearest(reference_lib.pixels(queries), reference_lib.pixels(ref.images), NEIGHBOURS)
    _, feat_idx = uniqueness.k_nearest(q_feats, ref.features, NEIGHBOURS)
    rows = [[q] + list(ref.images[pix_idx[r]]) + list(ref.images[feat_idx[r]]) for r, q in enumerate(queries)]
    _sheet(rows, 2, gaps=(0, NEIGHBOURS), labels=["Pegasus"] + [f"batch64 #{i}" for i in range(8)],
           title=f"sample | its {NEIGHBOURS} nearest training images in pixels | its {NEIGHBOURS} nearest in "
                 f"evaluator features").save(out / "neighbours.png")

    def entry(i):
        r = records[i]
        return {**r, "command": command(source, r["seed"], r["index"], r["mix"], r["truncation"]),
                **{k: (bool(scores[k][i]) if k in ("eligible", "part_eligible") else round(float(scores[k][i]), 5))
                   for k in ("score", "recognisability", "p_horse", "p_wings", "realism", "d_percentile",
                             "feature_density", "d_logit", "nn_pixel_distance", "uniqueness_pixel",
                             "nn_feature_distance", "uniqueness_feature", "whiteness", "eligible", "p_horse_steady",
                             "p_wings_upper", "spread", "part_recognisability", "part_score", "part_eligible")},
                "class_probabilities": {c: round(float(p), 5) for c, p in zip(CIFAR10_CLASSES, scores["probs"][i])}}

    result = {
        "run": " ".join(source), "step": int(state.step), "budget": len(records), "prefer": prefer, "score": score,
        "pegasus": entry(best),
        "pegasus_without_preference": entry(default),
        "top": [entry(i) for i in top],
        "batch64": {"seed": BATCH_SEED, "first": 0, "n": 64, "mix": mix, "truncation": trunc,
                    "command": command(source, BATCH_SEED, 0, mix, trunc, "batch64.png").replace(
                        "--n 1", "--n 64")},
        "neighbour_rows": {"pixel": pix_idx.tolist(), "feature": feat_idx.tolist()},
        "thresholds": {"pixel": ref.pixel_nn_threshold, "feature": ref.feature_nn_threshold,
                       "min_wings": MIN_WINGS},
        "eligible": int((scores["part_eligible"] if score == "part" else scores["eligible"]).sum()),
        "scoring": SCORING,
        "candidates": [entry(i) for i in range(len(records))],
    }
    if judge is not None:
        result["judge"] = {
            "weights": judge.weights_id, "test_accuracy": judge.meta.get("test_accuracy"),
            "role": "reports only; never used to select",
            "pegasus": judge_verdicts(judge, images[best][None])["images"][0],
            "pegasus_without_preference": judge_verdicts(judge, images[default][None])["images"][0],
            "top": judge_verdicts(judge, images[top]), "batch64": judge_verdicts(judge, batch)}
    (out / "pegasus.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def refine_top(out: pathlib.Path, cfg, state, records, order: list[int], evaluator, ref, judge, steps: int,
               log=print, sketch: bool = False) -> dict:
    """The top 16 candidates refined by `wings.refine` (latent and per-level mixture), scored again and written
    apart from the search: refined.png (before | after, 4x, with the evaluator's and the judge's readings) and
    refined.npz (latents; per-level mixtures `mix` and class maps `map` in top order, `is_map` saying which each
    candidate has; images). With `sketch`, each is refined towards a wing sketched on it (`wings.wing_sketch`) and
    the files are sketched.png (before | the sketch over it | after), sketched.npz (also the sketch's `wing` and
    `sky` masks) and pegasus_sketched.png / pegasus_sketched_x8.png: the sketched candidate ranked first by the
    search's own part-aware ranking (part-eligible first, then part score; the evaluator selects, the judge reports).

    Args:
      out: the output folder.
      cfg: the model's config.
      state: its `GANState`.
      records: the search's candidate records.
      order: their ranking (the first TOP are refined).
      evaluator: the classifier that steers the refinement.
      ref: the training set's `Reference` (realism and uniqueness).
      judge: the classifier that only reports (or None).
      steps: refinement steps.
      log: where progress lines go.
      sketch: refine towards a sketched wing (above) instead of the part score alone.

    Returns:
      pegasus.json's "refined" (or "sketched"): per image the scores after refinement (and the judge's verdicts),
      with the means (and, sketched, "pegasus": the index of the pick among them).
    """
    from PIL import Image

    from jaxgan.classmap import GRID
    from jaxgan.models.biggan import LEVELS

    top = order[:TOP]
    z = np.stack([np.asarray(sampling.latents(records[i]["seed"], records[i]["index"], 1, cfg.z_dim,
                                              records[i]["truncation"]))[0] for i in top])
    mix = []
    for i in top:
        m = sampling.parse_mix(records[i]["mix"], cfg)
        mix.append(np.broadcast_to(m, (LEVELS, m.shape[-1])) if m.ndim == 1 else m)
    # Per-level mixtures (LEVELS, C) and class maps (GRID, GRID, C) are refined as two batches, each cell's or
    # level's mixture on its own.
    is_map = np.array([m.ndim == 3 for m in mix])
    start = time.perf_counter()
    name = "sketched" if sketch else "refined"
    originals = np.stack([sampling.sample(cfg, state, 1, seed=records[i]["seed"], first=records[i]["index"],
                                          labels=_mixture_array(cfg, records[i]["mix"], 1),
                                          truncation=records[i]["truncation"])[0][0] for i in top])
    masks = wings.wing_sketch(originals) if sketch else None
    images = np.zeros((len(top), 32, 32, 3), np.uint8)
    refined = {"z": np.zeros_like(z), "mix": np.zeros((0, LEVELS, cfg.num_classes), np.float32),
               "map": np.zeros((0, GRID, GRID, cfg.num_classes), np.float32)}
    for key, members in (("mix", ~is_map), ("map", is_map)):
        if members.any():
            part = wings.refine(cfg, state, evaluator, z[members],
                                np.stack([m for m, keep in zip(mix, members) if keep]).astype(np.float32), steps=steps,
                                sketch=None if masks is None else (masks[0][members], masks[1][members]))
            refined["z"][members], images[members], refined[key] = part["z"], part["images"], part["mix"]
            # The objective is a mean over candidates: the groups' first and last values, weighted by their sizes.
            refined["objective"] = refined.get("objective", 0) + part["objective"][[0, -1]] * members.mean()
    scores = score_images(cfg, state, images, evaluator, ref)
    verdicts = judge_verdicts(judge, images) if judge is not None else None
    caps = []
    for k in range(len(top)):
        j = verdicts["images"][k] if verdicts else None
        caps += [f"search #{k + 1}"] + (["the sketch"] if sketch else []) + [
            f"{name}: eval horse {scores['p_horse'][k]:.2f}\nwings up "
            f"{scores['p_wings_upper'][k]:.2f} D {scores['d_percentile'][k]:.2f}"
            + (f"\njudge {j['top_class']} h {j['p_horse']:.2f} w {j['p_wings']:.2f}" if j else "")]
    shown = [(originals[k], _sketched_over(originals[k], masks[0][k], masks[1][k]), images[k]) if sketch
             else (originals[k], images[k]) for k in range(len(top))]
    per = len(shown[0])
    rows = [[img for k in range(r, min(r + 4, len(top))) for img in shown[k]] for r in range(0, len(top), 4)]
    _sheet(rows, 4, gaps=tuple(per * g - 1 for g in (1, 2, 3)),
           captions=[caps[per * r:per * r + 4 * per] for r in range(0, len(top), 4)],
           title=f"the top {len(top)}: as searched | " + ("the sketch | " if sketch else "")
           + f"after {steps} {'sketch-guided ' if sketch else ''}refinement steps").save(out / f"{name}.png")
    np.savez(out / f"{name}.npz", z=refined["z"], mix=refined["mix"], map=refined["map"], is_map=is_map,
             images=images, **({"wing": masks[0], "sky": masks[1]} if sketch else {}))
    entries = [{"from": {k: records[i][k] for k in ("seed", "index", "mix", "truncation")},
                **{k: round(float(scores[k][n]), 5) for k in ("p_horse", "p_wings", "p_wings_upper", "spread",
                                                              "d_percentile", "uniqueness_pixel",
                                                              "uniqueness_feature", "part_score")},
                "eligible": bool(scores["part_eligible"][n]),
                "judge": verdicts["images"][n] if verdicts else None} for n, i in enumerate(top)]
    result = {"steps": steps, "weights": wings.SKETCH_WEIGHTS if sketch else wings.REFINE_WEIGHTS,
              "seconds": round(time.perf_counter() - start, 1),
              "objective_first_last": [float(v) for v in refined["objective"]],
              "images": entries,
              "judge": None if verdicts is None else {k: verdicts[k] for k in ("horse_share", "mean_p_horse",
                                                                               "mean_p_wings", "top_classes")}}
    if sketch:
        pick = ranking([records[i] for i in top], scores, score="part")[0]
        result["pegasus"] = pick
        Image.fromarray(images[pick]).save(out / "pegasus_sketched.png")
        Image.fromarray(_upscale(images[pick], 8)).save(out / "pegasus_sketched_x8.png")
    log(f"{name} the top {len(top)} in {result['seconds']:.0f} s: {name}.png, {name}.npz"
        + (", pegasus_sketched.png" if sketch else "")
        + ("" if verdicts is None else f"; judge: {verdicts['horse_share']:.0%} horse, mean p(bird)+p(airplane) "
           f"{verdicts['mean_p_wings']:.2f}"))
    return result


def _sketched_over(image: np.ndarray, wing: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """The sketch drawn over a candidate (uint8 (32, 32, 3)) at 60%: the wing in `wings.SKETCH_WING`, its sky in
    `wings.SKETCH_SKY`."""
    x = image.astype(np.float32)
    for mask, colour in ((wing, wings.SKETCH_WING), (sky, wings.SKETCH_SKY)):
        a = 0.6 * mask[..., None]
        x = x * (1 - a) + a * (np.asarray(colour, np.float32) + 1.0) * 127.5
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def side_by_side(out: pathlib.Path, baseline: pathlib.Path, gan_image: np.ndarray, gan_probs: dict):
    """side_by_side.png: the autoencoder baseline's Pegasus beside the GAN's, 8x, with the evaluator's verdicts."""
    from PIL import Image

    ae = np.asarray(Image.open(baseline / "ae_pegasus.png").convert("RGB"))
    ae_probs = json.loads((baseline / "metrics.json").read_text())["pegasus"]["class_probabilities"]

    def caption(name, probs):
        top = max(probs, key=probs.get)
        return (f"{name}\nevaluator: {top} {probs[top]:.2f}\nhorse {probs[HORSE]:.2f}, bird+airplane "
                f"{sum(probs[w] for w in WINGS):.2f}")

    _sheet([[ae, gan_image]], 8, pad=8, captions=[[caption("MLP autoencoder (base code)", ae_probs),
                                                   caption("jaxgan conditional GAN", gan_probs)]]
           ).save(out / "side_by_side.png")


def _check_baseline(baseline):
    if baseline is None:
        return None
    baseline = pathlib.Path(baseline)
    for name in ("ae_pegasus.png", "metrics.json"):
        if not (baseline / name).is_file():
            raise UserError(f"baseline folder {baseline}: no {name} (make it with python -m "
                            f"jaxgan.experiments.autoencoder_baseline --workdir {baseline})")
    return baseline


def run(workdir, out, budget: int = 4096, seed: int = 0, checkpoint: str = "latest", data_dir=None,
        evaluator_path=None, baseline=None, reference=None, log=print, pretrained: str | None = None,
        prefer: str = "none", judge_path=None, score: str = "part", refine_steps: int = 0,
        sketch_steps: int = 0) -> dict:
    """The whole command: checks every input before slow work, then search, score, write. `reference`: the
    train split's `metrics.reference.Reference` when the caller has it already (else loaded). `judge_path`: the
    judge's weight file (default: the shipped judge; without one shipped, no verdicts are written). `score`:
    "part" (`jaxgan.wings`: the horse from the whole image over 18 views, the wings also from the band above the
    back) or "whole" (horse and wings from the whole image only). `refine_steps` > 0: also refine the top 16
    (`refine_top`), reported apart. `sketch_steps` > 0: also refine the 16 best white candidates (the ranking with
    `prefer="white"`: a white wing on a white horse is the classic Pegasus) towards a sketched wing
    (`refine_top(..., sketch=True)`), reported apart as well."""
    from jaxgan import evaluator as evaluator_lib

    if budget < MIN_BUDGET:
        raise UserError(f"--budget must be at least {MIN_BUDGET}, got {budget}")
    if prefer not in PREFERENCES:
        raise UserError(f"unknown preference '{prefer}' (known: {', '.join(PREFERENCES)})")
    if score not in SCORES:
        raise UserError(f"unknown score '{score}' (known: {', '.join(SCORES)})")
    for flag, steps in (("--refine", refine_steps), ("--sketch", sketch_steps)):
        if steps < 0:
            raise UserError(f"{flag} must not be negative, got {steps}")
    out = run_lib.output_folder(out)
    baseline = _check_baseline(baseline)
    start = time.perf_counter()
    if pretrained is not None:
        from jaxgan import pretrained as pretrained_lib

        cfg, state = pretrained_lib.load(pretrained)
        source = ["--pretrained", pretrained]
    else:
        cfg, state = run_lib.load(workdir, checkpoint)
        source = ["--workdir", str(workdir)]
    latents_per_combination(cfg, budget)  # an unsuitable run or budget fails here, before the slow part
    evaluator = evaluator_lib.load(evaluator_path)
    judge = (evaluator_lib.load_judge(judge_path)
             if judge_path is not None or evaluator_lib.SHIPPED_JUDGE.is_file() else None)
    ref = reference or reference_lib.load(evaluator, "train", data_dir, log=log)
    out.mkdir(exist_ok=True)
    records, images, scores = search(cfg, state, budget, seed, evaluator, ref, log)
    result = write_outputs(out, source, cfg, state, records, images, scores, evaluator, ref, log, prefer, judge,
                           score)
    if refine_steps:
        result["refined"] = refine_top(out, cfg, state, records, ranking(records, scores, prefer, score), evaluator,
                                       ref, judge, refine_steps, log)
        (out / "pegasus.json").write_text(json.dumps(result, indent=1) + "\n")
    if sketch_steps:
        result["sketched"] = refine_top(out, cfg, state, records, ranking(records, scores, "white", score), evaluator,
                                        ref, judge, sketch_steps, log, sketch=True)
        (out / "pegasus.json").write_text(json.dumps(result, indent=1) + "\n")
    p = result["pegasus"]
    if baseline is not None:
        from PIL import Image

        side_by_side(out, baseline, np.asarray(Image.open(out / "pegasus.png")), p["class_probabilities"])
    log(f"Pegasus: {p['mix']} truncation {p['truncation']} seed {p['seed']} index {p['index']}: horse "
        f"{p['p_horse']:.2f}, bird+airplane {p['p_wings']:.2f}, D percentile {p['d_percentile']:.2f}, nearest "
        f"training image {p['uniqueness_pixel']:.2f}x the memorisation threshold; {result['eligible']} of "
        f"{result['budget']} candidates passed every check")
    if judge is not None:
        j = result["judge"]
        log(f"judge (reports only): Pegasus {j['pegasus']['top_class']}, horse {j['pegasus']['p_horse']:.2f}, "
            f"bird+airplane {j['pegasus']['p_wings']:.2f}; batch of 64: {j['batch64']['horse_share']:.0%} horse")
    if not p["eligible"]:
        log("warning: no candidate passed every check; pegasus.png is the best-scoring one (train longer?)")
    log(f"wrote {out}/pegasus.png, pegasus_x8.png, candidates.png, batch64.png, interpolations.png, neighbours.png, "
        f"{'side_by_side.png, ' if baseline else ''}pegasus.json in {time.perf_counter() - start:.0f} s")
    return result
