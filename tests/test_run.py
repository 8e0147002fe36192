"""The run folder: a model and a loss registered by an experiment file train through the command line, and the
run is then resumed, sampled, reported and drawn from its folder alone; moved code, damaged records and old
checkpoints are handled; the shared path checks."""
import hashlib
import json
import logging
import re
import shutil

import jax
import numpy as np
import pytest

from jaxgan import checkpoint, parallel, run, state as state_lib
from jaxgan.errors import UserError
from tests.conftest import REPO, mock_cifar10, tiny_config
from tests.test_cli import TINY, assert_one_line_error, jaxgan, jaxgan_subprocess


def readme_experiment() -> str:
    """The README's example experiment file (the ```python block that starts with `# my_experiment.py`)."""
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    (block,) = [b for b in blocks if b.startswith("# my_experiment.py")]
    return block


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plugin")
    experiment = folder / "code" / "my_experiment.py"
    experiment.parent.mkdir()
    experiment.write_text(readme_experiment())
    workdir = folder / "run"
    train = jaxgan_subprocess("train", experiment, "--workdir", workdir, "--steps", 4, *TINY, "--set", "log_every=2",
                              "--set", "checkpoint_every=2", mock=True)
    assert train.returncode == 0, train.stderr[-3000:]
    return experiment, workdir


def test_experiment_file_registers_a_model_and_a_loss_and_trains_through_the_cli(plugin_run):
    experiment, workdir = plugin_run
    cfg = json.loads((workdir / run.CONFIG).read_text())
    assert cfg["model"] == "mlp" and cfg["loss"] == "softplus_hinge"
    assert json.loads((workdir / run.CODE).read_text()) == {"model": str(experiment), "loss": str(experiment)}
    lines = [json.loads(line) for line in (workdir / run.METRICS).read_text().splitlines()]
    assert [m["step"] for m in lines] == [2, 4] and all(np.isfinite(m["d_loss"]) for m in lines)


def test_the_run_folder_alone_samples_in_a_fresh_process(plugin_run, tmp_path):
    _, workdir = plugin_run
    out = jaxgan_subprocess("sample", "--workdir", workdir, "--n", 8, "--out", tmp_path / "s.npz")
    assert out.returncode == 0, out.stderr[-3000:]
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (8, 32, 32, 3) and images.dtype == np.uint8 and images.std() > 0


def test_the_run_resumes_reports_and_draws_and_a_moved_file_is_named(plugin_run, tmp_path):
    experiment, workdir = plugin_run
    copy = tmp_path / "run"
    shutil.copytree(workdir, copy)
    again = jaxgan_subprocess("train", experiment, "--workdir", copy, "--steps", 6, *TINY, "--set", "log_every=2",
                              "--set", "checkpoint_every=2", mock=True)
    assert again.returncode == 0 and "resumed at 4" in again.stderr, again.stderr[-3000:]
    assert jaxgan("report", "--workdir", copy).returncode == 0
    assert jaxgan("diagram", "--workdir", copy, "--out", tmp_path / "a.svg").returncode == 0
    assert "MLPGenerator" in (tmp_path / "a.svg").read_text()
    moved = tmp_path / "elsewhere.py"
    shutil.move(experiment, moved)
    try:  # a fresh process: this one may have registered the model already, and then needs no file
        assert_one_line_error(jaxgan_subprocess("sample", "--workdir", copy, "--out", tmp_path / "x.png"),
                              str(experiment), "no longer there")
        assert not (tmp_path / "x.png").exists()
    finally:
        shutil.move(moved, experiment)


def test_damaged_code_record_is_one_line(tmp_path):
    run.prepare(tiny_config(), tmp_path)
    (tmp_path / run.CODE).write_text("[1, 2")
    with pytest.raises(UserError, match="code.json is damaged"):
        run.load_config(tmp_path)


def test_prepare_refuses_another_config_and_a_file(tmp_path):
    run.prepare(tiny_config(), tmp_path / "w")
    assert not (tmp_path / "w" / run.CODE).exists()  # built-in model and loss: nothing to import later
    with pytest.raises(UserError, match="g_width=8, not 16"):
        run.prepare(tiny_config(g_width=16), tmp_path / "w")
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="not a folder"):
        run.prepare(tiny_config(), tmp_path / "f")


def test_output_checks_name_the_path(tmp_path):
    assert run.output_file(tmp_path / "a.png", (".png",)) == tmp_path / "a.png"
    with pytest.raises(UserError, match=r"must end in \.png or \.npz"):
        run.output_file(tmp_path / "a.jpg", (".png", ".npz"))
    with pytest.raises(UserError, match="does not exist"):
        run.output_file(tmp_path / "no" / "a.png")
    with pytest.raises(UserError, match="is a folder"):
        run.output_file(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="not a folder"):
        run.output_folder(tmp_path / "f")
    with pytest.raises(UserError, match="does not exist"):
        run.output_folder(tmp_path / "no" / "out")
    with pytest.raises(UserError, match="unknown checkpoint"):
        run.load(tmp_path, "oldest")


def test_loading_a_folder_without_checkpoints_writes_nothing_and_names_a_bundle(tmp_path):
    run.prepare(tiny_config(), tmp_path / "w")
    before = sorted(p.name for p in (tmp_path / "w").iterdir())
    with pytest.raises(UserError, match="no checkpoint yet; train first"):
        run.load(tmp_path / "w")
    with pytest.raises(UserError, match="no best checkpoint"):
        run.load(tmp_path / "w", "best")
    (tmp_path / "w" / "card.json").write_text("{}")  # what `jaxgan export` writes beside config.json
    with pytest.raises(UserError, match="w is an exported bundle, not a run folder: load it with --pretrained w"):
        run.load(tmp_path / "w")
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == sorted(before + ["card.json"])


