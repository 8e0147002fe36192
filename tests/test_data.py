import shutil

import jax
import numpy as np
import pytest

from jaxgan import data, parallel
from jaxgan.config import CIFAR10_CLASSES
from jaxgan.errors import UserError


def test_train_split_has_5000_images_per_class(cifar_train):
    images, labels = cifar_train
    assert images.shape == (50_000, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [5000] * 10)
    # The per-channel mean the official release is known for.
    np.testing.assert_allclose(images.reshape(-1, 3).mean(0) / 255, [0.4914, 0.4822, 0.4465], atol=1e-3)


def test_class_subset(data_dir):
    images, labels = data.load_cifar10("test", data_dir, classes=("horse", "bird"))
    assert len(images) == 2000
    assert set(np.unique(labels)) == {CIFAR10_CLASSES.index("horse"), CIFAR10_CLASSES.index("bird")}


def test_batches_scale_to_minus_one_one_and_cover_each_image_once_per_epoch(small_images):
    images, labels = small_images
    images = images[:96]
    mesh = parallel.make_mesh()
    batches = data.Batches(images, labels[:96], batch_size=16, n_dis=2, key=jax.random.key(0), mesh=mesh)
    assert batches.steps_per_epoch == 3
    seen = np.concatenate([np.asarray(batches.get(s)["image"]).reshape(-1, 32, 32, 3) for s in range(3)])
    # Same multiset of images as the dataset, in a new order.
    key = lambda a: sorted(map(bytes, a))
    assert key(seen) == key(images)
    assert not np.array_equal(seen, images)
    x = np.asarray(data.to_float(batches.get(0)["image"]))
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.min() < -0.9 and x.max() > 0.9
    # Deterministic in the step; a new epoch has a new order.
    np.testing.assert_array_equal(batches.get(1)["image"], batches.get(1)["image"])
    assert not np.array_equal(batches.get(0)["label"], batches.get(3)["label"])


def test_uint8_round_trip():
    x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(data.to_uint8(data.to_float(x)), x)


def test_missing_data_dir_names_where_it_looked(tmp_path):
    with pytest.raises(UserError, match=str(tmp_path)):
        data.load_cifar10("train", tmp_path)


def _copy_test_split(src_root, dst_root):
    """A copy of the prepared cifar10 folder without the train split; returns its version folder."""
    src, dst = src_root / "cifar10" / "3.0.2", dst_root / "cifar10" / "3.0.2"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if "train" not in f.name:
            shutil.copy(f, dst / f.name)
    return dst


def test_incomplete_data_is_reported(tmp_path, data_dir):
    _copy_test_split(data_dir, tmp_path)  # everything but the train split
    with pytest.raises(UserError, match="missing or incomplete"):
        data.load_cifar10("train", tmp_path)


def test_unknown_class_and_split(data_dir):
    with pytest.raises(UserError, match="unicorn"):
        data.load_cifar10("train", data_dir, classes=("unicorn",))
    with pytest.raises(UserError, match="split"):
        data.load_cifar10("validation", data_dir)


def test_mock_data_through_tfds_testing(monkeypatch):
    """The loader works on tfds' mock data too (how flax's examples test their pipelines)."""
    import tensorflow_datasets as tfds

    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    with tfds.testing.mock_data(num_examples=40, policy=tfds.testing.MockPolicy.USE_CODE):
        images, labels = data.load_cifar10("train", None)
    assert images.shape == (40, 32, 32, 3) and labels.shape == (40,)


def test_decoded_split_is_cached_and_read_back_identical(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
    first = data.load_cifar10("test", data_dir, classes=("horse",))
    assert len(list((tmp_path / "cache" / "decoded").glob("cifar10-3.0.2-test-*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache holds the split")

    monkeypatch.setattr(data, "_read_all", no_decoding)
    again = data.load_cifar10("test", data_dir, classes=("horse",))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_damaged_cache_is_rebuilt_and_changed_data_misses_it(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    split_dir = _copy_test_split(data_dir, root)
    images, labels = data.load_cifar10("test", root)
    (cached,) = (tmp_path / "cache" / "decoded").glob("*.npz")
    cached.write_bytes(b"not an npz")
    again, _ = data.load_cifar10("test", root)
    np.testing.assert_array_equal(again, images)
    # A replaced data file (new size or time) is read afresh, so a damaged copy is reported, never masked.
    record = next(split_dir.glob("cifar10-test.array_record*"))
    record.chmod(0o644)
    record.write_bytes(record.read_bytes()[: record.stat().st_size // 2])
    with pytest.raises(UserError, match="missing or incomplete"):
        data.load_cifar10("test", root)


def test_verify_a_whole_copy(data_dir, capsys):
    from jaxgan import cli

    assert cli.main(["data", "verify", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "train: 50000 records" in out and "test: 10000 records" in out and "is whole" in out


def test_verify_a_truncated_copy_is_one_line(tmp_path, data_dir, capsys):
    from jaxgan import cli

    root = tmp_path / "data"
    split_dir = _copy_test_split(data_dir, root)
    record = next(split_dir.glob("cifar10-test.array_record*"))
    record.chmod(0o644)
    record.write_bytes(record.read_bytes()[: record.stat().st_size // 2])
    listed = [line for line in (data_dir / "SHA256SUMS").read_text().splitlines() if "train" not in line]
    (root / "SHA256SUMS").write_text("\n".join(listed) + "\n")
    assert cli.main(["data", "verify", "--data-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cifar10-test.array_record" in err[0] and "damaged" in err[0], err
    (root / "SHA256SUMS").unlink()  # without checksums the records themselves give it away
    assert cli.main(["data", "verify", "--data-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing or incomplete" in err[0], err
