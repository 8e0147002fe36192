"""The torch-fidelity bridge, with stand-ins for torch and torch-fidelity (neither is a dependency of the suite)."""
import sys
import types

import numpy as np
import pytest

from jaxgan import inception
from jaxgan.errors import UserError


def _fake_modules(monkeypatch, calculate_metrics):
    torch = types.ModuleType("torch")
    torch.from_numpy = lambda a: a
    torch.cuda = types.SimpleNamespace(is_available=lambda: False)
    fidelity = types.ModuleType("torch_fidelity")
    fidelity.calculate_metrics = calculate_metrics
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch_fidelity", fidelity)


def test_images_reach_torch_fidelity_as_uint8_chw_and_results_come_back(monkeypatch):
    seen = {}

    def calculate_metrics(input1, input2, **kwargs):
        seen.update(first=input1[0], n=(len(input1), len(input2)), **kwargs)
        return {"frechet_inception_distance": 12.5, "kernel_inception_distance_mean": 0.01,
                "kernel_inception_distance_std": 0.001, "inception_score_mean": 7.0, "inception_score_std": 0.1}

    _fake_modules(monkeypatch, calculate_metrics)
    images = np.random.default_rng(0).integers(0, 256, (70, 32, 32, 3), dtype=np.uint8)
    m = inception.inception_metrics(images, images[:64])
    assert m == {"fid": 12.5, "kid": 0.01, "kid_std": 0.001, "is": 7.0, "is_std": 0.1}
    assert seen["n"] == (70, 64) and seen["fid"] and seen["kid"] and seen["isc"]
    np.testing.assert_array_equal(seen["first"], images[0].transpose(2, 0, 1))
    assert seen["kid_subset_size"] == 64


def test_weights_that_cannot_be_downloaded_are_one_clear_line(monkeypatch):
    def calculate_metrics(*args, **kwargs):
        raise OSError("Temporary failure in name resolution\ntraceback details")

    _fake_modules(monkeypatch, calculate_metrics)
    with pytest.raises(UserError, match="Inception-v3 weights") as e:
        inception.inception_metrics(np.zeros((64, 32, 32, 3), np.uint8), np.zeros((64, 32, 32, 3), np.uint8))
    assert "\n" not in str(e.value)


def test_missing_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # makes the import fail
    with pytest.raises(UserError, match=r"jaxgan\[inception\]"):
        inception.check_available()
