import numpy as np
import pytest

from jaxgan.metrics import prdc


@pytest.fixture(scope="module")
def real():
    return np.random.default_rng(0).normal(size=(1500, 8))


def test_same_distribution_has_high_precision_and_recall(real):
    fake = np.random.default_rng(1).normal(size=(1500, 8))
    p, r = prdc.precision_recall(real, fake)
    assert p > 0.6 and r > 0.6


def test_shifted_set_loses_precision_and_recall(real):
    base = np.random.default_rng(1).normal(size=(1500, 8))
    p0, r0 = prdc.precision_recall(real, base)
    p, r = prdc.precision_recall(real, base + 1.5)
    assert p < p0 - 0.3 and r < r0 - 0.3


def test_collapsed_set_keeps_precision_but_loses_recall(real):
    rng = np.random.default_rng(2)
    collapsed = rng.normal(size=(1500, 8)) * 0.1  # all near the mode: realistic but not varied
    p, r = prdc.precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.2


def test_chunking_does_not_change_the_result(real, monkeypatch):
    fake = np.random.default_rng(3).normal(size=(700, 8))
    full = prdc.precision_recall(real, fake)
    monkeypatch.setattr(prdc, "CHUNK", 97)
    assert prdc.precision_recall(real, fake) == full
