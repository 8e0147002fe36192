"""Two selectors for the Pegasus search: does a pick two CIFAR-10 classifiers agree on read better to the judge?

    python benchmarks/selector_pair.py --second SELECTOR.msgpack shipped=pretrained:pegasus [NAME=SOURCE ...] \
        [--seeds 0,1] [--budget 16384] [--data-dir ../shared/tensorflow_datasets] [--out benchmarks/selector_pair]

`jaxgan pegasus` picks the candidate the evaluator scores highest out of thousands, and the judge (another
architecture, never selecting) reads that pick as a plain horse: the search's maximum is where the evaluator's own
quirks are largest, the classic reason why a picture tuned on one network does not transfer to another. An average
of two independent networks' probabilities has fewer shared quirks (Liu et al. 2017, ensembles and transferability).
The second selector here is a classifier of the evaluator's own family with another seed (`jaxgan evaluator train
--network evaluator --seed S`): not the judge's family, so what the pair selects owes nothing to the judge's design.

For each model and seed, the search `make pegasus` runs (`pegasus.search`, the part-aware ranking, no preference)
is scored twice: as today (the evaluator alone), and with every class reading (the whole image's probabilities,
the steady horse, the wings above the back) the mean of the evaluator's and the second selector's; realism and
uniqueness stay the evaluator's. The judge reads each rule's pick, the batch of 64 under the pick's mixture and
truncation (images 0-63 of the seed) and the top 16. Writes OUT.json, OUT.md and OUT.png (per model and seed: the
evaluator's top 8, then the pair's top 8, 4x).
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

SHOWN = 8
RULES = ("evaluator", "pair")


def mean_readings(first: dict, second: dict) -> dict:
    """The class readings of two selectors averaged, and the part-aware score rebuilt from them.

    Args:
      first: the search's scores (`pegasus.score_images`), whose realism, uniqueness and spread are kept.
      second: the second selector's readings: "probs" (N, 10), "p_horse_steady", "p_wings_upper" (N,).

    Returns:
      A copy of `first` whose "probs", "p_horse", "p_wings", "recognisability", "eligible", "score",
      "p_horse_steady", "p_wings_upper", "part_recognisability", "part_score" and "part_eligible" come from the
      means (the eligibility checks and thresholds as `pegasus.score_images` applies them).

    Example:
      >>> probs = np.zeros((2, 10)); probs[:, 7] = 0.7; probs[:, 2] = 0.3              # horse 0.7, bird 0.3
      >>> other = probs.copy(); other[1] = 0; other[1, 3] = 1.0                         # image 1: a cat to it
      >>> first = {"probs": probs, "realism": np.ones(2), "uniqueness_pixel": np.full(2, 2.0),
      ...          "uniqueness_feature": np.full(2, 2.0), "spread": np.full(2, 1.5),
      ...          "p_horse_steady": np.full(2, 0.7), "p_wings_upper": np.full(2, 0.3)}
      >>> pair = mean_readings(first, {"probs": other, "p_horse_steady": np.array([0.7, 0.0]),
      ...                              "p_wings_upper": np.array([0.3, 0.0])})
      >>> pair["eligible"].tolist(), pair["p_horse"].round(2).tolist()                 # 0.35 horse < 0.5 cat
      ([True, False], [0.7, 0.35])
    """
    from jaxgan import pegasus, wings
    from jaxgan.config import CIFAR10_CLASSES

    a, b = pegasus.RECOGNISABILITY_POWERS  # the search's own weights, as `score_images` and `part_scores` use them
    horse = CIFAR10_CLASSES.index(pegasus.HORSE)
    probs = (first["probs"] + second["probs"]) / 2
    p_horse = probs[:, horse]
    p_wings = sum(probs[:, CIFAR10_CLASSES.index(w)] for w in pegasus.WINGS)
    recognisability = p_horse ** a * p_wings ** b
    unique = (first["uniqueness_pixel"] > 1) & (first["uniqueness_feature"] > 1)
    eligible = (np.argmax(probs, axis=1) == horse) & (p_wings >= pegasus.MIN_WINGS) & unique
    steady = (first["p_horse_steady"] + second["p_horse_steady"]) / 2
    upper = (first["p_wings_upper"] + second["p_wings_upper"]) / 2
    c, d = wings.POWERS
    part = steady ** c * upper ** d * wings.spread_factor(first["spread"])
    return {**first, "probs": probs, "p_horse": p_horse, "p_wings": p_wings, "recognisability": recognisability,
            "eligible": eligible, "score": recognisability * first["realism"], "p_horse_steady": steady,
            "p_wings_upper": upper, "part_recognisability": part, "part_score": part * first["realism"],
            "part_eligible": eligible & (upper >= pegasus.MIN_WINGS)}


def second_readings(images: np.ndarray, selector, first: dict) -> dict:
    """The second selector's class probabilities of every candidate and its part readings (`wings.part_scores`),
    the horse read over 18 views for the candidates eligible to either rule (the others are never ranked by it).

    Args:
      images: the candidates, uint8 (N, 32, 32, 3).
      selector: the second selector (`jaxgan.evaluator.load(PATH)`).
      first: the search's scores (`pegasus.score_images`).

    Returns:
      {"probs" (N, 10), "p_horse_steady" (N,), "p_wings_upper" (N,)}, as `mean_readings` takes them.
    """
    import jax

    from jaxgan import wings

    _, logits = selector.features_and_logits(images)
    probs = np.asarray(jax.nn.softmax(logits, axis=-1))
    unread = np.zeros(len(images))  # eligibility reads the whole image's probabilities only
    either = first["eligible"] | mean_readings(first, {"probs": probs, "p_horse_steady": unread,
                                                       "p_wings_upper": unread})["eligible"]
    parts = wings.part_scores(images, selector, steady=either)
    return {"probs": probs, "p_horse_steady": parts["p_horse_steady"], "p_wings_upper": parts["p_wings_upper"]}


def main():
    from jaxgan import evaluator as evaluator_lib, pegasus, sampling
    from jaxgan.errors import UserError
    from jaxgan.metrics import reference as reference_lib

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=SOURCE (pretrained:NAME, FOLDER or FOLDER:best)")
    ap.add_argument("--second", required=True, help="the second selector's weight file (jaxgan evaluator train)")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--budget", type=int, default=16384)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="benchmarks/selector_pair")
    args = ap.parse_args()
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise UserError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    pairs = named_sources(ap, args.models)
    evaluator, judge = evaluator_lib.load(), evaluator_lib.load_judge()
    second = evaluator_lib.load(args.second)
    if second.weights_id == evaluator.weights_id:
        raise UserError(f"--second {args.second} holds the evaluator's own weights: give an independent selector")
    ref = reference_lib.load(evaluator, "train", args.data_dir)
    result = {"second": {"path": args.second, "weights_id": second.weights_id, "meta": second.meta},
              "budget": args.budget, "runs": []}
    table = ["| model | seed | rule | pick | judge: top class | p(horse) / p(bird) + p(airplane) | issue's check | "
             "batch of 64: horse | top 16: horse, with p_wings >= 0.2, mean p_wings |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = []
    for name, source in pairs:
        cfg, state = load(source)
        for seed in seeds:
            records, images, scores = pegasus.search(cfg, state, args.budget, seed, evaluator, ref)
            pair_scores = mean_readings(scores, second_readings(images, second, scores))
            row = []
            for rule, s in zip(RULES, (scores, pair_scores)):
                order = pegasus.ranking(records, s, "none", "part")
                pick = records[order[0]]
                verdicts = pegasus.judge_verdicts(judge, images[order[:16]])
                top = verdicts["images"][0]
                m = sampling.parse_mix(pick["mix"], cfg)
                batch, _ = sampling.sample(cfg, state, 64, seed=seed, labels=np.broadcast_to(m, (64,) + m.shape),
                                           truncation=pick["truncation"])
                batch_share = pegasus.judge_verdicts(judge, batch)["horse_share"]
                check = top["top_class"] == pegasus.HORSE and top["p_wings"] >= 0.2
                run = {"model": name, "source": source, "step": int(state.step), "seed": seed, "rule": rule,
                       "pick": pick, "eligible": int(s["part_eligible"].sum()), "judge_pick": top,
                       "issue_check": bool(check), "batch64_horse_share": batch_share,
                       "top16_judge_horse_share": verdicts["horse_share"],
                       "top16_horse_with_wings": winged_horses(verdicts),
                       "top16_mean_p_wings": verdicts["mean_p_wings"],
                       "selector_readings": {"p_horse_steady": float(s["p_horse_steady"][order[0]]),
                                             "p_wings_upper": float(s["p_wings_upper"][order[0]]),
                                             "p_wings": float(s["p_wings"][order[0]])}}
                result["runs"].append(run)
                table.append(f"| {name} ({int(state.step)}) | {seed} | {rule} | `{pick['mix']}` t {pick['truncation']}"
                             f" #{pick['index']} | {top['top_class']} | {top['p_horse']:.3f} / {top['p_wings']:.3f} | "
                             f"{'met' if check else 'not met'} | {batch_share:.0%} | {verdicts['horse_share']:.0%}, "
                             f"{winged_horses(verdicts)}/16, {verdicts['mean_p_wings']:.3f} |")
                print(table[-1], flush=True)
                row.append(images[order[:SHOWN]])
            rows.append(sampling.grid(np.concatenate(row), ncol=2 * SHOWN))
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sampling.picture(np.concatenate(rows)[None], scale=4).save(out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    acc = second.meta.get("test_accuracy")
    out.with_suffix(".md").write_text(
        f"The Pegasus search (budget {args.budget}, part-aware ranking) scored by the evaluator alone and by the mean "
        f"of the evaluator and a second selector (`{pathlib.Path(args.second).name}`, weights {second.weights_id}"
        f"{f', test accuracy {acc:.2%}' if isinstance(acc, float) else ''}); the judge reads each rule's pick, "
        f"its batch of 64 and the top 16. The issue's check: the judge's top class horse with p(bird) + "
        f"p(airplane) >= 0.2. In the sheet, per model and seed (top to bottom, as in the table), the evaluator's "
        f"top {SHOWN}, then the pair's.\n\n" + "\n".join(table) + "\n")
    print(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    sys.exit(run_main(main, "selector_pair"))
