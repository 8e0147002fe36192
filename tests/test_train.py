"""The training loop and run folder: resume is exact, checkpoints are kept, a damaged one is reported."""
import json
import os
import shutil

import chex
import jax
import numpy as np
import pytest

from jaxgan import checkpoint, parallel, train
from jaxgan.errors import UserError
from tests.conftest import tiny_config


@pytest.fixture
def fake_load(monkeypatch, small_images):
    """Train on 512 mock images instead of reading all 50k for every run."""
    monkeypatch.setattr(train, "load_train_data", lambda cfg, data_dir=None: small_images)


def params(st):
    return jax.tree.map(np.asarray, jax.device_get(st))


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path, fake_load):
    cfg = tiny_config(steps=6, checkpoint_every=3, balance=True)
    straight = train.train(cfg, tmp_path / "straight", progress=False)
    train.train(cfg.replace(steps=3), tmp_path / "resumed", progress=False)
    resumed = train.train(cfg, tmp_path / "resumed", progress=False)
    chex.assert_trees_all_equal(params(straight), params(resumed))
    steps = [json.loads(l)["step"] for l in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    grids = sorted(p.name for p in (tmp_path / "resumed" / "samples").iterdir())
    assert grids == ["step_000003.png", "step_000006.png"]


def test_time_limited_slices_resume_bit_identical(tmp_path, fake_load, monkeypatch):
    """A run trained in time-limited slices ends exactly where an unbroken run does; each slice is recorded."""
    from jaxgan import summaries

    cfg = tiny_config(steps=7, checkpoint_every=3, balance=True)
    straight = train.train(cfg, tmp_path / "straight", progress=False)
    clock = iter(range(10**6))  # a fake clock: one second passes at every reading, so slices end after a few steps
    monkeypatch.setattr(train, "_now", lambda: float(next(clock)))
    reached = []
    while not reached or reached[-1] < cfg.steps:
        state = train.train(cfg, tmp_path / "sliced", progress=False, time_limit=2.5)
        reached.append(int(state.step))
    assert len(reached) >= 3 and reached == sorted(set(reached)), reached  # stopped early, then went on each time
    chex.assert_trees_all_equal(params(straight), params(state))
    steps = [json.loads(l)["step"] for l in (tmp_path / "sliced" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 8))
    sessions = summaries.sessions(tmp_path / "sliced")
    assert [s["end_step"] for s in sessions] == reached
    assert [s["start_step"] for s in sessions] == [0] + reached[:-1]
    total = summaries.training_time(tmp_path / "sliced")
    assert total["slices"] == len(reached) and total["steps"] == 7 and total["seconds"] > 0
    saved = checkpoint.Checkpointer(tmp_path / "sliced" / "checkpoints").all_steps()
    assert reached[-2] in saved  # each slice's end is a checkpoint, whatever checkpoint_every says


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "soon"])
def test_bad_time_limit_is_refused_before_anything_is_written(tmp_path, fake_load, bad):
    with pytest.raises(UserError, match="time_limit must be a positive number of seconds"):
        train.train(tiny_config(), tmp_path / "w", progress=False, time_limit=bad)
    assert not (tmp_path / "w").exists()


@pytest.fixture
def strict_device_to_host():
    """Makes reading a device array's value raise while a "disallow" transfer guard is active.

    XLA:CPU keeps arrays in host memory and does not enforce the device-to-host guard (GPU and TPU do), so on this
    backend the test enforces it: float()/int()/bool(), .item(), .tolist(), device_get, printing and
    block_until_ready raise inside the guard. (np.asarray of a CPU array reads the memory through the buffer
    protocol, which no Python hook sees; GPU and TPU backends catch that one themselves.)
    """
    from jax._src import config as jax_config  # the guard's current value inside `with jax.transfer_guard(...)`

    cls = type(jax.numpy.zeros(()))
    saved = {name: cls.__dict__[name] for name in ("_value", "__array__", "item", "tolist", "block_until_ready")}

    def check(name):
        if jax_config.transfer_guard_device_to_host.value == "disallow":
            raise RuntimeError(f"Disallowed device-to-host transfer ({name}) inside the training loop's guard")

    def guarded(name, orig):
        if isinstance(orig, property):
            return property(lambda self: (check(name), orig.fget(self))[1])
        return lambda self, *a, **k: (check(name), orig(self, *a, **k))[1]

    for name, orig in saved.items():
        setattr(cls, name, guarded(name, orig))
    try:
        yield
    finally:
        for name, orig in saved.items():
            setattr(cls, name, orig)


