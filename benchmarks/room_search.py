"""Pegasus candidates with room for a wing: latents whose horse starts below the frame's top cell row, given a wing.

    python benchmarks/room_search.py tc_placed2=/work/flagship/threeclass_placed2 [NAME=SOURCE ...] \
        [--latents 2048] [--seed 0] [--truncation 1.5] [--wing-weight 1.0] [--out benchmarks/room_search]

90% of CIFAR-10's horses reach the top 8 pixels (`horse_room.py`), so a wing class painted "above the back" mostly
lands in the frame's top strip, where the placed-paste models paint a pale box. This search asks the models we have
(no training) whether the horses that do leave room get a wing. For each model (NAME=SOURCE as in
`flagship_candidates.py`; a model that mixes classes and knows horse and bird or airplane):

1. images 0..N-1 of one seed under `horse=1`; each one's room: the first cell row of the 4x4 grid its foreground
   reaches (`classmap.object_top_rows`, as `placed_boxes` reads a real horse). Room means row 1 or lower.
2. the same latents under a wing map made for each of them as the placed paste made the training maps: horse
   everywhere, the wing class with weight `--wing-weight` in the `placed_boxes` box resting on that horse's top
   (two cell rows, 2-3 cells wide), for bird and for airplane in turn (the one box per latent for both).
3. the evaluator selects: among latents with room whose winged image it reads as a horse, the top 16 by the
   part-aware score (`wings.part_scores`: the horse from the whole image, the wings from the band above the back),
   the better wing class per latent. The judge, which never selects, reads every winged image: horse share, mean
   p(bird) + p(airplane) and horses with p_wings >= 0.2, for the latents with room and without, and each pick.

Writes OUT.png (per model: its 16 picks, each as its horse=1 image above its winged one, 4x), OUT.json and OUT.md.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

from flagship_candidates import load, named_sources
from pegasus_batches import winged_horses
from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

PICKS = 16
HORSE, WINGS = "horse", ("bird", "airplane")


def room_rows(images: np.ndarray, mask=None) -> np.ndarray:
    """The first cell row each image's object reaches (`classmap.object_top_rows` of its `foreground`).

    Args:
      images: uint8 (N, 32, 32, 3).
      mask: the images' `classmap.foreground`, when the caller has it already (`placed_boxes` takes it too).

    Returns:
      int (N,): 0-3, -1 where no cell is foreground enough; 1 or more leaves room above the object.

    Example:
      >>> sky = np.full((2, 32, 32, 3), 200, np.uint8)
      >>> sky[0, 12:, 4:28] = 40; sky[1, :, 8:24] = 40        # a body from pixel row 12; one filling the height
      >>> room_rows(sky).tolist()
      [1, 0]
    """
    import jax.numpy as jnp

    from jaxgan import classmap

    cover = classmap.cell_means(classmap.foreground(jnp.asarray(images)) if mask is None else mask)
    return np.asarray(classmap.object_top_rows(cover))


def wing_maps(boxes: np.ndarray, horse: int, wing: int, num_classes: int, weight: float) -> np.ndarray:
    """Class maps: the horse in every cell, the wing class with `weight` (the rest horse) inside each box.

    Args:
      boxes: bool (N, GRID, GRID), True in the cells of each image's box (`classmap.placed_boxes`).
      horse: the horse's index among the model's classes.
      wing: the wing class's index among them.
      num_classes: C, the model's class count.
      weight: the wing class's weight in a box cell, in (0, 1].

    Returns:
      float32 (N, GRID, GRID, C), each cell summing to 1.

    Example:
      >>> box = np.zeros((1, 4, 4), bool); box[0, 0:2, 1:3] = True
      >>> m = wing_maps(box, horse=2, wing=0, num_classes=3, weight=0.75)
      >>> m[0, 0, 1].tolist(), m[0, 3, 1].tolist()
      ([0.75, 0.0, 0.25], [0.0, 0.0, 1.0])
    """
    w = boxes.astype(np.float32)[..., None] * weight
    eye = np.eye(num_classes, dtype=np.float32)
    return (1.0 - w) * eye[horse] + w * eye[wing]


def evaluator_top_is_horse(evaluator, images: np.ndarray) -> np.ndarray:
    """bool (N,): the evaluator's top class is horse."""
    from jaxgan.config import CIFAR10_CLASSES

    _, logits = evaluator.features_and_logits(images)
    return np.argmax(logits, axis=1) == CIFAR10_CLASSES.index(HORSE)


