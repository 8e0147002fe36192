import numpy as np
import pytest
import scipy.linalg

from jaxgan.metrics import fid


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def scipy_reference(mu1, s1, mu2, s2):
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real))


def test_matches_scipy_sqrtm_on_random_gaussians():
    rng = np.random.default_rng(0)
    for d in (2, 16, 64):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = random_spd(rng, d), random_spd(rng, d)
        np.testing.assert_allclose(fid.frechet_distance(mu1, s1, mu2, s2), scipy_reference(mu1, s1, mu2, s2),
                                   rtol=1e-8)


def test_closed_form_for_diagonal_gaussians():
    # For commuting covariances: sum (sqrt(a) - sqrt(b))^2 + |mu|^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = 1.0 + 0.0 + 4.0 + 3.0 ** 2
    assert fid.frechet_distance(np.zeros(3), np.diag(a), np.array([3.0, 0, 0]), np.diag(b)) == pytest.approx(expected)


def test_self_distance_is_zero_and_distance_is_symmetric():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2000, 32))
    b = rng.normal(size=(2000, 32)) * 1.5 + 0.3
    assert fid.frechet_distance_of(a, a) == pytest.approx(0.0, abs=1e-8)
    assert fid.frechet_distance_of(a, b) == pytest.approx(fid.frechet_distance_of(b, a), rel=1e-9)
    assert fid.frechet_distance_of(a, b) > 1.0


def test_statistics_do_not_depend_on_order_or_chunking():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(1000, 8))
    mu, s = fid.statistics(f)
    mu2, s2 = fid.statistics(f[::-1])
    np.testing.assert_allclose(mu, mu2, atol=1e-12)
    np.testing.assert_allclose(s, s2, atol=1e-12)


def test_bad_shape():
    with pytest.raises(ValueError):
        fid.statistics(np.zeros((1, 4)))