def test_no_host_transfer_between_logging_steps(tmp_path, fake_load, strict_device_to_host):
    """The loop runs the step and the batch gather under jax.transfer_guard("disallow"): 8 steps, logging every
    4th, so 6 steps would fail on any implicit transfer between host and device, or any host read of a value."""
    assert train.HOT_LOOP_TRANSFERS == "disallow"
    train.train(tiny_config(steps=8, log_every=4, checkpoint_every=8), tmp_path / "w", progress=False)
    steps = [json.loads(l)["step"] for l in (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [4, 8]


def test_the_guard_catches_a_host_sync_in_the_step(tmp_path, fake_load, monkeypatch, strict_device_to_host):
    from jaxgan import step as step_lib

    make = step_lib.make_train_step

    def syncing_step(cfg, mesh, **kwargs):
        inner = make(cfg, mesh, **kwargs)

        def train_step(state, batch):
            state, metrics = inner(state, batch)
            float(metrics["d_loss"])  # what a careless loop does: pull a metric to the host every step
            return state, metrics

        return train_step

    monkeypatch.setattr(step_lib, "make_train_step", syncing_step)
    with pytest.raises(Exception, match="[Dd]isallowed"):
        train.train(tiny_config(steps=2, log_every=2), tmp_path / "w", progress=False)


def test_keeps_the_last_k_checkpoints(tmp_path, fake_load):
    train.train(tiny_config(steps=8, checkpoint_every=2, keep_checkpoints=2), tmp_path, progress=False)
    assert checkpoint.Checkpointer(tmp_path / "checkpoints").all_steps() == [6, 8]


def test_changed_config_is_refused(tmp_path, fake_load):
    train.train(tiny_config(steps=2), tmp_path, progress=False)
    with pytest.raises(UserError, match="g_width"):
        train.train(tiny_config(steps=4, g_width=16), tmp_path, progress=False)


def test_corrupt_checkpoint_is_reported_and_left_alone(tmp_path, fake_load):
    cfg = tiny_config(steps=2, checkpoint_every=2)
    train.train(cfg, tmp_path, progress=False)
    files = [p for p in (tmp_path / "checkpoints" / "2").rglob("*") if p.is_file() and p.stat().st_size > 0]
    for p in files:
        p.write_bytes(b"garbage")
    before = {p: p.read_bytes() for p in files}
    with pytest.raises(UserError, match="cannot be read"):
        checkpoint.Checkpointer(tmp_path / "checkpoints").restore_latest(cfg, parallel.make_mesh())
    assert {p: p.read_bytes() for p in files} == before


def test_fid_c_is_logged_and_the_best_checkpoint_kept_apart(tmp_path, fake_load, monkeypatch, small_images,
                                                            evaluator):
    from jaxgan import run
    from jaxgan.metrics import reference

    small_ref = reference.from_arrays(evaluator, *small_images)
    monkeypatch.setattr(reference, "load", lambda *a, **k: small_ref)
    cfg = tiny_config(steps=4, checkpoint_every=4, eval_every=2, eval_samples=64, keep_checkpoints=1)
    train.train(cfg, tmp_path, progress=False)
    train.train(cfg.replace(steps=6), tmp_path, progress=False)  # resumed: the record carries over
    lines = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    fids = {m["step"]: m["fid_c"] for m in lines if "fid_c" in m}
    assert sorted(fids) == [2, 4, 6] and all(np.isfinite(v) and v > 0 for v in fids.values())
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["step"] == min(fids, key=fids.get) and best["eval_samples"] == 64
    assert checkpoint.Checkpointer(tmp_path / "best").all_steps() == [best["step"]]
    assert checkpoint.Checkpointer(tmp_path / "checkpoints").all_steps() == [6]
    _, state = run.load(tmp_path, "best")
    assert int(state.step) == best["step"]


def read_events(folder):
    """Every Event in a folder's TensorBoard files (TFRecord framing: length, crc, payload, crc)."""
    import struct

    from tensorboardX.proto import event_pb2

    for path in sorted(folder.glob("events.out.tfevents.*")):
        data, i = path.read_bytes(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            yield event


def tensorboard_view(folder, tag):
    """{step: [values]} of `tag` as TensorBoard shows it: a SessionLog.START at step s drops what earlier files
    logged at steps >= s."""
    seen = {}
    for event in read_events(folder):
        if event.HasField("session_log") and event.session_log.status == event.session_log.START:
            seen = {k: v for k, v in seen.items() if k < event.step}
        for value in event.summary.value:
            if value.tag == tag:
                seen.setdefault(event.step, []).append(value.simple_value)
    return seen


def test_tensorboard_events_and_environment_are_recorded(tmp_path, fake_load):
    cfg = tiny_config(steps=4, checkpoint_every=2, sample_every=2, log_every=1)
    train.train(cfg.replace(steps=2), tmp_path, progress=False)
    train.train(cfg, tmp_path, progress=False)
    scalars, images = {}, {}
    for event in read_events(tmp_path / "tensorboard"):
        for value in event.summary.value:
            if value.HasField("image"):
                images[event.step] = value.image
            else:
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    logged = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert sorted(scalars["train/d_loss"]) == [1, 2, 3, 4]
    for line in logged:  # the event files hold what metrics.jsonl holds
        assert scalars["train/g_loss"][line["step"]] == pytest.approx(line["g_loss"])
        assert scalars["train/d_real"][line["step"]] == pytest.approx(line["d_real"])
    assert sorted(images) == [2, 4]
    assert images[4].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n" and images[4].width == 8 * 34 + 2
    sessions = json.loads((tmp_path / "environment.json").read_text())
    assert [s["start_step"] for s in sessions] == [0, 2]
    assert sessions[0]["packages"]["jax"] == jax.__version__ and sessions[0]["devices"] == jax.device_count()
    assert all(s["first_step_done_unix"] > 1.7e9 for s in sessions)  # what benchmarks/startup.py reads
    # what decides XLA:CPU's rounding, so a resume on another machine or core count shows in the record
    assert sessions[0]["cpu_cores"] == len(os.sched_getaffinity(0)) and isinstance(sessions[0]["cpu"], str)
    assert sessions[0]["xla_flags"] == os.environ.get("XLA_FLAGS", "")


def _poison_at(monkeypatch, calls: set[int]):
    """Makes the step return a state whose G parameters are NaN on the given (0-based, counted over the process)
    step calls: a divergence on demand."""
    from jaxgan import step as step_lib

    make, count = step_lib.make_train_step, [0]
    nan_like = jax.jit(lambda tree: jax.tree.map(lambda p: p * jax.numpy.nan, tree))  # no transfer: inside jit

    def poisoned(cfg, mesh, **kwargs):
        inner = make(cfg, mesh, **kwargs)

        def train_step(state, batch):
            state, metrics = inner(state, batch)
            count[0] += 1
            if count[0] - 1 in calls:
                state = state.replace(g=state.g.replace(params=nan_like(state.g.params)))
            return state, metrics

        return train_step

    monkeypatch.setattr(step_lib, "make_train_step", poisoned)


def _all_checkpoints_finite(workdir, cfg):
    ckpt = checkpoint.Checkpointer(workdir / "checkpoints")
    return all(bool(train.all_finite(ckpt.restore(s, cfg, parallel.make_mesh()))) for s in ckpt.all_steps())


def test_a_divergence_rolls_back_with_lower_rates_and_training_recovers(tmp_path, fake_load, monkeypatch):
    _poison_at(monkeypatch, {6})  # the 7th step: steps 5 and 6 are logged after the checkpoint of step 4
    cfg = tiny_config(steps=8, log_every=1, checkpoint_every=4)
    state = train.train(cfg, tmp_path, progress=False)
    assert int(state.step) == 8 and bool(train.all_finite(state))
    (record,) = json.loads((tmp_path / "rollbacks.json").read_text())
    assert record["step"] == 4 and record["diverged_at"] == 7 and record["lr_g"] == cfg.lr_g * 0.5
    lines = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "d_loss" in r] == list(range(1, 9))  # every step once, in order
    assert [r for r in lines if "rollback" in r] == [record]
    assert _all_checkpoints_finite(tmp_path, cfg)
    seen = tensorboard_view(tmp_path / "tensorboard", "train/d_loss")  # every logged step once
    assert sorted(seen) == list(range(1, 9)) and all(len(v) == 1 for v in seen.values())
    # A resumed run keeps the lowered rates.
    assert train._DivergenceGuard(cfg, tmp_path).effective_config().lr_d == cfg.lr_d * 0.5


def test_stop_policy_exits_3_and_saves_nothing_non_finite(tmp_path, fake_load, monkeypatch, capsys):
    from jaxgan import cli

    _poison_at(monkeypatch, {2})
    cfg = tiny_config(steps=8, log_every=4, checkpoint_every=2, nan_policy="stop")
    sets = [x for k, v in cfg.to_dict().items() if k not in ("classes",) for x in ("--set", f"{k}={v}")]
    assert cli.main(["train", "dcgan", "--workdir", str(tmp_path), "--quiet", *sets]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    # Found at the step-4 check; the step-2 checkpoint is the last finite one.
    assert err[-1] == ("jaxgan: error: training diverged at step 4 (non-finite loss or parameters); last finite "
                       "checkpoint: step 2")
    assert checkpoint.Checkpointer(tmp_path / "checkpoints").all_steps() == [2]
    assert _all_checkpoints_finite(tmp_path, cfg)


def test_absurd_learning_rates_exit_3_after_the_rollbacks(tmp_path, capsys):
    from jaxgan import cli
    from tests.conftest import mock_cifar10

    args = ["train", "dcgan", "--workdir", str(tmp_path), "--quiet", "--set", "g_width=8", "--set", "d_width=8",
            "--set", "batch_size=16", "--set", "z_dim=16", "--set", "lr_g=1e12", "--set", "lr_d=1e12",
            "--set", "log_every=1", "--set", "checkpoint_every=2", "--set", "max_rollbacks=2", "--steps", "40"]
    with mock_cifar10():
        assert cli.main(args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("jaxgan: error: training diverged at step"), err
    assert len(json.loads((tmp_path / "rollbacks.json").read_text())) == 2
    assert _all_checkpoints_finite(tmp_path, tiny_config(lr_g=1e12, lr_d=1e12))


def test_a_checkpoint_of_another_config_is_refused_naming_the_difference(tmp_path, fake_load):
    train.train(tiny_config(steps=2, checkpoint_every=2), tmp_path / "a", progress=False)
    other = tiny_config(steps=2, checkpoint_every=2, lr_g=1e-4)  # same shapes: only the stamp tells them apart
    train.train(other.replace(steps=1), tmp_path / "b", progress=False)
    shutil.copytree(tmp_path / "a" / "checkpoints" / "2", tmp_path / "b" / "checkpoints" / "2")
    before = sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir())
    with pytest.raises(UserError, match=r"written for another config: lr_g=0\.0002, not 0\.0001"):
        checkpoint.Checkpointer(tmp_path / "b" / "checkpoints").restore_latest(other, parallel.make_mesh())
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir()) == before
    stamped = checkpoint.Checkpointer(tmp_path / "a" / "checkpoints")._manager.metadata(2).custom_metadata
    assert stamped["format"] == checkpoint.FORMAT and stamped["config"]["lr_g"] == 2e-4 and stamped["jaxgan"]


@pytest.mark.parametrize("code, why", [("ENOSPC", "No space left on device"), ("EROFS", "Read-only file system")])
def test_a_full_or_read_only_disk_while_saving_is_one_line_and_keeps_the_last_checkpoint(tmp_path, fake_load,
                                                                                        monkeypatch, code, why):
    """Simulated: as root (how CI runs) permission bits do not stop writes, and a full disk cannot be made here."""
    import errno

    cfg = tiny_config(steps=2, checkpoint_every=2)
    train.train(cfg, tmp_path, progress=False)
    files = {p: p.read_bytes() for p in (tmp_path / "checkpoints").rglob("*") if p.is_file()}

    def failing(*args, **kwargs):
        raise OSError(getattr(errno, code), why)

    monkeypatch.setattr(checkpoint.ocp.CheckpointManager, "save", failing)
    with pytest.raises(UserError, match=rf"cannot write checkpoint .*4 \({why}\); the previous"):
        train.train(cfg.replace(steps=4), tmp_path, progress=False)
    assert {p: p.read_bytes() for p in (tmp_path / "checkpoints").rglob("*") if p.is_file()} == files


def test_a_resumed_trainer_discards_what_a_killed_one_left_half_written(tmp_path, fake_load):
    cfg = tiny_config(steps=4, checkpoint_every=2, keep_checkpoints=3)
    train.train(cfg, tmp_path, progress=False)
    folder = tmp_path / "checkpoints"
    (folder / "6.orbax-checkpoint-tmp").mkdir()  # a save killed before its rename
    (folder / "8").mkdir()  # a folder orbax does not list as a complete checkpoint
    assert checkpoint.Checkpointer(folder).discard_incomplete(4) == ["6.orbax-checkpoint-tmp", "8"]
    assert sorted(p.name for p in folder.iterdir() if p.name[0].isdigit()) == ["2", "4"]
    (folder / "6.orbax-checkpoint-tmp").mkdir()
    train.train(cfg.replace(steps=6), tmp_path, progress=False)  # the loop does it on resume
    assert checkpoint.Checkpointer(folder).all_steps() == [2, 4, 6]


def test_a_new_run_starts_from_another_runs_state_under_a_changed_recipe(tmp_path, fake_load):
    from jaxgan import pretrained, summaries

    source = train.train(tiny_config(steps=3, checkpoint_every=3), tmp_path / "a", progress=False)
    changed = tiny_config(steps=3, checkpoint_every=3, lr_g=1e-4, augment="flip")  # the same arrays
    started = train.train(changed, tmp_path / "b", progress=False, init_from=tmp_path / "a")
    assert int(started.step) == 3  # the source's step count goes on: nothing left to do at steps=3
    chex.assert_trees_all_equal(params(source), params(started))
    on = train.train(changed.replace(steps=5), tmp_path / "b", progress=False, init_from=tmp_path / "a")
    steps = [json.loads(l)["step"] for l in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert int(on.step) == 5 and steps == [4, 5]
    assert json.loads((tmp_path / "b" / "config.json").read_text())["lr_g"] == 1e-4
    sessions = summaries.sessions(tmp_path / "b")
    assert sessions[0]["started_from"] == {"run": str((tmp_path / "a").resolve()), "step": 3}
    assert len(sessions) == 1 and summaries.first_step(tmp_path / "b") == 3
    card = json.loads(pretrained.export(tmp_path / "b", tmp_path / "bundle", log=lambda line: None)
                      .joinpath(pretrained.CARD).read_text())
    rows = [json.loads(l) for l in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    # Each logged interval's images over its speed; the first line after a start has no speed (compilation is left
    # out), so its step counts at the next line's.
    own, last = 0.0, 3
    for r in filter(lambda r: r.get("images_per_s"), rows):
        own, last = own + (r["step"] - last) * changed.batch_size / r["images_per_s"], r["step"]
    assert rows[0]["images_per_s"] is None and own > 0
    assert card["started_from"]["step"] == 3 and card["training_seconds"] == pytest.approx(own, abs=0.1)
    stages = card["lineage"]  # the card counts what the weights cost, the source run's training included
    assert [(s["run"], s["from_step"], s["to_step"], s["slices"]) for s in stages] == [
        (str((tmp_path / "a").resolve()), 0, 3, 1), (str((tmp_path / "b").resolve()), 3, 5, 1)]
    assert stages[1]["training_seconds"] == card["training_seconds"] and stages[0]["training_seconds"] > 0
    assert card["lineage_training_seconds"] == pytest.approx(sum(s["training_seconds"] for s in stages), abs=0.1)
    # Once the new run has checkpoints of its own it resumes from them, whatever the source does meanwhile.
    train.train(tiny_config(steps=6, checkpoint_every=3), tmp_path / "a", progress=False)
    resumed = train.train(changed.replace(steps=6), tmp_path / "b", progress=False, init_from=tmp_path / "a")
    steps = [json.loads(l)["step"] for l in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert int(resumed.step) == 6 and steps == [4, 5, 6]
    assert [s.get("started_from", {}).get("step") for s in summaries.sessions(tmp_path / "b")] == [3, None]
    later = json.loads(pretrained.export(tmp_path / "b", tmp_path / "bundle6", log=lambda line: None)
                       .joinpath(pretrained.CARD).read_text())["lineage"]
    assert later[0] == stages[0]  # the source's steps past 3 (and its second session) are not this model's
    assert (later[1]["to_step"], later[1]["slices"]) == (6, 2)
    shutil.rmtree(tmp_path / "a")
    gone = json.loads(pretrained.export(tmp_path / "b", tmp_path / "bundle_gone", log=lambda line: None)
                      .joinpath(pretrained.CARD).read_text())
    assert gone["lineage"][0] == {"run": str((tmp_path / "a").resolve()), "to_step": 3, "missing": True}
    assert gone["lineage_training_seconds"] is None


@pytest.mark.parametrize("change, says", [
    ({"classes": ("horse", "bird")}, "its classes is"),
    ({"z_dim": 8}, "its z_dim is 16"),
    ({"g_width": 16}, r"its state's \.g\.params\['BatchNorm_0'\]\['bias'\] is float32\[32\], "
                      r"this config's float32\[64\]"),
    ({"loss": "hinge", "lecam_weight": 0.3}, "its state holds other arrays"),
    ({"model": "sngan", "g_width": 16, "d_width": 16}, "its model is 'dcgan'")])
def test_a_run_of_other_arrays_or_meaning_cannot_be_a_start(tmp_path, fake_load, change, says):
    train.train(tiny_config(steps=2), tmp_path / "a", progress=False)
    with pytest.raises(UserError, match=f"cannot start from {tmp_path / 'a'}: {says}"):
        train.train(tiny_config(steps=4, **change), tmp_path / "b", progress=False, init_from=tmp_path / "a")
    assert not (tmp_path / "b").exists()
    with pytest.raises(UserError, match="config.json"):
        train.train(tiny_config(steps=4), tmp_path / "c", progress=False, init_from=tmp_path / "nowhere")
