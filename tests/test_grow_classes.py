"""`benchmarks/grow_classes.py`: a run taught more classes keeps what it knew of its own and trains on from there."""
import doctest
import json
import subprocess
import sys

import numpy as np
import pytest

from jaxgan import run, sampling
from tests.conftest import REPO, benchmark_script, tiny_config, train_on

TWO = dict(model="cdcgan", loss="hinge", num_classes=2, classes=("bird", "horse"), steps=2)


def of_classes(images_labels, cfg):
    """The mock images of `cfg`'s classes, labelled as `train.load_train_data` labels them."""
    images, labels = images_labels
    keep = np.isin(labels, cfg.class_ids)
    return images[keep], np.searchsorted(np.array(cfg.class_ids), labels[keep]).astype(np.int32)


@pytest.fixture(scope="module")
def grow_classes():
    with benchmark_script("grow_classes") as module:
        yield module


@pytest.fixture(scope="module")
def source(tmp_path_factory, small_images):
    folder = tmp_path_factory.mktemp("grow") / "source"
    cfg = tiny_config(**TWO)
    train_on(of_classes(small_images, cfg), cfg, folder)
    return folder


def test_its_docstring_examples_run(grow_classes):
    result = doctest.testmod(grow_classes)
    assert result.failed == 0 and result.attempted >= 3


def test_the_grown_run_draws_the_old_classes_as_before_and_trains_on(grow_classes, source, small_images, tmp_path):
    grow_classes.main([str(source), str(tmp_path / "grown"), "--classes", "airplane,bird,cat,horse"])
    old_cfg, old = run.load(source)
    new_cfg, new = run.load(tmp_path / "grown")
    for name in (run.ENVIRONMENT, run.METRICS):  # the history that made the state comes along
        assert (tmp_path / "grown" / name).read_text() == (source / name).read_text()
    assert new_cfg.num_classes == 4 and new_cfg.class_ids == (0, 2, 3, 7) and int(new.step) == int(old.step)
    z = sampling.latents(0, 0, 8, old_cfg.z_dim)
    np.testing.assert_array_equal(  # bird and horse: rows 0, 1 of the source; rows 1, 3 of the grown run
        sampling.generate(old_cfg, old, z, np.array([0, 1] * 4)),
        sampling.generate(new_cfg, new, z, np.array([1, 3] * 4)))
    emb_old = np.asarray(old.g.params["class_embedding"])
    emb_new = np.asarray(new.g.params["class_embedding"])
    # The new rows start around the old rows' mean, apart from each other, as far apart as the old rows are.
    np.testing.assert_allclose(emb_new[[0, 2]].mean(0), emb_old.mean(0), atol=1e-6)
    assert not np.allclose(emb_new[0], emb_new[2])
    assert emb_new[[0, 2]].std(0).mean() == pytest.approx(emb_old.std(0).mean(), rel=1e-5)
    np.testing.assert_array_equal(np.asarray(new.ema.params["class_embedding"])[[1, 3]],
                                  np.asarray(old.ema.params["class_embedding"]))
    mu = np.asarray(new.d.opt_state[0].mu["class_projection"]["embedding"])
    nu = np.asarray(new.d.opt_state[0].nu["class_projection"]["embedding"])
    old_nu = np.asarray(old.d.opt_state[0].nu["class_projection"]["embedding"])
    assert not mu[[0, 2]].any() and np.allclose(nu[[0, 2]], old_nu.mean(0))
    on = tiny_config(**{**TWO, "classes": new_cfg.classes, "num_classes": 4, "steps": int(old.step) + 2})
    trained = train_on(of_classes(small_images, on), on, tmp_path / "on", init_from=tmp_path / "grown")
    assert int(trained.step) == int(old.step) + 2
    rows = [json.loads(line) for line in (tmp_path / "on" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [int(old.step) + 1, int(old.step) + 2]


@pytest.mark.parametrize("args, says", [
    (["--classes", "airplane,horse"], "must keep every class the source run has; it drops bird"),
    (["--classes", "horse,bird"], "adds no class"),
    (["--classes", "pegasus"], "unknown class 'pegasus'"),
])
def test_a_class_list_it_cannot_grow_to_is_one_line_and_writes_nothing(source, tmp_path, args, says):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "grow_classes.py"), str(source),
                             str(tmp_path / "grown"), *args], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("grow_classes: error: ") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "grown").exists()
