"""Keep a flagship arm's run folder in the repository, small enough to commit, so a replaced machine loses nothing.

    python benchmarks/flagship_archive.py save RUN_FOLDER benchmarks/flagship_state/NAME      # the end of a slice
    python benchmarks/flagship_archive.py restore benchmarks/flagship_state/NAME RUN_FOLDER   # the next slice, first

The flagship trains in slices across sessions, and its run folders live outside the repository (issue 21). On
2026-12-03 the machine was replaced between two sessions and every run folder went with it: ten arms' states and
their candidate bundles. `save` copies what resuming needs — config.json, environment.json (the slices so far),
metrics.jsonl (the curve) and the latest complete checkpoint (G, D, the EMA, both optimizers, the LeCam anchors:
resuming from it is bit-identical to an unbroken run) — about 24 MB for the w64 `pegasus` arms; not the best/
checkpoint, the sample grids or the event files, which later slices make again. `restore` copies an archive into a
new run folder, which `jaxgan train` with the arm's command then resumes; `jaxgan export` makes its candidate bundle.
Resume it on as many cores as it trained on (`taskset -c 0`: one): XLA:CPU splits its kernels over the cores it
may use, so another count rounds differently and the run leaves the unbroken one's path (measured: a restored
825-step archive matched the original run's losses at step 900 exactly when pinned to one core as it was, and not
when given both).
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys

KEPT_FILES = ("config.json", "code.json", "environment.json", "metrics.jsonl", "rollbacks.json")
CHECKPOINTS = "checkpoints"
COMPLETE = "commit_success.txt"  # orbax writes it last: a checkpoint without it was cut short


def fail(message: str):
    """One line and exit code 2, as jaxgan's commands do for what a user can get wrong."""
    print(f"flagship_archive: {message}", file=sys.stderr)
    sys.exit(2)


def latest_checkpoint(run: pathlib.Path) -> pathlib.Path:
    """The run's latest complete checkpoint folder (checkpoints/STEP).

    Args:
      run: a run folder.

    Returns:
      The folder of the highest step that orbax finished writing.

    Raises:
      SystemExit: there is none (exit code 2).
    """
    steps = [p for p in (run / CHECKPOINTS).glob("*") if p.name.isdigit() and (p / COMPLETE).is_file()]
    if not steps:
        fail(f"{run}: no complete checkpoint in {run / CHECKPOINTS}")
    return max(steps, key=lambda p: int(p.name))


def save(run: pathlib.Path, archive: pathlib.Path) -> None:
    """Replaces `archive` with the resumable core of run folder `run` (the module docstring says what)."""
    if not (run / "config.json").is_file():
        fail(f"{run} is not a jaxgan run folder (no config.json)")
    checkpoint = latest_checkpoint(run)
    partial = archive.with_name(archive.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in KEPT_FILES:
        if (run / name).is_file():
            shutil.copy2(run / name, partial / name)
    shutil.copytree(checkpoint, partial / CHECKPOINTS / checkpoint.name)
    shutil.rmtree(archive, ignore_errors=True)  # only now: a failed copy leaves the previous archive whole
    partial.rename(archive)
    size = sum(p.stat().st_size for p in archive.rglob("*") if p.is_file())
    print(f"{archive}: step {checkpoint.name} of {run}, {size / 2**20:.1f} MiB")


def restore(archive: pathlib.Path, run: pathlib.Path) -> None:
    """Copies `archive` into a new run folder `run` (an existing one is never overwritten)."""
    latest_checkpoint(archive)
    if run.exists():
        fail(f"{run} exists: restore into a new folder (the archive may be older than what is there)")
    shutil.copytree(archive, run)
    print(f"{run}: restored from {archive} at step {latest_checkpoint(run).name}; resume it with the arm's "
          f"`jaxgan train` command")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("save", "restore"))
    p.add_argument("source", type=pathlib.Path)
    p.add_argument("dest", type=pathlib.Path)
    args = p.parse_args()
    (save if args.action == "save" else restore)(args.source, args.dest)


if __name__ == "__main__":
    main()
