"""Where a train step's time goes: the XLA ops of one compiled step, ranked by time, with the model code they
come from.

    python benchmarks/profile_step.py dcgan [--batch 64] [--steps 10] [--top 25] [--trace-dir /tmp/jaxgan-trace]

Traces `--steps` steps with `jax.profiler` (the Perfetto trace stays in `--trace-dir` for a closer look), sums each
XLA op's time per step, and names it by the `op_name` XLA keeps from the JAX program (e.g.
`transpose(jvp(Discriminator))/Conv_1/conv_general_dilated` is the weight or input gradient of D's second conv).
Random uint8 images, as in train_step.py: no dataset needed.
"""
from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import shutil
import sys
import time

import jax

import train_step as train_step_benchmark  # benchmarks/ is on the path when this script runs
from user_errors import run_main


def op_names(hlo_text: str) -> dict[str, str]:
    """HLO instruction name -> the JAX op_name in its metadata, from the compiled module's text."""
    names = {}
    for m in re.finditer(r"%([\w.\-]+) = [^\n]*?metadata=\{op_name=\"([^\"]+)\"", hlo_text):
        names.setdefault(m.group(1), m.group(2).removeprefix("jit(train_step)/"))
    return names


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiment", nargs="?", default="dcgan")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--trace-dir", default="/tmp/jaxgan-trace")
    args = p.parse_args()

    cfg, _, st, batches, train_step = train_step_benchmark.setup(args.experiment, args.batch, [])
    names = op_names(train_step.lower(st, batches.get(0)).compile().as_text())
    for i in range(3):  # compile and warm up
        st, metrics = train_step(st, batches.get(i))
    jax.block_until_ready(metrics)

    t0 = time.perf_counter()
    for i in range(args.steps):
        st, metrics = train_step(st, batches.get(i))
    jax.block_until_ready(metrics)
    step_ms = (time.perf_counter() - t0) / args.steps * 1e3

    shutil.rmtree(args.trace_dir, ignore_errors=True)
    jax.profiler.start_trace(args.trace_dir, create_perfetto_trace=True)
    for i in range(args.steps):
        st, metrics = train_step(st, batches.get(i))
    jax.block_until_ready(metrics)
    jax.profiler.stop_trace()
    with gzip.open(glob.glob(f"{args.trace_dir}/**/*.trace.json.gz", recursive=True)[0]) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    total = collections.Counter()
    for e in events:  # complete events named after an HLO instruction of the step are its ops
        if e.get("ph") == "X" and e["name"] in names:
            total[e["name"]] += e["dur"] / 1e3 / args.steps

    ops_ms = sum(total.values())
    # XLA:CPU runs dots on its Eigen pool: the trace shows only their launch, so their time is in the remainder.
    print(f"{args.experiment}: batch {cfg.batch_size}, {step_ms:.1f} ms/step untraced; traced XLA ops {ops_ms:.1f} "
          f"ms/step in {len(total)} ops (the rest: dots running on the Eigen pool, dispatch, waiting)")
    for name, ms in total.most_common(args.top):
        print(f"{ms:7.2f} ms {100 * ms / ops_ms:5.1f}%  {name:<32} {names[name]}")
    by_origin = collections.Counter()
    for name, ms in total.items():
        origin = names[name]
        kind = "gradient" if origin.startswith("transpose(") else "forward"
        layer = re.search(r"(Generator|Discriminator|SNDiscriminator|TutorialGenerator|TutorialDiscriminator)"
                          r"\)*/(\w+)", origin)
        by_origin[(layer.group(1) + "/" + layer.group(2)) if layer else "other", kind] += ms
    print("\nby layer (forward / gradient):")
    for (layer, kind), ms in sorted(by_origin.items(), key=lambda kv: -kv[1]):
        print(f"{ms:7.2f} ms {100 * ms / ops_ms:5.1f}%  {layer:<32} {kind}")


if __name__ == "__main__":
    sys.exit(run_main(main, "profile_step"))
