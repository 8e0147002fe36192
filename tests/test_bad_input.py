"""Every command, fed what a user can get wrong: one line on stderr starting "jaxgan: error:", exit code 2, no
traceback, and no file that existed before is changed (the run folders, checkpoints, weight files and inputs
below are hashed before and after each case)."""
import contextlib
import hashlib
import io
import json
import shutil

import numpy as np
import pytest

from jaxgan import cli, pretrained
from tests.conftest import mock_cifar10
from tests.test_pegasus import FOUR, _tiny_run


@pytest.fixture(scope="module")
def ws(tmp_path_factory, small_images):
    """A workspace of things to get wrong: runs, damaged and foreign checkpoints, bundles, npz files."""
    root = tmp_path_factory.mktemp("bad")
    plain = _tiny_run(root / "plain", small_images)
    cond = _tiny_run(root / "cond", small_images, model="cdcgan", classes=FOUR, num_classes=4, loss="hinge")
    corrupt = root / "corrupt"
    shutil.copytree(plain, corrupt)
    for p in (corrupt / "checkpoints" / "2").rglob("*"):
        if p.is_file() and p.stat().st_size > 0:
            p.write_bytes(b"\0garbage")
    foreign = root / "foreign"  # a run folder whose config says lr_g=1e-4 around a checkpoint written with 2e-4
    shutil.copytree(plain, foreign)
    config = json.loads((foreign / "config.json").read_text())
    assert config["lr_g"] != 1e-4
    (foreign / "config.json").write_text(json.dumps({**config, "lr_g": 1e-4}))
    models = root / "models"
    models.mkdir()
    pretrained.export(cond, models / "good", log=lambda line: None)
    shutil.copytree(models / "good", models / "broken")
    weights = models / "broken" / pretrained.WEIGHTS
    weights.write_bytes(weights.read_bytes()[:-100] + b"\0" * 100)
    images, labels = small_images
    np.savez(root / "floats.npz", images=images[:100].astype(np.float32))
    np.savez(root / "small.npz", images=images[:100, :28, :28])
    np.savez(root / "labels.npz", images=images[:100], labels=np.full(100, 12))
    np.savez(root / "unlabelled.npz", images=images[:100])
    np.savez(root / "other.npz", pictures=images[:100])
    (root / "text.npz").write_text("not an npz")
    (root / "a_file").write_text("")
    (root / "ae").mkdir()
    return root


