"""Why the Pegasus search's first pick is less readable than others in its own top 16: two body readings, by eye.

    python benchmarks/pick_readability.py lecam=SOURCE:SEARCH_DIR \
        [shipped=pretrained:pegasus:runs/ship/pegasus_shipped] [--out benchmarks/pick_readability]

Three ship checks in a row (issue 21) picked a tall shape filling the upper part of the frame that nobody could
name, above clear horses of its own top 16. The part score as it was to 2026-12-04 (`one_view` here) read the
horse from the whole image as it is and the wings from the upper 20 rows enlarged; the pick won on that band's
p(bird) + p(airplane), and nothing asked whether the horse was a readable one. Two readings of the body, each
replacing the one-view p_horse in that score (written down before any sheet was looked at; the eligible set and
realism unchanged):

- `body`: (p_horse x p_horse_lower)^0.3 x p_wings_upper^0.4 x spread factor, p_horse_lower the evaluator's p(horse)
  of the lower 20 rows enlarged to 32x32 (the band below the wings, where a horse's body and legs are);
- `steady`: p_horse_steady^0.6 x p_wings_upper^0.4 x spread factor, p_horse_steady the mean p(horse) over 18 views
  (mirrored or not, shifted by -2, 0 or 2 pixels each way, edges repeated): a picture that is a horse only from one
  exact view is not a readable horse. `jaxgan.wings.part_scores` reads the horse this way since this study.

Each model is NAME=SOURCE:SEARCH_DIR: the model (`flagship_candidates.py`'s syntax, or an exported bundle folder)
and the folder its `jaxgan pegasus` search wrote (its pegasus.json names every candidate; they are regenerated bit
for bit, and the recorded p_horse is checked). The evaluator reads; the judge is not consulted here (it only
reports, in the ship check). Writes OUT.png (per model, the top 16 under each rule at 3x, one row per rule),
OUT.json and OUT.md.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

import jax
import numpy as np

from flagship_candidates import load
from ship_check import resolve
from jaxgan import evaluator as evaluator_lib, pegasus, sampling, wings
from jaxgan.config import CIFAR10_CLASSES

RULES = ("one_view", "body", "steady")
SHOWN = 16


def lower_band(x: jax.Array) -> jax.Array:
    """The lower `wings.UPPER_ROWS` rows of float images (N, 32, 32, 3), enlarged back to 32x32 (bilinear)."""
    n, h, w, c = x.shape
    return jax.image.resize(x[:, h - wings.UPPER_ROWS:], (n, h, w, c), "linear")


def body_readings(images: np.ndarray, evaluator, batch_size: int = 500) -> dict[str, np.ndarray]:
    """p_horse, p_horse_lower and p_horse_steady of uint8 images (N, 32, 32, 3)."""
    horse = CIFAR10_CLASSES.index("horse")
    whole, lower, steady = [], [], []
    for x, n in wings._batches(images, batch_size):
        p = lambda v: np.asarray(wings._class_probs(evaluator, v))[:n, horse]  # noqa: B023 (used at once)
        whole.append(p(x))
        lower.append(p(lower_band(x)))
        steady.append(np.mean([p(v) for v in wings.steady_views(x)], axis=0))
    return {"p_horse": np.concatenate(whole), "p_horse_lower": np.concatenate(lower),
            "p_horse_steady": np.concatenate(steady)}


def regenerate(cfg, state, records: list[dict], wanted: np.ndarray) -> np.ndarray:
    """The images of candidates `wanted` (indices into `records`), as the search drew them."""
    groups: dict = {}
    for i in wanted:
        r = records[i]
        groups.setdefault((r["mix"], r["truncation"], r["seed"]), []).append(int(i))
    images = np.zeros((len(records), 32, 32, 3), np.uint8)
    for (mix, t, seed), members in groups.items():
        n = max(records[i]["index"] for i in members) + 1
        imgs, _ = sampling.sample(cfg, state, n, seed=seed, labels=pegasus._mixture_array(cfg, mix, n), truncation=t)
        for i in members:
            images[i] = imgs[records[i]["index"]]
    return images


def rank(records, eligible: np.ndarray, value: np.ndarray) -> list[int]:
    """`pegasus.ranking`'s order (eligible first, one candidate per latent first) under another score."""
    return pegasus.ranking(records, {"part_score": value, "part_eligible": eligible}, score="part")


