"""Checkpoints of a `GANState` with orbax-checkpoint: plain arrays on disk, never pickled modules.

    ckpt = Checkpointer(workdir / "checkpoints", keep=3)
    ckpt.save(step, state, cfg); ckpt.wait()
    state = ckpt.restore_latest(cfg, mesh)      # None when there is none

Saving is asynchronous (training goes on while files are written). A checkpoint that cannot be read raises
`UserError` naming it; nothing on disk is changed or deleted by a failed restore. Each checkpoint records
(orbax's per-step custom metadata) jaxgan's version, a format number and the config's non-runtime values with
their hash; one written for another config is refused before any array is read, naming the first difference.
Checkpoints written before G, D and the EMA became one pytree each (a flat `GANState` of `g_params`, `g_stats`,
...) are read and converted, and so are those written before an optional field of the state (one that is None in
this run, such as the LeCam anchors) or a config key existed: a key missing from a checkpoint's record counts as
its default, so adding a key with a default that keeps the old behaviour does not orphan the runs made before it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import pathlib

import jax
import orbax.checkpoint as ocp
from jax.sharding import NamedSharding

from jaxgan import parallel, state as state_lib
from jaxgan.state import EMAState, GANState, NetState
from jaxgan import config as config_lib
from jaxgan.config import Config
from jaxgan.errors import UserError

FORMAT = 2  # 1: jaxgan 0.1's flat state; 2: G, D and the EMA as one pytree each, with this metadata


def stamp(cfg: Config) -> dict:
    """What a checkpoint records about where it came from.

    Args:
      cfg: the run's config.

    Returns:
      {"jaxgan": version, "format": FORMAT, "config": the non-runtime values, "config_hash": their sha256}.
    """
    import importlib.metadata

    try:
        version = importlib.metadata.version("jaxgan")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    values = {k: v for k, v in cfg.to_dict().items() if k not in config_lib.RUNTIME_KEYS}
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
    return {"jaxgan": version, "format": FORMAT, "config": values, "config_hash": digest}


def legacy_layout(state: GANState) -> dict:
    """`state` in the flat layout of jaxgan 0.1's checkpoints (g_params, g_stats, g_opt_state, ... side by side).

    Args:
      state: a `GANState` (or one of shape structs).

    Returns:
      A flat dict of the same leaves.
    """
    return {"step": state.step, "g_params": state.g.params, "g_stats": state.g.stats, "d_params": state.d.params,
            "d_stats": state.d.stats, "g_opt_state": state.g.opt_state, "d_opt_state": state.d.opt_state,
            "ema_params": state.ema.params, "ema_stats": state.ema.stats, "rng": state.rng,
            "d_fake_acc": state.d_fake_acc}


def without_optional_fields(state: GANState) -> dict:
    """`state`'s fields as a dict, less those that are None (optional parts off in this run, such as the LeCam
    anchors): the layout of checkpoints written before such a field existed.

    Args:
      state: a `GANState` (or one of shape structs).

    Returns:
      {field name: value} of the fields that are not None; `GANState(**it)` rebuilds the state.
    """
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state) if getattr(state, f.name) is not None}


def from_legacy_layout(flat: dict) -> GANState:
    """The `GANState` of a flat jaxgan 0.1 checkpoint (the inverse of `legacy_layout`).

    Args:
      flat: the restored flat dict.

    Returns:
      The `GANState`.
    """
    return GANState(step=flat["step"], g=NetState(flat["g_params"], flat["g_stats"], flat["g_opt_state"]),
                    d=NetState(flat["d_params"], flat["d_stats"], flat["d_opt_state"]),
                    ema=EMAState(flat["ema_params"], flat["ema_stats"]), rng=flat["rng"], d_fake_acc=flat["d_fake_acc"])


class Checkpointer:
    """Numbered checkpoints of one run in one folder (orbax `CheckpointManager`), the newest `keep` kept."""

    def __init__(self, directory: str | pathlib.Path, keep: int = 3):
        """Args:
          directory: the folder (created when missing).
          keep: how many of the newest checkpoints to keep.
        """
        self.directory = pathlib.Path(directory).resolve()
        if self.directory.exists() and not self.directory.is_dir():
            raise UserError(f"checkpoint path {self.directory} exists and is not a folder")
        # The handler named up front: reading a step's metadata (`check_origin`) otherwise makes orbax warn that
        # it cannot restore the item it has not yet been told how to read.
        self._manager = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
            item_handlers=ocp.StandardCheckpointHandler())

    def latest_step(self) -> int | None:
        """The newest checkpoint's step.

        Returns:
          The step, or None when there is no checkpoint.
        """
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        """The steps of the checkpoints on disk.

        Returns:
          A list of steps.
        """
        return list(self._manager.all_steps())

    def save(self, step: int, state: state_lib.GANState, cfg: Config | None = None) -> None:
        """Starts saving `state` as checkpoint `step`; the files are written in the background (`wait` for them).

        Args:
          step: the checkpoint's number (the training step).
          state: the `GANState` to save.
          cfg: the run's config, recorded with the checkpoint (`stamp`) so another run's config is refused.
        """
        meta = None if cfg is None else stamp(cfg)
        with self._storage_errors(step):
            self._manager.save(step, args=ocp.args.StandardSave(state), force=True, custom_metadata=meta)

    @contextlib.contextmanager
    def _storage_errors(self, step):
        """A full or read-only disk (here or in the background writer) becomes one line; the checkpoints already
        complete on disk stay as they are (orbax writes each one into a temporary folder, renamed when whole)."""
        try:
            yield
        except OSError as e:
            raise UserError(f"cannot write checkpoint {self.directory / str(step)} ({e.strerror or e}); the "
                            f"previous checkpoints are intact") from None

    def check_origin(self, step: int, cfg: Config) -> None:
        """Refuses a checkpoint written for another config or by a newer format.

        Args:
          step: a step on disk.
          cfg: the config about to restore it.

        Raises:
          UserError: naming the first differing key, or the format.
        """
        try:
            meta = self._manager.metadata(step).custom_metadata or {}
        except Exception:  # no or unreadable metadata: the restore itself will say what is wrong
            return
        if not meta:
            return  # written before checkpoints were stamped
        where = self.directory / str(step)
        if meta.get("format", 0) > FORMAT:
            raise UserError(f"checkpoint {where} has format {meta.get('format')}, newer than this jaxgan reads "
                            f"({FORMAT}); it was written by jaxgan {meta.get('jaxgan')}")
        mine = stamp(cfg)
        if meta.get("config_hash") != mine["config_hash"]:
            defaults = Config().to_dict()
            theirs = {k: meta.get("config", {}).get(k, defaults[k]) for k in mine["config"]}
            ours = json.loads(json.dumps(mine["config"]))  # as JSON stores it (tuples as lists)
            diff = [k for k in ours if theirs[k] != ours[k]]
            if diff:
                k = diff[0]
                raise UserError(f"checkpoint {where} was written for another config: {k}={theirs[k]!r}, not "
                                f"{ours[k]!r}; it was left as it is")

    def wait(self) -> None:
        """Blocks until every save started has reached the disk.

        Raises:
          UserError: a save failed for lack of space or permission.
        """
        with self._storage_errors(self.latest_step()):
            self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for the saves and releases the manager."""
        self._manager.close()

    def restore(self, step: int, cfg: Config, mesh) -> state_lib.GANState:
        """Checkpoint `step`, replicated over `mesh`.

        Args:
          step: a step from `all_steps()`.
          cfg: the run's config (gives the shapes and dtypes to read).
          mesh: the mesh to place the state on.

        Returns:
          The `GANState`.

        Raises:
          UserError: the checkpoint is missing, damaged or of another model; it is left as it is.
        """
        self.check_origin(step, cfg)
        sharding = NamedSharding(mesh, parallel.REPLICATED)
        target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                              state_lib.abstract(cfg))
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(target))
        except Exception as e:  # orbax/tensorstore raise many types for truncated, missing or foreign files
            for older, convert in ((without_optional_fields, lambda fields: GANState(**fields)),
                                   (legacy_layout, from_legacy_layout)):
                try:  # written before an optional field existed, or by jaxgan 0.1 (a flat state)
                    return convert(self._manager.restore(step, args=ocp.args.StandardRestore(older(target))))
                except Exception:
                    pass
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise UserError(f"checkpoint {self.directory / str(step)} cannot be read ({type(e).__name__}: {first}); "
                            f"it was left as it is: move it aside to resume from an earlier checkpoint") from None

    def discard_incomplete(self, resumed_from: int | None) -> list[str]:
        """Removes what a killed trainer left half-written, so the folder holds only complete checkpoints up to the
        one training resumes from: orbax's temporary folders, and step folders it does not list as complete or
        that lie past `resumed_from`. Call it only while holding the run folder's trainer lock.

        Args:
          resumed_from: the step training resumes from (None: from scratch).

        Returns:
          The names removed.
        """
        import shutil

        listed = set(self.all_steps())
        removed = []
        for path in sorted(self.directory.iterdir()):
            head = path.name.split(".")[0]
            if not head.isdigit():
                continue
            step = int(head)
            complete = path.name == head and step in listed
            if not complete or resumed_from is None or step > resumed_from:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                removed.append(path.name)
        if removed:
            self._manager.reload()
        return removed

    def restore_latest(self, cfg: Config, mesh) -> state_lib.GANState | None:
        """The newest checkpoint, replicated over `mesh`.

        Args:
          cfg: the run's config.
          mesh: the mesh to place the state on.

        Returns:
          The `GANState`, or None when there is no checkpoint.

        Raises:
          UserError: the newest checkpoint cannot be read.
        """
        step = self.latest_step()
        return None if step is None else self.restore(step, cfg, mesh)
