"""`benchmarks/horse_room.py`: where a horse's top is, and how much of the frame an object's extent covers."""
import doctest
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, benchmark_script


@pytest.fixture(scope="module")
def horse_room():
    with benchmark_script("horse_room") as module:
        yield module


def test_its_docstring_examples_run(horse_room):
    result = doctest.testmod(horse_room)
    assert result.failed == 0 and result.attempted >= 4


def test_first_rows_find_where_each_object_starts(horse_room):
    masks = np.zeros((3, 32, 32))
    masks[0, 5:, 4:28] = 1.0     # a body from row 5 down, most of the width
    masks[1, 9:, 30:] = 1.0      # a thin post: never 20% of a row
    masks[2, 0:2, :] = 0.3       # a faint top edge: 30% of each row counts at 0.2, not at 0.5
    assert horse_room.first_rows(masks, 0.2).tolist() == [5, -1, 0]
    assert horse_room.first_rows(masks, 0.5).tolist() == [5, -1, -1]


def test_extent_shares_measure_the_object_not_the_frame(horse_room):
    masks = np.zeros((3, 32, 32))
    masks[0] = 1.0                               # fills the frame
    masks[1, 4:12, 0:16] = 1.0                   # 8 x 16 pixels: an eighth of the frame
    masks[1, 30, 30] = 0.9                       # one stray sure pixel stretches the sure box, not the line extent
    box, lines = horse_room.extent_shares(masks)
    np.testing.assert_allclose(box, [1.0, 27 * 31 / 1024, 1.0])   # an empty mask: the whole frame
    np.testing.assert_allclose(lines, [1.0, 8 * 16 / 1024, 1.0])


def test_a_missing_data_folder_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "horse_room.py"), "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("horse_room: error: CIFAR-10 not found")
