"""The flagship's ship rule in one command: does a candidate replace the shipped `pegasus` model?

    python benchmarks/ship_check.py [lecam=/work/flagship/lecam/candidate placed=...] [--shipped pretrained:pegasus] \
        [--out runs/ship_check] [--n 10000] [--budget 16384] [--refine 100] [--more-seeds 1,2,3] [--data-dir DIR]

Each candidate is NAME=SOURCE: an exported bundle folder (`jaxgan export`: it holds card.json), `pretrained:NAME`
(a bundle on the pretrained search path), or a run folder (`FOLDER` for its latest checkpoint, `FOLDER:best`). The
rule of issue 21 (written down in its third slice, unchanged since), checked part by part against the shipped
model:

1. the candidate's FID-C (against its own classes and against all ten) is lower and its class accuracy (by the
   evaluator and by the judge) higher than the shipped model's: `flagship_candidates.py`, `--n` samples each,
   the same seed;
2. the judge reads the candidate's Pegasus (`jaxgan pegasus --budget B --refine R`, `make pegasus`'s search: the
   evaluator selects, the judge only reads the pick) as a horse, with p_horse^0.6 * p_wings^0.4 at least the
   shipped Pegasus's;
3. under the shipped Pegasus's mixture (`horse=0.9,bird=0.05,airplane=0.05` at truncation 1.5, images 0-63 of
   seed 0, nothing selected) the judge reads at least as large a share of the candidate's batch as horses as of
   the shipped model's: `pegasus_batches.py`;
4. by eye, the candidate's Pegasus is a horse at least as clear as the shipped one. No number decides this: the
   script draws the Pegasi side by side at 8x (OUT/pegasus_x8.png, shipped left, then the candidates in the order
   given) and a person looks.

A candidate whose classes differ from the shipped model's (the 2-class horse + bird arm; written down in the
twentieth slice, before any such candidate was checked) is compared on the classes both have, which must include
horse: in part 1 both models draw only those classes, in turn, and are measured as if they were all their classes
(FID-C "own classes" then reads the same real images for both, accuracy the same classes: like for like; a shipped
column "shipped[bird,horse]" is added); in part 3 both are asked the shipped mixture less the classes the candidate
lacks, renormalised (`horse=0.947368,bird=0.0526316` for horse + bird). Part 2 is unchanged: each model's own
search, the judge reading the pick. A candidate with every class of the shipped model and more (all ten: thirty-first
slice, written down before its check) draws only the shipped model's classes in parts 1 and 3 and is compared with the
shipped model as it is; its figures on all its classes are `jaxgan eval`'s.

`--more-seeds` (not the rule; informative): parts 1-3 again under further seeds, for the shipped model and each
candidate, tabled beside seed 0's with their means, and for each candidate the number of seeds under which it meets
each part. One draw can decide a part: the Pegasus's bird reading is largely the draw (the shipped model's own search
clears the issue's 0.2 under 4 seeds of 18: RESULTS, forty-second slice), and so is part 3's batch of 64 (`pen_decay`
misses it under seed 0 by six horses and meets it under 11 seeds of 20: forty-third slice); part 1's 10k samples
are steadier. The rule still reads seed 0 only. Each further seed costs a model about as much as seed 0 (part 1
about 1.5 minutes per column on one core, part 2's search 3-4; part 2's refinement is skipped: it does not move the
pick).

Writes OUT/ship_check.md (the figures and a verdict per candidate for parts 1-3), OUT/ship_check.json,
OUT/pegasus_x8.png and each model's search folder OUT/pegasus_NAME/ (everything `jaxgan pegasus` writes). A part
already measured for the same model at the same step with the same settings is read back from OUT/ship_check.json
instead of measured again (`--fresh` measures everything): the shipped model's side (7.7 minutes on 2 cores
beside two trainers; a candidate takes 3.5-4 minutes on them idle) is measured once per OUT folder, a later
slice's candidates are checked against it, and a re-run after a crash resumes where it stopped. What a slice keeps
in the repository is OUT's ship_check.md, .json and pegasus_x8.png (benchmarks/ship_check_*.md etc.); the search
folders stay in OUT.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

from flagship_candidates import ROWS, load, measure, named_sources, table_head, table_row
from pegasus_batches import WINGS_AT_LEAST, batch, winged_horses
from jaxgan import evaluator as evaluator_lib, pegasus, pretrained, sampling, wings
from jaxgan.config import CIFAR10_CLASSES
from jaxgan.errors import UserError
from jaxgan.metrics import reference as reference_lib

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

SHIPPED_MIX, SHIPPED_TRUNCATION = "horse=0.9,bird=0.05,airplane=0.05", 1.5
LOWER_IS_BETTER = ("fid_c_classes", "fid_c")
HIGHER_IS_BETTER = ("class_accuracy", "judge_class_accuracy")
BATCH_HORSE_SHARE = 0.5  # issue 21: at least half of the Pegasus's batch of 64 is horse to the judge


def resolve(name: str, source: str, links: pathlib.Path) -> str:
    """`source` in `flagship_candidates.load`'s syntax. A bundle folder (it holds card.json) becomes
    `pretrained:ship_check_NAME`, through a link of that name in `links`, a folder put on the pretrained search
    path: exported bundles are all named `candidate`, and one must not shadow another or the shipped model."""
    path = pathlib.Path(source)
    if not (path / pretrained.CARD).is_file():
        return source
    link = links / f"ship_check_{name}"
    link.unlink(missing_ok=True)
    link.symlink_to(path.resolve(), target_is_directory=True)
    if str(links) not in os.environ.get(pretrained.PATH_ENV, "").split(os.pathsep):
        os.environ[pretrained.PATH_ENV] = os.pathsep.join([str(links), os.environ.get(pretrained.PATH_ENV, "")])
    return f"pretrained:{link.name}"


def restricted_mix(mix: str, names: list[str]) -> str:
    """`mix` ("class=weight,...") less the classes not in `names`, the rest renormalised to sum to 1."""
    weights = {k: float(v) for k, v in (item.split("=") for item in mix.split(","))}
    kept = {k: w for k, w in weights.items() if k in names}
    total = sum(kept.values())
    return ",".join(f"{k}={w / total:.6g}" for k, w in kept.items())


def comparison(ids: dict[str, tuple[int, ...]]) -> tuple[dict, list[str], dict]:
    """Who is compared with whom, on which classes.

    Args:
      ids: each model's CIFAR-10 class ids, "shipped" first, then the candidates.

    Returns:
      (against, columns, drawn): the column each candidate is compared with ("shipped", or "shipped[bird,horse]":
      the shipped model on the classes both have, where the shipped model has classes the candidate lacks); the
      columns of the tables, in order; and what each column draws (None: all its model's classes; else the ids).
      A candidate with more classes than the shipped model draws only the shipped model's and is compared with
      "shipped" itself.

    Example:
      >>> against, columns, drawn = comparison({"shipped": (0, 2, 4, 7), "two": (2, 7), "ten": tuple(range(10))})
      >>> against, columns
      ({'two': 'shipped[bird,horse]', 'ten': 'shipped'}, ['shipped', 'shipped[bird,horse]', 'two', 'ten'])
      >>> drawn
      {'shipped': None, 'shipped[bird,horse]': (2, 7), 'two': None, 'ten': (0, 2, 4, 7)}
    """
    names = list(ids)
    shared = {name: shared_classes(ids["shipped"], ids[name]) for name in names[1:]}
    label = lambda cs: "shipped[" + ",".join(CIFAR10_CLASSES[c] for c in cs) + "]"  # noqa: E731
    against = {name: "shipped" if cs is None or set(cs) == set(ids["shipped"]) else label(cs)
               for name, cs in shared.items()}
    columns = ["shipped"] + list(dict.fromkeys(a for a in against.values() if a != "shipped")) + names[1:]
    drawn = {"shipped": None, **{against[n]: shared[n] for n in names[1:] if against[n] != "shipped"},
             **{n: None if cs is None or set(cs) == set(ids[n]) else cs for n, cs in shared.items()}}
    return against, columns, {col: drawn[col] for col in columns}


def shared_classes(shipped_ids, candidate_ids) -> tuple[int, ...] | None:
    """The CIFAR-10 ids a candidate is compared on (in the candidate's order), or None when its classes are the
    shipped model's (the rule as first written). UserError when horse is not among them: no Pegasus to compare."""
    if set(candidate_ids) == set(shipped_ids):
        return None
    shared = tuple(c for c in candidate_ids if c in shipped_ids)
    if CIFAR10_CLASSES.index(pegasus.HORSE) not in shared:
        raise UserError(f"the candidate's classes ({', '.join(CIFAR10_CLASSES[c] for c in candidate_ids)}) share no "
                        f"horse with the shipped model's ({', '.join(CIFAR10_CLASSES[c] for c in shipped_ids)})")
    return shared


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


def seed_list(text: str | None) -> tuple[int, ...]:
    """`--more-seeds`' value: the further seeds of parts 1-3.

    Args:
      text: comma-separated distinct positive integers (0 is the rule's own seed), or None.

    Returns:
      The seeds in the order given; () for None.

    Example:
      >>> seed_list("1,2,3"), seed_list(None)
      ((1, 2, 3), ())
      >>> seed_list("1,0")
      Traceback (most recent call last):
      ...
      jaxgan.errors.UserError: --more-seeds: 0 is the rule's own seed; give others, e.g. 1,2,3
    """
    if text is None:
        return ()
    try:
        seeds = tuple(int(item) for item in text.split(","))
    except ValueError:
        raise UserError(f"--more-seeds: comma-separated whole numbers, e.g. 1,2,3, got '{text}'") from None
    if 0 in seeds:
        raise UserError("--more-seeds: 0 is the rule's own seed; give others, e.g. 1,2,3")
    if min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise UserError(f"--more-seeds: distinct seeds of at least 1, got '{text}'")
    return seeds


def search_folder(out: pathlib.Path, name: str, seed: int) -> pathlib.Path:
    """Where model `name`'s search under `seed` writes (seed 0: part 2's own folder)."""
    return out / (f"pegasus_{name}" + (f"_seed{seed}" if seed else ""))


def pegasus_part(name: str, source: str, out: pathlib.Path, args, evaluator_ref, seed: int = 0) -> dict:
    """Part 2's search on one model under `seed`, the judge's reading of its pick. The further seeds skip the
    refinement: it is reported apart and does not move the pick."""
    evaluator, ref = evaluator_ref()
    result = pegasus.run(out=search_folder(out, name, seed), budget=args.budget, seed=seed, data_dir=args.data_dir,
                         refine_steps=0 if seed else args.refine, reference=ref,
                         log=lambda line: print(line, flush=True), **search_kwargs(source))
    j, p = result["judge"]["pegasus"], result["pegasus"]
    return {"judge_top_class": j["top_class"], "judge_p_horse": j["p_horse"], "judge_p_wings": j["p_wings"],
            "judge_score": judge_score(j["p_horse"], j["p_wings"]),
            "batch64_horse_share": result["judge"]["batch64"]["horse_share"],
            "pick": {k: p[k] for k in ("mix", "truncation", "seed", "index", "p_horse", "p_wings", "d_percentile")},
            "eligible": result["eligible"], "budget": result["budget"]}


def batch_part(source: str, judge, mix: str = SHIPPED_MIX, seed: int = 0) -> dict:
    """Part 3 on one model: the judge's reading of images 0-63 of `seed` under `mix`, nothing selected."""
    images, _ = batch(source, mix, SHIPPED_TRUNCATION, seed=seed)
    v = pegasus.judge_verdicts(judge, images)
    return {"horse_share": v["horse_share"], "mean_p_wings": v["mean_p_wings"], "horse_with_wings": winged_horses(v)}


def verdicts(parts: dict, shipped: str, cand: str) -> dict:
    """Parts 1-3 of the rule for candidate `cand` against `shipped` (its column, "shipped" or "shipped[...]" for a
    candidate with other classes): {part: met}."""
    m1s, m1c = parts["measure"][shipped], parts["measure"][cand]
    one = all(m1c[k] < m1s[k] for k in LOWER_IS_BETTER) and all(m1c[k] > m1s[k] for k in HIGHER_IS_BETTER)
    p2c = parts["pegasus"][cand]
    two = p2c["judge_top_class"] == pegasus.HORSE and p2c["judge_score"] >= parts["pegasus"][shipped]["judge_score"]
    three = parts["batch"][cand]["horse_share"] >= parts["batch"][shipped]["horse_share"]
    return {"1_figures": one, "2_pegasus_judge": two, "3_batch_horse_share": three}


def report(parts: dict, names: list[str], steps: dict, verdict: dict, args, against: dict, mixes: dict,
           drawn: dict) -> str:
    """ship_check.md: a table per part, `names[0]` the shipped model (then the shipped model on a candidate's
    classes, where one has other classes: `against`), a verdict line per candidate (`drawn`: `comparison`'s)."""
    met = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    head = table_head(f"{n} ({steps[n]})" for n in names)
    row = lambda label, cell, part: table_row(label, (cell(parts[part][n]) for n in names))  # noqa: E731
    says = lambda key: "; ".join(f"{n}: {met(verdict[n][key])}" for n in verdict) or "no candidate given"  # noqa
    other = {n: a for n, a in against.items() if a != "shipped"}
    more = {n: drawn[n] for n, a in against.items() if a == "shipped" and drawn[n]}  # a superset of the classes
    lines = [f"# Ship check against `{args.shipped}` (steps in brackets)", "",
             f"(1) {args.n} samples each, seed 0, the model's classes in turn (`flagship_candidates.py`); lower FID-C "
             f"(both) and higher class accuracy (both) than the shipped model: {says('1_figures')}", "",
             *([" ".join(f"{n} has other classes than the shipped model: compared with {a}, the shipped model "
                         f"drawing only the classes both have." for n, a in other.items()), ""] if other else []),
             *([" ".join(f"{n} has classes the shipped model lacks: it draws only the shipped model's here ("
                         + ", ".join(CIFAR10_CLASSES[c] for c in cs) + ")." for n, cs in more.items()), ""]
               if more else []),
             *head]
    lines += [row(label, lambda r, k=key, f=fmt: f.format(r[k]), "measure") for key, label, fmt in ROWS]
    lines += ["", f"(2) `jaxgan pegasus --budget {args.budget} --refine {args.refine}`, the evaluator selects, the "
              f"judge reads the pick; a horse, its p_horse^0.6 p_wings^0.4 at least the shipped Pegasus's: "
              f"{says('2_pegasus_judge')}", "", *head]
    rows2 = (("pick (evaluator's choice)", lambda r: f"`{md_cell(r['pick']['mix'])}` truncation "
                                                     f"{r['pick']['truncation']}, latent {r['pick']['index']}"),
             ("candidates passing every check", lambda r: f"{r['eligible']} of {r['budget']}"),
             ("judge: top class", lambda r: r["judge_top_class"]),
             ("judge: p(horse) / p(bird) + p(airplane)",
              lambda r: f"{r['judge_p_horse']:.3f} / {r['judge_p_wings']:.3f}"),
             ("judge: p_horse^0.6 p_wings^0.4", lambda r: f"{r['judge_score']:.3f}"),
             ("judge: batch of 64 under the pick's mixture, horse", lambda r: f"{r['batch64_horse_share']:.0%}"))
    lines += [row(label, cell, "pegasus") for label, cell in rows2]
    lines += ["", "The issue's own acceptance for the Pegasus (not part of the rule): the judge's top class horse with "
              f"p(bird) + p(airplane) >= {WINGS_AT_LEAST}, and at least {BATCH_HORSE_SHARE:.0%} of its batch of 64 "
              "horse: " + "; ".join(f"{n}: {'yes' if acceptance(parts['pegasus'][n]) else 'no'}"
                                    for n in names if n not in other.values()) + ".",
              "", f"(3) images 0-63 of seed 0 under `{SHIPPED_MIX}` at truncation {SHIPPED_TRUNCATION}, nothing "
              f"selected, read by the judge; a horse share at least the shipped model's: {says('3_batch_horse_share')}",
              "", *([" ".join(f"{n} and {a}: under `{mixes[n]}`, the shipped mixture less the classes {n} lacks."
                              for n, a in other.items()), ""] if other else []), *head]
    lines += [row(label, lambda r, k=key, f=fmt: f.format(r[k]), "batch")
              for key, label, fmt in (("horse_share", "horse", "{:.0%}"),
                                      ("mean_p_wings", "mean p(bird) + p(airplane)", "{:.3f}"),
                                      ("horse_with_wings", "horses with p_wings >= 0.2", "{} of 64"))]
    lines += ["", "(4) by eye: `pegasus_x8.png` here, left to right "
              + ", ".join(n for n in names if n not in other.values()) + ". Not decided by this "
              "script: is a candidate's Pegasus a horse at least as clear as the shipped one, and does it show "
              "anything wing-like?", ""]
    return "\n".join(lines)


def over_seeds(readings: list[dict]) -> dict:
    """Part 2's readings over several seeds' searches of one model (informative: the rule reads seed 0 only).

    Args:
      readings: `pegasus_part`'s results, one per seed.

    Returns:
      {"searches", "horse_picks": picks the judge reads as horse, "mean_judge_score", "mean_p_wings",
      "mean_batch64_horse_share", "acceptance": picks meeting the issue's Pegasus acceptance (`acceptance`)}.

    Example:
      >>> r = lambda top, h, w, b: {"judge_top_class": top, "judge_p_horse": h, "judge_p_wings": w,
      ...                           "judge_score": judge_score(h, w), "batch64_horse_share": b}
      >>> s = over_seeds([r("horse", 0.6, 0.25, 0.8), r("horse", 0.9, 0.01, 0.9), r("bird", 0.2, 0.7, 0.4)])
      >>> s["searches"], s["horse_picks"], s["acceptance"], round(s["mean_p_wings"], 3)
      (3, 2, 1, 0.32)
    """
    mean = lambda key: float(np.mean([r[key] for r in readings]))  # noqa: E731
    return {"searches": len(readings), "horse_picks": sum(r["judge_top_class"] == pegasus.HORSE for r in readings),
            "mean_judge_score": mean("judge_score"), "mean_p_wings": mean("judge_p_wings"),
            "mean_batch64_horse_share": mean("batch64_horse_share"),
            "acceptance": sum(acceptance(r) for r in readings)}


def seeds_report(by_seed: dict[str, dict[int, dict]], names: list[str]) -> list[str]:
    """ship_check.md's informative table: each model's Pegasus under every seed searched (`by_seed[name][seed]`)."""
    seeds = sorted(next(iter(by_seed.values())))
    cells = lambda name, fmt: " / ".join(fmt(by_seed[name][s]) for s in seeds)  # noqa: E731
    summary = {name: over_seeds([by_seed[name][s] for s in seeds]) for name in names}
    rows = (("judge: top class", lambda n: cells(n, lambda r: r["judge_top_class"])),
            ("judge: p(bird) + p(airplane)", lambda n: cells(n, lambda r: f"{r['judge_p_wings']:.2f}")
             + f" (mean {summary[n]['mean_p_wings']:.3f})"),
            ("judge: p_horse^0.6 p_wings^0.4", lambda n: cells(n, lambda r: f"{r['judge_score']:.3f}")
             + f" (mean {summary[n]['mean_judge_score']:.3f})"),
            ("judge: batch of 64, horse", lambda n: cells(n, lambda r: f"{r['batch64_horse_share']:.0%}")
             + f" (mean {summary[n]['mean_batch64_horse_share']:.0%})"),
            ("the issue's Pegasus acceptance", lambda n: f"{summary[n]['acceptance']} of {summary[n]['searches']}"))
    return ["", f"(2, not the rule) part 2's search under seeds {', '.join(map(str, seeds))} (seed 0 is part 2's own; "
            "the others `--more-seeds`', their refinement skipped: it does not move the pick), the judge reading each "
            "pick; per seed in that order:", "",
            *table_head(names), *[table_row(label, (cell(n) for n in names)) for label, cell in rows]]


def figures_report(runs: dict[int, dict], columns: list[str]) -> list[str]:
    """ship_check.md's informative table of parts 1 and 3 under every seed measured (`runs[seed]`: the parts
    as `verdicts` reads them): the figures the rule compares, per seed with their mean."""
    seeds = sorted(runs)
    rows = [(f"(1) {label}", fmt, "measure", key) for key, label, fmt in ROWS
            if key in LOWER_IS_BETTER + HIGHER_IS_BETTER]
    rows.append(("(3) batch of 64 under the shipped mixture, horse", "{:.0%}", "batch", "horse_share"))

    def cell(col, fmt, part, key):
        values = [runs[s][part][col][key] for s in seeds]
        return " / ".join(fmt.format(v) for v in values) + f" (mean {fmt.format(float(np.mean(values)))})"

    return ["", f"(1 and 3, not the rule) parts 1 and 3 under seeds {', '.join(map(str, seeds))} (seed 0 is the rule's "
            "own, the others `--more-seeds`'); per seed in that order:", "",
            *table_head(columns),
            *[table_row(label, (cell(c, fmt, part, key) for c in columns)) for label, fmt, part, key in rows]]


def met_over_seeds(by_seed: dict[int, dict]) -> dict:
    """How often one candidate meets each part of the rule over several seeds (informative: the rule reads seed 0).

    Args:
      by_seed: {seed: `verdicts`' result for the candidate under that seed}.

    Returns:
      {"seeds": the seeds, sorted, then per part: under how many of them it is met}.

    Example:
      >>> v = lambda one, two, three: {"1_figures": one, "2_pegasus_judge": two, "3_batch_horse_share": three}
      >>> met_over_seeds({0: v(False, False, False), 2: v(False, True, True), 1: v(False, False, True)})
      {'seeds': [0, 1, 2], '1_figures': 0, '2_pegasus_judge': 1, '3_batch_horse_share': 2}
    """
    seeds = sorted(by_seed)
    return {"seeds": seeds, **{part: sum(bool(by_seed[s][part]) for s in seeds) for part in by_seed[seeds[0]]}}


def met_report(met: dict[str, dict]) -> list[str]:
    """ship_check.md's line per candidate: under how many seeds it meets each part (`met_over_seeds`' results)."""
    return ["", *(f"{name} meets, of {len(m['seeds'])} seeds: part 1 under {m['1_figures']}, part 2 under "
                  f"{m['2_pegasus_judge']}, part 3 under {m['3_batch_horse_share']} (not the rule: it reads seed 0)."
                  for name, m in met.items())]


def acceptance(r: dict) -> bool:
    """Issue 21's reading of a Pegasus: the judge's top class horse with p_wings >= 0.2, its batch half horse."""
    return (r["judge_top_class"] == pegasus.HORSE and r["judge_p_wings"] >= WINGS_AT_LEAST
            and r["batch64_horse_share"] >= BATCH_HORSE_SHARE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("candidates", nargs="*", help="NAME=SOURCE (a bundle folder, pretrained:NAME, FOLDER or "
                                                  "FOLDER:best); none: measure the shipped side only, ahead of them")
    ap.add_argument("--shipped", default="pretrained:pegasus", help="what a candidate must beat")
    ap.add_argument("--out", default="runs/ship_check", help="a folder outside git (runs/ is ignored): the searches "
                                                             "write several MB of pictures per model")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--budget", type=int, default=16384)
    ap.add_argument("--refine", type=int, default=100)
    ap.add_argument("--more-seeds", help="e.g. 1,2,3: part 2's search again under these seeds too, tabled apart "
                                         "(not the rule)")
    ap.add_argument("--data-dir")
    ap.add_argument("--fresh", action="store_true", help="measure every part again")
    args = ap.parse_args()
    more_seeds = seed_list(args.more_seeds)
    pairs = named_sources(ap, args.candidates)
    names = ["shipped"] + [name for name, _ in pairs]
    if len(set(names)) != len(names) or any(n.startswith("shipped") for n in names[1:]):
        ap.error("give each candidate its own name, none of them starting with 'shipped' (the shipped model's columns)")
    out = pathlib.Path(args.out)
    (out / "links").mkdir(parents=True, exist_ok=True)
    given = {"shipped": args.shipped, **dict(pairs)}
    models = {name: resolve(name, source, (out / "links").resolve()) for name, source in given.items()}
    store_file = out / "ship_check.json"
    store = json.loads(store_file.read_text())["parts"] if store_file.is_file() else {}
    record = {"parts": store}
    save = lambda: store_file.write_text(json.dumps(record, indent=1) + "\n")  # noqa: E731
    loaded = {name: load(source) for name, source in models.items()}
    steps = {name: int(state.step) for name, (_, state) in loaded.items()}
    ids = {name: tuple(cfg.class_ids) for name, (cfg, _) in loaded.items()}
    del loaded
    against, columns, drawn = comparison(ids)
    model_of = {col: "shipped" if col.startswith("shipped") else col for col in columns}
    compared_on = {col: cs or ids[model_of[col]] for col, cs in drawn.items()}
    mixes = {col: SHIPPED_MIX if set(cs) >= set(ids["shipped"])
             else restricted_mix(SHIPPED_MIX, [CIFAR10_CLASSES[c] for c in cs]) for col, cs in compared_on.items()}
    steps.update({col: steps["shipped"] for col in columns if col not in steps})
    evaluator, judge = evaluator_lib.load(), evaluator_lib.load_judge()
    ref = []  # the train split's reference, loaded once, only when a search has to run

    def evaluator_ref():
        if not ref:
            ref.append(reference_lib.load(evaluator, "train", args.data_dir, log=print))
        return evaluator, ref[0]

    def parts_under(seed: int) -> dict:
        """Parts 1-3 under `seed` for every column, each read back when measured before under the same settings
        (seed 0 under the names and keys it has always had, so older OUT folders still read back)."""
        tag, at = (f"/seed{seed}", {"seed": seed}) if seed else ("", {})
        parts = {"measure": {}, "pegasus": {}, "batch": {}}
        for col in columns:
            name, source, classes, mix = model_of[col], models[model_of[col]], drawn[col], mixes[col]
            base = {"source": given[name], "step": steps[name]}
            parts["measure"][col] = cached(
                store, f"measure/{col}{tag}", {**base, "n": args.n, **({"classes": list(classes)} if classes else {}),
                                               **at},
                lambda: measure(source, args.n, seed, evaluator, judge, args.data_dir, classes), args.fresh, save)
            parts["batch"][col] = cached(store, f"batch/{col}{tag}",
                                         {**base, **({"mix": mix} if mix != SHIPPED_MIX else {}), **at},
                                         lambda: batch_part(source, judge, mix, seed), args.fresh, save)
            if col != name:  # the shipped model on other classes: its Pegasus is the shipped one
                parts["pegasus"][col] = parts["pegasus"][name]
                continue
            parts["pegasus"][name] = cached(
                store, f"pegasus/{name}{tag}",
                # the search's horse reading (a search before 2026-12-04 read one view)
                {**base, "budget": args.budget, "steady_shifts": list(wings.STEADY_SHIFTS),
                 **(at or {"refine": args.refine})},
                lambda: pegasus_part(name, source, out, args, evaluator_ref, seed=seed), args.fresh, save,
                present=(search_folder(out, name, seed) / "pegasus_x8.png").is_file())
        return parts

    runs = {seed: parts_under(seed) for seed in (0, *more_seeds)}
    parts = runs[0]
    from PIL import Image

    x8 = [np.asarray(Image.open(search_folder(out, name, 0) / "pegasus_x8.png").convert("RGB")) for name in names]
    gap = np.full((x8[0].shape[0], 16, 3), 255, np.uint8)
    side = np.concatenate([part for img in x8 for part in (img, gap)][:-1], axis=1)
    sampling.picture(side[None]).save(out / "pegasus_x8.png")
    verdict = {name: verdicts(parts, against[name], name) for name in names[1:]}
    by_seed = {name: {seed: runs[seed]["pegasus"][name] for seed in runs} for name in names}
    met = {name: met_over_seeds({seed: verdicts(runs[seed], against[name], name) for seed in runs})
           for name in names[1:]}
    record.update(steps=steps, verdicts=verdict, against=against, mixes=mixes,
                  **({"over_seeds": {name: {"seeds": sorted(by_seed[name]),
                                            **over_seeds([by_seed[name][s] for s in sorted(by_seed[name])])}
                                     for name in names},
                      "verdicts_over_seeds": met} if more_seeds else {}))
    save()
    text = report(parts, columns, steps, verdict, args, against, mixes, drawn)
    if more_seeds:
        text += "\n".join(figures_report(runs, columns) + seeds_report(by_seed, names) + met_report(met)) + "\n"
    (out / "ship_check.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(run_main(main, "ship_check"))
