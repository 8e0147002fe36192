"""Wall-clock time of `jaxgan pegasus` on a trained conditional run (the issue's bar: under 5 minutes on 2 CPU cores).

    python benchmarks/pegasus_speed.py --workdir runs/pegasus [--budget 4096] [--data-dir ../shared/tensorflow_datasets]

Runs the real command line in a fresh process (start-up, checkpoint, evaluator, reference from the cache, the
search, scoring, every picture and pegasus.json) `--repeat` times into a temporary folder and prints each wall time
and the command's own summary line.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workdir", required=True)
    p.add_argument("--budget", type=int, default=4096)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "jaxgan.cli", "pegasus", "--workdir", args.workdir, "--out",
               str(pathlib.Path(tmp) / "pegasus"), "--budget", str(args.budget)]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        for i in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if done.returncode:
                sys.exit(f"jaxgan pegasus failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
            lines = done.stderr.strip().splitlines()
            print(f"run {i + 1}: {wall:.1f} s wall, budget {args.budget}")
            for line in lines[-3:]:
                print("   ", line)


if __name__ == "__main__":
    main()
