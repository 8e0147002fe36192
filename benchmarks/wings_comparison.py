"""Ways to put wings on the horse, compared on one model: contact sheets of the top 16 at 8x and the judge's readings.

    python benchmarks/wings_comparison.py [--pretrained pegasus | --workdir DIR] [--budget 16384] [--refine-steps 100]
        [--sketch-steps 200] [--data-dir DIR] [--out benchmarks/wings_comparison]

Six arms over the same candidates (`jaxgan.pegasus.search`: mixtures x truncations x latents of one seed):
- whole: the search's ranking (`pegasus.ranking`, `--score whole`): whole-image recognisability x realism;
- part: the part-aware score (`--score part`, `jaxgan.wings.part_scores`): the horse from the whole image, the
  wings from the band above the back, a gentle preference for a band wider than the body; x the same realism;
- contrast: the part score with the band's wing reading replaced by what the mixture adds to it: p_wings_upper
  minus that of the same latent and truncation drawn as a plain horse (`horse=1`), floored at 0; eligible when the
  part arm's checks pass and that lift is >= 0.1. Sky above a horse reads as bird or airplane with or without a
  wing; the plain twin has the same sky, so only what the wing classes changed should count;
- refined: the part arm's top 16, each refined (`pegasus.refine_top`, `--refine STEPS`: gradient steps on its
  latent and per-level mixture towards part recognisability, D's realism and a typical |z|), then scored again;
- white: the part score's ranking with the white preference (`--prefer white`: score x whiteness), as searched;
- sketched: the white arm's top 16, each refined towards a white wing sketched above its back on blue sky
  (`pegasus.refine_top(..., sketch=True)`, `--sketch STEPS`: `jaxgan.wings.wing_sketch`), then scored again.
The evaluator selects (and steers the refinements); the judge only reports. Writes OUT.json (every reading),
OUT.md (the table), OUT_{whole,part,contrast,refined,white,sketched}.png (the top 16 at 8x, each captioned with the
evaluator's and the judge's readings), OUT_refined/ (refined.png: before | after; refined.npz) and OUT_sketched/
(sketched.png: before | the sketch | after; sketched.npz; pegasus_sketched.png, the sketched arm's pick).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from jaxgan import evaluator as evaluator_lib, pegasus, pretrained, run, sampling, wings
from jaxgan.config import CIFAR10_CLASSES
from jaxgan.metrics import reference as reference_lib

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def readings(images, scores, judge) -> list[dict]:
    verdicts = pegasus.judge_verdicts(judge, images)["images"]
    return [{"evaluator_top": CIFAR10_CLASSES[int(np.argmax(scores["probs"][i]))],
             "p_horse": round(float(scores["p_horse"][i]), 4), "p_wings": round(float(scores["p_wings"][i]), 4),
             "p_wings_upper": round(float(scores["p_wings_upper"][i]), 4),
             "spread": round(float(scores["spread"][i]), 3),
             "d_percentile": round(float(scores["d_percentile"][i]), 4),
             "uniqueness_pixel": round(float(scores["uniqueness_pixel"][i]), 3),
             "judge_top": v["top_class"], "judge_p_horse": v["p_horse"], "judge_p_wings": v["p_wings"]}
            for i, v in enumerate(verdicts)]


def wing_lift(cfg, state, records, scores, evaluator, budget: int) -> np.ndarray:
    """Per candidate: its band's p_bird + p_airplane minus that of its plain-horse twin (same latent index and
    truncation, mixture `horse=1`), floored at 0."""
    per = pegasus.latents_per_combination(cfg, budget)
    plain = {}
    for t in pegasus.TRUNCATIONS:
        imgs, _ = sampling.sample(cfg, state, per, seed=records[0]["seed"],
                                  labels=pegasus._mixture_array(cfg, f"{pegasus.HORSE}=1", per), truncation=t)
        plain[t] = wings.part_scores(imgs, evaluator)["p_wings_upper"]
    twin = np.array([plain[r["truncation"]][r["index"]] for r in records])
    return np.clip(scores["p_wings_upper"] - twin, 0.0, 1.0)


def contrast_scores(scores, lift) -> dict:
    """The part arm's scores with p_wings_upper replaced by the lift (the ranking reads part_score/part_eligible)."""
    a, b = wings.POWERS
    recog = scores["p_horse"] ** a * np.maximum(lift, 1e-6) ** b * wings.spread_factor(scores["spread"])
    return dict(scores, part_score=recog * scores["realism"], part_eligible=scores["part_eligible"] & (lift >= 0.1))


def summary(rows: list[dict]) -> dict:
    n = len(rows)
    return {"judge_horse": sum(r["judge_top"] == "horse" for r in rows) / n,
            "judge_horse_with_wings": sum(r["judge_top"] == "horse" and r["judge_p_wings"] >= 0.2 for r in rows) / n,
            "judge_mean_p_horse": float(np.mean([r["judge_p_horse"] for r in rows])),
            "judge_mean_p_wings": float(np.mean([r["judge_p_wings"] for r in rows])),
            "evaluator_horse": sum(r["evaluator_top"] == "horse" for r in rows) / n,
            "evaluator_mean_p_wings_upper": float(np.mean([r["p_wings_upper"] for r in rows])),
            "mean_d_percentile": float(np.mean([r["d_percentile"] for r in rows])),
            "evaluator_mean_wing_lift": (float(np.mean([r["wing_lift"] for r in rows]))
                                         if all("wing_lift" in r for r in rows) else None),
            "unique": sum(r["uniqueness_pixel"] > 1 for r in rows) / n}


