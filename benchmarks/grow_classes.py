"""Teach a trained class-conditional run more classes: a new run folder holding the source run's state with its
class rows laid out for a larger class list, for `jaxgan train --init-from` to go on from.

    python benchmarks/grow_classes.py SOURCE_RUN NEW_RUN                      # to all ten CIFAR-10 classes
    python benchmarks/grow_classes.py SOURCE_RUN NEW_RUN --classes airplane,bird,cat,deer,dog,horse
    jaxgan train pegasus_lecam --workdir RUN --init-from NEW_RUN --steps N --set classes= --set num_classes=10

Why (issue 21): the flagship is judged on FID-C against all ten classes, which real images of its own four classes
score 9.54 on; a model of all ten is the one that yardstick fits. Training one from scratch costs the 10 CPU-hours
the shipped four-class model took; starting from the shipped model keeps everything it learnt about its classes.

In `cdcgan` (the flagship's model) three kinds of arrays depend on the class list: G's class embedding, D's
projection embedding, and the EMA's copy of G's; any array whose first axis is the class count is grown alike, and
one that differs otherwise is refused. Each source class keeps its row (matched by CIFAR-10 label id). A new class's
row is the mean of the source's rows plus the spread of a fresh initialisation rescaled to the source rows' own
spread: every new class starts as a typical blend of the known ones, and apart from the others so that they need not
break a tie first. Adam's first moment is 0 for new rows, its second the mean of the source's rows (a second moment
of 0 would make their first updates about 16 times the learning rate at beta1 0.5). Everything else — weights, batch
norm and spectral-norm statistics, the step, the training key, the LeCam anchors — is the source's unchanged, so the
new run goes on from the source's step with keys that were never used. The new folder also carries the source's
environment.json and metrics.jsonl, the slices and curve that made its state, so `flagship_curves.py` counts the
CPU-hours behind a run started from it.
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys

import jax
import numpy as np

from jaxgan import checkpoint, config as config_lib, parallel, run
from jaxgan import state as state_lib
from jaxgan.errors import UserError
from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

HISTORY = (run.ENVIRONMENT, run.METRICS)  # the source's, carried into the new folder


def grown_config(source: config_lib.Config, classes: tuple[str, ...]) -> config_lib.Config:
    """The source's config for a larger class list.

    Args:
      source: the trained run's config (class-conditional).
      classes: CIFAR-10 class names, empty for all ten; must hold every class of the source.

    Returns:
      The config with `classes` and `num_classes` replaced.

    Raises:
      UserError: an unconditional source, or a class list that drops one of the source's classes or adds none.
    """
    if not source.num_classes:
        raise UserError("the source run is unconditional: there are no class rows to grow")
    new = source.replace(classes=tuple(classes), num_classes=len(classes or config_lib.CIFAR10_CLASSES))
    missing = sorted(set(source.class_ids) - set(new.class_ids))
    if missing:
        names = ", ".join(config_lib.CIFAR10_CLASSES[i] for i in missing)
        raise UserError(f"--classes must keep every class the source run has; it drops {names}")
    if new.class_ids == source.class_ids:
        raise UserError("--classes adds no class to the source run's")
    return new


def grow_rows(old: np.ndarray, fresh: np.ndarray, rows: np.ndarray, kind: str) -> np.ndarray:
    """One class-indexed array laid out for the new class list.

    Args:
      old: the source's array, (C_old, ...).
      fresh: a fresh initialisation of the new array, (C_new, ...).
      rows: int (C_old,): the new row of each old class.
      kind: "value" (parameters, the EMA), "mu" or "nu" (Adam's moments).

    Returns:
      (C_new, ...) of `old`'s dtype: old rows where they go, new rows as the module docstring says.

    Example:
      >>> old = np.array([[1.0, 2.0], [3.0, 6.0]])
      >>> fresh = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 0.0], [-5.0, -5.0]])
      >>> grow_rows(old, fresh, np.array([0, 2]), "value").tolist()
      [[1.0, 2.0], [3.5, 5.5], [3.0, 6.0], [0.5, 2.5]]
      >>> grow_rows(old, fresh, np.array([0, 2]), "nu")[[1, 3]].tolist()
      [[2.0, 4.0], [2.0, 4.0]]
    """
    new_rows = np.setdiff1d(np.arange(fresh.shape[0]), rows)
    out = np.empty(fresh.shape, old.dtype)
    out[rows] = old
    mean = old.mean(0)
    if kind == "mu":
        out[new_rows] = 0
    elif kind == "nu":
        out[new_rows] = mean
    else:
        spread = fresh[new_rows] - fresh[new_rows].mean(0)
        scale = old.std(0).mean() / max(float(spread.std(0).mean()), 1e-12)
        out[new_rows] = mean + scale * spread
    return out


def grow_state(source_cfg, new_cfg, state: state_lib.GANState) -> state_lib.GANState:
    """The source's state with every class-indexed array grown (`grow_rows`).

    Args:
      source_cfg: the source run's config.
      new_cfg: `grown_config(source_cfg, ...)`.
      state: the source's state.

    Returns:
      A `GANState` of `new_cfg`'s structure, on the host.

    Raises:
      UserError: an array differs in anything but its class rows (a model this script does not know).
    """
    fresh = state_lib.create(new_cfg)
    rows = np.searchsorted(np.array(new_cfg.class_ids), np.array(source_cfg.class_ids))

    def grow(path, old, new):
        old, new = np.asarray(old), np.asarray(new)
        if old.shape == new.shape:
            return old
        name = jax.tree_util.keystr(path)
        if old.shape[1:] != new.shape[1:] or old.shape[0] != source_cfg.num_classes:
            raise UserError(f"cannot grow {name}: {list(old.shape)} -> {list(new.shape)} is not a change of class rows")
        kind = "mu" if ".mu[" in name else "nu" if ".nu[" in name else "value"
        return grow_rows(old, new, rows, kind)

    return jax.tree_util.tree_map_with_path(grow, state, fresh)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="grow_classes", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a trained class-conditional run folder")
    parser.add_argument("out", help="the new run folder (must not exist)")
    parser.add_argument("--classes", default="", help="comma-separated CIFAR-10 class names (default: all ten)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    if out.exists():
        raise UserError(f"{out} exists; name a new folder")
    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    source = pathlib.Path(args.source)
    source_cfg, state = run.load(source)
    new_cfg = grown_config(source_cfg, classes)
    grown = grow_state(source_cfg, new_cfg, jax.device_get(state))
    run.prepare(new_cfg, out)
    for name in HISTORY:  # what made the state: its slices and curve, for the CPU-hours of what trains on from it
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    ckpt = checkpoint.Checkpointer(out / run.CHECKPOINTS, new_cfg.keep_checkpoints)
    ckpt.save(int(grown.step), parallel.replicate(grown, parallel.make_mesh()), new_cfg)
    ckpt.wait()
    ckpt.close()
    added = [config_lib.CIFAR10_CLASSES[i] for i in new_cfg.class_ids if i not in source_cfg.class_ids]
    print(f"{out}: {source} at step {int(grown.step)} with {', '.join(added)} added "
          f"({new_cfg.num_classes} classes); train on with --init-from {out} "
          f"--set classes={','.join(new_cfg.classes)} --set num_classes={new_cfg.num_classes}")


if __name__ == "__main__":
    sys.exit(run_main(main, "grow_classes"))
