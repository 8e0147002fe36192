"""Nearest neighbours, the memorisation rate and batch diversity against brute force."""
import numpy as np

from jaxgan.metrics import uniqueness


def _brute(q, r):
    d = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    return d.min(1), d.argmin(1)


def test_nearest_neighbours_match_brute_force(monkeypatch):
    monkeypatch.setattr(uniqueness, "QUERY_CHUNK", 64)  # several chunks, the last one padded
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(150, 12)), rng.normal(size=(300, 12))
    d, i = uniqueness.nearest_neighbours(q, r)
    bd, bi = _brute(q, r)
    np.testing.assert_allclose(d, bd, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(i, bi)


def test_images_of_any_shape_and_exact_copies():
    rng = np.random.default_rng(1)
    train = rng.random((200, 8, 8, 3), dtype=np.float32)
    samples = np.concatenate([train[[5, 17]], rng.random((3, 8, 8, 3), dtype=np.float32)])
    d, i = uniqueness.nearest_neighbours(samples, train)
    assert list(i[:2]) == [5, 17] and np.all(d[:2] < 1e-2) and np.all(d[2:] > 0.5)
    assert uniqueness.memorisation_rate(d, threshold=0.1) == 2 / 5


def test_self_is_excluded_within_one_set():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 5))
    idx = np.arange(0, 100, 3)
    d, i = uniqueness.nearest_neighbours(x[idx], x, self_index=idx)
    full = np.sqrt(((x[idx][:, None] - x[None]) ** 2).sum(-1))
    full[np.arange(len(idx)), idx] = np.inf
    np.testing.assert_allclose(d, full.min(1), rtol=1e-4, atol=1e-4)
    assert np.all(i != idx)


def test_batch_diversity():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(128, 16))
    assert uniqueness.batch_diversity(np.repeat(x[:1], 128, 0)) < 1e-6  # a collapsed batch
    np.testing.assert_allclose(uniqueness.batch_diversity(3 * x), 3 * uniqueness.batch_diversity(x))
    one = x[:64]
    brute = np.sqrt(((one[:, None] - one[None]) ** 2).sum(-1))[np.triu_indices(64, 1)].mean()
    np.testing.assert_allclose(uniqueness.batch_diversity(one), brute)
