"""Evaluating images, or a run's generator, with every jaxgan metric: one JSON-able dict.

    from jaxgan import evaluation
    m = evaluation.evaluate_images(images, labels=None, data_dir="../shared/tensorflow_datasets")
    m["fid_c"], m["kid_c"], m["precision"], m["recall"], m["uniqueness"]["memorisation_rate_pixel"]

Images are uint8 (N, 32, 32, 3); labels (optional) are the CIFAR-10 class ids each image was asked to be. All
distances are measured in the feature space of jaxgan's own CIFAR-10 evaluator (`jaxgan.evaluator`), against the
CIFAR-10 train split: they are FID-C and KID-C, not comparable with Inception-v3 FID/KID (`jaxgan.inception`).
Command line: `jaxgan eval --workdir DIR` or `jaxgan eval --images FILE.npz`.
"""
from __future__ import annotations

import time

import numpy as np

from jaxgan.config import CIFAR10_CLASSES
from jaxgan.errors import UserError
from jaxgan.metrics import fid, kid, prdc, reference as reference_lib, uniqueness

MIN_IMAGES = 64  # one batch-diversity batch; fewer make every figure noise
PR_K = 3


def check_images(images, labels=None, source: str = "images") -> tuple[np.ndarray, np.ndarray | None]:
    """The arrays as evaluate_images needs them, or UserError naming what is wrong."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise UserError(f"{source}: images must be uint8 in [0, 255], got dtype {images.dtype}")
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise UserError(f"{source}: images must have shape (N, 32, 32, 3), got {images.shape}")
    if len(images) < MIN_IMAGES:
        raise UserError(f"{source}: {len(images)} images; evaluation needs at least {MIN_IMAGES}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise UserError(f"{source}: labels must be integers of shape ({len(images)},), got {labels.dtype} "
                            f"{labels.shape}")
        if labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES):
            raise UserError(f"{source}: labels must be CIFAR-10 class ids 0-9, got {labels.min()}..{labels.max()}")
    return images, labels


def evaluate_images(images, labels=None, *, intra_class: bool | None = None, evaluator=None, reference=None,
                    data_dir=None, seed: int = 0, log=None, classes=None) -> dict:
    """All metrics of `images` against `reference` (default: CIFAR-10 train). `intra_class`: None = when labels are
    given. `classes`: CIFAR-10 ids of a class-subset model's classes: also "fid_c_classes", FID-C against those
    classes' reference images (the distribution such a model learns; against all ten, even its own real images
    score far from 0)."""
    from jaxgan import evaluator as evaluator_lib

    images, labels = check_images(images, labels)
    if intra_class and labels is None:
        raise UserError("intra-class FID-C needs the class each image was asked to be; these images have no labels")
    intra_class = labels is not None if intra_class is None else intra_class
    evaluator = evaluator or evaluator_lib.load()
    ref = reference or reference_lib.load(evaluator, "train", data_dir, log=log)
    timings = {}

    t = time.perf_counter()
    feats, logits = evaluator.features_and_logits(images)
    timings["features_s"] = time.perf_counter() - t

    t = time.perf_counter()
    rng = np.random.default_rng(seed)
    real_subset = ref.features[np.sort(rng.choice(len(ref.features), min(len(images), len(ref.features)),
                                                  replace=False))]
    kid_mean, kid_std = kid.kernel_distance(feats, ref.features, seed=seed)
    precision, recall = prdc.precision_recall(real_subset, feats, k=PR_K)
    predicted = np.argmax(logits, axis=1)
    out = {
        "n": len(images),
        "fid_c": fid.frechet_distance(*fid.statistics(feats), ref.mu, ref.sigma),
        **({"fid_c_classes": fid.frechet_distance(*fid.statistics(feats), *ref.statistics_of(tuple(classes)))}
           if classes else {}),
        "kid_c": kid_mean, "kid_c_std": kid_std,
        "precision": precision, "recall": recall,
        "predicted_class_share": {c: float(np.mean(predicted == i)) for i, c in enumerate(CIFAR10_CLASSES)},
    }
    timings["distribution_s"] = time.perf_counter() - t

    if intra_class:
        out["class_accuracy"] = float(np.mean(predicted == labels))
        out["class_accuracy_per_class"] = {CIFAR10_CLASSES[c]: float(np.mean(predicted[labels == c] == c))
                                           for c in np.unique(labels)}
        per_class = {}
        for c in np.unique(labels):
            mine = feats[labels == c]
            if len(mine) >= 2:
                per_class[CIFAR10_CLASSES[c]] = fid.frechet_distance(*fid.statistics(mine), *ref.class_statistics(c))
        out["intra_fid_c"] = per_class
        out["intra_fid_c_mean"] = float(np.mean(list(per_class.values())))

    t = time.perf_counter()
    pix_d, pix_i = uniqueness.nearest_neighbours(reference_lib.pixels(images), reference_lib.pixels(ref.images))
    feat_d, _ = uniqueness.nearest_neighbours(feats, ref.features)
    out["uniqueness"] = {
        "nn_pixel_distance_mean": float(pix_d.mean()), "nn_pixel_distance_min": float(pix_d.min()),
        "nn_pixel_distance_max": float(pix_d.max()),
        "nn_feature_distance_mean": float(feat_d.mean()), "nn_feature_distance_min": float(feat_d.min()),
        "memorisation_threshold_pixel": ref.pixel_nn_threshold,
        "memorisation_rate_pixel": uniqueness.memorisation_rate(pix_d, ref.pixel_nn_threshold),
        "memorisation_threshold_feature": ref.feature_nn_threshold,
        "memorisation_rate_feature": uniqueness.memorisation_rate(feat_d, ref.feature_nn_threshold),
        "batch_diversity": uniqueness.batch_diversity(feats, reference_lib.DIVERSITY_BATCH) / ref.batch_diversity,
    }
    timings["uniqueness_s"] = time.perf_counter() - t
    out["nearest_train_index_pixel"] = pix_i
    out["evaluator"] = evaluator.weights_id
    out["reference"] = f"cifar10 {ref.split}"
    out["timings"] = {k: round(v, 2) for k, v in timings.items()}
    return out


EVAL_SEED = 4321  # the seed of the samples behind FID-C during training: the same latents at every evaluation


def generator_quality(cfg, state, evaluator, mu, sigma, n: int, seed: int = EVAL_SEED, all_classes=None) -> dict:
    """FID-C and class accuracy of `n` samples of the run's EMA generator (what training tracks every eval_every).

    Args:
      cfg: the run's config.
      state: its `GANState`.
      evaluator: the classifier whose features define FID-C.
      mu: reference feature mean.
      sigma: reference feature covariance.
      n: samples (the classes in turn, for a conditional model).
      seed: the sampling seed (the same latents at every call).
      all_classes: (mu, sigma) of all of CIFAR-10 train, for a run on a subset of the classes: its FID-C against
        them is what `jaxgan eval` reports (mu, sigma are then the subset's).

    Returns:
      {"fid_c": float, "class_accuracy": the share of samples the evaluator assigns to the class they were drawn
      for, or None for an unconditional model}, and "fid_c_all" when `all_classes` is given.
    """
    from jaxgan import sampling

    images, labels = sampling.sample(cfg, state, n, seed=seed)
    feats, logits = evaluator.features_and_logits(images)
    accuracy = None
    if labels is not None and cfg.num_classes:
        asked = np.asarray(cfg.class_ids)[np.asarray(labels)]
        accuracy = float(np.mean(np.argmax(logits, axis=1) == asked))
    stats = fid.statistics(feats)
    out = {"fid_c": fid.frechet_distance(*stats, mu, sigma), "class_accuracy": accuracy}
    if all_classes is not None:
        out["fid_c_all"] = fid.frechet_distance(*stats, *all_classes)
    return out


def generator_fid_c(cfg, state, evaluator, mu, sigma, n: int, seed: int = EVAL_SEED) -> float:
    """FID-C of `n` samples of the run's EMA generator against reference statistics (mu, sigma)."""
    return generator_quality(cfg, state, evaluator, mu, sigma, n, seed)["fid_c"]


def to_json(metrics: dict) -> dict:
    """The metrics without per-image arrays, as plain JSON types."""
    return {k: v for k, v in metrics.items() if not isinstance(v, np.ndarray)}


def summary(result: dict) -> str:
    """A few lines for the terminal; the JSON holds everything."""
    u = result["uniqueness"]
    lines = [f"FID-C {result['fid_c']:.3f}   KID-C {result['kid_c']:.4f} +- {result['kid_c_std']:.4f}   "
             f"precision {result['precision']:.3f}   recall {result['recall']:.3f}   (n={result['n']}, "
             f"evaluator {result['evaluator']}, vs {result['reference']})",
             f"nearest training image: pixel L2 mean {u['nn_pixel_distance_mean']:.2f} (min "
             f"{u['nn_pixel_distance_min']:.2f}), memorised {100 * u['memorisation_rate_pixel']:.2f}% (pixel) "
             f"{100 * u['memorisation_rate_feature']:.2f}% (feature); batch diversity {u['batch_diversity']:.3f} "
             f"x real"]
    if "fid_c_classes" in result:
        lines.append(f"FID-C against the model's own classes only {result['fid_c_classes']:.3f}")
    if "class_accuracy" in result:
        lines.append(f"class accuracy {result['class_accuracy']:.3f}   intra-class FID-C mean "
                     f"{result['intra_fid_c_mean']:.3f}")
    if "inception" in result:
        i = result["inception"]
        lines.append(f"Inception: FID {i['fid']:.2f}   KID {i['kid']:.4f}   IS {i['is']:.2f} +- {i['is_std']:.2f}")
    lines.append(f"took {result['timings']['total_s']:.1f} s")
    return "\n".join(lines)
