"""The shipped judge: another family than the evaluator, accurate on CIFAR-10 test as its file says, and its
verdicts as jaxgan pegasus reports them."""
import numpy as np
import pytest

from jaxgan import data, evaluator as evaluator_lib, pegasus
from jaxgan.config import CIFAR10_CLASSES
from jaxgan.evaluator.judge import JudgeNet
from jaxgan.evaluator.network import EvaluatorNet


@pytest.fixture(scope="module")
def judge():
    return evaluator_lib.load_judge()


def test_the_judge_is_another_network_and_seed_than_the_evaluator(judge, evaluator):
    assert isinstance(judge.net, JudgeNet) and isinstance(evaluator.net, EvaluatorNet)
    assert judge.meta["network"] == "judge" and judge.meta["recipe"]["seed"] != evaluator.meta["recipe"]["seed"]
    assert judge.weights_id != evaluator.weights_id
    assert evaluator_lib.SHIPPED_JUDGE.stat().st_size < 4 * 2**20


def test_shipped_judge_is_as_accurate_as_its_file_says(judge, data_dir):
    images, labels = data.load_cifar10("test", data_dir)
    _, logits = judge.features_and_logits(images)
    accuracy = np.mean(np.argmax(logits, 1) == labels)
    assert accuracy >= 0.80, accuracy
    assert abs(accuracy - judge.meta["test_accuracy"]) < 0.005


def test_verdicts_count_what_the_judge_sees(judge, small_images):
    images, _ = small_images
    v = pegasus.judge_verdicts(judge, images[:40])
    _, logits = judge.features_and_logits(images[:40])
    top = np.argmax(logits, 1)
    assert v["horse_share"] == pytest.approx(np.mean(top == CIFAR10_CLASSES.index("horse")), abs=1e-5)
    assert sum(v["top_classes"].values()) == 40 and len(v["images"]) == 40
    assert [i["top_class"] for i in v["images"]] == [CIFAR10_CLASSES[t] for t in top]
    assert all(0 <= i["p_horse"] <= 1 and 0 <= i["p_wings"] <= 1 for i in v["images"])
