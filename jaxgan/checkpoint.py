"""Checkpoints of a `GANState` with orbax-checkpoint: plain arrays on disk, never pickled modules.

    ckpt = Checkpointer(workdir / "checkpoints", keep=3)
    ckpt.save(step, state); ckpt.wait()
    state = ckpt.restore_latest(cfg, mesh)      # None when there is none

Saving is asynchronous (training goes on while files are written). A checkpoint that cannot be read raises
`UserError` naming it; nothing on disk is changed or deleted by a failed restore.
"""
from __future__ import annotations

import pathlib

import jax
import orbax.checkpoint as ocp
from jax.sharding import NamedSharding

from jaxgan import parallel, state as state_lib
from jaxgan.config import Config
from jaxgan.errors import UserError


class Checkpointer:
    def __init__(self, directory: str | pathlib.Path, keep: int = 3):
        self.directory = pathlib.Path(directory).resolve()
        if self.directory.exists() and not self.directory.is_dir():
            raise UserError(f"checkpoint path {self.directory} exists and is not a folder")
        self._manager = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self._manager.all_steps())

    def save(self, step: int, state: state_lib.GANState):
        self._manager.save(step, args=ocp.args.StandardSave(state), force=True)

    def wait(self):
        self._manager.wait_until_finished()

    def close(self):
        self._manager.close()

    def restore(self, step: int, cfg: Config, mesh) -> state_lib.GANState:
        sharding = NamedSharding(mesh, parallel.REPLICATED)
        target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                              state_lib.abstract(cfg))
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(target))
        except Exception as e:  # orbax/tensorstore raise many types for truncated, missing or foreign files
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise UserError(f"checkpoint {self.directory / str(step)} cannot be read ({type(e).__name__}: {first}); "
                            f"it was left as it is: move it aside to resume from an earlier checkpoint") from None

    def restore_latest(self, cfg: Config, mesh) -> state_lib.GANState | None:
        step = self.latest_step()
        return None if step is None else self.restore(step, cfg, mesh)
