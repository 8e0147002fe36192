"""The flagship's ship rule in one command: does a candidate replace the shipped `pegasus` model?

    python benchmarks/ship_check.py lecam=/work/flagship/lecam/candidate [--shipped pretrained:pegasus] \
        [--out benchmarks/ship_check_lecam] [--n 10000] [--budget 16384] [--refine 100] [--data-dir DIR]

A model is NAME=SOURCE: an exported bundle folder (`jaxgan export`: holds card.json), `pretrained:NAME` (a bundle
on the pretrained search path), or a run folder (`FOLDER` for its latest checkpoint, `FOLDER:best`). The rule of
issue 21 (written down in its third slice, unchanged since), checked part by part against the shipped model:

1. the candidate's FID-C (against its own classes and against all ten) is lower and its class accuracy (by the
   evaluator and by the judge) higher than the shipped model's: `flagship_candidates.py`, `--n` samples each,
   the same seed;
2. the judge's p_horse^0.6 * p_wings^0.4 of the candidate's Pegasus (`jaxgan pegasus --budget B --refine R`: the
   evaluator selects, the judge only reads the pick) is at least the shipped Pegasus's;
3. under the shipped Pegasus's mixture (`horse=0.9,bird=0.05,airplane=0.05` at truncation 1.5, images 0-63 of
   seed 0, nothing selected) the judge reads at least as large a share of the candidate's batch as horses as of
   the shipped model's: `pegasus_batches.py`;
4. by eye, the candidate's Pegasus is a horse at least as clear as the shipped one. No number decides this: the
   script draws the two Pegasi side by side at 8x (OUT/pegasus_x8.png, shipped left) and a person looks.

Writes OUT/ship_check.md (the figures and a verdict for parts 1-3), OUT/ship_check.json, OUT/pegasus_x8.png and
each model's search folder OUT/pegasus_NAME/ (everything `jaxgan pegasus` writes). A part already measured for the
same model at the same step with the same settings is read back from OUT/ship_check.json instead of measured
again (`--fresh` measures everything), so the shipped model's side (about 6 minutes on one core) is measured once
per OUT folder, and a re-run after a crash resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

from flagship_candidates import ROWS, load, measure, named_sources
from pegasus_batches import WINGS_AT_LEAST, batch, winged_horses
from jaxgan import evaluator as evaluator_lib, pegasus, pretrained, sampling
from jaxgan.errors import UserError
from jaxgan.metrics import reference as reference_lib

SHIPPED_MIX, SHIPPED_TRUNCATION = "horse=0.9,bird=0.05,airplane=0.05", 1.5
LOWER_IS_BETTER = ("fid_c_classes", "fid_c")
HIGHER_IS_BETTER = ("class_accuracy", "judge_class_accuracy")
BATCH_HORSE_SHARE = 0.5  # issue 21: at least half of the Pegasus's batch of 64 is horse to the judge


def resolve(source: str) -> str:
    """`source` in `flagship_candidates.load`'s syntax; a bundle folder becomes `pretrained:NAME` with its parent
    put first on the pretrained search path (so two bundles both named `candidate` never shadow each other)."""
    path = pathlib.Path(source)
    if (path / pretrained.CARD).is_file():
        os.environ[pretrained.PATH_ENV] = os.pathsep.join([str(path.parent.resolve()),
                                                          os.environ.get(pretrained.PATH_ENV, "")])
        return f"pretrained:{path.name}"
    return source


def search_kwargs(source: str) -> dict:
    """`pegasus.run`'s keywords for a resolved source."""
    if source.startswith("pretrained:"):
        return {"workdir": None, "pretrained": source.split(":", 1)[1]}
    folder, _, which = source.partition(":")
    return {"workdir": folder, "checkpoint": which or "latest"}


def md_cell(text: str) -> str:
    """`text` safe inside a markdown table cell (a per-level mixture holds '|')."""
    return text.replace("|", "\\|")


def judge_score(p_horse: float, p_wings: float) -> float:
    """The search's recognisability, p_horse^0.6 * p_wings^0.4, of the judge's reading."""
    a, b = pegasus.RECOGNISABILITY_POWERS
    return float(p_horse ** a * p_wings ** b)


