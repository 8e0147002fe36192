"""CIFAR-10 from tensorflow-datasets, held in device memory as uint8 and batched on device.

    images, labels = data.load_cifar10("train", data_dir="../shared/tensorflow_datasets", classes=("horse",))
    batches = data.Batches(images, labels, batch_size=64, n_dis=1, key=jax.random.key(0), mesh=mesh)
    batch = batches.get(step)   # {"image": uint8 (n_dis, B, 32, 32, 3), "label": int32 (n_dis, B)}
    x = data.to_float(batch["image"])   # [-1, 1]

The split is read once with `tfds.data_source` (no TensorFlow needed) and copied to every device. Each epoch is a
permutation drawn on device from `fold_in(key, epoch)`, so the batch of a step depends only on the key and the
step number: a resumed run sees exactly the batches an uninterrupted one would.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.config import CIFAR10_CLASSES
from jaxgan.errors import UserError

DATASET, VERSION = "cifar10", "3.0.2"
SPLITS = ("train", "test")
HOW_TO_GET = ("pass --data-dir (or set TFDS_DATA_DIR) to a tensorflow-datasets folder holding cifar10 3.0.2; "
              "tfds can prepare one with `tfds build cifar10` where TensorFlow and the network are available")


def cache_dir() -> pathlib.Path:
    """Where jaxgan keeps what it can recompute (decoded splits, reference statistics).

    Returns:
      $JAXGAN_CACHE, else ~/.cache/jaxgan.
    """
    return pathlib.Path(os.environ.get("JAXGAN_CACHE") or pathlib.Path.home() / ".cache" / "jaxgan")


def _decoded_cache(where: pathlib.Path, split: str) -> pathlib.Path | None:
    """The cache file of a split's decoded arrays, named by the stored files' paths, sizes and times: a changed,
    truncated or replaced copy of the data misses the cache and is read (and checked) afresh."""
    files = sorted(where.glob(f"{DATASET}-{split}.*"))
    if not files:
        return None
    stamp = [(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    digest = hashlib.sha1(repr(stamp).encode()).hexdigest()[:16]
    return cache_dir() / "decoded" / f"{DATASET}-{VERSION}-{split}-{digest}.npz"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> pathlib.Path | None:
    """The tensorflow-datasets folder to read.

    Args:
      data_dir: a folder given by the user, or None.

    Returns:
      `data_dir`, else $TFDS_DATA_DIR, else None (tfds' own default, which downloads when online).
    """
    data_dir = data_dir or os.environ.get("TFDS_DATA_DIR")
    return pathlib.Path(data_dir).expanduser() if data_dir else None


def load_cifar10(split: str = "train", data_dir=None, classes: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 split, decoded (and cached in `cache_dir()` for the next time).

    Args:
      split: "train" or "test".
      data_dir: tensorflow-datasets folder holding cifar10 3.0.2 (None: $TFDS_DATA_DIR, else tfds' default).
      classes: keep only these class names (empty: all ten).

    Returns:
      (images uint8 (N, 32, 32, 3), labels int32 (N,) CIFAR-10 ids), in the stored order.

    Raises:
      UserError: one line saying where it looked, when the data is missing or incomplete; an unknown class or split.
    """
    import tensorflow_datasets as tfds  # imported here: it is slow to import and only the loader needs it
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)  # tfds' "OpenCV is not installed" notice is not for our users

    if split not in SPLITS:
        raise UserError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")
    for name in classes:
        if name not in CIFAR10_CLASSES:
            raise UserError(f"unknown class '{name}' (CIFAR-10 classes: {', '.join(CIFAR10_CLASSES)})")
    root = resolve_data_dir(data_dir)
    cached = None
    if root is not None:
        where = root / DATASET / VERSION
        if not (where / "dataset_info.json").is_file():
            raise UserError(f"CIFAR-10 not found: no {DATASET}/{VERSION}/dataset_info.json under {root}; {HOW_TO_GET}")
        cached = _decoded_cache(where, split)
    if cached is not None and cached.is_file():
        try:
            with np.load(cached) as f:
                return _keep(f["images"], f["labels"], classes)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is rebuilt below
    try:
        source = tfds.data_source(DATASET, split=split, data_dir=None if root is None else str(root),
                                  download=root is None)
        n, splits = len(source), source.dataset_info.splits
        expected = splits[split].num_examples if splits else n  # tfds' mock data comes without split sizes
        if n != expected:
            raise ValueError(f"{n} records where dataset_info.json promises {expected}")
        images, labels = _read_all(source, n)
    except UserError:
        raise
    except Exception as e:  # tfds raises many types for missing, partial or corrupt files
        where = root if root is not None else "tfds' default data dir"
        raise UserError(f"CIFAR-10 {split} split in {where} is missing or incomplete ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}); {HOW_TO_GET}") from None
    if cached is not None:  # decoding the PNGs takes ~12 s here; loading the arrays takes a fraction of one
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, images=images, labels=labels)
            tmp.replace(cached)  # atomic: a reader never sees half a file
        except OSError:
            pass  # a read-only or full cache only costs the decoding next time
    return _keep(images, labels, classes)


