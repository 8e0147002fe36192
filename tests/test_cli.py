"""The command line as a user meets it: mistakes give one line and exit code 2; train -> sample works.

Most checks call `cli.main` in this process (`jaxgan`), which is what the console script runs, minus about 8 s of
interpreter and import start-up per call; the ones about the real process — a progress bar on stderr, resuming,
Ctrl-C, a missing data folder — start `python -m jaxgan.cli` (`jaxgan_subprocess`), on tfds' mock CIFAR-10 unless
the test is about the real data (`python -m tests.mock_jaxgan`, `mock=True`).
"""
import contextlib
import json
import io
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxgan import cli
from tests.conftest import REPO, mock_cifar10, tiny_config, train_on

TINY = ["--set", "g_width=8", "--set", "d_width=8", "--set", "batch_size=16", "--set", "z_dim=16"]


def jaxgan_subprocess(*args, cwd=None, mock=False):
    """`jaxgan ARGS` in a new process; with `mock`, reading tfds' mock CIFAR-10 (give no --data-dir)."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    module = "tests.mock_jaxgan" if mock else "jaxgan.cli"
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=600)


def jaxgan(*args):
    """`jaxgan ARGS` run by `cli.main` in this process, its stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as e:  # argparse's own usage errors
            code = e.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def assert_one_line_error(out, *words):
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jaxgan: error:"), out.stderr[-2000:]
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, small_images):
    """A finished tiny run, trained in-process on 512 real images."""
    workdir = tmp_path_factory.mktemp("run")
    train_on(small_images, tiny_config(steps=2, checkpoint_every=2), workdir)
    return workdir


def test_bad_data_dir(tmp_path):
    assert_one_line_error(jaxgan_subprocess("train", "dcgan", "--workdir", tmp_path / "w", "--data-dir",
                                            tmp_path / "nowhere"),
                          "CIFAR-10 not found", str(tmp_path / "nowhere"))


def test_unknown_experiment(tmp_path):
    assert_one_line_error(jaxgan("train", "dcgann", "--workdir", tmp_path), "unknown experiment 'dcgann'")


def test_unknown_config_key(tmp_path):
    assert_one_line_error(jaxgan("train", "dcgan", "--workdir", tmp_path, "--set", "lr=1"), "'lr'")


def test_bad_config_value(tmp_path):
    assert_one_line_error(jaxgan("train", "dcgan", "--workdir", tmp_path, "--set", "n_dis=0"), "'n_dis'")


def test_wrong_class_name(tmp_path):
    assert_one_line_error(jaxgan("train", "dcgan", "--workdir", tmp_path, "--set", "classes=horse,pegasus"),
                          "pegasus")


def test_corrupt_checkpoint(tmp_path, run_dir):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    for p in (broken / "checkpoints" / "2").rglob("*"):
        if p.is_file() and p.stat().st_size > 0:
            p.write_bytes(b"\0garbage")
    assert_one_line_error(jaxgan("sample", "--workdir", broken, "--out", tmp_path / "x.png"), "cannot be read")
    with mock_cifar10():
        assert_one_line_error(jaxgan("train", "dcgan", "--workdir", broken, "--steps", "4", *TINY,
                                     "--set", "ema_decay=0.9", "--set", "steps=2", "--set", "log_every=1",
                                     "--set", "checkpoint_every=2"), "cannot be read")


def test_sample_mistakes(tmp_path, run_dir):
    assert_one_line_error(jaxgan("sample", "--workdir", tmp_path, "--out", tmp_path / "x.png"), "not a jaxgan run")
    assert_one_line_error(jaxgan("sample", "--workdir", run_dir, "--out", tmp_path / "x.jpg"), ".png")
    assert_one_line_error(jaxgan("sample", "--workdir", run_dir, "--out", tmp_path / "no" / "x.png"), "does not exist")
    assert_one_line_error(jaxgan("sample", "--workdir", run_dir, "--batch-size", 0, "--out", tmp_path / "x.png"),
                          "--batch-size")
    assert_one_line_error(jaxgan("sample", "--workdir", run_dir, "--mix", "horse=1", "--out", tmp_path / "x.png"),
                          "unconditional")
    assert_one_line_error(jaxgan("sample", "--workdir", run_dir, "--truncation", 0, "--out", tmp_path / "x.png"),
                          "--truncation")


