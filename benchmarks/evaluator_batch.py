"""Images per second of the evaluator (`Evaluator.features_and_logits`) at several batch sizes, and whether its
outputs change with the batch size: the figures behind `jaxgan.evaluator.train.PREDICT_BATCH`.

    python benchmarks/evaluator_batch.py [--n 5000] [--sizes 1000,500,250,100] [--rounds 2]

Sizes are timed in turn, `--rounds` times over (A B C A B C: the machine's drift hits every size alike), each after
one untimed call that compiles that shape; random uint8 images, so no data is needed. Pin it to the cores you mean
to measure (`taskset -c 0`).
"""
import argparse
import sys
import time

import numpy as np

from jaxgan import evaluator
from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def sizes_list(text: str) -> list[int]:
    """'1000,100' -> [1000, 100]; argparse turns the ValueError of anything else into one usage line, exit 2."""
    sizes = [int(s) for s in text.split(",")]
    if min(sizes) < 1:
        raise ValueError(text)
    return sizes


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=5000, help="images per timed call")
    p.add_argument("--sizes", default="1000,500,250,100", type=sizes_list, help="batch sizes, comma-separated")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    sizes = args.sizes
    ev = evaluator.load()
    images = np.random.default_rng(0).integers(0, 256, (args.n, 32, 32, 3), dtype=np.uint8)
    reference, rates = None, {s: [] for s in sizes}
    for _ in range(args.rounds):
        for size in sizes:
            ev.features_and_logits(images[:size], size)  # compiles this shape
            start = time.perf_counter()
            feats, logits = ev.features_and_logits(images, size)
            rates[size].append(args.n / (time.perf_counter() - start))
            reference = reference or (feats, logits, size)
            diff = max(float(np.abs(feats - reference[0]).max()), float(np.abs(logits - reference[1]).max()))
            print(f"batch {size}: {rates[size][-1]:.0f} images/s; largest difference from batch {reference[2]}: "
                  f"{diff:.3g}", flush=True)
    for size in sizes:
        print(f"batch {size}: median {np.median(rates[size]):.0f} images/s over {args.rounds} round(s)")


if __name__ == "__main__":
    sys.exit(run_main(main, "evaluator_batch"))