def verify(data_dir=None, log=print) -> dict:
    """Checks a prepared CIFAR-10 copy: checksums, record counts, shapes, dtypes, labels, class balance.

    Args:
      data_dir: the tensorflow-datasets folder (None: $TFDS_DATA_DIR).
      log: where a line per check goes.

    Returns:
      {"files": {relative path: "ok"}, "splits": {split: {"records": n, "per_class": n / 10}}}.

    Raises:
      UserError: one line naming the first problem (a missing or damaged file, a wrong count, shape or label).
    """
    root = resolve_data_dir(data_dir)
    if root is None:
        raise UserError(f"no data folder given; {HOW_TO_GET}")
    where = root / DATASET / VERSION
    if not (where / "dataset_info.json").is_file():
        raise UserError(f"CIFAR-10 not found: no {DATASET}/{VERSION}/dataset_info.json under {root}; {HOW_TO_GET}")
    report = {"files": {}, "splits": {}}
    sums = root / "SHA256SUMS"
    if sums.is_file():
        for line in sums.read_text().splitlines():
            if not line.strip():
                continue
            digest, _, name = line.strip().partition("  ")
            path = root / name
            if not path.is_file():
                raise UserError(f"{path} is missing (listed in {sums})")
            h = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    h.update(block)
            if h.hexdigest() != digest:
                raise UserError(f"{path} is damaged: its sha256 is not the one {sums} lists")
            report["files"][name] = "ok"
        log(f"checksums: {len(report['files'])} files match {sums}")
    else:
        log(f"checksums: no SHA256SUMS in {root}; checking the records only")
    import tensorflow_datasets as tfds

    for split in SPLITS:
        try:
            source = tfds.data_source(DATASET, split=split, data_dir=str(root), download=False)
            n, expected = len(source), source.dataset_info.splits[split].num_examples
            if n != expected:
                raise ValueError(f"{n} records where dataset_info.json promises {expected}")
            images, labels = _read_all(source, n)
        except Exception as e:  # tfds raises many types for missing, partial or corrupt files
            raise UserError(f"CIFAR-10 {split} split in {root} is missing or incomplete ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''})") from None
        if images.shape != (n, 32, 32, 3) or images.dtype != np.uint8:
            raise UserError(f"CIFAR-10 {split}: images are {images.dtype} {images.shape[1:]}, not uint8 (32, 32, 3)")
        counts = np.bincount(labels, minlength=len(CIFAR10_CLASSES))
        if labels.min() < 0 or len(counts) != len(CIFAR10_CLASSES) or np.any(counts != n // len(CIFAR10_CLASSES)):
            raise UserError(f"CIFAR-10 {split}: labels per class are {counts.tolist()}, not {n // 10} each")
        report["splits"][split] = {"records": int(n), "per_class": int(n // len(CIFAR10_CLASSES))}
        log(f"{split}: {n} records, uint8 32x32x3, {n // 10} per class")
    return report


def _keep(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    if classes:
        keep = np.isin(labels, [CIFAR10_CLASSES.index(c) for c in classes])
        images, labels = images[keep], labels[keep]
    return images, labels


def _read_all(source, n: int, chunk: int = 2500) -> tuple[np.ndarray, np.ndarray]:
    # One thread: decoding a 32x32 PNG is mostly Python and PIL overhead under the GIL, and two threads measured
    # slower than one (17.4 s against 11.6 s for the train split on 2 cores).
    images, labels = [], []
    for start in range(0, n, chunk):
        keys = list(range(start, min(start + chunk, n)))
        try:
            records = source.__getitems__(keys)  # batched reads are twice as fast as one by one
        except TypeError:  # tfds.testing.mock_data's source has no working batched read
            records = [source[k] for k in keys]
        images.append(np.stack([r["image"] for r in records]))
        labels.append(np.array([r["label"] for r in records], np.int32))
    return np.concatenate(images), np.concatenate(labels)


def to_float(images: jax.Array) -> jax.Array:
    """Pixels as the models see them.

    Args:
      images: uint8 [0, 255], any shape.

    Returns:
      float32 in [-1, 1].
    """
    return images.astype(jnp.float32) / 127.5 - 1.0


def to_uint8(images: jax.Array) -> jax.Array:
    """Model outputs as pixels.

    Args:
      images: float in [-1, 1] (values outside are clipped).

    Returns:
      uint8 in [0, 255], rounded to nearest.
    """
    return jnp.clip(jnp.round((images + 1.0) * 127.5), 0, 255).astype(jnp.uint8)


class Batches:
    """On-device shuffled batches of a dataset held replicated on every device of `mesh`.

    `get(step)` returns the batch for that step, sharded over the mesh's batch axis; nothing goes back to the host.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, n_dis: int, key: jax.Array, mesh):
        """Args:
          images: uint8 (N, 32, 32, 3), copied to every device once.
          labels: int (N,).
          batch_size: the global batch (split over the mesh).
          n_dis: real batches per step (one per D update).
          key: the data key (`state.root_key(cfg, KEY_DATA)`); epoch e's order is drawn from fold_in(key, e).
          mesh: the data-parallel mesh.
        """
        per_step = batch_size * n_dis
        if len(images) < per_step:
            raise UserError(f"the dataset has {len(images)} images, fewer than one step needs ({per_step})")
        self.n_dis, self.batch_size = n_dis, batch_size
        self.steps_per_epoch = len(images) // per_step  # the remainder of each epoch is dropped
        self._replicated = replicated = NamedSharding(mesh, P())
        # As raw key data: across processes, device_put takes host arrays only.
        self.key = jax.device_put(np.asarray(jax.random.key_data(key)), replicated)
        self.images = jax.device_put(images, replicated)
        self.labels = jax.device_put(labels.astype(np.int32), replicated)
        self._perm_epoch, self._perm = -1, None
        n = len(images)
        self._permute = jax.jit(
            lambda k, epoch: jax.random.permutation(jax.random.fold_in(jax.random.wrap_key_data(k), epoch), n),
            out_shardings=replicated)
        shard = NamedSharding(mesh, P(None, "batch"))
        self._gather = jax.jit(functools.partial(_gather, n_dis=n_dis, batch_size=batch_size),
                               out_shardings={"image": shard, "label": shard})

    def get(self, step: int) -> dict[str, jax.Array]:
        """The batch of training step `step`.

        Args:
          step: the step number (0-based).

        Returns:
          {"image": uint8 (n_dis, batch_size, 32, 32, 3), "label": int32 (n_dis, batch_size)}, sharded over the
          mesh's batch axis.
        """
        epoch, index = divmod(int(step), self.steps_per_epoch)
        # The two scalars go to the devices explicitly: the training loop forbids implicit transfers.
        if epoch != self._perm_epoch:
            epoch_on_device = jax.device_put(np.int32(epoch), self._replicated)
            self._perm, self._perm_epoch = self._permute(self.key, epoch_on_device), epoch
        return self._gather(self.images, self.labels, self._perm, jax.device_put(np.int32(index), self._replicated))


def _gather(images, labels, perm, index, *, n_dis, batch_size):
    idx = jax.lax.dynamic_slice_in_dim(perm, index * n_dis * batch_size, n_dis * batch_size)
    idx = idx.reshape(n_dis, batch_size)
    return {"image": images[idx], "label": labels[idx]}
