"""Start-up time: from the `jaxgan train` command to the end of its first step, cold and with a warm compile cache.

    python benchmarks/startup.py [dcgan] [--data-dir ../shared/tensorflow_datasets]

Runs `jaxgan train EXPERIMENT --steps 1` as a new process three times, each in a new run folder: first with an
empty compilation cache (everything compiled), then twice with the cache the first run filled. The figure is the
whole command's wall time (Python start, imports, data load, compile, the step, the checkpoint and the sample grid,
exit), so it bounds the time to the first step from above.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time


def timed_run(experiment: str, workdir: pathlib.Path, cache: pathlib.Path, data_dir) -> float:
    cmd = [sys.executable, "-m", "jaxgan.cli", "train", experiment, "--workdir", str(workdir), "--steps", "1",
           "--quiet"] + (["--data-dir", data_dir] if data_dir else [])
    env = dict(os.environ, JAXGAN_COMPILATION_CACHE=str(cache))
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


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
    print(f"{args.experiment}: command to first step done (upper bound): cold cache {cold:.1f} s, warm cache "
          f"{min(warm):.1f} s (runs: {', '.join(f'{w:.1f}' for w in warm)}); cache {cached / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
