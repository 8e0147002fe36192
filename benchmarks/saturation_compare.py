"""Two models' clipped flat patches side by side: the same latents drawn by both, and each one's share of samples
with a patch (`saturation.py`'s measure).

    python benchmarks/saturation_compare.py NAME=RUN_FOLDER NAME=RUN_FOLDER [--n 2000] [--show 32] \
        [--out benchmarks/saturation_penalty] [--data-dir ../shared/tensorflow_datasets]

Written for the saturation-penalty arm (`pre_tanh_weight`, issue 21): its state beside the arm it was fine-tuned
from, at the same step. Images 0..n-1 of seed 0 (classes in turn) are drawn by each model; the first `show` of
them go to OUT.png, in rows of 8 alternating between the models (same latent, same column), clipped patches
outlined in cyan. Prints and writes OUT.json: the share of the n samples with a clipped patch of >= MIN_AREA
pixels per model, and of the real training images of the same classes.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

from saturation import MIN_AREA, patch_masks
from jaxgan import data, pegasus, run, sampling

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

CYAN = np.array([0, 255, 255], np.uint8)


def outlined(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The images with each clipped patch's border pixels painted cyan."""
    out = images.copy()
    inner = masks.copy()
    inner[:, 1:-1, 1:-1] &= masks[:, :-2, 1:-1] & masks[:, 2:, 1:-1] & masks[:, 1:-1, :-2] & masks[:, 1:-1, 2:]
    out[masks & ~inner] = CYAN
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs=2, help="NAME=RUN_FOLDER")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--show", type=int, default=32)
    ap.add_argument("--out", default="benchmarks/saturation_penalty")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    result, drawn = {}, {}
    for item in args.models:
        name, _, folder = item.partition("=")
        if not name or not folder:
            ap.error(f"{item}: give NAME=RUN_FOLDER")
        cfg, state = run.load(folder)
        images, _ = sampling.sample(cfg, state, args.n, seed=0)
        masks = patch_masks(images)
        result[name] = {"run": folder, "step": int(state.step), "with_patch": round(float(masks.any((1, 2)).mean()), 4)}
        drawn[name] = outlined(images[:args.show], masks[:args.show])
    real, _ = data.load_cifar10("train", args.data_dir, cfg.classes)
    result["real"] = {"with_patch": round(float(patch_masks(real[:args.n]).any((1, 2)).mean()), 4)}
    result["n"], result["min_area"] = args.n, MIN_AREA
    names = list(drawn)
    rows, labels = [], []
    for start in range(0, args.show, 8):
        for name in names:
            rows.append(list(drawn[name][start:start + 8]))
            labels.append(f"{name}\n{start}-{start + 7}")
    title = ", ".join(f"{k} (step {result[k]['step']}): {result[k]['with_patch']:.1%}" for k in names)
    pegasus._sheet(rows, 2, labels=labels, title=f"clipped patches in {args.n} samples: {title}; real "
                                                 f"{result['real']['with_patch']:.1%}").save(f"{args.out}.png")
    pathlib.Path(f"{args.out}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(run_main(main, "saturation_compare"))