def cached(store: dict, part: str, key: dict, compute, fresh: bool, save, present=True) -> dict:
    """`store[part]`'s result when it was measured under `key` (and `present`: its files are still there), else
    `compute()` (then saved at once)."""
    if not fresh and present and store.get(part, {}).get("key") == key:
        print(f"{part}: read back (measured before under the same settings)", flush=True)
        return store[part]["result"]
    t = time.perf_counter()
    result = compute()
    store[part] = {"key": key, "result": result, "seconds": round(time.perf_counter() - t, 1)}
    save()
    return result


def pegasus_part(name: str, source: str, out: pathlib.Path, args, evaluator_ref) -> dict:
    evaluator, ref = evaluator_ref()
    result = pegasus.run(out=out / f"pegasus_{name}", budget=args.budget, seed=0, data_dir=args.data_dir,
                         refine_steps=args.refine, reference=ref, log=lambda line: print(line, flush=True),
                         **search_kwargs(source))
    j, p = result["judge"]["pegasus"], result["pegasus"]
    return {"judge_top_class": j["top_class"], "judge_p_horse": j["p_horse"], "judge_p_wings": j["p_wings"],
            "judge_score": judge_score(j["p_horse"], j["p_wings"]),
            "batch64_horse_share": result["judge"]["batch64"]["horse_share"],
            "pick": {k: p[k] for k in ("mix", "truncation", "seed", "index", "p_horse", "p_wings", "d_percentile")},
            "eligible": result["eligible"], "budget": result["budget"]}


def batch_part(source: str, judge) -> dict:
    images, _ = batch(source, SHIPPED_MIX, SHIPPED_TRUNCATION, seed=0)
    v = pegasus.judge_verdicts(judge, images)
    return {"horse_share": v["horse_share"], "mean_p_wings": v["mean_p_wings"], "horse_with_wings": winged_horses(v)}


def verdicts(parts: dict, shipped: str, cand: str) -> dict:
    m1s, m1c = parts["measure"][shipped], parts["measure"][cand]
    one = all(m1c[k] < m1s[k] for k in LOWER_IS_BETTER) and all(m1c[k] > m1s[k] for k in HIGHER_IS_BETTER)
    two = parts["pegasus"][cand]["judge_score"] >= parts["pegasus"][shipped]["judge_score"]
    three = parts["batch"][cand]["horse_share"] >= parts["batch"][shipped]["horse_share"]
    return {"1_figures": one, "2_pegasus_judge": two, "3_batch_horse_share": three}


