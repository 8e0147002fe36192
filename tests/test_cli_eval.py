"""`jaxgan eval` as a user meets it: it writes every metric as JSON, and each mistake is one line and exit 2."""
import json

import numpy as np
import pytest

from tests.conftest import TRAIN_REFERENCE
from tests.test_cli import (assert_one_line_error, jaxgan, jaxgan_subprocess,  # noqa: F401  (run_dir: a fixture)
                            run_dir)


@pytest.fixture(scope="module")
def npz(tmp_path_factory, small_images):
    folder = tmp_path_factory.mktemp("npz")
    images, labels = small_images
    np.savez(folder / "labelled.npz", images=images[:300], labels=labels[:300])
    np.savez(folder / "unlabelled.npz", images=images[:300])
    np.savez(folder / "floats.npz", images=images[:300].astype(np.float32))
    np.savez(folder / "other.npz", pictures=images[:300])
    (folder / "text.npz").write_text("not an npz")
    return folder


def test_eval_of_a_run_writes_all_metrics(tmp_path, run_dir, data_dir, train_reference):  # noqa: F811
    out = jaxgan_subprocess("eval", "--workdir", run_dir, "--n", 200, "--out", tmp_path / "m.json", "--data-dir",
                            data_dir, "--reference", TRAIN_REFERENCE)  # the suite's, cached by the fixture
    assert out.returncode == 0, out.stderr[-2000:]
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["source"]["n"] == 200 and m["source"]["step"] == 2 and m["n"] == 200
    assert m["reference"] == f"cifar10 {TRAIN_REFERENCE}" and "computing" not in out.stderr
    for key in ("fid_c", "kid_c", "precision", "recall", "uniqueness", "predicted_class_share", "timings"):
        assert key in m
    assert m["fid_c"] > 1.0  # two steps of training are far from the data
    assert "FID-C" in out.stdout and "wrote" in out.stdout


@pytest.mark.parametrize("name, words", [
    ("missing.npz", ["no such file"]),
    ("text.npz", ["not a readable .npz"]),
    ("other.npz", ["no array named 'images'", "pictures"]),
    ("floats.npz", ["uint8", "float32"]),
])
def test_bad_images_file(npz, name, words):
    assert_one_line_error(jaxgan("eval", "--images", npz / name), *words)


def test_intra_class_needs_labels(npz, run_dir):  # noqa: F811
    assert_one_line_error(jaxgan("eval", "--images", npz / "unlabelled.npz", "--intra-class"), "needs labels")
    assert_one_line_error(jaxgan("eval", "--workdir", run_dir, "--n", 64, "--intra-class"), "needs labels")


def test_other_mistakes(tmp_path, run_dir, npz):  # noqa: F811
    assert_one_line_error(jaxgan("eval"), "--workdir", "--images")
    assert_one_line_error(jaxgan("eval", "--workdir", run_dir, "--n", 10), "--n must be at least 64")
    assert_one_line_error(jaxgan("eval", "--workdir", run_dir, "--checkpoint", "best"), "no best checkpoint")
    assert_one_line_error(jaxgan("eval", "--images", npz / "labelled.npz", "--out", tmp_path / "no" / "m.json"),
                          "does not exist")
    assert_one_line_error(jaxgan("eval", "--images", npz / "labelled.npz", "--evaluator", tmp_path / "x.msgpack"),
                          "evaluator weights not found")
    assert_one_line_error(jaxgan("eval", "--images", npz / "labelled.npz", "--truncation", 1), "--truncation")
    assert_one_line_error(jaxgan("eval", "--images", npz / "labelled.npz", "--reference", "valid"),
                          "unknown reference 'valid'", "train[:N]")


def test_inception_without_the_extra_says_how_to_get_it(npz):
    try:
        import torch_fidelity  # noqa: F401
        pytest.skip("torch-fidelity is installed here")
    except ImportError:
        pass
    assert_one_line_error(jaxgan("eval", "--images", npz / "labelled.npz", "--inception"),
                          "torch-fidelity", "jaxgan[inception]")


def test_sample_npz_labels_are_cifar10_class_ids(tmp_path, small_images, monkeypatch):
    """A conditional run on horse and bird numbers them 0, 1 inside; the .npz (eval's input) says 7 and 2."""
    from jaxgan import cli, train
    from tests.conftest import tiny_config

    images, labels = small_images
    monkeypatch.setattr(train, "load_train_data", lambda cfg, data_dir=None: (images, labels % 2))
    cfg = tiny_config(steps=1, classes=("horse", "bird"), num_classes=2)
    train.train(cfg, tmp_path / "run", progress=False)
    assert cli.main(["sample", "--workdir", str(tmp_path / "run"), "--n", "6", "--out", str(tmp_path / "s.npz")]) == 0
    assert list(np.load(tmp_path / "s.npz")["labels"]) == [2, 7, 2, 7, 2, 7]
