"""Crash consistency with real processes: SIGKILL at random moments of one run (some during checkpoint writes),
then the same command again, ends bit-identical to an uninterrupted run, with every step logged once, in order,
in metrics.jsonl and (after TensorBoard's purges) in the event files."""
import json
import random
import signal
import subprocess
import sys
import time

import jax
import numpy as np

from jaxgan import checkpoint, parallel, run
from tests.conftest import REPO, tiny_config
from tests.test_cli import TINY
from tests.test_train import tensorboard_view

STEPS = 40
SETTINGS = ["--set", "log_every=1", "--set", "checkpoint_every=2", "--set", "keep_checkpoints=2", "--set",
            "ema_decay=0.9", "--steps", str(STEPS), "--quiet"]


def train_command(workdir):
    return [sys.executable, "-m", "tests.mock_jaxgan", "train", "dcgan", "--workdir", str(workdir), *TINY, *SETTINGS]


def logged_steps(workdir):
    path = workdir / run.METRICS
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line)["step"])
        except (ValueError, KeyError):
            out.append(None)
    return out


def last_logged(workdir) -> int:
    steps = [s for s in logged_steps(workdir) if s is not None]
    return steps[-1] if steps else 0


def complete_checkpoint(workdir) -> int:
    folder = workdir / run.CHECKPOINTS
    steps = [int(p.name) for p in folder.iterdir() if p.name.isdigit()] if folder.is_dir() else []
    return max(steps, default=0)


def saving(workdir) -> bool:
    folder = workdir / run.CHECKPOINTS
    return folder.is_dir() and any("tmp" in p.name for p in folder.iterdir())


def final_state(workdir):
    cfg = tiny_config(ema_decay=0.9, steps=STEPS, log_every=1, checkpoint_every=2, keep_checkpoints=2)
    ckpt = checkpoint.Checkpointer(workdir / run.CHECKPOINTS)
    assert ckpt.latest_step() == STEPS
    return jax.device_get(ckpt.restore(STEPS, cfg, parallel.make_mesh()))


def test_sigkills_at_random_moments_end_bit_identical(tmp_path):
    straight = subprocess.run(train_command(tmp_path / "straight"), cwd=REPO, capture_output=True, text=True,
                              timeout=600)
    assert straight.returncode == 0, straight.stderr[-2000:]

    workdir, rng, kills, in_saves = tmp_path / "killed", random.Random(0), 0, 0
    while kills < 6:
        resumed = complete_checkpoint(workdir)
        target = resumed + rng.randint(1, 6)  # kills follow training's progress, not the clock: any machine speed
        proc = subprocess.Popen(train_command(workdir), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and last_logged(workdir) < target:
            time.sleep(0.002)
        if kills % 2:  # every other kill waits for a checkpoint being written (orbax's temporary folder)
            until = time.time() + 20
            while time.time() < until and proc.poll() is None and not saving(workdir):
                time.sleep(0.001)
            in_saves += saving(workdir)
        else:  # the others land anywhere: in a step, a save, a log write
            time.sleep(rng.uniform(0.0, 0.05))
        if proc.poll() is not None:
            break  # finished before the kill
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        kills += 1
    assert kills >= 5 and in_saves >= 1, (kills, in_saves)
    last = subprocess.run(train_command(workdir), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert last.returncode == 0, last.stderr[-2000:]

    jax.tree.map(np.testing.assert_array_equal, final_state(workdir), final_state(tmp_path / "straight"))
    assert logged_steps(workdir) == list(range(1, STEPS + 1))
    seen = tensorboard_view(workdir / "tensorboard", "train/d_loss")
    assert sorted(seen) == list(range(1, STEPS + 1)) and all(len(v) == 1 for v in seen.values())
