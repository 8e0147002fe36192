"""What a run records about itself besides metrics.jsonl: TensorBoard event files and the environment it ran in.

    writer = summaries.TensorBoard(workdir)          # WORKDIR/tensorboard/; view with `tensorboard --logdir WORKDIR`
    writer.scalars(step, {"d_loss": 0.7, ...})      # under train/
    writer.image(step, "samples/fixed_noise", grid)  # uint8 (H, W, 3)
    summaries.record_environment(workdir, start_step)  # appends to WORKDIR/environment.json
    summaries.record_first_step(workdir)               # when this session's first step finished
    summaries.record_progress(workdir, step, seconds)  # the step it reached and its training time (each checkpoint)
    summaries.training_time(workdir)                   # {"seconds", "slices", "steps"} over every session

Event files are written by tensorboardX (protobuf only, no TensorFlow) on the host, at logging steps only, from
values the loop has already pulled off the device.
"""
from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import sys
import time

import numpy as np

ENVIRONMENT = "environment.json"
TENSORBOARD = "tensorboard"


class TensorBoard:
    """The run's TensorBoard event files (WORKDIR/tensorboard/)."""

    def __init__(self, workdir: pathlib.Path, resume_step: int = 0, enabled: bool = True):
        """Args:
          workdir: the run folder.
          resume_step: the step training resumes from; TensorBoard discards what earlier sessions logged past it
            (tensorboardX's `purge_step`: a SessionLog.START at resume_step + 1, past which older events are
            dropped; also at 0, after a first session killed before its first checkpoint), so no step is shown
            twice.
          enabled: False writes nothing (the processes of a distributed run other than process 0).
        """
        self._writer = None
        if enabled:
            from tensorboardX import SummaryWriter  # imported here: only a training run writes events

            self._writer = SummaryWriter(str(pathlib.Path(workdir) / TENSORBOARD), flush_secs=30,
                                         purge_step=resume_step + 1)  # from scratch too: a killed first session

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train"):
        for name, value in values.items():
            if value is not None and self._writer is not None:
                self._writer.add_scalar(f"{prefix}/{name}", float(value), step)

    def image(self, step: int, tag: str, image: np.ndarray):
        if self._writer is not None:
            self._writer.add_image(tag, np.asarray(image), step, dataformats="HWC")

    def flush(self):
        """Writes the buffered events to disk (the loop does it with every checkpoint: a run killed later resumes
        from one, and what was logged up to it must not be lost)."""
        if self._writer is not None:
            self._writer.flush()

    def close(self):
        if self._writer is not None:
            self._writer.close()


def cpu_model() -> str:
    """The host CPU's model name ("model name" in /proc/cpuinfo; else what `platform` knows, maybe "")."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def environment(start_step: int = 0) -> dict:
    """Versions, devices and command of this process: what a report needs to say how a run was made.

    The host's CPU model, the cores this process may use and XLA_FLAGS are recorded too: XLA:CPU splits its
    kernels over the cores it may use and picks them by CPU, so another count or another CPU rounds differently
    from the first step on, and the same command there is another run, not a continuation bit for bit.
    """
    import importlib.metadata

    import jax

    def version(package):
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    devices = jax.devices()
    return {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "start_step": start_step,
        "command": " ".join(sys.argv),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: version(p) for p in ("jaxgan", "jax", "jaxlib", "flax", "optax", "orbax-checkpoint",
                                             "tensorflow-datasets", "numpy")},
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "devices": len(devices),
        "processes": jax.process_count(),
        "cpu": cpu_model(),
        "cpu_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def _sessions(path: pathlib.Path) -> list:
    try:
        sessions = json.loads(path.read_text()) if path.is_file() else []
    except (OSError, json.JSONDecodeError):
        sessions = []  # a damaged record is replaced; it never stops training
    return sessions if isinstance(sessions, list) else []


def sessions(workdir) -> list:
    """The environment record of every session that trained a run (WORKDIR/environment.json).

    Args:
      workdir: the run folder.

    Returns:
      A list of dicts, oldest first; empty when there is no (readable) record.
    """
    return [s for s in _sessions(pathlib.Path(workdir) / ENVIRONMENT) if isinstance(s, dict)]


def record_environment(workdir: pathlib.Path, start_step: int, started_from: dict | None = None) -> dict:
    """Appends this session's environment to WORKDIR/environment.json (a list: a resumed run has several); a run
    started from another run's state (`train --init-from`) records {"run", "step"} of it as "started_from"."""
    path = pathlib.Path(workdir) / ENVIRONMENT
    sessions = _sessions(path)
    entry = environment(start_step)
    if started_from is not None:
        entry["started_from"] = started_from
    sessions.append(entry)
    path.write_text(json.dumps(sessions, indent=1) + "\n")
    return entry


def record_progress(workdir: pathlib.Path, step: int, seconds: float):
    """Stamps the latest session with the step it reached and its wall-clock training time so far (updated at every
    checkpoint, so a killed session keeps what it trained up to its last checkpoint).

    Args:
      workdir: the run folder.
      step: the step reached.
      seconds: wall-clock seconds since this session's training loop began.
    """
    path = pathlib.Path(workdir) / ENVIRONMENT
    sessions = _sessions(path)
    if sessions and isinstance(sessions[-1], dict):
        sessions[-1]["end_step"] = int(step)
        sessions[-1]["train_seconds"] = round(float(seconds), 1)
        path.write_text(json.dumps(sessions, indent=1) + "\n")


def training_time(workdir) -> dict:
    """A run's training over all its slices (sessions), from environment.json.

    Args:
      workdir: the run folder.

    Returns:
      {"seconds": wall-clock training time summed over sessions, "slices": number of sessions, "steps": the last
      step any session reached (0 when none is recorded)}.
    """
    records = sessions(workdir)
    seconds = sum(float(r.get("train_seconds", 0.0)) for r in records)
    steps = max([int(r.get("end_step", r.get("start_step", 0))) for r in records] or [0])
    return {"seconds": round(seconds, 1), "slices": len(records), "steps": steps}


def first_step(workdir) -> int:
    """The step a run's training began at: 0, or the source's step for a run started from another run's state.

    Args:
      workdir: the run folder.

    Returns:
      The first recorded session's start step (0 when none is recorded).
    """
    records = sessions(workdir)
    return int(records[0].get("start_step", 0)) if records else 0


def record_first_step(workdir: pathlib.Path):
    """Stamps the latest session with the time its first step finished (Unix seconds): start-up time is this minus
    the moment the command was launched (`benchmarks/startup.py`)."""
    path = pathlib.Path(workdir) / ENVIRONMENT
    sessions = _sessions(path)
    if sessions and isinstance(sessions[-1], dict):
        sessions[-1]["first_step_done_unix"] = round(time.time(), 3)
        path.write_text(json.dumps(sessions, indent=1) + "\n")
