"""`benchmarks/flagship_curves.py`: each arm's points, read from its run folder."""
import json

import pytest

from jaxgan import config, run
from tests.conftest import benchmark_script, tiny_config


@pytest.fixture(scope="module")
def flagship_curves():
    with benchmark_script("flagship_curves") as module:
        yield module


def run_folder(path, cfg, rows):
    run.prepare(cfg, path)
    (path / run.METRICS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("classes, fid_c_all", [(("bird", "horse"), 9.5), ((), 3.0)])
def test_points_read_fid_c_against_all_ten_where_the_run_logged_it_or_drew_all_ten(flagship_curves, tmp_path,
                                                                                    classes, fid_c_all):
    cfg = tiny_config(model="cdcgan", loss="hinge", classes=classes,
                      num_classes=len(classes or config.CIFAR10_CLASSES))
    logged = {"fid_c_all": 9.5} if classes else {}  # training logs it for a class subset only
    rows = [{"step": 1, "images_per_s": 16.0}, {"step": 2, "images_per_s": 8.0},
            {"step": 2, "fid_c": 3.0, "class_accuracy": 0.5, "eval_samples": 100, **logged}]
    points = flagship_curves.curve(run_folder(tmp_path / "run", cfg, rows))
    assert points == [{"steps": 2, "cpu_hours": round(3 / 3600, 3), "fid_c": 3.0, "fid_c_all": fid_c_all,
                       "class_accuracy": 0.5, "eval_samples": 100}]


def test_a_source_whose_chain_is_gone_takes_its_cpu_hours_from_the_kept_arm_interpolated(flagship_curves, tmp_path):
    cfg = tiny_config(model="cdcgan", loss="hinge", classes=(), num_classes=len(config.CIFAR10_CLASSES))
    folder = run_folder(tmp_path / "run", cfg, [{"step": 13, "images_per_s": 8.0},
                                                  {"step": 13, "fid_c": 2.0, "eval_samples": 100}])
    # The run started at step 12 from a folder that is gone; the kept arm logged that folder at steps 10 and 20.
    env = folder / "environment.json"
    env.write_text(json.dumps([{"start_step": 12, "started_from": {"run": "/gone/src", "step": 12}}]))
    kept = [{"steps": 10, "cpu_hours": 1.0}, {"steps": 20, "cpu_hours": 2.0}]
    points = flagship_curves.curve(folder, {"/gone/src": kept})
    # 1.2 h at step 12 (a fifth of the way from 10 to 20), then one step of 16 images at 8 images/s.
    assert points[0]["cpu_hours"] == round(1.2 + 16 / 8 / 3600, 3) == 1.201
    with pytest.raises(flagship_curves.UserError, match="does not reach step 12"):
        flagship_curves.curve(folder, {"/gone/src": kept[1:]})
