"""The run folder: its layout, making one for training, loading a trained run, and the path checks commands share.

    cfg = run.prepare(cfg, "runs/dcgan")              # training: create the folder, or check it holds this config
    cfg, state = run.load("runs/dcgan")               # sample / eval / pegasus / report: config + latest checkpoint
    out = run.output_file("grid.png", (".png", ".npz"))

A run folder (WORKDIR) is the interface between training and everything after it:
    config.json       the full config (training again with another non-runtime value is refused)
    code.json         only for a model or loss registered by an experiment file: which file (absolute path) to
                      import again to resume, sample, evaluate or report the run; the folder never holds code
    metrics.jsonl     one JSON line per logging step (and per FID-C measurement)
    checkpoints/      orbax checkpoints every `checkpoint_every` steps and at the end; the last `keep_checkpoints`
    best/, best.json  with `eval_every`: the checkpoint of lowest FID-C so far, its step and value
    rollbacks.json    each rollback after a non-finite loss or state (nan_policy=rollback): steps, lowered rates
    train.lock        held by the one process training the folder
    samples/          step_XXXXXX.png: the EMA generator on fixed noise every `sample_every` steps and at the end
    tensorboard/      event files: the metrics.jsonl scalars, FID-C and the sample grids
    environment.json  versions, devices, host CPU, usable cores, XLA_FLAGS and command of every session (slice)
                      that trained the run, with the step each reached and its wall-clock training time
    candidate/        a pretrained bundle (`jaxgan.pretrained`) of the step a `--time-limit` slice ended at
    eval.json, pegasus/, report.html   written by `jaxgan eval --out`, `jaxgan pegasus --out`, `jaxgan report`
"""
from __future__ import annotations

import json
import os
import pathlib
import socket
import time

from jaxgan import checkpoint, config as config_lib, losses, models, parallel
from jaxgan.config import Config
from jaxgan.errors import UserError

CONFIG, CODE, METRICS, ENVIRONMENT = "config.json", "code.json", "metrics.jsonl", "environment.json"
CHECKPOINTS, BEST, BEST_RECORD, ROLLBACKS = "checkpoints", "best", "best.json", "rollbacks.json"
SAMPLES, TENSORBOARD, EVAL, PEGASUS, REPORT = "samples", "tensorboard", "eval.json", "pegasus", "report.html"
CANDIDATE = "candidate"
CHECKPOINT_CHOICES = ("latest", "best")
LOCK = "train.lock"  # held (flock) by the one process training the folder; names it while held


def require(workdir) -> pathlib.Path:
    """`workdir` as a path, when it is a run folder.

    Args:
      workdir: a path.

    Returns:
      The path.

    Raises:
      UserError: there is no config.json in it.
    """
    workdir = pathlib.Path(workdir)
    if not (workdir / CONFIG).is_file():
        raise UserError(f"{workdir} is not a jaxgan run folder (no {CONFIG})")
    return workdir


def load_config(workdir) -> Config:
    """The config of a run folder, importing again the experiment files that registered its model or loss.

    Args:
      workdir: a run folder.

    Returns:
      The run's `Config`.

    Raises:
      UserError: not a run folder, an unreadable config, or an experiment file named in code.json that is gone.
    """
    workdir = require(workdir)
    code = workdir / CODE
    if code.is_file():
        try:
            origins = json.loads(code.read_text())
            origins = {str(k): pathlib.Path(v) for k, v in origins.items()}
        except (OSError, ValueError, AttributeError, TypeError):
            raise UserError(f"{code} is damaged; it should map 'model'/'loss' to experiment files") from None
        try:
            names = json.loads((workdir / CONFIG).read_text())
        except (OSError, ValueError):
            names = {}
        registered = {"model": models.names(), "loss": losses.names()}
        for kind, path in origins.items():
            if isinstance(names, dict) and names.get(kind) in registered.get(kind, ()):
                continue  # already registered in this process: nothing to import
            if not path.is_file():
                raise UserError(f"{workdir}: the run's {kind} is registered by the experiment file {path}, which is "
                                f"no longer there; put it back (the run folder holds no code)")
            config_lib.import_experiment_file(path)
    return config_lib.load_json(workdir / CONFIG)


