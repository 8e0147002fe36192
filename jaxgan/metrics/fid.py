"""Fréchet distance between Gaussians fitted to two sets of features (the formula behind FID).

    d = frechet_distance(*statistics(a), *statistics(b))

d = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2). Both square roots are of symmetric
positive semi-definite matrices and are taken by eigendecomposition, which is exact up to float64 rounding and
needs none of `scipy.linalg.sqrtm`'s complex-part clean-up.
"""
from __future__ import annotations

import numpy as np


def statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of (N, d) features, in float64."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be (N >= 2, d), got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu_a, sigma_a, mu_b, sigma_b) -> float:
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    root_a = _sqrt_psd(sigma_a)
    inner = np.linalg.eigvalsh(root_a @ sigma_b @ root_a)
    trace_root = np.sum(np.sqrt(np.clip(inner, 0, None)))
    d = np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root
    return float(max(d, 0.0))


def frechet_distance_of(features_a, features_b) -> float:
    return frechet_distance(*statistics(features_a), *statistics(features_b))
