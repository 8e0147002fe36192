import numpy as np

from jaxgan.metrics import kid


def test_unbiased_near_zero_for_two_halves_of_one_set():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 16))
    mean, std = kid.kernel_distance(x[:2000], x[2000:], subset_size=500, subsets=50)
    assert abs(mean) < 3 * std / np.sqrt(50) + 1e-3
    # A biased estimate (diagonal kept) would be clearly positive here.
    a, b = x[:500], x[500:1000]
    d = a.shape[1]
    biased = ((a @ a.T / d + 1) ** 3).mean() + ((b @ b.T / d + 1) ** 3).mean() - 2 * ((a @ b.T / d + 1) ** 3).mean()
    assert biased > 5 * abs(mean)


def test_grows_with_a_shift():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    small = kid.kernel_distance(x, y + 0.1, subset_size=500, subsets=20)[0]
    large = kid.kernel_distance(x, y + 1.0, subset_size=500, subsets=20)[0]
    assert 0 < small < large