def study(name: str, source: str, search_dir: pathlib.Path, evaluator) -> tuple[dict, list]:
    found = json.loads((search_dir / "pegasus.json").read_text())
    cfg, state = load(source)
    if int(state.step) != found["step"]:
        sys.exit(f"{name}: the model is at step {int(state.step)}, its search at {found['step']}")
    cands = found["candidates"]
    eligible = np.array([c["part_eligible"] for c in cands])
    wanted = np.flatnonzero(eligible)
    images = regenerate(cfg, state, cands, wanted)
    read = body_readings(images[wanted], evaluator)
    recorded = np.array([cands[i]["p_horse"] for i in wanted])
    drift = float(np.max(np.abs(read["p_horse"] - recorded)))
    if drift > 1e-3:
        sys.exit(f"{name}: regenerated candidates read p_horse up to {drift:.4f} away from the search's record")
    n = len(cands)
    full = {k: np.zeros(n) for k in read}
    for k, v in read.items():
        full[k][wanted] = v
    realism = np.array([c["realism"] for c in cands])
    pwu = np.array([c["p_wings_upper"] for c in cands])
    sf = wings.spread_factor(np.array([c["spread"] for c in cands]))
    a, b = wings.POWERS
    score = lambda p_horse: p_horse ** a * pwu ** b * sf * realism  # noqa: E731 (the part score, one horse reading)
    # The one-view score from the record's own fields (a search since 2026-12-04 ranks by the steady one).
    values = {"one_view": score(np.array([c["p_horse"] for c in cands])),
              "body": score(np.sqrt(full["p_horse"] * full["p_horse_lower"])),
              "steady": score(full["p_horse_steady"])}
    out, rows = {"step": found["step"], "eligible": int(eligible.sum()), "budget": n,
                 "p_horse_max_drift": drift}, []
    for rule in RULES:
        order = rank(cands, eligible, values[rule])[:SHOWN]
        out[rule] = [{"candidate": int(i), **{k: cands[i][k] for k in ("mix", "truncation", "index")},
                      "p_horse": round(float(full["p_horse"][i]), 4),
                      "p_horse_lower": round(float(full["p_horse_lower"][i]), 4),
                      "p_horse_steady": round(float(full["p_horse_steady"][i]), 4),
                      "p_wings_upper": cands[i]["p_wings_upper"], "realism": cands[i]["realism"],
                      "value": round(float(values[rule][i]), 4)} for i in order]
        rows.append([images[i] for i in order])
    first = {r["candidate"] for r in out[RULES[0]]}
    for rule in RULES[1:]:
        out[f"{rule}_shared"] = sum(r["candidate"] in first for r in out[rule])
    return out, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=SOURCE:SEARCH_DIR")
    ap.add_argument("--out", default="benchmarks/pick_readability")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    links = pathlib.Path(tempfile.mkdtemp(prefix="pick_readability_"))  # bundle links, outside the repository
    evaluator = evaluator_lib.load()
    results, sheets = {}, []
    for item in args.models:
        name, _, rest = item.partition("=")
        source, _, search_dir = rest.rpartition(":")
        if not name or not source or not search_dir:
            ap.error(f"{item}: give NAME=SOURCE:SEARCH_DIR")
        results[name], rows = study(name, resolve(name, source, links), pathlib.Path(search_dir), evaluator)
        caps = [[f"{rule} #{j + 1}\nh{r['p_horse']:.2f} lo{r['p_horse_lower']:.2f}\nst{r['p_horse_steady']:.2f} "
                 f"wu{r['p_wings_upper']:.2f}" for j, r in enumerate(results[name][rule])] for rule in RULES]
        sheets.append(pegasus._sheet(rows, 3, labels=[f"{name} {rule}" for rule in RULES], captions=caps,
                                     title=f"{name} (step {results[name]['step']}): top {SHOWN} of "
                                           f"{results[name]['eligible']} eligible under each rule"))
        print(f"{name}: one_view's top 16 shared with body {results[name]['body_shared']}, with steady "
              f"{results[name]['steady_shared']}", flush=True)
    from PIL import Image

    w = max(s.width for s in sheets)
    page = Image.new("RGB", (w, sum(s.height for s in sheets)), "white")
    y = 0
    for s in sheets:
        page.paste(s, (0, y))
        y += s.height
    page.save(out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    lines = ["| model | rule | pick | p_horse | p_horse_lower | p_horse_steady | p_wings_upper | top 16 shared with "
             "one_view |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        for rule in RULES:
            p = r[rule][0]
            shared = "16" if rule == RULES[0] else str(r[f"{rule}_shared"])
            lines.append(f"| {name} | {rule} | {p['mix'].replace('|', chr(92) + '|')}, t {p['truncation']}, "
                         f"#{p['index']} | {p['p_horse']:.3f} | {p['p_horse_lower']:.3f} | "
                         f"{p['p_horse_steady']:.3f} | {p['p_wings_upper']:.3f} | {shared} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