def report(parts: dict, names: tuple[str, str], steps: dict, verdict: dict, args) -> str:
    shipped, cand = names
    met = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    lines = [f"# Ship check: {cand} (step {steps[cand]}) against {shipped} (step {steps[shipped]})", "",
             f"(1) {args.n} samples each, seed 0, the model's classes in turn (`flagship_candidates.py`): "
             f"{met(verdict['1_figures'])}", "", f"| | {shipped} | {cand} |", "|---|---|---|"]
    for key, label, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt.format(parts["measure"][n][key]) for n in names) + " |")
    lines += ["", f"(2) `jaxgan pegasus --budget {args.budget} --refine {args.refine}`; the judge reads each pick: "
              f"{met(verdict['2_pegasus_judge'])}", "", f"| | {shipped} | {cand} |", "|---|---|---|"]
    rows2 = (("pick (evaluator's choice)", lambda r: f"`{md_cell(r['pick']['mix'])}` truncation "
                                                     f"{r['pick']['truncation']}, latent {r['pick']['index']}"),
             ("candidates passing every check", lambda r: f"{r['eligible']} of {r['budget']}"),
             ("judge: top class", lambda r: r["judge_top_class"]),
             ("judge: p(horse) / p(bird) + p(airplane)", lambda r: f"{r['judge_p_horse']:.3f} / {r['judge_p_wings']:.3f}"),
             ("judge: p_horse^0.6 p_wings^0.4", lambda r: f"{r['judge_score']:.3f}"),
             ("judge: batch of 64 under the pick's mixture, horse", lambda r: f"{r['batch64_horse_share']:.0%}"))
    for label, cell in rows2:
        lines.append(f"| {label} | " + " | ".join(cell(parts["pegasus"][n]) for n in names) + " |")
    c = parts["pegasus"][cand]
    lines += ["", "The issue's own acceptance for the Pegasus, read on the candidate (not part of the rule): the "
              f"judge's top class horse with p(bird) + p(airplane) >= {WINGS_AT_LEAST}: "
              f"{'yes' if c['judge_top_class'] == pegasus.HORSE and c['judge_p_wings'] >= WINGS_AT_LEAST else 'no'}; "
              f"its batch of 64 at least {BATCH_HORSE_SHARE:.0%} horse: "
              f"{'yes' if c['batch64_horse_share'] >= BATCH_HORSE_SHARE else 'no'}."]
    lines += ["", f"(3) images 0-63 of seed 0 under `{SHIPPED_MIX}` at truncation {SHIPPED_TRUNCATION}, nothing "
              f"selected, read by the judge: {met(verdict['3_batch_horse_share'])}", "",
              f"| | {shipped} | {cand} |", "|---|---|---|"]
    for key, label, fmt in (("horse_share", "horse", "{:.0%}"), ("mean_p_wings", "mean p(bird) + p(airplane)", "{:.3f}"),
                            ("horse_with_wings", "horses with p_wings >= 0.2", "{} of 64")):
        lines.append(f"| {label} | " + " | ".join(fmt.format(parts["batch"][n][key]) for n in names) + " |")
    lines += ["", "(4) by eye: `pegasus_x8.png` here, the shipped Pegasus left. Not decided by this script: is the "
              "candidate's Pegasus a horse at least as clear as the shipped one, and does it show anything wing-like?",
              ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("candidate", help="NAME=SOURCE (a bundle folder, pretrained:NAME, FOLDER or FOLDER:best)")
    ap.add_argument("--shipped", default="pretrained:pegasus", help="what the candidate must beat")
    ap.add_argument("--out", default=None, help="default: benchmarks/ship_check_NAME")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--budget", type=int, default=16384)
    ap.add_argument("--refine", type=int, default=100)
    ap.add_argument("--data-dir")
    ap.add_argument("--fresh", action="store_true", help="measure every part again")
    args = ap.parse_args()
    (cand, cand_source), = named_sources(ap, [args.candidate])
    if cand == "shipped":
        ap.error("name the candidate something other than 'shipped'")
    models = {"shipped": resolve(args.shipped), cand: resolve(cand_source)}
    out = pathlib.Path(args.out or f"benchmarks/ship_check_{cand}")
    out.mkdir(parents=True, exist_ok=True)
    store_file = out / "ship_check.json"
    store = json.loads(store_file.read_text())["parts"] if store_file.is_file() else {}
    record = {"parts": store}
    save = lambda: store_file.write_text(json.dumps(record, indent=1) + "\n")  # noqa: E731
    steps = {name: int(load(source)[1].step) for name, source in models.items()}
    evaluator, judge = evaluator_lib.load(), evaluator_lib.load_judge()
    ref = []  # the train split's reference, loaded once, only when a search has to run

    def evaluator_ref():
        if not ref:
            ref.append(reference_lib.load(evaluator, "train", args.data_dir, log=print))
        return evaluator, ref[0]

    parts = {"measure": {}, "pegasus": {}, "batch": {}}
    for name, source in models.items():
        base = {"source": source, "step": steps[name]}
        parts["measure"][name] = cached(store, f"measure/{name}", {**base, "n": args.n},
                                        lambda: measure(source, args.n, 0, evaluator, judge, args.data_dir),
                                        args.fresh, save)
        parts["pegasus"][name] = cached(store, f"pegasus/{name}",
                                        {**base, "budget": args.budget, "refine": args.refine},
                                        lambda: pegasus_part(name, source, out, args, evaluator_ref), args.fresh, save,
                                        present=(out / f"pegasus_{name}" / "pegasus_x8.png").is_file())
        parts["batch"][name] = cached(store, f"batch/{name}", base, lambda: batch_part(source, judge), args.fresh,
                                      save)
    from PIL import Image

    x8 = [np.asarray(Image.open(out / f"pegasus_{name}" / "pegasus_x8.png").convert("RGB")) for name in models]
    gap = np.full((x8[0].shape[0], 16, 3), 255, np.uint8)
    sampling.picture(np.concatenate([x8[0], gap, x8[1]], axis=1)[None], scale=1).save(out / "pegasus_x8.png")
    verdict = verdicts(parts, "shipped", cand)
    record.update(steps=steps, verdicts=verdict)
    save()
    text = report(parts, ("shipped", cand), steps, verdict, args)
    (out / "ship_check.md").write_text(text)
    print(text)


if __name__ == "__main__":
    try:
        main()
    except UserError as e:  # a wrong path, name or budget: one line and exit 2, as the jaxgan command does
        print(f"ship_check: error: {e}", file=sys.stderr)
        sys.exit(2)