def sheet(images, rows, path):
    caps = [f"eval {r['evaluator_top'][:5]} h{r['p_horse']:.2f}\nwings {r['p_wings']:.2f} up {r['p_wings_upper']:.2f}\n"
            f"judge {r['judge_top'][:5]} h{r['judge_p_horse']:.2f}\njudge wings {r['judge_p_wings']:.2f}" for r in rows]
    grid = [list(images[i:i + 4]) for i in range(0, len(images), 4)]
    pegasus._sheet(grid, 8, pad=6, captions=[caps[i:i + 4] for i in range(0, len(images), 4)]).save(path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pretrained", default=None)
    p.add_argument("--workdir", default=None)
    p.add_argument("--budget", type=int, default=16384)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--refine-steps", type=int, default=100)
    p.add_argument("--sketch-steps", type=int, default=200)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="benchmarks/wings_comparison")
    args = p.parse_args()
    if args.workdir:
        cfg, state = run.load(args.workdir)
        source = f"--workdir {args.workdir}"
    else:
        name = args.pretrained or "pegasus"
        cfg, state = pretrained.load(name)
        source = f"--pretrained {name}"
    out = pathlib.Path(args.out)
    evaluator, judge = evaluator_lib.load(), evaluator_lib.load_judge()
    ref = reference_lib.load(evaluator, "train", args.data_dir)
    t0 = time.perf_counter()
    records, images, scores = pegasus.search(cfg, state, args.budget, args.seed, evaluator, ref)
    lift = wing_lift(cfg, state, records, scores, evaluator, args.budget)
    search_s = time.perf_counter() - t0
    arms, orders = {}, {}
    for name in ("whole", "part", "contrast", "white"):
        if name == "contrast":
            orders[name] = pegasus.ranking(records, contrast_scores(scores, lift), score="part")
        elif name == "white":
            orders[name] = pegasus.ranking(records, scores, "white", "part")
        else:
            orders[name] = pegasus.ranking(records, scores, score=name)
        top = orders[name][:pegasus.TOP]
        rows = readings(images[top], {k: v[top] for k, v in scores.items()}, judge)
        for row, i in zip(rows, top):
            row["wing_lift"] = round(float(lift[i]), 4)
        arms[name] = (images[top], rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    for name, order, steps in (("refined", orders["part"], args.refine_steps),
                               ("sketched", orders["white"], args.sketch_steps)):
        start = time.perf_counter()
        folder = out.parent / f"{out.name}_{name}"
        folder.mkdir(exist_ok=True)
        done[name] = pegasus.refine_top(folder, cfg, state, records, order, evaluator, ref, judge, steps,
                                        sketch=name == "sketched")
        with np.load(folder / f"{name}.npz") as f:
            r_images = f["images"]
        r_scores = pegasus.score_images(cfg, state, r_images, evaluator, ref)
        done[name]["total_seconds"] = time.perf_counter() - start
        arms[name] = (r_images, readings(r_images, r_scores, judge))
    refine_s = done["refined"]["total_seconds"]
    sketch_s = done["sketched"]["total_seconds"]
    order_of_arms = ("whole", "part", "contrast", "refined", "white", "sketched")
    arms = {name: arms[name] for name in order_of_arms}

    result = {"model": source, "step": int(state.step), "budget": len(records), "seed": args.seed,
              "refine_steps": args.refine_steps, "refine_weights": wings.REFINE_WEIGHTS,
              "objective_first_last": done["refined"]["objective_first_last"],
              "sketch_steps": args.sketch_steps, "sketch_weights": wings.SKETCH_WEIGHTS,
              "sketch_objective_first_last": done["sketched"]["objective_first_last"],
              "sketched_pick": done["sketched"]["pegasus"],
              "seconds": {"search_and_scores": round(search_s, 1), "refine_and_rescore": round(refine_s, 1),
                          "sketch_and_rescore": round(sketch_s, 1)},
              "arms": {name: {"summary": summary(rows), "top16": rows} for name, (_, rows) in arms.items()}}
    for name, (imgs, rows) in arms.items():
        sheet(imgs, rows, out.parent / f"{out.name}_{name}.png")
    (out.parent / f"{out.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"# Wings on the horse: six arms on `{source}` (step {result['step']}), top 16 each",
             "", f"{len(records)} candidates of seed {args.seed}; refinement: {args.refine_steps} Adam steps, weights "
             f"{wings.REFINE_WEIGHTS}; sketch: {args.sketch_steps} Adam steps, weights {wings.SKETCH_WEIGHTS}; "
             f"{search_s:.0f} s search + scores + plain twins, {refine_s:.0f} s refinement + rescoring, "
             f"{sketch_s:.0f} s sketch + rescoring; the sketched arm's pick: its #{done['sketched']['pegasus'] + 1}.",
             "",
             "| arm | judge: horse | judge: horse with p_wings >= 0.2 | judge mean p_horse | judge mean p_wings | "
             "evaluator: horse | evaluator mean p_wings (upper band) | evaluator mean wing lift | mean D percentile | "
             "unique (pixel) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, arm in result["arms"].items():
        s = arm["summary"]
        lines.append(f"| {name} | {s['judge_horse']:.0%} | {s['judge_horse_with_wings']:.0%} | "
                     f"{s['judge_mean_p_horse']:.3f} | {s['judge_mean_p_wings']:.3f} | {s['evaluator_horse']:.0%} | "
                     f"{s['evaluator_mean_p_wings_upper']:.3f} | "
                     f"{'-' if s['evaluator_mean_wing_lift'] is None else format(s['evaluator_mean_wing_lift'], '.3f')}"
                     f" | {s['mean_d_percentile']:.3f} | {s['unique']:.0%} |")
    (out.parent / f"{out.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(run_main(main, "wings_comparison"))