def main():
    import jax

    from jaxgan import classmap, evaluator as evaluator_lib, pegasus, sampling, wings
    from jaxgan.config import CIFAR10_CLASSES
    from jaxgan.errors import UserError

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=SOURCE (pretrained:NAME, FOLDER or FOLDER:best)")
    ap.add_argument("--latents", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--truncation", type=float, default=1.5)
    ap.add_argument("--wing-weight", type=float, default=1.0)
    ap.add_argument("--out", default="benchmarks/room_search")
    args = ap.parse_args()
    if args.latents < PICKS:
        raise UserError(f"--latents must be at least {PICKS}, got {args.latents}")
    if not 0.0 < args.wing_weight <= 1.0:
        raise UserError(f"--wing-weight must be in (0, 1], got {args.wing_weight}")
    pairs = named_sources(ap, args.models)
    evaluator, judge = evaluator_lib.load(), evaluator_lib.load_judge()
    n = args.latents
    result = {"latents": n, "seed": args.seed, "truncation": args.truncation, "wing_weight": args.wing_weight,
              "models": {}}
    table = ["| model | wing | room (row >= 1) | judge: horse, room / none | mean p_wings, room / none | "
             "horses with p_wings >= 0.2, room / none |", "|---|---|---|---|---|---|"]
    picks_table = ["| model | latent | wing | top row | evaluator: part score | judge: top class | p(horse) | "
                   "p(bird) + p(airplane) |", "|---|---|---|---|---|---|---|---|"]
    sheets = []
    for name, source in pairs:
        cfg, state = load(source)
        pegasus.mixtures(cfg)  # the search's own check: a mixing generator, horse and a wing class
        names = [CIFAR10_CLASSES[i] for i in cfg.class_ids]
        wing_names = [w for w in WINGS if w in names]
        horse_images, _ = sampling.sample(cfg, state, n, seed=args.seed, labels=np.broadcast_to(
            sampling.parse_mix("horse=1", cfg), (n, cfg.num_classes)), truncation=args.truncation)
        mask = classmap.foreground(jax.numpy.asarray(horse_images))  # read once, for the rows and the boxes
        rows = room_rows(horse_images, mask=mask)
        room = rows >= 1
        boxes = np.asarray(classmap.placed_boxes(jax.random.key(args.seed), horse_images, 1.0, mask=mask))
        share = {str(r): float((rows == r).mean()) for r in (-1, 0, 1, 2, 3)}
        per_model = {"source": source, "step": int(state.step), "top_row_share": share, "wings": {}}
        print(f"{name} (step {int(state.step)}): {room.mean():.1%} of {n} horses start below the top cell row",
              flush=True)
        best = np.full(n, -1.0)
        best_wing = np.full(n, "", object)
        winged_images, readings = {}, {}
        for wing in wing_names:
            maps = wing_maps(boxes, names.index(HORSE), names.index(wing), cfg.num_classes, args.wing_weight)
            images, _ = sampling.sample(cfg, state, n, seed=args.seed, labels=maps, truncation=args.truncation)
            winged_images[wing] = images
            readings[wing] = pegasus.judge_verdicts(judge, images)["images"]
            groups = {}
            for label, chosen in (("room", room), ("none", ~room)):
                group = [r for r, c in zip(readings[wing], chosen) if c]
                count = max(len(group), 1)
                groups[label] = {"latents": len(group),
                                 "horse_share": sum(r["top_class"] == HORSE for r in group) / count,
                                 "mean_p_wings": sum(r["p_wings"] for r in group) / count,
                                 "horse_with_wings": winged_horses({"images": group})}
            eligible = room & evaluator_top_is_horse(evaluator, images)
            score = np.full(n, -1.0)
            if eligible.any():
                parts = wings.part_scores(images[eligible], evaluator)
                score[eligible] = parts["part_recognisability"]
            better = score > best
            best, best_wing = np.where(better, score, best), np.where(better, wing, best_wing)
            per_model["wings"][wing] = {**groups, "evaluator_eligible": int(eligible.sum())}
            r, o = groups["room"], groups["none"]
            table.append(f"| {name} ({int(state.step)}) | {wing} | {room.mean():.1%} | {r['horse_share']:.0%} / "
                         f"{o['horse_share']:.0%} | {r['mean_p_wings']:.3f} / {o['mean_p_wings']:.3f} | "
                         f"{r['horse_with_wings']}/{r['latents']} / {o['horse_with_wings']}/{o['latents']} |")
            print(table[-1], flush=True)
        order = [int(i) for i in np.argsort(-best, kind="stable")[:PICKS] if best[i] >= 0]
        picks, top, bottom = [], [], []
        for i in order:
            wing = str(best_wing[i])
            reading = readings[wing][i]
            picks.append({"latent": i, "wing": wing, "top_row": int(rows[i]), "part_score": round(float(best[i]), 5),
                          **reading})
            picks_table.append(f"| {name} | {i} | {wing} | {int(rows[i])} | {best[i]:.3f} | {reading['top_class']} "
                               f"| {reading['p_horse']:.3f} | {reading['p_wings']:.3f} |")
            top.append(horse_images[i])
            bottom.append(winged_images[wing][i])
        per_model["picks"] = picks
        per_model["picks_judge_horse_with_wings"] = winged_horses({"images": picks})
        result["models"][name] = per_model
        blank = np.full((32, 32, 3), 255, np.uint8)
        top += [blank] * (PICKS - len(top))
        bottom += [blank] * (PICKS - len(bottom))
        sheets.append(sampling.grid(np.stack(top + bottom), ncol=PICKS))
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    gap = np.full((12, sheets[0].shape[1], 3), 255, np.uint8)
    column = np.concatenate([part for s in sheets for part in (s, gap)][:-1], axis=0)
    sampling.picture(column[None], scale=4).save(out.with_suffix(".png"))  # models top to bottom, as given
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.with_suffix(".md").write_text(
        f"Images 0-{n - 1} of seed {args.seed}, truncation {args.truncation}: each latent's horse=1 image, its room "
        f"(the first cell row its foreground reaches), and the same latent with a wing class (weight "
        f"{args.wing_weight:g}) in the placed box on that horse's top. The judge reads every winged image (room: "
        f"the horse starts at cell row 1 or lower):\n\n" + "\n".join(table) + "\n\nThe evaluator's top "
        f"{PICKS} (latents with room, winged image read as a horse by it, part-aware score), read by the judge; "
        f"in the sheet each pick's horse=1 image above its winged one, models top to bottom:\n\n"
        + "\n".join(picks_table) + "\n")
    print(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    sys.exit(run_main(main, "room_search"))
