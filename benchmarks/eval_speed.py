"""Wall-clock time of `jaxgan eval` on 10k samples of a run, sampling included (the issue's bar: under 90 s on 2 CPU cores).

    python benchmarks/eval_speed.py --workdir runs/demo [--n 10000] [--data-dir ../shared/tensorflow_datasets]

Runs the real command line in a fresh process (start-up, evaluator, reference from the cache, sampling, metrics),
once to warm the reference cache and XLA's caches, then `--repeat` timed times, and prints each figure.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workdir", required=True)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    cmd = [sys.executable, "-m", "jaxgan.cli", "eval", "--workdir", args.workdir, "--n", str(args.n)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "m.json"
        for i in range(args.repeat + 1):
            start = time.perf_counter()
            subprocess.run(cmd + ["--out", str(out)], check=True, capture_output=True)
            wall = time.perf_counter() - start
            t = json.loads(out.read_text())["timings"]
            label = "warm-up (fills the reference cache if empty)" if i == 0 else f"run {i}"
            print(f"{label}: {wall:.1f} s wall for n={args.n}; in-process: " +
                  ", ".join(f"{k} {v:.1f}" for k, v in t.items()), flush=True)


if __name__ == "__main__":
    main()
