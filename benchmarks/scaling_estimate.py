"""On paper: step time and scaling efficiency of data-parallel training on 1 to 256 accelerator chips.

    python benchmarks/scaling_estimate.py [dcgan cgan pegasus_xl] [--per-chip-batch 256] [--global-batch 2048]
                                         [--out benchmarks/scaling_estimate.md]

Two tables per system: weak scaling (a fixed batch per chip, the global batch grows with the chips) and strong
scaling (a fixed global batch split over more chips). For each experiment it takes, from this machine:
- the FLOPs of one train step at the per-chip batch, from XLA's cost analysis of the compiled step (CPU compile,
  nothing is run; the CPU counts convolutions, which the GPU backend leaves to cuDNN uncounted);
- the bytes all-reduced per step: float32 gradients of D for each of its n_dis updates and of G once (batch norm
  statistics and the metrics are a few kB more), from the parameter counts;
and from published figures, per chip (no accelerator cluster was available to measure):
- NVIDIA H100 SXM: 989 TFLOP/s dense bfloat16; NVLink 4 at 450 GB/s per direction inside a node of 8;
  between nodes one 400 Gb/s (50 GB/s) InfiniBand NDR port per GPU;
- Google TPU v5e: 197 TFLOP/s bfloat16; inter-chip interconnect 1,600 Gbit/s (200 GB/s) per chip; up to 256
  chips in a 16x16 slice.
Assumptions, stated so they can be replaced by measurements: 12.7% of peak FLOP/s reached by these small
convolutions (calibrated on the one measured point: `dcgan` at batch 1024 in bfloat16 took 3.0 ms on one H100 for
the 377 GFLOP XLA:CPU counts in that step, benchmarks/RESULTS.md; the same share is assumed on TPUs); a step never
faster than the 2.2 ms measured on one H100 for `dcgan` (kernel launches:
benchmarks/RESULTS.md) on GPUs, and 1 ms on TPUs (assumed); all-reduce as a bandwidth term 2(n-1)/n x bytes /
bandwidth (ring; hierarchical on GPUs: NVLink reduce-scatter, then each GPU's eighth over its own NIC) plus a
latency term 2 log2(n) x 10 us (tree); no overlap of communication with computation (pessimistic).
"""
from __future__ import annotations

import argparse
import math
import pathlib
import sys

import jax
import numpy as np

import jaxgan
from jaxgan import parallel, state as state_lib, step as step_lib

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

UTILISATION = 377e9 / 3.0e-3 / 989e12  # 0.127: the measured dcgan step at batch 1024, bfloat16, one H100
HOP_LATENCY_S = 10e-6
SYSTEMS = {
    # name: (peak bf16 FLOP/s, step floor s, chips per node, intra-node B/s per direction, inter-node B/s)
    "H100 (NVLink x8, IB NDR)": (989e12, 2.2e-3, 8, 450e9, 50e9),
    "TPU v5e (ICI)": (197e12, 1.0e-3, 256, 200e9, 200e9),
}
CHIPS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def step_facts(name: str, per_chip_batch: int) -> dict:
    """XLA's FLOPs for one step at `per_chip_batch` on one device, and the bytes all-reduced per step."""
    cfg = jaxgan.load_experiment(name).replace(batch_size=per_chip_batch)
    mesh = parallel.make_mesh(jax.devices()[:1])
    st = state_lib.create(cfg)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (cfg.batch_size * cfg.n_dis, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, max(cfg.num_classes, 1), len(images)).astype(np.int32)
    batches = jaxgan.data.Batches(images, labels, cfg.batch_size, cfg.n_dis, jax.random.key(0), mesh)
    compiled = step_lib.make_train_step(cfg, mesh).lower(parallel.replicate(st, mesh), batches.get(0)).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    count = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))
    g, d = count(st.g.params), count(st.d.params)
    return {"experiment": name, "flops": float(cost["flops"]), "g_params": g, "d_params": d, "n_dis": cfg.n_dis,
            "allreduce_bytes": 4 * (cfg.n_dis * d + g)}


def allreduce_s(nbytes: float, n: int, per_node: int, intra_bw: float, inter_bw: float) -> float:
    if n == 1:
        return 0.0
    latency = 2 * math.log2(n) * HOP_LATENCY_S
    if n <= per_node:
        return 2 * (n - 1) / n * nbytes / intra_bw + latency
    nodes = n // per_node
    # Reduce-scatter and all-gather inside the node; each GPU all-reduces its 1/per_node share across nodes.
    intra = 2 * (per_node - 1) / per_node * nbytes / intra_bw
    inter = 2 * (nodes - 1) / nodes * (nbytes / per_node) / inter_bw
    return intra + inter + latency


def table(facts: list[dict], per_chip_batch: int, global_batch: int) -> str:
    """Markdown: per system, weak scaling (step ms and efficiency t(1)/t(n)) and strong scaling (step ms and
    speed-up over one chip at the same global batch)."""
    lines = []
    for system, (peak, floor, per_node, intra, inter) in SYSTEMS.items():
        def step_s(f, batch_per_chip, n):
            # FLOPs scale with the batch (the step's cost analysis at per_chip_batch, per image).
            compute = max(f["flops"] / per_chip_batch * batch_per_chip / (peak * UTILISATION), floor)
            return compute + allreduce_s(f["allreduce_bytes"], n, per_node, intra, inter)

        head = "| experiment | GFLOP/step/chip | MB all-reduced/step | " + " | ".join(map(str, CHIPS)) + " |"
        lines += [f"### {system}", "", f"Weak scaling, {per_chip_batch} images per chip: step ms (efficiency "
                  f"t(1)/t(n)) on n chips", "", head, "|" + " --- |" * (3 + len(CHIPS))]
        for f in facts:
            t1 = step_s(f, per_chip_batch, 1)
            cells = [f"{1e3 * step_s(f, per_chip_batch, n):.2f} ({t1 / step_s(f, per_chip_batch, n):.0%})"
                     for n in CHIPS]
            lines.append(f"| `{f['experiment']}` | {f['flops'] / 1e9:.1f} | {f['allreduce_bytes'] / 1e6:.1f} | "
                         + " | ".join(cells) + " |")
        lines += ["", f"Strong scaling, a global batch of {global_batch}: step ms (speed-up over 1 chip) on n chips",
                  "", "| experiment | " + " | ".join(map(str, CHIPS)) + " |", "|" + " --- |" * (1 + len(CHIPS))]
        for f in facts:
            t1 = step_s(f, global_batch, 1)
            cells = [f"{1e3 * step_s(f, global_batch / n, n):.2f} ({t1 / step_s(f, global_batch / n, n):.1f}x)"
                     for n in CHIPS]
            lines.append(f"| `{f['experiment']}` | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", default=["dcgan", "cgan", "pegasus_xl"])
    p.add_argument("--per-chip-batch", type=int, default=256)
    p.add_argument("--global-batch", type=int, default=2048, help="for the strong-scaling table (BigGAN's batch)")
    p.add_argument("--out", default=None, help="also write the table (markdown) here")
    args = p.parse_args()
    facts = []
    for name in args.experiments:
        f = step_facts(name, args.per_chip_batch)
        print(f"{name}: {f['flops'] / 1e9:.1f} GFLOP/step, G {f['g_params'] / 1e6:.2f}M + D "
              f"{f['d_params'] / 1e6:.2f}M params (n_dis {f['n_dis']}): {f['allreduce_bytes'] / 1e6:.1f} MB "
              f"all-reduced per step", flush=True)
        facts.append(f)
    text = table(facts, args.per_chip_batch, args.global_batch)
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(run_main(main, "scaling_estimate"))
