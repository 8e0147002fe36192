"""The shipped evaluator: accurate on CIFAR-10 test, small, batch-size independent, and safe to load."""
import numpy as np
import pytest

from jaxgan import data, evaluator as evaluator_lib
from jaxgan.errors import UserError


@pytest.fixture(scope="module")
def cifar_test(data_dir):
    return data.load_cifar10("test", data_dir)


def test_shipped_weights_reach_90_percent_on_the_test_split(evaluator, cifar_test):
    images, labels = cifar_test
    _, logits = evaluator.features_and_logits(images)
    accuracy = np.mean(np.argmax(logits, 1) == labels)
    assert accuracy >= 0.90, accuracy
    assert abs(accuracy - evaluator.meta["test_accuracy"]) < 0.005  # the recorded figure is the measured one


def test_shipped_weights_are_a_few_megabytes():
    assert evaluator_lib.SHIPPED_WEIGHTS.stat().st_size < 8 * 2**20


def test_features_do_not_depend_on_batch_size(evaluator, cifar_test):
    images = cifar_test[0][:300]
    f1, l1 = evaluator.features_and_logits(images, batch_size=300)
    f2, l2 = evaluator.features_and_logits(images, batch_size=64)
    assert f1.shape == (300, evaluator.feature_dim) and l1.shape == (300, 10)
    np.testing.assert_allclose(f1, f2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(l1, l2, rtol=1e-4, atol=1e-4)


def test_save_and_load_round_trip(tmp_path, evaluator, cifar_test):
    path = tmp_path / "copy.msgpack"
    evaluator_lib.save(path, evaluator.net, evaluator.variables, {"note": "copy"})
    copy = evaluator_lib.load(path)
    assert copy.meta["note"] == "copy" and copy.net == evaluator.net
    assert copy.weights_id != evaluator.weights_id  # other metadata, other file: another cache key
    images = cifar_test[0][:50]
    np.testing.assert_array_equal(copy.features_and_logits(images)[0], evaluator.features_and_logits(images)[0])


@pytest.mark.parametrize("content", [b"", b"not msgpack at all", b"\x81\xa4meta\xa2{}"])
def test_damaged_weight_file_is_a_user_error(tmp_path, content):
    path = tmp_path / "bad.msgpack"
    path.write_bytes(content)
    with pytest.raises(UserError, match="not a jaxgan evaluator weight file"):
        evaluator_lib.load(path)


def test_missing_weight_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        evaluator_lib.load(tmp_path / "nope.msgpack")
