"""Reference statistics of a CIFAR-10 split in an evaluator's feature space, computed once and cached on disk.

    ref = reference.load(evaluator, split="train", data_dir="../shared/tensorflow_datasets")
    reference.load(evaluator, split="train[:10000]")   # its first 10,000 images only (tfds' slicing): 5x quicker
    ref.mu, ref.sigma            # for FID-C;  ref.features, ref.labels for KID-C, precision/recall, intra-class
    ref.images                   # the split itself (uint8), for nearest neighbours in pixel space
    ref.pixel_nn_threshold       # 1st percentile of train-to-train nearest-neighbour distances (pixels in [0, 1])

The cache is `$JAXGAN_CACHE` (default `~/.cache/jaxgan`), one file per (evaluator weights, dataset version, split
or slice): statistics made with other weights are never mixed up. The images themselves are not cached (they are
read from tfds each time); a damaged cache file is recomputed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re

import numpy as np

from jaxgan import data
from jaxgan.errors import UserError
from jaxgan.metrics import fid, uniqueness

FEATURES = "avgpool"  # names how features are read from the network: part of the cache key
NN_QUERIES = 10_000  # training images whose nearest other training image sets the memorisation thresholds
NN_PERCENTILE = 1.0
DIVERSITY_BATCH = 64
_SLICE = re.compile(r"(\w+)\[:(\d+)\]")


cache_dir = data.cache_dir


@dataclasses.dataclass(frozen=True, eq=False)
class Reference:
    split: str
    weights_id: str
    images: np.ndarray  # uint8 (N, 32, 32, 3)
    labels: np.ndarray  # CIFAR-10 class ids
    features: np.ndarray  # float32 (N, d)
    mu: np.ndarray
    sigma: np.ndarray
    pixel_nn_threshold: float
    feature_nn_threshold: float
    batch_diversity: float  # mean pairwise feature distance within real batches of DIVERSITY_BATCH

    def class_statistics(self, class_id: int):
        return fid.statistics(self.features[self.labels == class_id])

    def statistics_of(self, class_ids) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the features of the images of these CIFAR-10 classes (all: mu, sigma)."""
        if len(class_ids) == len(np.unique(self.labels)):
            return self.mu, self.sigma
        return fid.statistics(self.features[np.isin(self.labels, class_ids)])


def pixels(images) -> np.ndarray:
    """uint8 images -> float32 in [0, 1]: the space of the pixel-distance figures."""
    return np.asarray(images, np.float32) / 255.0


def _compute(evaluator, images, labels) -> dict:
    features, _ = evaluator.features_and_logits(images)
    rng = np.random.default_rng(0)
    queries = np.sort(rng.choice(len(images), min(NN_QUERIES, len(images)), replace=False))
    pix_d, _ = uniqueness.nearest_neighbours(pixels(images[queries]), pixels(images), self_index=queries)
    feat_d, _ = uniqueness.nearest_neighbours(features[queries], features, self_index=queries)
    shuffled = features[rng.permutation(len(features))]
    mu, sigma = fid.statistics(features)
    return {"features": features, "labels": labels, "mu": mu, "sigma": sigma,
            "pixel_nn_threshold": np.percentile(pix_d, NN_PERCENTILE),
            "feature_nn_threshold": np.percentile(feat_d, NN_PERCENTILE),
            "batch_diversity": uniqueness.batch_diversity(shuffled, DIVERSITY_BATCH)}


def _reference(evaluator, split: str, images, stats: dict) -> Reference:
    return Reference(split=split, weights_id=evaluator.weights_id, images=images,
                     **{k: (float(v) if np.ndim(v) == 0 else v) for k, v in stats.items()})


def from_arrays(evaluator, images: np.ndarray, labels: np.ndarray, name: str = "custom") -> Reference:
    """A reference made from any labelled image set, computed now and not cached."""
    return _reference(evaluator, name, images, _compute(evaluator, images, labels))


def _cached(path, images, labels) -> dict | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as f:
            stats = {k: f[k] for k in f.files}
        if len(stats["features"]) != len(images) or not np.array_equal(stats["labels"], labels):
            return None
        return stats
    except Exception:  # a damaged or foreign cache file is recomputed, never trusted
        return None


@contextlib.contextmanager
def _exclusive(lock_path):
    """Held by one process at a time (flock; released by the OS if the holder dies)."""
    try:
        import fcntl
    except ImportError:  # no flock here: at worst two processes compute the same file
        yield
        return
    with open(lock_path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def parse_split(split: str) -> tuple[str, int | None]:
    """A reference's name -> (the CIFAR-10 split, how many of its first images; None: all of them).

    Args:
      split: "train", "test", or the first N images of one in tfds' slicing syntax, "train[:N]".

    Returns:
      (split, N or None).

    Raises:
      UserError: anything else, or N = 0.

    Example:
      >>> parse_split("train"), parse_split("test[:5000]")
      (('train', None), ('test', 5000))
    """
    m = _SLICE.fullmatch(split)
    name, n = (m.group(1), int(m.group(2))) if m else (split, None)
    if name not in data.SPLITS or n == 0:
        raise UserError(f"unknown reference '{split}' (use {' or '.join(data.SPLITS)}, or the first N images of one: "
                        f"train[:N])")
    return name, n


def load(evaluator, split: str = "train", data_dir=None, log=None) -> Reference:
    """The reference of a CIFAR-10 split: its statistics from the cache, else computed (tens of seconds) and cached.

    Args:
      evaluator: the `evaluator.Evaluator` whose features the statistics are of.
      split: "train" or "test", or the first N images of one, "train[:N]" (`parse_split`): a quicker, noisier
        reference whose memorisation thresholds are those of that many images.
      data_dir: tensorflow-datasets folder holding cifar10 (None: $TFDS_DATA_DIR, else tfds' default).
      log: where the line announcing a computation goes (None: nowhere).

    Returns:
      The split's `Reference` (its `split` as asked: "train[:N]"). Processes asking at the same time compute it
      once: the others wait for its file.

    Raises:
      UserError: an unknown split, more images asked for than the split has, or CIFAR-10 missing.
    """
    name, n = parse_split(split)
    images, labels = data.load_cifar10(name, data_dir)
    if n is not None:
        if n > len(images):
            raise UserError(f"reference '{split}': CIFAR-10 {name} has {len(images)} images")
        images, labels = images[:n], labels[:n]
    part = name if n is None else f"{name}-first{n}"
    path = cache_dir() / f"reference-{evaluator.weights_id}-{FEATURES}-{data.DATASET}-{data.VERSION}-{part}.npz"
    stats = _cached(path, images, labels)
    if stats is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(path.with_name(path.name + ".lock")):
            stats = _cached(path, images, labels)  # another process may have written it while this one waited
            if stats is None:
                if log:
                    log(f"computing reference statistics of CIFAR-10 {split} (once per evaluator; cached in "
                        f"{path.parent})")
                stats = _compute(evaluator, images, labels)
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
                np.savez(tmp, **stats)
                tmp.replace(path)
    return _reference(evaluator, split, images, stats)
