"""How much room CIFAR-10 leaves for a wing: where its horses' tops are, and how much of the frame its birds fill.

    python benchmarks/horse_room.py --data-dir ../shared/tensorflow_datasets [--split train] [--out FILE.json]

Two measurements behind the flagship's wing pastes (RESULTS, *twenty-ninth slice*), both by `classmap.foreground`
(what stands out from the colour of the image's frame):
- the horses: which cell row of the 4x4 grid is the first their foreground reaches (a cell at least
  `classmap.PLACED_COVER` covered: `classmap.object_top_rows`, the row `placed_boxes` rests a paste on), and the
  first pixel row at least 20% foreground. A paste "above the back" has room only when the horse starts below the
  top cell row.
- the birds and airplanes: the share of the frame their object's extent covers, as the rectangle holding every pixel
  at least 0.5 foreground and as the rows and columns at least 20% foreground. Near 1, cutting the object to its extent
  before it is pasted would hardly enlarge it.
Prints a table; with --out, writes the figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

LINE_SHARE = 0.2  # a pixel row (column) holds the object where at least this share of it is foreground
SURE = 0.5  # a pixel is surely the object's from this foreground on


def first_rows(masks: np.ndarray, cover: float) -> np.ndarray:
    """Each mask's first pixel row at least `cover` foreground (-1 where none).

    Args:
      masks: float (N, S, S) in [0, 1].
      cover: the share of a row that must be foreground.

    Returns:
      int (N,).

    Example:
      >>> m = np.zeros((2, 8, 8)); m[0, 3:] = 1.0                  # an object from row 3 down; an empty frame
      >>> first_rows(m, 0.2).tolist()
      [3, -1]
    """
    held = masks.mean(-1) >= cover
    return np.where(held.any(-1), held.argmax(-1), -1)


def extent_shares(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The share of the frame each object's extent covers, two ways.

    Args:
      masks: float (N, S, S) in [0, 1].

    Returns:
      (the rectangle holding every pixel >= SURE, the rows and columns >= LINE_SHARE foreground), float (N,) each;
      1 where nothing qualifies.

    Example:
      >>> m = np.zeros((1, 32, 32)); m[0, 8:24, 4:28] = 1.0      # an airplane, 16 x 24 pixels
      >>> [float(a[0]) for a in extent_shares(m)]
      [0.375, 0.375]
    """
    size = masks.shape[-1]

    def span(held):
        first, last = held.argmax(-1), size - held[:, ::-1].argmax(-1)
        return np.where(held.any(-1), last - first, size)

    sure = masks >= SURE
    box = span(sure.any(-1)) * span(sure.any(-2)) / size ** 2
    lines = span(masks.mean(-1) >= LINE_SHARE) * span(masks.mean(-2) >= LINE_SHARE) / size ** 2
    return box, lines


def main():
    import jax.numpy as jnp

    from jaxgan import classmap, data

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--split", default="train")
    p.add_argument("--out", default=None, help="also write the figures here as JSON")
    args = p.parse_args()
    images, labels = data.load_cifar10(args.split, args.data_dir, classes=("airplane", "bird", "horse"))
    masks = np.asarray(classmap.foreground(jnp.asarray(images)))
    horses = masks[labels == data.CIFAR10_CLASSES.index("horse")]
    top_cell = np.asarray(classmap.object_top_rows(classmap.cell_means(jnp.asarray(horses))))
    top_pixel = first_rows(horses, LINE_SHARE)
    result = {"split": args.split, "horses": int(len(horses)),
              "horse_top_cell_row_share": {str(r): float((top_cell == r).mean()) for r in (-1, 0, 1, 2, 3)},
              "horse_top_pixel_row_quantiles": {str(q): float(np.percentile(top_pixel[top_pixel >= 0], q))
                                                for q in (10, 25, 50, 75, 90)}}
    print(f"{len(horses)} horses ({args.split}); the first cell row their foreground reaches "
          f"(>= {classmap.PLACED_COVER:.0%} of a cell):")
    for r in (0, 1, 2, 3, -1):
        print(f"  {'none' if r < 0 else 'row ' + str(r)}: {(top_cell == r).mean():.1%}")
    quantiles = result["horse_top_pixel_row_quantiles"]
    print(f"  first pixel row >= {LINE_SHARE:.0%} foreground, quantiles 10/25/50/75/90%: "
          + " / ".join(f"{v:g}" for v in quantiles.values()))
    for name in ("airplane", "bird"):
        box, lines = extent_shares(masks[labels == data.CIFAR10_CLASSES.index(name)])
        result[f"{name}_extent_share"] = {"sure_box_mean": float(box.mean()), "lines_mean": float(lines.mean()),
                                          "count": int(len(box))}
        print(f"{len(box)} {name}s: the object's extent covers {box.mean():.0%} of the frame (pixels >= {SURE}), "
              f"{lines.mean():.0%} (rows and columns >= {LINE_SHARE:.0%} foreground)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(run_main(main, "horse_room"))
