"""How much the ship rule's part 2 moves with the view: the judge's reading of a Pegasus over 18 views.

    python benchmarks/judge_views.py shipped=docs/pegasus/pegasus.png \
        pretanh03_110000=/work/flagship/shipcheck/pegasus_pretanh03/pegasus.png [...] [--out benchmarks/judge_views]

Part 2 of the ship rule (`ship_check.py`) compares one number per model: the judge's p_horse^0.6 p_wings^0.4 of
the Pegasus as drawn. When neither Pegasus has a wing, p_wings is a few hundredths and the comparison may be decided
by how an ambiguous edge happens to fall. This reads each picture (a 32x32 PNG as `jaxgan pegasus` writes it) in
the 18 views of `wings.steady_views` (mirrored or not, shifted by -2, 0 or 2 pixels each way, edges repeated) and
prints the part-2 score of the view as drawn beside its mean, min and max over the 18: a reading that a 2-pixel
shift moves past the other model's is not evidence either way. A report for the owner of the rule; it changes
nothing (the rule stays as written; see RESULTS, seventeenth slice). Writes OUT.json and OUT.md.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import jax.numpy as jnp
import numpy as np
from PIL import Image

from ship_check import judge_score
from jaxgan import evaluator as evaluator_lib, pegasus, wings
from jaxgan.errors import UserError

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

# The unmirrored, unshifted view's index in `steady_views` (rows outer, columns inner, unmirrored first).
AS_DRAWN = wings.STEADY_SHIFTS.index(0) * (len(wings.STEADY_SHIFTS) + 1)


def readings(judge, image: np.ndarray) -> dict:
    """The judge's p_horse, p_wings (bird + airplane) and p_horse^0.6 p_wings^0.4 in each of the 18 views.

    Args:
      judge: an `Evaluator` (`evaluator_lib.load_judge()`).
      image: one uint8 image, (32, 32, 3).

    Returns:
      {"p_horse", "p_wings", "score"}: each an array of 18 in `steady_views` order (the view as drawn at AS_DRAWN),
      read as `pegasus.judge_verdicts` reads the Pegasus in the ship check.
    """
    views = wings.steady_views(jnp.asarray(image)[None])  # shifts and mirrors only: uint8 values kept exactly
    read = pegasus.judge_verdicts(judge, np.concatenate([np.asarray(v) for v in views]))["images"]
    p_horse, p_wings = (np.array([r[k] for r in read]) for k in ("p_horse", "p_wings"))
    return {"p_horse": p_horse, "p_wings": p_wings,
            "score": np.array([judge_score(h, w) for h, w in zip(p_horse, p_wings)])}  # part 2's own score


def picture(spec: str) -> tuple[str, str, np.ndarray]:
    """`NAME=PNG` as (name, path, its 32x32x3 uint8 pixels); a `UserError` naming the argument otherwise."""
    name, sep, path = spec.partition("=")
    if not sep or not pathlib.Path(path).is_file():
        raise UserError(f"{spec!r}: expected NAME=PNG, an existing 32x32 picture")
    image = np.asarray(Image.open(path).convert("RGB"))
    if image.shape != (32, 32, 3):
        raise UserError(f"{path}: {image.shape[1]}x{image.shape[0]}, expected the 32x32 pegasus.png")
    return name, path, image


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pictures", nargs="+", metavar="NAME=PNG")
    ap.add_argument("--out", default="benchmarks/judge_views")
    args = ap.parse_args()
    pictures = [picture(spec) for spec in args.pictures]  # every argument checked before the judge loads
    judge = evaluator_lib.load_judge()
    results, lines = {}, ["| Pegasus | view as drawn: p_horse / p_wings / score | 18 views: mean score | min - max "
                          "| p_wings min - max |", "| --- | --- | --- | --- | --- |"]
    for name, path, image in pictures:
        r = readings(judge, image)
        first = {k: round(float(v[AS_DRAWN]), 4) for k, v in r.items()}
        results[name] = {"picture": path, "as_drawn": first,
                         **{f"{k}_{f.__name__}": round(float(f(v)), 4) for k, v in r.items()
                            for f in (np.mean, np.min, np.max)}}
        s = results[name]
        lines.append(f"| {name} | {first['p_horse']:.3f} / {first['p_wings']:.3f} / **{first['score']:.3f}** "
                     f"| {s['score_mean']:.3f} | {s['score_min']:.3f} - {s['score_max']:.3f} "
                     f"| {s['p_wings_min']:.3f} - {s['p_wings_max']:.3f} |")
        print(lines[-1], flush=True)
    out = pathlib.Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out}.json and {out}.md")


if __name__ == "__main__":
    sys.exit(run_main(main, "judge_views"))
