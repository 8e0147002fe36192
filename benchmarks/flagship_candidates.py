"""Flagship candidates side by side on the same draws: what decides whether a new model replaces the shipped one.

    python benchmarks/flagship_candidates.py shipped=pretrained:pegasus w64_aug=/work/flagship/w64_aug:best \
        [--n 10000] [--seed 0] [--data-dir DIR] [--out benchmarks/flagship_candidates]

Each NAME=SOURCE is a shipped or exported bundle (`pretrained:NAME`, found on the pretrained search path) or a run
folder (`FOLDER` for its latest checkpoint, `FOLDER:best` for its best). Every candidate draws `--n` samples of its
EMA generator with the same seed, its classes in turn, and is measured as `jaxgan eval` measures it (FID-C against
all ten classes and against its own, class accuracy, intra-class FID-C, precision/recall, uniqueness) plus the
class accuracy of the judge (`jaxgan.evaluator.load_judge`): a second classifier, trained apart, that selects
nothing. Writes OUT.json (every figure) and OUT.md (the table).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from jaxgan import evaluation, evaluator as evaluator_lib, pretrained, run, sampling
from jaxgan.config import CIFAR10_CLASSES

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

ROWS = (("fid_c_classes", "FID-C, own classes", "{:.3f}"), ("fid_c", "FID-C, all ten", "{:.3f}"),
        ("class_accuracy", "class accuracy (evaluator)", "{:.1%}"),
        ("judge_class_accuracy", "class accuracy (judge)", "{:.1%}"),
        ("intra_fid_c_mean", "intra-class FID-C mean", "{:.3f}"), ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"), ("memorisation_rate_pixel", "memorised (pixel NN)", "{:.2%}"),
        ("step", "training step", "{}"))


def load(source: str):
    """(config, state) of `pretrained:NAME`, `FOLDER` or `FOLDER:best`."""
    if source.startswith("pretrained:"):
        return pretrained.load(source.split(":", 1)[1])
    folder, _, which = source.partition(":")
    return run.load(folder, which or "latest")


def named_sources(ap, items: list[str]) -> list[tuple[str, str]]:
    """NAME=SOURCE command-line items as (name, source) pairs; a malformed one ends the program via `ap.error`."""
    pairs = [item.split("=", 1) for item in items]
    if any(len(p) != 2 for p in pairs):
        ap.error("each model is NAME=SOURCE")
    return [tuple(p) for p in pairs]


def measure(source: str, n: int, seed: int, evaluator, judge, data_dir, classes=None) -> dict:
    """Every figure of ROWS (and more) for `n` samples of `source`'s EMA generator, seed `seed`.

    Args:
      source: `pretrained:NAME`, `FOLDER` or `FOLDER:best`.
      n: how many samples.
      seed: the sampling seed.
      evaluator: the evaluator (`jaxgan.evaluator.load()`): FID-C, class accuracy, intra-class FID-C.
      judge: the judge (`jaxgan.evaluator.load_judge()`): its class accuracy only.
      data_dir: where CIFAR-10 is (the reference statistics are cached after the first use).
      classes: CIFAR-10 ids, a subset of the model's classes: draw only these, in turn, and measure the model as
        if they were all its classes (FID-C "own classes" against theirs, accuracy over them). None: all of them.

    Returns:
      `jaxgan eval`'s figures plus "judge_class_accuracy" (and per class), "memorisation_rate_pixel", "step",
      "source", "classes" (the CIFAR-10 ids drawn) and "seconds".
    """
    cfg, state = load(source)
    classes = tuple(cfg.class_ids) if classes is None else tuple(classes)
    missing = [c for c in classes if c not in cfg.class_ids]
    if missing:
        raise ValueError(f"{source} has no class {missing} (its classes: {list(cfg.class_ids)})")
    t = time.perf_counter()
    drawn = np.array([list(cfg.class_ids).index(c) for c in classes], np.int32)
    images, labels = sampling.sample(cfg, state, n, seed=seed, labels=drawn[np.arange(n) % len(drawn)])
    asked = np.asarray(cfg.class_ids)[np.asarray(labels)]  # model classes -> CIFAR-10 ids
    out = evaluation.to_json(evaluation.evaluate_images(images, asked, evaluator=evaluator, data_dir=data_dir,
                                                        seed=seed, classes=classes))
    _, judge_logits = judge.features_and_logits(images)
    right = np.argmax(judge_logits, axis=1) == asked
    out["judge_class_accuracy"] = float(np.mean(right))
    out["judge_class_accuracy_per_class"] = {CIFAR10_CLASSES[c]: float(np.mean(right[asked == c])) for c in classes}
    out["classes"] = list(classes)
    out["memorisation_rate_pixel"] = out["uniqueness"]["memorisation_rate_pixel"]
    out["step"] = int(state.step)
    out["source"] = source
    out["seconds"] = round(time.perf_counter() - t, 1)
    return out


def table_head(columns) -> list[str]:
    """A markdown table's first two lines: an empty corner, then one column per label."""
    columns = list(columns)
    return ["| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]


def table_row(label: str, cells) -> str:
    """A markdown table's row: `label`, then the cells."""
    return f"| {label} | " + " | ".join(cells) + " |"


def table(results: dict) -> str:
    names = list(results)
    lines = table_head(names)
    for key, label, fmt in ROWS:
        lines.append(table_row(label, (fmt.format(results[k][key]) for k in names)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("candidates", nargs="+", help="NAME=SOURCE (pretrained:NAME, FOLDER or FOLDER:best)")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir")
    ap.add_argument("--out", default="benchmarks/flagship_candidates")
    args = ap.parse_args()
    pairs = named_sources(ap, args.candidates)
    evaluator, judge = evaluator_lib.load(), evaluator_lib.load_judge()
    results = {}
    for name, source in pairs:
        results[name] = measure(source, args.n, args.seed, evaluator, judge, args.data_dir)
        print(f"{name}: " + ", ".join(f"{label} {fmt.format(results[name][key])}" for key, label, fmt in ROWS),
              flush=True)
    out = pathlib.Path(args.out)
    out.with_suffix(".json").write_text(json.dumps({"n": args.n, "seed": args.seed, "results": results}, indent=1)
                                        + "\n")
    out.with_suffix(".md").write_text(f"{args.n} samples each, seed {args.seed}, the model's classes in turn.\n\n"
                                      + table(results))
    print(table(results))


if __name__ == "__main__":
    sys.exit(run_main(main, "flagship_candidates"))
