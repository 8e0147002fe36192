"""Wings from class maps: the same latents as a plain horse and with a wing class above the back, read by the judge.

    python benchmarks/wing_maps.py smix=/work/flagship/w64_lecam_smix cont=/work/flagship/w64_lecam_cont \
        [--truncation 1.5] [--seed 0] [--wing-weights 1,0.5] [--out benchmarks/wing_maps]

A model trained with `spatial_mix` has learnt what a class map means; one trained without it never saw one. Each
model (NAME=SOURCE as in `flagship_candidates.py`) draws images 0-63 of one seed under `horse=1`, under the shipped
Pegasus's mixture, and under every map of the Pegasus search (`pegasus.WING_REGIONS`: horse everywhere, bird or
airplane above the back). Nothing is selected. The judge, which never selects, reads each batch: its share of
horses, mean p(bird) + p(airplane), and how many are horses with p(bird) + p(airplane) >= 0.2 (a horse with wing
evidence). A mixture naming a class the model was not trained on (bird, for a horse + airplane model) is left out
for that model: a blank row in the sheet, "no such class" in the table. Writes OUT.png (per model, one row per
mixture of the first 12 latents, 4x: a column shows what each mixture does to one latent), OUT.json and OUT.md.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

import numpy as np

from flagship_candidates import load, named_sources
from pegasus_batches import winged_horses
from jaxgan import evaluator as evaluator_lib, pegasus, sampling
from jaxgan.config import CIFAR10_CLASSES

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

N, SHOWN = 64, 12
SHIPPED_MIX = "horse=0.9,bird=0.05,airplane=0.05"


def mixes(wing_weights=(1.0,)) -> list[str]:
    """The mixtures compared: a plain horse, the shipped Pegasus's mixture, the search's wing maps (with each of
    `wing_weights` for the wing class in the region, the rest horse: a model trained with the object paste saw
    cells that a wing covers in part)."""
    region = lambda w, wing: f"{wing}=1" if w == 1 else f"horse={1 - w:g},{wing}={w:g}"
    return ["horse=1", SHIPPED_MIX] + [f"horse=1; {region(x, w)}@{r}" for x in wing_weights for w in pegasus.WINGS
                                       for r in pegasus.WING_REGIONS]


def mix_classes(mix: str) -> set[str]:
    """The class names a mixture in `jaxgan sample --mix` syntax names, e.g. {"horse", "bird"}."""
    return set(re.findall(r"([a-z_]+)\s*=", mix))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=SOURCE (pretrained:NAME, FOLDER or FOLDER:best)")
    ap.add_argument("--truncation", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wing-weights", default="1", help="comma-separated weights of the wing class in its region")
    ap.add_argument("--out", default="benchmarks/wing_maps")
    args = ap.parse_args()
    wing_weights = tuple(float(w) for w in args.wing_weights.split(","))
    pairs = named_sources(ap, args.models)
    judge = evaluator_lib.load_judge()
    result = {"truncation": args.truncation, "seed": args.seed, "n": N, "models": {}}
    lines = ["| model | mixture | judge: horse | mean p_wings | horses with p_wings >= 0.2 |", "|---|---|---|---|---|"]
    sheets = []
    for name, source in pairs:
        cfg, state = load(source)
        pegasus.mixtures(cfg)  # the search's own check: a mixing generator, horse and a wing class
        known = {CIFAR10_CLASSES[i] for i in cfg.class_ids}
        rows, per_mix = [], {}
        for mix in mixes(wing_weights):
            if not mix_classes(mix) <= known:  # e.g. bird above the back of a horse + airplane model
                lines.append(f"| {name} (step {int(state.step)}) | `{mix}` | no such class | | |")
                rows.append(np.full_like(rows[0], 255))  # the first mixture, horse=1, is always drawn
                continue
            m = sampling.parse_mix(mix, cfg)
            images, _ = sampling.sample(cfg, state, N, seed=args.seed, labels=np.broadcast_to(m, (N,) + m.shape),
                                        truncation=args.truncation)
            v = pegasus.judge_verdicts(judge, images)
            winged = winged_horses(v)
            per_mix[mix] = {"horse_share": v["horse_share"], "mean_p_wings": v["mean_p_wings"],
                            "horse_with_wings": winged, "top_classes": v["top_classes"]}
            lines.append(f"| {name} (step {int(state.step)}) | `{mix}` | {v['horse_share']:.0%} | "
                         f"{v['mean_p_wings']:.3f} | {winged}/{N} |")
            print(lines[-1], flush=True)
            rows.append(sampling.grid(images[:SHOWN], ncol=SHOWN))
        result["models"][name] = {"source": source, "step": int(state.step), "mixes": per_mix}
        sheets.append(np.concatenate(rows, axis=0))
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    gap = np.full((sheets[0].shape[0], 12, 3), 255, np.uint8)
    side = np.concatenate([part for s in sheets for part in (s, gap)][:-1], axis=1)
    sampling.picture(side[None], scale=4).save(out.with_suffix(".png"))  # models left to right, as given
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    rows_named = "\n".join(f"{i + 1}. `{m}`" for i, m in enumerate(mixes(wing_weights)))
    out.with_suffix(".md").write_text(
        f"Images 0-{N - 1} of seed {args.seed}, truncation {args.truncation}; nothing selected. Rows of the sheet "
        f"(first {SHOWN} latents, models left to right):\n\n{rows_named}\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(run_main(main, "wing_maps"))
