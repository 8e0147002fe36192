"""Pretrained bundles: exported from a run, found by name, loaded without pickle and checked by sha256, and read
by every command that reads a run (`--pretrained NAME`); mistakes are one line and exit 2."""
import json
import shlex

import numpy as np
import pytest
from PIL import Image

from jaxgan import cli, pegasus, pretrained
from tests.test_cli import assert_one_line_error, jaxgan
from tests.test_pegasus import FOUR, _tiny_run


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, small_images):
    root = tmp_path_factory.mktemp("pretrained")
    workdir = _tiny_run(root / "run", small_images, model="cdcgan", classes=FOUR, num_classes=4, loss="hinge")
    (workdir / "eval.json").write_text(json.dumps({"fid_c": 12.5, "class_accuracy": 0.5}))
    folder = root / "models"
    folder.mkdir()
    pretrained.export(workdir, folder / "tinypeg", log=lambda line: None)
    pretrained.export(workdir, folder / "tinypeg32", dtype="float32", log=lambda line: None)
    return workdir, folder


@pytest.fixture
def on_path(bundles, monkeypatch):
    monkeypatch.setenv(pretrained.PATH_ENV, str(bundles[1]))
    return bundles


def test_the_card_records_what_the_issue_asks(on_path):
    card = pretrained.card("tinypeg")
    for key in ("config", "steps", "hardware", "training_seconds", "jax", "flax", "jaxgan_commit", "metrics",
                "weights_sha256", "storage_dtype"):
        assert key in card, key
    assert card["steps"] == 2 and card["metrics"] == {"fid_c": 12.5, "class_accuracy": 0.5}
    assert card["float16_max_level_difference"] <= 1 and card["storage_dtype"] == "float16"
    assert pretrained.card("tinypeg32")["storage_dtype"] == "float32"
    listing = jaxgan("pretrained")
    assert listing.returncode == 0 and "tinypeg: cdcgan" in listing.stdout and "fid_c 12.5" in listing.stdout


def test_metrics_of_another_step_are_left_out(bundles, tmp_path):
    """A run that trained on after `jaxgan eval` must not ship the older step's figures on its card."""
    workdir = bundles[0]
    kept = (workdir / "eval.json").read_text()
    try:
        (workdir / "eval.json").write_text(json.dumps({"source": {"step": 1}, "fid_c": 3.0}))
        said = []
        out = pretrained.export(workdir, tmp_path / "stale", log=said.append)
        assert not (out / "eval.json").exists() and json.loads((out / "card.json").read_text())["metrics"] == {}
        assert any("measured step 1, not the exported step 2" in line for line in said)
        (workdir / "eval.json").write_text(json.dumps({"source": {"step": 2}, "fid_c": 3.0}))
        out = pretrained.export(workdir, tmp_path / "fresh", log=said.append)
        assert json.loads((out / "eval.json").read_text())["fid_c"] == 3.0
        assert json.loads((out / "card.json").read_text())["metrics"] == {"fid_c": 3.0}
    finally:
        (workdir / "eval.json").write_text(kept)


def test_samples_match_the_run(on_path, tmp_path):
    workdir, _ = on_path
    for source in (["--workdir", workdir], ["--pretrained", "tinypeg32"], ["--pretrained", "tinypeg"]):
        name = source[1] if source[0] == "--pretrained" else "run"
        assert jaxgan("sample", *source, "--n", 16, "--out", tmp_path / f"{name}.npz").returncode == 0
    run, f32, f16 = (np.load(tmp_path / f"{n}.npz") for n in ("run", "tinypeg32", "tinypeg"))
    np.testing.assert_array_equal(run["images"], f32["images"])
    assert np.abs(run["images"].astype(int) - f16["images"].astype(int)).max() <= 1
    np.testing.assert_array_equal(run["labels"], f16["labels"])


def test_every_run_reading_command_takes_a_pretrained_model(on_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert jaxgan("diagram", "--pretrained", "tinypeg", "--out", tmp_path / "a.svg").returncode == 0
    assert jaxgan("report", "--pretrained", "tinypeg").returncode == 0
    page = (tmp_path / "tinypeg_report.html").read_text()
    assert "<title>jaxgan pretrained model tinypeg: cdcgan, 2 steps</title>" in page  # steps from the card


def test_pegasus_from_a_pretrained_model_regenerates_by_name(on_path, tmp_path, small_images, evaluator):
    from jaxgan.metrics import reference

    ref = reference.from_arrays(evaluator, *small_images)
    result = pegasus.run(None, tmp_path / "p", budget=76, reference=ref, pretrained="tinypeg", log=lambda line: None,
                         prefer="white")
    best = result["pegasus"]
    assert result["prefer"] == "white" and "whiteness" in best
    for name in ("pegasus_default.png", "preference.png"):
        assert (tmp_path / "p" / name).is_file()
    assert result["run"] == "--pretrained tinypeg" and "--pretrained tinypeg" in best["command"]
    args = shlex.split(best["command"])[1:]
    args[args.index("--out") + 1] = str(tmp_path / "again.png")
    assert cli.main(args) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "again.png")),
                                  np.asarray(Image.open(tmp_path / "p" / "pegasus.png")))


def test_mistakes_are_one_line(on_path, tmp_path):
    workdir, folder = on_path
    out = tmp_path / "x.png"
    assert_one_line_error(jaxgan("sample", "--pretrained", "unicorn", "--out", out), "unknown pretrained model",
                          "tinypeg")
    assert_one_line_error(jaxgan("sample", "--pretrained", "tinypeg", "--workdir", workdir, "--out", out), "not both")
    assert_one_line_error(jaxgan("sample", "--out", out), "--pretrained NAME")
    assert_one_line_error(jaxgan("eval", "--pretrained", "tinypeg", "--checkpoint", "best"), "--checkpoint")
    assert_one_line_error(jaxgan("export", "--workdir", workdir, "--out", folder / "tinypeg"), "exists")
    damaged = tmp_path / "models"
    damaged.mkdir()
    import shutil

    shutil.copytree(folder / "tinypeg", damaged / "broken")
    weights = damaged / "broken" / pretrained.WEIGHTS
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    before = weights.read_bytes()
    import os

    os.environ[pretrained.PATH_ENV] = f"{folder}{os.pathsep}{damaged}"
    assert_one_line_error(jaxgan("sample", "--pretrained", "broken", "--out", out), "damaged", "sha256")
    assert weights.read_bytes() == before and not out.exists()