def test_sample_is_seeded_and_independent_of_batch_size(tmp_path, run_dir):
    sample = lambda *args: cli.main(["sample", "--workdir", str(run_dir), "--n", "10", *map(str, args)])
    assert sample("--seed", 3, "--out", tmp_path / "a.npz") == 0
    assert sample("--seed", 3, "--batch-size", 3, "--out", tmp_path / "b.npz") == 0
    assert sample("--seed", 4, "--out", tmp_path / "c.npz") == 0
    a, b, c = (np.load(tmp_path / f"{x}.npz")["images"] for x in "abc")
    assert a.shape == (10, 32, 32, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert cli.main(["sample", "--workdir", str(run_dir), "--n", "16", "--out", str(tmp_path / "g.png")]) == 0
    from PIL import Image

    assert Image.open(tmp_path / "g.png").size == (4 * 34 + 2, 4 * 34 + 2)


def test_train_then_resume_on_mock_data(tmp_path):
    """A real process without the real data: a progress bar, checkpoints, and a resumed second run."""
    w = tmp_path / "w"
    args = ["train", "dcgan", "--workdir", w, *TINY, "--set", "checkpoint_every=2", "--set", "log_every=1"]
    first = jaxgan_subprocess(*args, "--steps", 2, mock=True)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "D(G(z))" in first.stderr and "img/s" in first.stderr  # tqdm's bar goes to stderr
    second = jaxgan_subprocess(*args, "--steps", 4, mock=True)
    assert second.returncode == 0 and "resumed at 2" in second.stderr, second.stderr[-2000:]
    assert sorted(p.name for p in (w / "checkpoints").iterdir() if p.name.isdigit()) == ["2", "4"]


def test_train_then_resume_from_the_command_line(tmp_path, data_dir):
    """The real thing on real CIFAR-10: a progress bar, checkpoints, and a resumed second run."""
    w = tmp_path / "w"
    args = ["train", "dcgan", "--workdir", w, "--data-dir", data_dir, *TINY, "--set", "checkpoint_every=2",
            "--set", "log_every=1", "--set", "classes=horse,bird"]
    first = jaxgan_subprocess(*args, "--steps", 2)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "D(G(z))" in first.stderr and "img/s" in first.stderr  # tqdm's bar goes to stderr
    second = jaxgan_subprocess(*args, "--steps", 4)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed at 2" in second.stderr
    assert sorted(p.name for p in (w / "checkpoints").iterdir() if p.name.isdigit()) == ["2", "4"]


def test_time_limit_ends_a_slice_with_exit_0_and_a_candidate_bundle(tmp_path, monkeypatch):
    """--time-limit (minutes): a checkpoint of the step reached, how to continue, a bundle of that step; the same
    command continues from there."""
    w = tmp_path / "w"
    args = ["train", "dcgan", "--workdir", w, *TINY, "--set", "log_every=1", "--set", "checkpoint_every=1000",
            "--steps", 100000, "--quiet", "--time-limit", "0.05"]
    first = jaxgan_subprocess(*args, mock=True)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "time limit of 0.05 min reached at step" in first.stdout and "run the same command" in first.stdout
    assert f"wrote {w / 'candidate'}: " in first.stdout and "candidate.new" not in first.stdout
    saved = [int(p.name) for p in (w / "checkpoints").iterdir() if p.name.isdigit()]
    card = json.loads((w / "candidate" / "card.json").read_text())
    assert len(saved) == 1 and card["steps"] == saved[0] and card["training_slices"] == 1
    monkeypatch.setenv("JAXGAN_PRETRAINED_PATH", str(w))
    drawn = jaxgan_subprocess("sample", "--pretrained", "candidate", "--n", 4, "--out", tmp_path / "c.png", mock=True)
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    second = jaxgan_subprocess(*args, mock=True)
    assert second.returncode == 0 and f"step {saved[0]} of 100000; 1 earlier slice(s)" in second.stdout, \
        second.stderr[-2000:]
    card = json.loads((w / "candidate" / "card.json").read_text())
    assert card["steps"] > saved[0] and card["training_slices"] == 2
    assert not (w / "candidate.new").exists() and not (w / "candidate.old").exists()
    # A slice that reaches the run's last step leaves a bundle of it too, not the previous slice's.
    last = card["steps"] + 2
    third = jaxgan_subprocess(*args[:-5], "--steps", last, "--quiet", "--time-limit", "5", mock=True)
    assert third.returncode == 0 and f"trained {last} steps" in third.stdout, third.stderr[-2000:]
    card = json.loads((w / "candidate" / "card.json").read_text())
    assert card["steps"] == last and card["training_slices"] == 3


def test_ctrl_c_saves_a_checkpoint_and_the_next_run_resumes(tmp_path):
    import signal
    import time

    w = tmp_path / "w"
    args = [sys.executable, "-m", "tests.mock_jaxgan", "train", "dcgan", "--workdir", str(w), *TINY,
            "--set", "log_every=1", "--set", "checkpoint_every=1000", "--steps", "100000", "--quiet"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = w / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < 3):
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    saved = [int(p.name) for p in (w / "checkpoints").iterdir() if p.name.isdigit()]
    assert saved and max(saved) >= 3


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path):
    """How clouds and schedulers preempt: finish the step in flight, save it, exit 128 + 15 within seconds."""
    import signal
    import time

    w = tmp_path / "w"
    args = [sys.executable, "-m", "tests.mock_jaxgan", "train", "dcgan", "--workdir", str(w), *TINY,
            "--set", "log_every=1", "--set", "checkpoint_every=1000", "--steps", "100000", "--quiet"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = w / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < 3):
        time.sleep(0.5)
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    took = time.time() - sent
    assert proc.returncode == 143, err[-2000:]
    assert "terminated" in err and took < 30, (took, err[-500:])
    saved = [int(p.name) for p in (w / "checkpoints").iterdir() if p.name.isdigit()]
    logged = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert saved and max(saved) >= 3 and max(saved) >= max(logged)
    again = jaxgan_subprocess("train", "dcgan", "--workdir", w, *TINY, "--set", "log_every=1", "--set",
                              "checkpoint_every=1000", "--steps", max(saved) + 2, mock=True)
    assert again.returncode == 0 and f"resumed at {max(saved)}" in again.stderr, again.stderr[-2000:]


def test_compilation_cache_follows_the_environment(tmp_path, monkeypatch):
    import jax

    before = jax.config.jax_compilation_cache_dir
    try:
        monkeypatch.setenv(cli.COMPILATION_CACHE_ENV, str(tmp_path / "xla"))
        cli.enable_compilation_cache()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla")
        monkeypatch.setenv(cli.COMPILATION_CACHE_ENV, "off")
        jax.config.update("jax_compilation_cache_dir", before)
        cli.enable_compilation_cache()
        assert jax.config.jax_compilation_cache_dir == before
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
