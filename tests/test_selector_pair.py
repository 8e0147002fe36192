"""`benchmarks/selector_pair.py`: the Pegasus search's class readings averaged over two selectors."""
import doctest
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, benchmark_script


@pytest.fixture(scope="module")
def selector_pair():
    with benchmark_script("selector_pair") as module:
        yield module


def test_its_docstring_example_runs(selector_pair):
    result = doctest.testmod(selector_pair)
    assert result.failed == 0 and result.attempted >= 3


def _first(n=3):
    probs = np.zeros((n, 10))
    probs[:, 7], probs[:, 0] = 0.6, 0.4  # horse 0.6, airplane 0.4
    return {"probs": probs, "realism": np.linspace(0.5, 1.0, n), "uniqueness_pixel": np.array([2.0, 0.5, 2.0]),
            "uniqueness_feature": np.full(n, 2.0), "spread": np.full(n, 1.5), "p_horse_steady": np.full(n, 0.6),
            "p_wings_upper": np.full(n, 0.4)}


def test_a_second_selector_that_agrees_changes_nothing(selector_pair):
    first = _first()
    pair = selector_pair.mean_readings(first, {k: first[k] for k in ("probs", "p_horse_steady", "p_wings_upper")})
    np.testing.assert_allclose(pair["part_recognisability"], 0.6 ** 0.6 * 0.4 ** 0.4)
    np.testing.assert_allclose(pair["part_score"], pair["part_recognisability"] * first["realism"])
    assert pair["eligible"].tolist() == [True, False, True]   # candidate 1 is a near-copy: never eligible
    assert pair["realism"] is first["realism"]


def test_wings_only_one_selector_sees_are_halved(selector_pair):
    first = _first()
    probs = np.zeros((3, 10))
    probs[:, 7] = 1.0  # a plain horse to the second selector
    pair = selector_pair.mean_readings(first, {"probs": probs, "p_horse_steady": np.full(3, 1.0),
                                               "p_wings_upper": np.zeros(3)})
    np.testing.assert_allclose(pair["p_wings"], 0.2)
    np.testing.assert_allclose(pair["p_wings_upper"], 0.2)
    assert pair["part_eligible"].tolist() == [True, False, True]   # 0.2 >= MIN_WINGS (0.1)


@pytest.mark.parametrize("extra, message", [
    (["--seeds", "0,x"], "--seeds must be comma-separated integers"),
    (["--second", "jaxgan/evaluator/cifar10_evaluator.msgpack"], "--second jaxgan/evaluator/cifar10_evaluator"),
])
def test_bad_settings_are_one_line_and_exit_2(extra, message):
    args = ["--second", "jaxgan/evaluator/cifar10_judge.msgpack"] + extra
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "selector_pair.py"), "m=pretrained:pegasus"]
                          + args, capture_output=True, text=True, cwd=REPO, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"selector_pair: error: {message}")