CASES = [  # (arguments, with {ws} for the workspace; words the one line must hold)
    (["train", "dcgann", "--workdir", "{ws}/new"], "unknown experiment 'dcgann'"),
    (["train", "{ws}/nope.py", "--workdir", "{ws}/new"], "nope.py does not exist"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "lr=1"], "unknown config key 'lr'"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "n_dis=0"], "'n_dis': must be at least 1"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "steps=many"], "'steps'"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "classes=horse,pegasus"], "unknown class 'pegasus'"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "classes=horse,horse"], "lists a class twice"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "lr_g"], "must be key=value"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "model=stylegan9"], "registered model"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "loss=earthmover"], "registered loss"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "augment=rotate"], "unknown augmentation 'rotate'"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--set", "nan_policy=ignore"], "'nan_policy'"),
    (["train", "dcgan", "--workdir", "{ws}/a_file"], "not a folder"),
    (["train", "dcgan", "--workdir", "{ws}/plain", "--set", "g_width=16"], "holds a run with"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--data-dir", "{ws}/nowhere"], "CIFAR-10 not found"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--time-limit", "0"], "--time-limit must be a positive number"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--time-limit", "-5"], "positive number of minutes, got '-5'"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--time-limit", "soon"], "got 'soon'"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--time-limit", "inf"], "got 'inf'"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--init-from", "{ws}/ae"], "not a jaxgan run folder"),
    (["train", "dcgan", "--workdir", "{ws}/new", "--init-from", "{ws}/cond"], "cannot start from"),
    (["train", "cgan", "--workdir", "{ws}/new", "--set", "spatial_mix=0.5", "--set", "model=dcgan"], "'spatial_mix'"),
    (["sample", "--workdir", "{ws}/ae", "--out", "{ws}/x.png"], "not a jaxgan run folder"),
    (["sample", "--workdir", "{ws}/plain", "--out", "{ws}/x.jpg"], ".png or .npz"),
    (["sample", "--workdir", "{ws}/plain", "--out", "{ws}/no/x.png"], "does not exist"),
    (["sample", "--workdir", "{ws}/plain", "--n", "0", "--out", "{ws}/x.png"], "--n must be at least 1"),
    (["sample", "--workdir", "{ws}/plain", "--mix", "horse=1", "--out", "{ws}/x.png"], "unconditional"),
    (["sample", "--workdir", "{ws}/cond", "--mix", "unicorn=1", "--out", "{ws}/x.png"], "unknown class 'unicorn'"),
    (["sample", "--workdir", "{ws}/cond", "--mix", "horse=0.5", "--out", "{ws}/x.png"], "summing to 1"),
    (["sample", "--workdir", "{ws}/cond", "--mix", "horse=1|bird=1", "--out", "{ws}/x.png"], "3 separated by '|'"),
    (["sample", "--workdir", "{ws}/plain", "--truncation", "0", "--out", "{ws}/x.png"], "--truncation"),
    (["sample", "--workdir", "{ws}/plain", "--first", "-1", "--out", "{ws}/x.png"], "--first"),
    (["sample", "--workdir", "{ws}/corrupt", "--out", "{ws}/x.png"], "cannot be read"),
    (["sample", "--workdir", "{ws}/foreign", "--out", "{ws}/x.png"], "written for another config: lr_g"),
    (["sample", "--workdir", "{ws}/plain", "--checkpoint", "best", "--out", "{ws}/x.png"], "no best checkpoint"),
    (["sample", "--workdir", "{ws}/models/good", "--out", "{ws}/x.png"], "an exported bundle, not a run folder"),
    (["sample", "--pretrained", "unicorn", "--out", "{ws}/x.png"], "unknown pretrained model 'unicorn'"),
    (["sample", "--pretrained", "good", "--workdir", "{ws}/cond", "--out", "{ws}/x.png"], "not both"),
    (["sample", "--pretrained", "broken", "--out", "{ws}/x.png"], "damaged"),
    (["eval"], "--images FILE.npz"),
    (["eval", "--images", "{ws}/missing.npz"], "no such file"),
    (["eval", "--images", "{ws}/text.npz"], "not a readable .npz"),
    (["eval", "--images", "{ws}/other.npz"], "no array named 'images'"),
    (["eval", "--images", "{ws}/floats.npz"], "must be uint8"),
    (["eval", "--images", "{ws}/small.npz"], "shape (N, 32, 32, 3)"),
    (["eval", "--images", "{ws}/labels.npz"], "class ids 0-9"),
    (["eval", "--images", "{ws}/unlabelled.npz", "--intra-class"], "needs labels"),
    (["eval", "--workdir", "{ws}/plain", "--n", "10"], "--n must be at least 64"),
    (["pegasus", "--workdir", "{ws}/plain", "--out", "{ws}/p"], "unconditional"),
    (["pegasus", "--workdir", "{ws}/cond", "--out", "{ws}/p", "--budget", "10"], "--budget must be at least"),
    (["pegasus", "--workdir", "{ws}/cond", "--out", "{ws}/a_file"], "not a folder"),
    (["pegasus", "--workdir", "{ws}/cond", "--out", "{ws}/p", "--refine", "-1"], "--refine must not be negative"),
    (["pegasus", "--workdir", "{ws}/cond", "--out", "{ws}/p", "--sketch", "-3"], "--sketch must not be negative"),
    (["pegasus", "--workdir", "{ws}/cond", "--out", "{ws}/p", "--baseline", "{ws}/ae"], "no ae_pegasus.png"),
    (["diagram", "--workdir", "{ws}/plain", "--out", "{ws}/d.png"], ".svg"),
    (["diagram", "--out", "{ws}/d.svg"], "give one of"),
    (["report", "--workdir", "{ws}/ae"], "not a jaxgan run folder"),
    (["report", "--workdir", "{ws}/plain", "--baseline", "{ws}/ae"], "no metrics.json"),
    (["export", "--workdir", "{ws}/cond", "--out", "{ws}/models/good"], "exists"),
    (["export", "--workdir", "{ws}/cond", "--out", "{ws}/new_bundle", "--dtype", "int8"], "storage dtype"),
    (["data", "verify", "--data-dir", "{ws}/nowhere"], "CIFAR-10 not found"),
]


def snapshot(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_there_are_at_least_30_cases_across_every_command():
    commands = {args[0] for args, _ in CASES}
    assert len(CASES) >= 30 and commands >= {"train", "sample", "eval", "pegasus", "diagram", "report", "export",
                                             "data"}


@pytest.mark.parametrize("args, words", CASES, ids=[" ".join(a[:2]) + f" [{i}]" for i, (a, _) in enumerate(CASES)])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(ws, args, words, monkeypatch):
    monkeypatch.setenv(pretrained.PATH_ENV, str(ws / "models"))
    before = snapshot(ws)
    err = io.StringIO()
    with mock_cifar10(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main([a.format(ws=ws) for a in args])
        except SystemExit as e:
            code = e.code
    lines = err.getvalue().strip().splitlines()
    assert code == 2, (code, err.getvalue()[-1500:])
    assert len(lines) == 1 and lines[0].startswith("jaxgan: error:") and "Traceback" not in err.getvalue(), lines
    assert words in lines[0], lines[0]
    after = snapshot(ws)
    changed = [str(p) for p, h in before.items() if after.get(p) != h]
    assert not changed, changed
    for name in ("new", "new_bundle", "p", "x.png", "d.svg"):  # nothing half-made either
        assert not (ws / name).exists() or (ws / name).is_dir() and not any((ws / name).iterdir()), name
