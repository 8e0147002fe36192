"""Reference statistics: cached per (evaluator weights, split), recomputed when damaged, per-class subsets."""
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxgan import data, evaluator as evaluator_lib
from jaxgan.metrics import fid, reference


@pytest.fixture
def small_split(monkeypatch, small_images):
    """`load_cifar10` returns 512 real images: the cache logic runs in seconds."""
    monkeypatch.setattr(data, "load_cifar10", lambda split, data_dir=None, classes=(): small_images)
    monkeypatch.setattr(reference, "NN_QUERIES", 100)
    return small_images


def test_cached_per_weights_and_split(tmp_path, monkeypatch, small_split, evaluator):
    monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
    first = reference.load(evaluator, "train")
    files = sorted(f.name for f in tmp_path.iterdir())
    name = f"reference-{evaluator.weights_id}-avgpool-cifar10-3.0.2-train.npz"
    assert files == [name, name + ".lock"]  # the lock that lets one process compute while others wait
    again = reference.load(evaluator, "train")
    np.testing.assert_array_equal(first.features, again.features)
    assert again.pixel_nn_threshold == first.pixel_nn_threshold
    reference.load(evaluator, "test")
    other = evaluator_lib.save(tmp_path / "other.msgpack", evaluator.net, evaluator.variables, {"note": "x"})
    assert other is None
    reference.load(evaluator_lib.load(tmp_path / "other.msgpack"), "train")
    assert len(list(tmp_path.glob("reference-*.npz"))) == 3  # two splits, two weight files: three entries


def test_processes_asking_at_once_compute_the_reference_once(tmp_path):
    """Four processes load the same missing reference together: one computes it, the others read its file."""
    from tests.conftest import REPO

    code = ("import numpy as np; from jaxgan import data, evaluator; from jaxgan.metrics import reference\n"
            "rng = np.random.default_rng(0)\n"
            "split = rng.integers(0, 256, (512, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 512)\n"
            "data.load_cifar10 = lambda split_name, data_dir=None, classes=(): split\n"
            "reference.NN_QUERIES = 100\n"
            "reference.load(evaluator.load(), 'train', log=lambda line: print('COMPUTED', flush=True))\n")
    env = dict(os.environ, JAXGAN_CACHE=str(tmp_path), JAX_PLATFORMS="cpu")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(o.count("COMPUTED") for o in outs) == 1, outs
    assert len(list(tmp_path.glob("reference-*.npz"))) == 1 and not list(tmp_path.glob("*.tmp.npz"))


def test_statistics_match_the_features(small_split, tmp_path, monkeypatch, evaluator):
    monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
    ref = reference.load(evaluator, "train")
    feats, _ = evaluator.features_and_logits(small_split[0])
    np.testing.assert_allclose(ref.features, feats)
    mu, sigma = fid.statistics(feats)
    np.testing.assert_allclose(ref.mu, mu)
    np.testing.assert_allclose(ref.sigma, sigma)
    horse_bird = fid.statistics(feats[np.isin(small_split[1], [2, 7])])
    np.testing.assert_allclose(ref.statistics_of([2, 7])[0], horse_bird[0])
    assert ref.statistics_of(range(10))[0] is ref.mu
    assert 0 < ref.pixel_nn_threshold < 55.5 and ref.batch_diversity > 0


def test_damaged_cache_is_recomputed(tmp_path, monkeypatch, small_split, evaluator):
    monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
    good = reference.load(evaluator, "train")
    path = next(tmp_path.glob("reference-*.npz"))
    path.write_bytes(b"garbage")
    again = reference.load(evaluator, "train")
    np.testing.assert_allclose(again.mu, good.mu)
    assert np.load(path)["features"].shape == good.features.shape  # rewritten whole


def test_the_first_n_images_of_a_split_are_a_reference_of_their_own(tmp_path, monkeypatch, small_split, evaluator):
    """"train[:N]" (tfds' slicing): the statistics of the split's first N images, cached apart from the whole."""
    monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
    part = reference.load(evaluator, "train[:200]")
    assert part.split == "train[:200]" and len(part.features) == 200
    np.testing.assert_array_equal(part.images, small_split[0][:200])
    np.testing.assert_array_equal(part.labels, small_split[1][:200])
    whole = reference.load(evaluator, "train")
    np.testing.assert_allclose(part.features, whole.features[:200], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(part.mu, fid.statistics(whole.features[:200])[0], rtol=1e-5, atol=1e-5)
    assert sorted(f.name for f in tmp_path.glob("reference-*.npz")) == [
        f"reference-{evaluator.weights_id}-avgpool-cifar10-3.0.2-train-first200.npz",
        f"reference-{evaluator.weights_id}-avgpool-cifar10-3.0.2-train.npz"]


@pytest.mark.parametrize("split, words", [
    ("valid", "unknown reference 'valid'"), ("train[:0]", "unknown reference"), ("train[100:]", "train[:N]"),
    ("train[:513]", "has 512 images"),
])
def test_a_wrong_reference_name_is_one_user_error(tmp_path, monkeypatch, small_split, evaluator, split, words):
    from jaxgan.errors import UserError

    monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path))
    with pytest.raises(UserError) as e:
        reference.load(evaluator, split)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert not list(tmp_path.glob("reference-*.npz"))
