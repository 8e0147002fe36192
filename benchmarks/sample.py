"""Sampling throughput: generated images/s of an experiment's EMA generator, cold (compile included) and warm.

    python benchmarks/sample.py dcgan [--n 10000] [--batch 500] [--workdir runs/dcgan]

Without --workdir the generator has freshly initialised weights (the speed does not depend on them). Images come
back to the host as uint8, as `jaxgan sample` and the evaluator use them. Prints one line per experiment.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import jax

import jaxgan
from jaxgan import cli, sampling, state as state_lib

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def measure(name: str, n: int, batch: int, workdir: str | None, repeats: int) -> dict:
    if workdir:
        cfg, st = cli.load_run(pathlib.Path(workdir))
    else:
        cfg = jaxgan.load_experiment(name)
        st = state_lib.create(cfg)
    t0 = time.perf_counter()
    sampling.sample(cfg, st, n, seed=0, batch_size=batch)  # the first call compiles the generator
    cold = time.perf_counter() - t0
    warm = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        sampling.sample(cfg, st, n, seed=r + 1, batch_size=batch)
        warm = min(warm, time.perf_counter() - t0)
    return {"experiment": cfg.model if workdir else name, "n": n, "batch": batch,
            "device_kind": jax.devices()[0].device_kind, "cold_s": cold, "warm_s": warm, "images_per_s": n / warm}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", default=["dcgan"])
    p.add_argument("--n", type=int, default=10000, help="images per timed run")
    p.add_argument("--batch", type=int, default=500, help="generator batch")
    p.add_argument("--repeats", type=int, default=3, help="warm runs; the best is reported")
    p.add_argument("--workdir", default=None, help="sample a trained run instead of fresh weights")
    args = p.parse_args()
    for name in args.experiments:
        r = measure(name, args.n, args.batch, args.workdir, args.repeats)
        print(f"{r['experiment']:<16} {r['n']} images, batch {r['batch']:>4}  {r['device_kind']:<6} "
              f"{r['images_per_s']:9.1f} images/s  warm {r['warm_s']:6.2f} s  cold (compile included) "
              f"{r['cold_s']:6.2f} s", flush=True)


if __name__ == "__main__":
    sys.exit(run_main(main, "sample"))
