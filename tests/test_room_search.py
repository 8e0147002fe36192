"""`benchmarks/room_search.py`: which horses leave room above them, and the wing maps placed on their tops."""
import doctest
import subprocess
import sys

import jax
import numpy as np
import pytest

from tests.conftest import REPO, benchmark_script


@pytest.fixture(scope="module")
def room_search():
    with benchmark_script("room_search") as module:
        yield module


def test_its_docstring_examples_run(room_search):
    result = doctest.testmod(room_search)
    assert result.failed == 0 and result.attempted >= 4


def test_room_rows_follow_where_the_body_starts(room_search):
    images = np.full((4, 32, 32, 3), 210, np.uint8)
    for i, top in enumerate((0, 9, 17, 25)):
        images[i, top:, 6:26] = 30                       # a dark body from pixel row `top` down
    assert room_search.room_rows(images).tolist() == [0, 1, 2, 3]


def test_wing_maps_put_the_wing_in_the_placed_box_on_the_body(room_search):
    from jaxgan import classmap

    images = np.full((1, 32, 32, 3), 210, np.uint8)
    images[0, 17:, 8:24] = 30                           # a body from cell row 2: the box spans rows 1-2
    boxes = np.asarray(classmap.placed_boxes(jax.random.key(0), images, 1.0))
    maps = room_search.wing_maps(boxes, horse=1, wing=0, num_classes=2, weight=0.5)
    np.testing.assert_allclose(maps.sum(-1), 1.0)
    wing_rows = np.flatnonzero((maps[0, ..., 0] > 0).any(-1))
    assert wing_rows.tolist() == [1, 2]
    assert set(np.unique(maps[0, ..., 0])) == {0.0, 0.5}


@pytest.mark.parametrize("flag, value", [("--wing-weight", "0"), ("--wing-weight", "1.5"), ("--latents", "8")])
def test_bad_settings_are_one_line_and_exit_2(flag, value):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "room_search.py"), "m=pretrained:pegasus",
                           flag, value], capture_output=True, text=True, cwd=REPO, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"room_search: error: {flag} must be")
