"""Models' batches of 64 under one mixture, side by side: the same Pegasus recipe asked of each, read by the judge.

    python benchmarks/pegasus_batches.py shipped=pretrained:pegasus new=/work/flagship/w64_aug \
        --mix horse=0.9,bird=0.05,airplane=0.05 [--truncation 1.5] [--seed 0] [--out benchmarks/pegasus_batches]

`jaxgan pegasus` compares models only through each one's own pick, a single image found by the evaluator among
thousands, whose mixture differs from model to model. Here every model (NAME=SOURCE as in
`flagship_candidates.py`: `pretrained:NAME`, `FOLDER`, `FOLDER:best`) draws images 0-63 of the same seed under the
same mixture and truncation (`jaxgan sample --mix`), nothing selected, and the judge, which never selects, reads
them: its share of horses, its mean p(horse) and p(bird) + p(airplane), how many are horses with p(bird) +
p(airplane) >= 0.2. Writes OUT.png (the batches, 8x8 each, side by side at 3x in the order given) and OUT.json.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

from flagship_candidates import load, named_sources
from jaxgan import evaluator as evaluator_lib, pegasus, sampling

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

N = 64
WINGS_AT_LEAST = 0.2


def winged_horses(verdicts: dict) -> int:
    """How many images the judge (`pegasus.judge_verdicts`) reads as horses with p(bird) + p(airplane) >=
    WINGS_AT_LEAST: a horse with wing evidence."""
    return sum(i["top_class"] == pegasus.HORSE and i["p_wings"] >= WINGS_AT_LEAST for i in verdicts["images"])


def batch(source: str, mix: str, truncation, seed: int):
    """(images uint8 (64, 32, 32, 3), training step) of `source` under `mix`."""
    cfg, state = load(source)
    m = sampling.parse_mix(mix, cfg)
    labels = np.broadcast_to(m, (N,) + m.shape)
    images, _ = sampling.sample(cfg, state, N, seed=seed, labels=labels, truncation=truncation)
    return images, int(state.step)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=SOURCE (pretrained:NAME, FOLDER or FOLDER:best)")
    ap.add_argument("--mix", required=True, help="a `jaxgan sample --mix` mixture")
    ap.add_argument("--truncation", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/pegasus_batches")
    args = ap.parse_args()
    pairs = named_sources(ap, args.models)
    judge = evaluator_lib.load_judge()
    result, grids, captions = {"mix": args.mix, "truncation": args.truncation, "seed": args.seed, "models": {}}, [], []
    for name, source in pairs:
        images, step = batch(source, args.mix, args.truncation, args.seed)
        v = pegasus.judge_verdicts(judge, images)
        winged = winged_horses(v)
        result["models"][name] = {"source": source, "step": step, "horse_share": v["horse_share"],
                                  "mean_p_horse": v["mean_p_horse"], "mean_p_wings": v["mean_p_wings"],
                                  "horse_with_wings": winged, "top_classes": v["top_classes"]}
        grids.append(sampling.grid(images, ncol=8))
        captions.append(f"{name} (step {step}): judge {v['horse_share']:.0%} horse, mean p_wings "
                        f"{v['mean_p_wings']:.2f}, {winged}/64 horse with p_wings >= {WINGS_AT_LEAST}")
        print(captions[-1], flush=True)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    gap = np.full((grids[0].shape[0], 12, 3), 255, np.uint8)
    side = np.concatenate([part for g in grids for part in (g, gap)][:-1], axis=1)
    sampling.picture(side[None], scale=3).save(out.with_suffix(".png"))  # left to right in the order given
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(run_main(main, "pegasus_batches"))
