"""What D sees under the soft pastes: real CIFAR-10 horses with a bird or airplane pasted by `classmap.cutmix`.

    python benchmarks/paste_examples.py --data-dir ../shared/tensorflow_datasets [--n 16] [--count 256]

Takes the first N horses and the first N birds or airplanes of CIFAR-10 train (in the official order), puts each
horse before one of them in a batch (cutmix pastes the next image of the batch), and pastes with probability 1 by
"object" (a random box) and by "placed" (a box resting on the top edge of the horse's own foreground). Rows: the
horses, the pasted objects, the object paste, the placed paste; the 4x4 cell grid drawn faintly. Writes the
picture (4x) and prints, over the first COUNT such pairs, how many pastes sit on top of the horse: they touch its
foreground (a changed pixel next to or on one of the horse's `classmap.foreground` pixels above 0.5) and their
mean row is above the mean row of that foreground.
"""
from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs



def load(data_dir: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n horses and the first n birds or airplanes of CIFAR-10 train, interleaved (horse first)."""
    import tensorflow_datasets as tfds

    source = tfds.data_source("cifar10", split="train", data_dir=data_dir, download=False)
    horses, winged, i = [], [], 0
    while len(horses) < n or len(winged) < n:
        record = source[i]
        i += 1
        if record["label"] == 7 and len(horses) < n:
            horses.append(record["image"])
        elif record["label"] in (0, 2) and len(winged) < n:
            winged.append(record["image"])
    images = np.stack([im for pair in zip(horses, winged) for im in pair])
    labels = np.tile([3, 1], n)  # pegasus's classes: airplane 0, bird 1, deer 2, horse 3 (a bird for the map)
    return images, labels


def on_top(host: np.ndarray, pasted: np.ndarray) -> bool:
    """Whether a paste touches the host's foreground (4-neighbourhood) and sits higher than it on average.

    Args:
      host: the host's foreground mask (S, S) in [0, 1].
      pasted: bool (S, S), the pixels the paste changed.
    """
    body = host > 0.5
    if not body.any() or not pasted.any():
        return False
    grown = body.copy()
    grown[1:] |= body[:-1]
    grown[:-1] |= body[1:]
    grown[:, 1:] |= body[:, :-1]
    grown[:, :-1] |= body[:, 1:]
    rows = np.arange(host.shape[0])[:, None]
    higher = (rows * pasted).sum() / pasted.sum() < (rows * body).sum() / body.sum()
    return bool((grown & pasted).any() and higher)


def main():
    from PIL import Image

    from jaxgan import classmap

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--count", type=int, default=256, help="pairs counted")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/paste_examples.png")
    args = p.parse_args()
    images, labels = load(args.data_dir, max(args.n, args.count))
    hosts, objects = images[0::2], images[1::2]
    rows = [hosts[:args.n], objects[:args.n]]
    host_masks = np.asarray(classmap.foreground(jnp.asarray(hosts)))
    for paste in ("object", "placed"):
        mixed, _ = classmap.cutmix(jax.random.key(args.seed), jnp.asarray(images), jnp.asarray(labels), 4, 1.0, paste)
        mixed = np.asarray(mixed)[0::2]
        moved = np.abs(mixed.astype(float) - hosts.astype(float)).max(-1) > 24  # where the paste shows
        count = sum(on_top(h, m) for h, m in list(zip(host_masks, moved))[:args.count])
        print(f"{paste}: {count} of {args.count} pastes sit on top of the horse (touch it, higher than its middle)")
        rows.append(mixed[:args.n])
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    picture = np.asarray(Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST)).copy()
    picture[::32] = (picture[::32] * 0.6).astype(np.uint8)  # the 4x4 cells of each image (8 pixels, at 4x)
    picture[:, ::32] = (picture[:, ::32] * 0.6).astype(np.uint8)
    Image.fromarray(picture).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(run_main(main, "paste_examples"))
