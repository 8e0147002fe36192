"""`jaxgan report` build time and size for a run folder (the target: a 300-step run, under 20 s and 5 MB).

    make demo                                          # a 300-step dcgan run in runs/demo
    python benchmarks/report_speed.py --workdir runs/demo [--repeats 3]

Builds the report `--repeats` times into a temporary file (the run folder is only read) and prints the best time,
the size, and what it holds.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys
import tempfile
import time

from jaxgan import report

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", default="runs/demo")
    p.add_argument("--baseline", default=None)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "report.html"
        for _ in range(args.repeats):  # a wrong --workdir raises UserError: run_main makes it one line
            t0 = time.perf_counter()
            report.write(args.workdir, out, args.baseline)
            times.append(time.perf_counter() - t0)
        text = out.read_text()
        size = out.stat().st_size
    rows = [report.read_metrics(pathlib.Path(args.workdir) / "metrics.jsonl")]
    steps = max((r.get("step", 0) for r in rows[0]), default=0)
    print(f"{args.workdir} ({steps} steps): report {size / 1e6:.2f} MB, {len(re.findall('<img ', text))} images, "
          f"built in {min(times):.2f} s (best of {args.repeats}; first {times[0]:.2f} s, imports included)")


if __name__ == "__main__":
    sys.exit(run_main(main, "report_speed"))
