"""Start-up time: from the `jaxgan train` command to the end of its first step, cold and with a warm compile cache.

    python benchmarks/startup.py [dcgan] [--data-dir ../shared/tensorflow_datasets]

Runs `jaxgan train EXPERIMENT --steps 1` as a new process three times, each in a new run folder: first with an
empty compilation cache (everything compiled), then twice with the cache the first run filled. Time to first step:
from launching the command to the moment its first step finished (the run stamps it in environment.json), i.e.
Python's start, imports, data load, state init, compile or cache load, and the step. The whole command's time
(with the checkpoint, the sample grid and exit) is printed beside it. The decoded-data cache is the user's own
($JAXGAN_CACHE): run once before, it is warm in all three runs.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time


def timed_run(experiment: str, workdir: pathlib.Path, cache: pathlib.Path, data_dir) -> tuple[float, float]:
    """(seconds to the first step, seconds of the whole command)."""
    cmd = [sys.executable, "-m", "jaxgan.cli", "train", experiment, "--workdir", str(workdir), "--steps", "1",
           "--quiet"] + (["--data-dir", data_dir] if data_dir else [])
    env = dict(os.environ, JAXGAN_COMPILATION_CACHE=str(cache))
    launched, t0 = time.time(), time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    whole = time.perf_counter() - t0
    first = json.loads((workdir / "environment.json").read_text())[-1]["first_step_done_unix"] - launched
    return first, whole


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiment", nargs="?", default="dcgan")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        cold = timed_run(args.experiment, tmp / "run0", tmp / "cache", args.data_dir)
        warm = [timed_run(args.experiment, tmp / f"run{i}", tmp / "cache", args.data_dir) for i in (1, 2)]
        cached = sum(f.stat().st_size for f in (tmp / "cache").rglob("*") if f.is_file())
    print(f"{args.experiment}: command to first step: cold compile cache {cold[0]:.1f} s, warm "
          f"{min(w[0] for w in warm):.1f} s (runs: {', '.join(f'{w[0]:.1f}' for w in warm)}); whole command "
          f"{cold[1]:.1f} s cold, {min(w[1] for w in warm):.1f} s warm; compile cache {cached / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