def test_checkpoints_of_the_flat_layout_still_restore(tmp_path):
    """jaxgan 0.1 saved g_params, g_stats, ... side by side; such a run folder still loads."""
    cfg = tiny_config()
    st = state_lib.create(cfg)
    old = checkpoint.Checkpointer(tmp_path)
    old._manager.save(3, args=checkpoint.ocp.args.StandardSave(checkpoint.legacy_layout(st.replace(step=st.step + 3))))
    old.wait()
    restored = checkpoint.Checkpointer(tmp_path).restore_latest(cfg, parallel.make_mesh())
    assert isinstance(restored, state_lib.GANState) and int(restored.step) == 3
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(restored.replace(step=st.step)), jax.device_get(st))


def test_checkpoints_written_before_an_optional_field_or_a_config_key_still_restore(tmp_path):
    """A run saved before the LeCam anchors and keys existed resumes with them off, and is refused with them on."""
    cfg = tiny_config()
    st = state_lib.create(cfg)
    older = {k: v for k, v in checkpoint.stamp(cfg)["config"].items() if not k.startswith("lecam_")}
    meta = dict(checkpoint.stamp(cfg), config=older,
                config_hash=hashlib.sha256(json.dumps(older, sort_keys=True).encode()).hexdigest())
    old = checkpoint.Checkpointer(tmp_path)
    layout = checkpoint.without_optional_fields(st.replace(step=st.step + 3))
    assert "lecam" not in layout
    old._manager.save(3, args=checkpoint.ocp.args.StandardSave(layout), custom_metadata=meta, force=True)
    old.wait()
    restored = checkpoint.Checkpointer(tmp_path).restore_latest(cfg, parallel.make_mesh())
    assert isinstance(restored, state_lib.GANState) and int(restored.step) == 3 and restored.lecam is None
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(restored.replace(step=st.step)), jax.device_get(st))
    with pytest.raises(UserError, match=r"another config: lecam_weight=0\.0, not 0\.3"):
        checkpoint.Checkpointer(tmp_path).restore_latest(tiny_config(lecam_weight=0.3), parallel.make_mesh())


def test_lecam_anchors_are_saved_and_restored(tmp_path):
    cfg = tiny_config(lecam_weight=0.3)
    st = state_lib.create(cfg)
    st = st.replace(lecam=st.lecam + np.float32([0.5, -0.25]))
    ckpt = checkpoint.Checkpointer(tmp_path)
    ckpt.save(0, st, cfg)
    ckpt.wait()
    restored = checkpoint.Checkpointer(tmp_path).restore_latest(cfg, parallel.make_mesh())
    np.testing.assert_array_equal(jax.device_get(restored.lecam), [0.5, -0.25])


def test_restoring_a_checkpoint_logs_nothing(tmp_path, caplog):
    """Reading a step's stamp must not make orbax warn that it cannot restore an item (library users see it)."""
    cfg = tiny_config()
    ckpt = checkpoint.Checkpointer(tmp_path)
    ckpt.save(0, state_lib.create(cfg), cfg)
    ckpt.wait()
    with caplog.at_level(logging.WARNING):
        assert checkpoint.Checkpointer(tmp_path).restore_latest(cfg, parallel.make_mesh()) is not None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_one_trainer_per_run_folder(tmp_path):
    with run.TrainerLock(tmp_path / "w"):
        holder = json.loads((tmp_path / "w" / run.LOCK).read_text())
        assert holder["pid"] == __import__("os").getpid()
        with pytest.raises(UserError, match=f"being trained by pid {holder['pid']} on {holder['host']}"):
            with run.TrainerLock(tmp_path / "w"):
                pass
    assert (tmp_path / "w" / run.LOCK).read_text() == ""  # released cleanly
    with run.TrainerLock(tmp_path / "w"):  # and free again
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / run.LOCK).write_text(json.dumps({"host": "elsewhere", "pid": 999999, "since": "yesterday"}))
    said = []
    with run.TrainerLock(tmp_path, log=said.append):
        pass
    assert len(said) == 1 and "left by pid 999999 on elsewhere" in said[0]


def test_a_second_trainer_on_the_same_folder_exits_2_naming_the_holder(tmp_path):
    with run.TrainerLock(tmp_path / "w"), mock_cifar10():
        out = jaxgan("train", "dcgan", "--workdir", tmp_path / "w", *TINY)
    assert_one_line_error(out, "being trained by pid")
    assert not (tmp_path / "w" / run.CONFIG).exists()  # refused before anything was written


def test_a_run_folder_that_cannot_be_made_is_one_line(tmp_path):
    """Permission bits do not stop root (CI runs as root); a regular file where a parent folder should be stops
    everyone."""
    (tmp_path / "file").write_text("")
    with mock_cifar10():
        out = jaxgan("train", "dcgan", "--workdir", tmp_path / "file" / "w", *TINY)
    assert_one_line_error(out, "cannot lock", "Not a directory")


def test_sample_and_report_work_on_a_folder_being_trained(plugin_run, tmp_path):
    """Readers never take the trainer's lock: they read the latest complete checkpoint."""
    _, workdir = plugin_run
    with run.TrainerLock(workdir):
        assert jaxgan("sample", "--workdir", workdir, "--n", 4, "--out", tmp_path / "s.png").returncode == 0
        assert jaxgan("report", "--workdir", workdir, "--out", tmp_path / "r.html").returncode == 0