def prepare(cfg: Config, workdir) -> pathlib.Path:
    """Creates the run folder for training `cfg`, or checks that an existing one was made by the same config.

    Writes config.json and, for models or losses registered by an experiment file, code.json.

    Args:
      cfg: the config to train.
      workdir: the run folder (created with its parents when missing).

    Returns:
      The folder's path.

    Raises:
      UserError: the path is a file or cannot be created, or the folder holds a run of another config.
    """
    workdir = pathlib.Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise UserError(f"run folder {workdir} exists and is not a folder")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the run folder {workdir} ({e.strerror})") from None
    if (workdir / CONFIG).exists():
        old = load_config(workdir)
        diff = config_lib.differing_keys(old, cfg)
        if diff:
            k = diff[0]
            raise UserError(f"{workdir} holds a run with {k}={getattr(old, k)!r}, not {getattr(cfg, k)!r}; "
                            f"resume it with the same config or train in a new run folder")
    origins = config_lib.code_origins(cfg)
    if origins:
        (workdir / CODE).write_text(json.dumps(origins, indent=2) + "\n")
    config_lib.save_json(cfg, workdir / CONFIG)
    return workdir


def load(workdir, which: str = "latest", mesh=None):
    """The config and a checkpointed state of a run folder.

    Args:
      workdir: a run folder.
      which: "latest", or "best" for the lowest-FID-C checkpoint (runs trained with `eval_every`).
      mesh: where to place the state (default: all local devices).

    Returns:
      (config, `GANState`).

    Raises:
      UserError: not a run folder, no such checkpoint, or an unreadable one.
    """
    if which not in CHECKPOINT_CHOICES:
        raise UserError(f"unknown checkpoint '{which}' (use {' or '.join(CHECKPOINT_CHOICES)})")
    workdir = pathlib.Path(workdir)
    cfg = load_config(workdir)
    folder = workdir / (BEST if which == "best" else CHECKPOINTS)
    if which == "best" and not folder.is_dir():
        raise UserError(f"{workdir} has no best checkpoint (train with eval_every=N to keep one)")
    state = None
    if folder.is_dir():  # reading never writes: the Checkpointer would create a missing folder
        state = checkpoint.Checkpointer(folder, cfg.keep_checkpoints).restore_latest(cfg, mesh or parallel.make_mesh())
    if state is None:
        if (workdir / "card.json").is_file():  # pretrained.CARD; pretrained imports this module
            raise UserError(f"{workdir} is an exported bundle, not a run folder: load it with --pretrained "
                            f"{workdir.name}, its parent folder on $JAXGAN_PRETRAINED_PATH")
        raise UserError(f"{workdir} has no checkpoint yet; train first")
    return cfg, state


def output_file(path, suffixes: tuple[str, ...] = ()) -> pathlib.Path:
    """Checks a file about to be written: its folder exists and its name ends in one of `suffixes`.

    Args:
      path: the file.
      suffixes: allowed endings such as (".png", ".npz"); empty: any.

    Returns:
      The path.

    Raises:
      UserError: naming the path.
    """
    path = pathlib.Path(path)
    if suffixes and path.suffix not in suffixes:
        raise UserError(f"{path}: the file name must end in {' or '.join(suffixes)}")
    if path.exists() and path.is_dir():
        raise UserError(f"{path} is a folder, not a file")
    if not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    return path


def output_folder(path) -> pathlib.Path:
    """Checks a folder about to be written into (created later by the caller): not a file, its parent exists.

    Args:
      path: the folder.

    Returns:
      The path.

    Raises:
      UserError: naming the path.
    """
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} exists and is not a folder")
    if not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    return path


class TrainerLock:
    """One trainer per run folder: an exclusive `flock` on WORKDIR/train.lock, which names the holder's host and pid.

    The operating system releases the lock when its process dies, however it dies, so a lock left by a dead
    process is taken over (with a message naming it). A clean exit empties the file. Readers (sample, eval,
    report) never take it: they read the latest complete checkpoint.
    """

    def __init__(self, workdir, log=print):
        """Args:
          workdir: the run folder (created when missing).
          log: where the message about a taken-over lock goes.
        """
        self.path = pathlib.Path(workdir) / LOCK
        self.log = log
        self._fd = None

    def __enter__(self) -> "TrainerLock":
        import fcntl

        if self.path.parent.exists() and not self.path.parent.is_dir():
            raise UserError(f"run folder {self.path.parent} exists and is not a folder")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UserError(f"cannot lock the run folder {self.path.parent} ({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise UserError(f"{self.path.parent} is being trained by pid {holder.get('pid', '?')} on "
                            f"{holder.get('host', '?')} (since {holder.get('since', '?')}); wait for it or stop it"
                            ) from None
        left = _read_holder(fd)
        if left:
            self.log(f"jaxgan: took over the lock of {self.path.parent} left by pid {left.get('pid', '?')} on "
                     f"{left.get('host', '?')}, which is no longer running")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc):
        import fcntl

        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # released cleanly: the next trainer has nothing to report
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> dict:
    try:
        text = os.pread(fd, 4096, 0).decode()
        holder = json.loads(text) if text.strip() else {}
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {"pid": "?", "host": "?"}
