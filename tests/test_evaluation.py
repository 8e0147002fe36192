"""evaluate_images on real data: the reference figures behave as they must, and bad input is one clear error."""
import numpy as np
import pytest

from jaxgan import data, evaluation
from jaxgan.errors import UserError
from tests.conftest import TRAIN_REFERENCE


@pytest.fixture(scope="module")
def test_split(data_dir):
    return data.load_cifar10("test", data_dir)


@pytest.fixture(scope="module")
def real_metrics(test_split, evaluator, train_reference):
    images, labels = test_split
    return evaluation.evaluate_images(images[:2000], labels[:2000], evaluator=evaluator, reference=train_reference)


def test_real_test_images_score_well(real_metrics):
    m = real_metrics
    assert m["n"] == 2000 and m["reference"] == f"cifar10 {TRAIN_REFERENCE}"
    assert m["fid_c"] < 1.0, m["fid_c"]  # held-out real images: close to the floor
    assert abs(m["kid_c"]) < 0.01
    assert m["precision"] > 0.6 and m["recall"] > 0.6
    assert m["class_accuracy"] > 0.88 and len(m["intra_fid_c"]) == 10
    assert min(m["class_accuracy_per_class"].values()) > 0.7 and len(m["class_accuracy_per_class"]) == 10
    u = m["uniqueness"]
    assert 0.8 < u["batch_diversity"] < 1.2
    assert u["memorisation_rate_pixel"] < 0.05  # CIFAR-10 test has a few near-duplicates of train, not many
    assert set(m["predicted_class_share"]) == set(data.CIFAR10_CLASSES)


def test_noise_and_copies_score_as_they_must(real_metrics, test_split, evaluator, train_reference):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (2000, 32, 32, 3), dtype=np.uint8)
    m = evaluation.evaluate_images(noise, evaluator=evaluator, reference=train_reference)
    # Measured against the first 10k training images: FID-C 26.7 vs 0.17, KID-C 0.27 vs ~0, precision 0.08 vs 0.80
    # (against all 50k: 0.45 vs 0.81; at n=2000 the k-NN balls are wide).
    assert m["fid_c"] > 10 * real_metrics["fid_c"] and m["kid_c"] > 0.1
    assert m["precision"] < 0.65 * real_metrics["precision"] and m["recall"] < 0.05
    assert "class_accuracy" not in m
    copies = train_reference.images[:500]
    c = evaluation.evaluate_images(copies, evaluator=evaluator, reference=train_reference)
    # float32 |a|^2 + |b|^2 - 2ab leaves ~0.05 of rounding at distance 0; real near-duplicates are ~4 apart.
    assert c["uniqueness"]["memorisation_rate_pixel"] == 1.0 and c["uniqueness"]["nn_pixel_distance_max"] < 0.2
    np.testing.assert_array_equal(c["nearest_train_index_pixel"], np.arange(500))


def test_one_class_repeated_loses_recall_and_diversity(test_split, evaluator, train_reference):
    images, labels = test_split
    horses = images[labels == 7][:500]
    m = evaluation.evaluate_images(np.concatenate([horses, horses]), evaluator=evaluator, reference=train_reference)
    assert m["recall"] < 0.3 and m["predicted_class_share"]["horse"] > 0.85
    assert m["uniqueness"]["batch_diversity"] < 1.0


@pytest.mark.parametrize("images, labels, words", [
    (np.zeros((100, 32, 32, 3), np.float32), None, "uint8"),
    (np.zeros((100, 28, 28, 3), np.uint8), None, "(N, 32, 32, 3)"),
    (np.zeros((100, 32, 32), np.uint8), None, "(N, 32, 32, 3)"),
    (np.zeros((10, 32, 32, 3), np.uint8), None, "at least 64"),
    (np.zeros((100, 32, 32, 3), np.uint8), np.zeros(99, np.int32), "labels"),
    (np.zeros((100, 32, 32, 3), np.uint8), np.full(100, 10), "0-9"),
    (np.zeros((100, 32, 32, 3), np.uint8), np.zeros(100, np.float32), "integers"),
])
def test_bad_input_is_a_user_error(images, labels, words):
    with pytest.raises(UserError, match=None) as e:
        evaluation.check_images(images, labels)
    assert words in str(e.value)


def test_intra_class_without_labels_is_a_user_error(evaluator, train_reference):
    with pytest.raises(UserError, match="needs the class"):
        evaluation.evaluate_images(np.zeros((64, 32, 32, 3), np.uint8), intra_class=True, evaluator=evaluator,
                                   reference=train_reference)



def test_generator_quality_reads_fid_c_and_class_accuracy(evaluator):
    """Training's periodic measurement: FID-C and the share of samples the evaluator puts in the class asked for
    (the model's own class numbers mapped to CIFAR-10's ids)."""
    from jaxgan import sampling, state as state_lib
    from jaxgan.metrics import fid
    from tests.conftest import tiny_config

    cfg = tiny_config(model="cdcgan", num_classes=2, classes=("bird", "horse"), loss="hinge")
    st = state_lib.create(cfg)
    mu, sigma = np.zeros(evaluator.feature_dim), np.eye(evaluator.feature_dim)
    q = evaluation.generator_quality(cfg, st, evaluator, mu, sigma, 40, seed=3)
    images, labels = sampling.sample(cfg, st, 40, seed=3)
    feats, logits = evaluator.features_and_logits(images)
    asked = np.where(labels == 0, 2, 7)  # bird is CIFAR-10 class 2, horse 7
    assert q["class_accuracy"] == pytest.approx(np.mean(np.argmax(logits, 1) == asked))
    assert q["fid_c"] == pytest.approx(fid.frechet_distance(*fid.statistics(feats), mu, sigma), rel=1e-6)
    assert evaluation.generator_fid_c(cfg, st, evaluator, mu, sigma, 40, seed=3) == q["fid_c"]
    both = evaluation.generator_quality(cfg, st, evaluator, mu, sigma, 40, seed=3, all_classes=(mu + 1, sigma))
    assert both["fid_c"] == q["fid_c"] and both["fid_c_all"] == pytest.approx(
        fid.frechet_distance(*fid.statistics(feats), mu + 1, sigma), rel=1e-6)
    unconditional = evaluation.generator_quality(tiny_config(), state_lib.create(tiny_config()), evaluator, mu,
                                                 sigma, 16)
    assert unconditional["class_accuracy"] is None


def test_a_class_subset_is_also_compared_with_its_own_classes(test_split, evaluator, train_reference):
    """Real images of four classes are near 0 against those classes' statistics, far from 0 against all ten: the
    figure a four-class model should be judged by is fid_c_classes."""
    images, labels = test_split
    four = (0, 2, 4, 7)
    keep = np.isin(labels, four)
    m = evaluation.evaluate_images(images[keep][:2000], labels[keep][:2000], evaluator=evaluator,
                                   reference=train_reference, classes=four)
    assert m["fid_c_classes"] < 0.5 * m["fid_c"]
    assert "fid_c_classes" not in evaluation.evaluate_images(images[:500], evaluator=evaluator,
                                                             reference=train_reference)
