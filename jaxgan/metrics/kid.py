"""Kernel distance: the unbiased MMD^2 estimate with the cubic polynomial kernel (the formula behind KID).

    mean, std = kernel_distance(a, b, subset_size=1000, subsets=100, seed=0)

k(x, y) = (x . y / d + 1)^3. Each subset estimate drops the kernel's diagonal terms, so its expectation is the
population MMD^2: about 0 (either sign) for two samples of one distribution, unlike the Fréchet distance.
"""
from __future__ import annotations

import numpy as np


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())


def kernel_distance(a, b, subset_size: int = 1000, subsets: int = 100, seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of MMD^2 over random subsets (drawn without replacement within a subset)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("kernel_distance needs at least 2 samples on each side")
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))
