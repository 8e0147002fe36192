"""Where the flat white or black patches in samples come from: how often they occur, and in which layer.

    python benchmarks/saturation.py --pretrained pegasus [--n 2000] [--data-dir ../shared/tensorflow_datasets]
    python benchmarks/saturation.py --workdir runs/pegasus

A *patch* is a connected region (4-neighbour) of at least MIN_AREA pixels whose three channels are all clipped
(>= 250 or <= 5 out of 255): a flat white or black blot with no texture. The script prints
1. the share of samples (images 0..n-1 of seed 0, classes in turn) with a patch, beside the share of CIFAR-10
   training images of the same classes with one (real photos have blown-out skies and black shadows too);
2. for the samples with a patch: how far tanh is driven there (the generator's pre-tanh output inside the patch);
3. per generator layer (flax's captured intermediates, at their own resolutions), the mean |activation| inside the
   patch's footprint over the mean outside it, for samples with a patch and, at the same places, for samples
   without one: the first layer where the two part is where the patch is made.
"""
from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from jaxgan import data, pretrained, run, sampling

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

MIN_AREA = 12
LOW, HIGH = 5, 250


def patch_masks(images: np.ndarray) -> np.ndarray:
    """bool (N, 32, 32): the pixels of each image's clipped regions of at least MIN_AREA pixels."""
    clipped = np.all(images >= HIGH, -1) | np.all(images <= LOW, -1)
    out = np.zeros(clipped.shape, bool)
    for i, m in enumerate(clipped):
        labels, n = ndimage.label(m)
        if n:
            sizes = ndimage.sum(m, labels, range(1, n + 1))
            out[i] = np.isin(labels, 1 + np.flatnonzero(sizes >= MIN_AREA))
    return out


def intermediates(cfg, state, z, y):
    """{layer name: (N, h, w, c)} of the EMA generator's submodules, and its pre-tanh output."""
    from jaxgan import models

    g, _ = models.build(cfg)
    net = state.ema
    _, inter = g.apply({"params": net.params, **net.stats}, z, y if cfg.num_classes else None, train=False,
                       capture_intermediates=True, mutable=["intermediates"])
    flat = {"/".join(str(getattr(k, "key", k)) for k in path).replace("__call__/[0]", "").rstrip("/"): v
            for path, v in jax.tree_util.tree_flatten_with_path(inter["intermediates"])[0]}
    # Coarse to fine; the generator's own output (after tanh) is left out: it is the image.
    layers = {k: np.asarray(v) for k, v in flat.items() if getattr(v, "ndim", 0) == 4 and k}
    return dict(sorted(layers.items(), key=lambda kv: (kv[1].shape[1], kv[0])))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir")
    p.add_argument("--pretrained")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    cfg, state = pretrained.load(args.pretrained) if args.pretrained else run.load(args.workdir)
    images, labels = sampling.sample(cfg, state, args.n, seed=0)
    masks = patch_masks(images)
    has = masks.any((1, 2))
    real, _ = data.load_cifar10("train", args.data_dir, cfg.classes)
    real_has = patch_masks(real[:args.n]).any((1, 2))
    print(f"samples with a clipped patch of >= {MIN_AREA} pixels: {has.mean():.1%} of {args.n} "
          f"(CIFAR-10 train, same classes: {real_has.mean():.1%} of {min(args.n, len(real))})")
    if not has.any():
        return
    idx = np.flatnonzero(has)[:64]
    clean = np.flatnonzero(~has)[:len(idx)]
    z = sampling.latents(0, 0, args.n, cfg.z_dim)
    y = jnp.asarray(sampling.default_labels(cfg, args.n))
    acts = {k: v for k, v in intermediates(cfg, state, jnp.asarray(np.asarray(z)[idx]), y[idx]).items()}
    acts_clean = intermediates(cfg, state, jnp.asarray(np.asarray(z)[clean]), y[clean])
    names = list(acts)
    pre = acts[names[-1]]  # the last layer at 32x32: the output conv, before tanh
    inside = np.concatenate([np.abs(pre[j][masks[i]]).ravel() for j, i in enumerate(idx)])
    print(f"pre-tanh |output| inside the patches: median {np.median(inside):.2f}, 90th percentile "
          f"{np.percentile(inside, 90):.2f} (tanh(2.9) rounds to level 255 of 255); elsewhere in the same images: "
          f"median {np.median(np.abs(pre[~masks[idx]])):.2f}")
    print("layer (resolution): mean |activation| inside the patch footprint / outside it, samples with a patch | "
          "the same footprints on samples without one")
    for k in names:
        a, b = acts[k], acts_clean[k]
        h = a.shape[1]
        foot = masks[idx].reshape(len(idx), h, 32 // h, h, 32 // h).any((2, 4))  # the patch at this resolution
        def ratio(x):
            mag = np.abs(x).mean(-1)
            return float(np.mean([mag[j][foot[j]].mean() / max(mag[j][~foot[j]].mean(), 1e-9)
                                  for j in range(len(foot)) if foot[j].any() and (~foot[j]).any()]))
        print(f"  {k:<40} ({h}x{h}): {ratio(a):5.2f} | {ratio(b):5.2f}")


if __name__ == "__main__":
    sys.exit(run_main(main, "saturation"))
