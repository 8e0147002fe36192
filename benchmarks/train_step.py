"""Train-step throughput: images/s after compile, XLA's FLOP count per step and the achieved GFLOP/s.

    python benchmarks/train_step.py dcgan --batch 64 [--steps 30] [--repeats 3] [--set key=value ...]

Uses random uint8 images (throughput does not depend on pixel values) so it needs no dataset. Prints one line per
experiment: the best of `--repeats` timed runs of `--steps` steps each, after a compile and warm-up.
"""
from __future__ import annotations

import argparse
import sys
import time

import jax
import numpy as np

import jaxgan
from jaxgan import parallel, state as state_lib, step as step_lib

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def setup(name: str, batch: int | None, overrides: list[str]):
    """(cfg, mesh, state, batches of random images, jitted step) for one experiment; profile_step.py uses it too."""
    cfg = jaxgan.load_experiment(name, overrides)
    if batch:
        cfg = cfg.replace(batch_size=batch)
    mesh = parallel.make_mesh()
    st = parallel.replicate(state_lib.create(cfg), mesh)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (max(4096, cfg.batch_size * cfg.n_dis), 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, max(cfg.num_classes, 1), len(images)).astype(np.int32)
    batches = jaxgan.data.Batches(images, labels, cfg.batch_size, cfg.n_dis, jax.random.key(0), mesh)
    return cfg, mesh, st, batches, step_lib.make_train_step(cfg, mesh)


def measure(name: str, batch: int | None, steps: int, repeats: int, overrides: list[str]) -> dict:
    cfg, mesh, st, batches, train_step = setup(name, batch, overrides)
    t0 = time.perf_counter()
    compiled = train_step.lower(st, batches.get(0)).compile()
    compile_s = time.perf_counter() - t0
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    flops = float(cost.get("flops", 0.0)) if cost else 0.0
    for i in range(3):  # warm-up
        st, metrics = train_step(st, batches.get(i))
    jax.block_until_ready(metrics)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            st, metrics = train_step(st, batches.get(i))
        jax.block_until_ready(metrics)
        best = min(best, time.perf_counter() - t0)
    step_s = best / steps
    return {"experiment": name if cfg.compute_dtype == "float32" else f"{name} ({cfg.compute_dtype})",
            "batch": cfg.batch_size, "n_dis": cfg.n_dis, "devices": mesh.size,
            "device_kind": jax.devices()[0].device_kind, "images_per_s": cfg.batch_size / step_s,
            "step_ms": 1e3 * step_s, "gflop_per_step": flops / 1e9, "gflop_per_s": flops / 1e9 / step_s,
            "compile_s": compile_s}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", default=["dcgan"])
    p.add_argument("--batch", type=int, default=None, help="global batch (default: the experiment's)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    for name in args.experiments:
        r = measure(name, args.batch, args.steps, args.repeats, args.set)
        print(f"{r['experiment']:<20} batch {r['batch']:>4}  n_dis {r['n_dis']}  {r['devices']}x {r['device_kind']:<6} "
              f"{r['images_per_s']:8.1f} images/s  {r['step_ms']:7.1f} ms/step  {r['gflop_per_step']:6.2f} GFLOP/step  "
              f"{r['gflop_per_s']:6.1f} GFLOP/s  (compile {r['compile_s']:.1f} s)", flush=True)


if __name__ == "__main__":
    sys.exit(run_main(main, "train_step"))
