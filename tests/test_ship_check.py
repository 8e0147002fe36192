"""`benchmarks/ship_check.py`: who a candidate is compared with, on which classes, under which mixture."""
import doctest

import pytest

from jaxgan.errors import UserError
from tests.conftest import benchmark_script

FOUR = (0, 2, 4, 7)  # the shipped model's airplane, bird, deer, horse


@pytest.fixture(scope="module")
def ship_check():
    with benchmark_script("ship_check") as module:
        yield module


def test_its_docstring_examples_run(ship_check):
    result = doctest.testmod(ship_check)
    assert result.failed == 0 and result.attempted >= 3


def test_a_candidate_of_the_same_classes_is_compared_as_the_rule_was_first_written(ship_check):
    assert ship_check.comparison({"shipped": FOUR, "twin": (7, 4, 2, 0)}) == (
        {"twin": "shipped"}, ["shipped", "twin"], {"shipped": None, "twin": None})


def test_fewer_classes_add_the_shipped_model_on_them_and_more_classes_draw_only_the_shipped_ones(ship_check):
    against, columns, drawn = ship_check.comparison(
        {"shipped": FOUR, "three": (0, 2, 7), "three_too": (0, 2, 7), "ten": tuple(range(10))})
    assert against == {"three": "shipped[airplane,bird,horse]", "three_too": "shipped[airplane,bird,horse]",
                       "ten": "shipped"}
    assert columns == ["shipped", "shipped[airplane,bird,horse]", "three", "three_too", "ten"]
    assert drawn["shipped[airplane,bird,horse]"] == (0, 2, 7) and drawn["ten"] == FOUR and drawn["three"] is None
    assert ship_check.restricted_mix(ship_check.SHIPPED_MIX, ["horse", "bird"]) == "horse=0.947368,bird=0.0526316"


def test_a_candidate_without_horses_cannot_be_checked(ship_check):
    with pytest.raises(UserError, match="share no horse"):
        ship_check.comparison({"shipped": FOUR, "vehicles": (0, 1, 8, 9)})
