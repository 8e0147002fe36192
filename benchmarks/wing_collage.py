"""Wings by feature collage: a wing source's features moved into a box above a horse's back inside the generator.

    python benchmarks/wing_collage.py obj=pretrained:candidate [--truncation 1.0] [--seed 0] \
        [--out benchmarks/wing_collage]

Spatial class maps change how G *modulates* its features in a region, not what the region's features *are*:
the layout comes from z, so a wing class above the back paints a sky band (RESULTS, the sixth and seventh slices).
Feature collage (Suzuki et al. 2018, "Spatially controllable image synthesis with internal representation
collaging") swaps the features themselves: images 0-63 of seed `--seed` under `horse=1` are generated beside
images 0-63 of seed `--seed` + 1 under a wing class (airplane or bird: planes and birds with spread wings), and
after one of G's blocks (`LEVELS`: the 4x4 tensor from z, or the output of the first up-block, 8x8) the wing
source's features from lower down (`SOURCE_SHIFT` pixels, where CIFAR-10 centres its subjects) replace the horse's
in a box above the back (`BOX`, pixels of 32); the layers after it harmonise the join. Each collage is tried with
the box conditioned as horse and as the wing class. Nothing is selected; the judge, which never selects, reads each
batch (its share of horses, mean p(bird) + p(airplane), horses with p_wings >= 0.2). Writes OUT.png (per model and
setting, the first 16 images at 3x: horse, wing source, collage), OUT.json and OUT.md.

The swap is made by intercepting a module's output (`flax.linen.intercept_methods`), so the generator itself is
unchanged; it needs a `cdcgan` model (the first Dense and the `UpsampleConv` blocks of `DCGANGenerator`).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from flagship_candidates import load, named_sources
from pegasus_batches import WINGS_AT_LEAST, winged_horses
from jaxgan import data, evaluator as evaluator_lib, models, pegasus, sampling
from jaxgan.layers import UpsampleConv
from jaxgan.models.biggan import DCGANGenerator

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

N, SHOWN = 64, 16
BOX = (2, 12, 3, 29)  # rows y0:y1, columns x0:x1 (pixels of 32): cells centred in it get the source's features
SOURCE_SHIFT = 8  # the source's features come from this many pixels lower (its subject sits in the middle)
LEVELS = {"4x4 (from z)": "Dense_0", "8x8 (first up-block)": "UpsampleConv_0"}


def box_mask(size: int) -> np.ndarray:
    """bool (size, size): the cells of a size x size feature map whose centres lie in `BOX` (pixels of 32).

    Example:
      >>> box_mask(4).astype(int).tolist()
      [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    """
    centre = (np.arange(size) + 0.5) * 32 / size
    rows, cols = (centre >= BOX[0]) & (centre < BOX[1]), (centre >= BOX[2]) & (centre < BOX[3])
    return rows[:, None] & cols[None, :]


def collage_images(g, state, z_horse, z_source, y_target, y_source, module: str | None) -> tuple:
    """(targets, sources) uint8: the generator module `g` on both halves in one batch, the targets' features inside
    the box replaced by the sources' (shifted up by SOURCE_SHIFT) at the output of its `module` (None: no swap)."""
    n = len(z_horse)

    def swap(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if (module is None or context.method_name != "__call__" or context.module.name != module
                or not isinstance(context.module.parent, DCGANGenerator)):
            return out
        maps = out if out.ndim == 4 else out.reshape(out.shape[0], 4, 4, -1)  # the Dense's output is the 4x4 map
        size = maps.shape[1]
        moved = jnp.roll(maps[n:], -SOURCE_SHIFT * size // 32, axis=1)
        target = jnp.where(jnp.asarray(box_mask(size))[None, :, :, None], moved, maps[:n])
        return jnp.concatenate([target, maps[n:]]).reshape(out.shape)

    with nn.intercept_methods(swap):
        x = g.apply(state.ema.variables, jnp.concatenate([z_horse, z_source]),
                    jnp.concatenate([y_target, y_source]), train=False)
    x = np.asarray(data.to_uint8(x))
    return x[:n], x[n:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=SOURCE (pretrained:NAME, FOLDER or FOLDER:best)")
    ap.add_argument("--truncation", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/wing_collage")
    args = ap.parse_args()
    pairs = named_sources(ap, args.models)
    judge = evaluator_lib.load_judge()

    def verdict(images):
        v = pegasus.judge_verdicts(judge, images)
        return {"horse_share": v["horse_share"], "mean_p_wings": v["mean_p_wings"], "winged_horses": winged_horses(v)}

    result = {"truncation": args.truncation, "seed": args.seed, "n": N, "box": BOX, "source_shift": SOURCE_SHIFT,
              "models": {}}
    lines = ["| model | wing source | swapped at | box conditioned as | judge: horse | mean p_wings | "
             f"horses with p_wings >= {WINGS_AT_LEAST} |", "|---|---|---|---|---|---|---|"]
    sheets = []
    for name, source in pairs:
        cfg, state = load(source)
        if cfg.model != "cdcgan":
            ap.error(f"{name}: feature collage needs a cdcgan model, not {cfg.model}")

        def labels(mix):
            m = sampling.parse_mix(mix, cfg)
            return jnp.asarray(np.broadcast_to(m, (N,) + m.shape))

        z_horse = sampling.latents(args.seed, 0, N, cfg.z_dim, args.truncation)
        z_source = sampling.latents(args.seed + 1, 0, N, cfg.z_dim, args.truncation)
        # Every input a class map (uniform ones included), so one compiled shape serves all.
        horse = labels("horse=1; horse=1@0,0")
        r, c = np.nonzero(box_mask(4).any(1))[0], np.nonzero(box_mask(4).any(0))[0]
        cells = f"{r[0]}-{r[-1]},{c[0]}-{c[-1]}"  # the class map's cells (4x4) centred in the box
        g, _ = models.build(cfg)
        plain, _ = collage_images(g, state, z_horse, z_source, horse, horse, None)
        rows = {"horse": verdict(plain)}
        lines.append(f"| {name} (step {int(state.step)}) | - | - | - | {rows['horse']['horse_share']:.0%} | "
                     f"{rows['horse']['mean_p_wings']:.3f} | {rows['horse']['winged_horses']}/{N} |")
        for wing in pegasus.WINGS:
            y_source = labels(f"{wing}=1; {wing}=1@0,0")
            for level, module in LEVELS.items():
                for as_class, y_target in (("horse", horse), (wing, labels(f"horse=1; {wing}=1@{cells}"))):
                    images, sources = collage_images(g, state, z_horse, z_source, y_target, y_source, module)
                    key = f"{wing} / {level} / {as_class}"
                    rows[key] = verdict(images)
                    lines.append(f"| {name} | {wing} | {level} | {as_class} | {rows[key]['horse_share']:.0%} | "
                                 f"{rows[key]['mean_p_wings']:.3f} | {rows[key]['winged_horses']}/{N} |")
                    sheets.append(np.concatenate([np.concatenate(list(x[:SHOWN]), axis=1)
                                                  for x in (plain, sources, images)]))
        result["models"][name] = {"source": source, "step": int(state.step), "batches": rows}
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet = np.concatenate([np.pad(s, ((0, 4), (0, 0), (0, 0)), constant_values=255) for s in sheets])
    sampling.picture(sheet[None], scale=3).save(out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    settings = [f"{w} / {lv} / box as {c}" for w in pegasus.WINGS for lv in LEVELS for c in ("horse", w)]
    md = [f"Images 0-{N - 1} of seed {args.seed} (horse) and {args.seed + 1} (wing source), truncation "
          f"{args.truncation}; box rows {BOX[0]}-{BOX[1]}, columns {BOX[2]}-{BOX[3]} (of 32), source features from "
          f"{SOURCE_SHIFT} px lower; nothing selected. Sheet: per setting, in this order ("
          + "; ".join(settings) + "), three rows of the first 16: horse, wing source, collage.", "", *lines]
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(run_main(main, "wing_collage"))
