"""Spatially mixed labels: CutMix of real images with per-cell class maps, and matching maps for the fakes.

    images, maps = classmap.cutmix(key, images, labels, num_classes, prob)    # real batch (..., B, 32, 32, 3)
    images, maps = classmap.cutmix(key, images, labels, num_classes, prob, paste="resize")  # ResizeMix
    fake_maps = classmap.random_maps(key, labels, num_classes, prob)          # the fakes' labels, same law

A class map gives each cell of a `GRID` x `GRID` grid over the image (8x8 pixels each for 32x32) its own class
weights: float (N, GRID, GRID, C), each cell summing to one. A plain label is the map with its one-hot row in every
cell. With `config.spatial_mix = p`, each real image is, with probability p, pasted over inside a random box of
whole cells (1 to GRID - 1 cells a side) by the next image of the global batch, and its map says which class each
cell came from. `config.spatial_mix_paste` says what goes into the box: "crop", the same box of the other image
(CutMix, Yun et al. 2019), mostly background, so a model learns "a pasted patch of sky"; "resize", the whole other
image shrunk (and squashed to the box's shape) into it (ResizeMix, Qin et al. 2020), so the box carries the object
on its own background (a picture pasted on a picture); or "object", the same shrunk image blended in through a soft
mask of its foreground (`foreground`: what stands out from the colour of its frame), so the object lands on the
first image's scene with no box around it, and each cell's map weighs the two classes by the area each covers
there (CutMix's area rule, per cell). The fakes' maps then take their cell weights from the real batch's.
"placed" is the object paste in a box that is not random: it rests on the top edge of the first image's own object
(`placed_boxes`), so a bird or airplane lands touching the top of a horse, as a wing would, and G sees real
examples of the join.
The fakes' maps follow the same law with their own random classes, so G is asked for exactly the kind of composite D
sees real examples of: a model trained this way can be asked for "horse everywhere but bird above the back" (the
principled version of a spatial Pegasus). The cells match the 4x4 features of the DCGAN-sized discriminators, whose
projection term reads each cell's own class, and the 4x4 first block of the DCGAN generator, whose conditional
batch norms read them upsampled.

Everything here acts on the global batch before it is split over devices, with one key per step and purpose, so
the result does not depend on the device count. DiffAugment's translation (up to half a cell) and cutout act on
images only, alike for real and fake.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

GRID = 4  # cells a side: the discriminator's last feature map and the generator's first block are 4x4
# into a box: that box of the other image, all of it shrunk, its object, or its object in a box on the image's own
PASTES = ("crop", "resize", "object", "placed")
SOFT_PASTES = ("object", "placed")  # blended through a soft mask: the maps' cells weigh the classes by area
# `foreground`: a pixel this far from the frame's mean colour, as a fraction of the image's farthest pixel, is
# background up to the first and foreground from the second (linear between): CIFAR-10's birds and airplanes
# mostly sit on sky or foliage that reaches the frame.
FOREGROUND_RAMP = (0.2, 0.5)
# `placed_boxes` (cells): the object's top row and the row above it, so the paste both overlaps the object and
# reaches above it; as wide as tall or wider (wings spread); a cell row holds the image's object where one of its
# cells is at least PLACED_COVER foreground.
PLACED_HEIGHT = 2
PLACED_WIDTHS = (2, 3)
PLACED_COVER = 0.25


def one_hot_maps(labels: jax.Array, num_classes: int) -> jax.Array:
    """Plain labels as class maps: every cell holds the label's one-hot row.

    Args:
      labels: int labels (..., N).
      num_classes: C.

    Returns:
      float32 (..., N, GRID, GRID, C).

    Example:
      >>> import jax.numpy as jnp
      >>> one_hot_maps(jnp.array([2]), 3)[0, 3, 1].tolist()
      [0.0, 0.0, 1.0]
    """
    hot = jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)
    return jnp.broadcast_to(hot[..., None, None, :], labels.shape + (GRID, GRID, num_classes))


def random_boxes(key: jax.Array, shape: tuple[int, ...], prob: float) -> jax.Array:
    """Boxes of whole cells, one per image with probability `prob` (else none).

    Args:
      key: a PRNG key, used once.
      shape: the leading shape (..., N) of the batch.
      prob: probability that an image gets a box.

    Returns:
      bool (..., N, GRID, GRID): True inside the box; a box is 1 to GRID - 1 cells high and wide, anywhere.
    """
    k_on, k_h, k_w, k_top, k_left = jax.random.split(key, 5)
    on = jax.random.bernoulli(k_on, prob, shape)
    h = jax.random.randint(k_h, shape, 1, GRID)
    w = jax.random.randint(k_w, shape, 1, GRID)
    top = (jax.random.uniform(k_top, shape) * (GRID - h + 1)).astype(jnp.int32)  # uniform in 0..GRID - h
    left = (jax.random.uniform(k_left, shape) * (GRID - w + 1)).astype(jnp.int32)
    cells = jnp.arange(GRID)
    rows = (cells >= top[..., None]) & (cells < (top + h)[..., None])
    cols = (cells >= left[..., None]) & (cells < (left + w)[..., None])
    return on[..., None, None] & rows[..., :, None] & cols[..., None, :]


def placed_boxes(key: jax.Array, images: jax.Array, prob: float, *,
                 mask: jax.Array | None = None) -> jax.Array:
    """Boxes resting on the top edge of each image's own object, one per image with probability `prob`.

    The box's bottom row is the topmost cell row the image's `foreground` reaches into (a cell at least
    `PLACED_COVER` covered), so what is pasted there overlaps the object's top and reaches above it (an object
    reaching the top row gets the two top rows); it is centred over the object's cells in that row, give or take
    a cell. An image with no such row gets its box on the middle rows.

    Args:
      key: a PRNG key, used once.
      images: images (..., N, S, S, 3), any dtype.
      prob: probability that an image gets a box.
      mask: the images' `foreground` (..., N, S, S), when the caller has it already (`cutmix` blends through it).

    Returns:
      bool (..., N, GRID, GRID): True inside the box, `PLACED_HEIGHT` cells high and `PLACED_WIDTHS` wide.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> horse = jnp.full((1, 32, 32, 3), 200.0).at[:, 16:, 8:24].set(40.0)   # a dark body on the lower half
      >>> box = placed_boxes(jax.random.key(0), horse, 1.0)[0]
      >>> int(jnp.nonzero(box.any(-1))[0].max())   # the box's bottom row: the body's top row of cells
      2
    """
    shape = images.shape[:-3]
    k_on, k_w, k_shift = jax.random.split(key, 3)
    on = jax.random.bernoulli(k_on, prob, shape)
    w = jax.random.randint(k_w, shape, PLACED_WIDTHS[0], PLACED_WIDTHS[-1] + 1)
    cover = cell_means(foreground(images) if mask is None else mask)
    top_row = object_top_rows(cover)
    held = top_row >= 0
    top_row = jnp.where(held, top_row, GRID // 2)
    row_cover = jnp.take_along_axis(cover, top_row[..., None, None], axis=-2)[..., 0, :]  # (..., N, GRID)
    centres = jnp.arange(GRID) + 0.5
    centre = jnp.where(held, (row_cover * centres).sum(-1) / jnp.maximum(row_cover.sum(-1), 1e-6), GRID / 2)
    shift = jax.random.uniform(k_shift, shape, minval=-1.0, maxval=1.0)
    left = jnp.clip(jnp.round(centre - w / 2 + shift), 0, GRID - w).astype(jnp.int32)
    top = jnp.clip(top_row - PLACED_HEIGHT + 1, 0, GRID - PLACED_HEIGHT)
    cells = jnp.arange(GRID)
    rows = (cells >= top[..., None]) & (cells < (top + PLACED_HEIGHT)[..., None])
    cols = (cells >= left[..., None]) & (cells < (left + w)[..., None])
    return on[..., None, None] & rows[..., :, None] & cols[..., None, :]


def object_top_rows(cover: jax.Array) -> jax.Array:
    """The topmost cell row each image's object reaches: a row with a cell at least `PLACED_COVER` foreground.

    Args:
      cover: float (..., GRID, GRID), each cell's foreground share (`cell_means` of a `foreground` mask).

    Returns:
      int32 (...): the row index, -1 where no cell is covered enough.

    Example:
      >>> import jax.numpy as jnp
      >>> object_top_rows(jnp.zeros((2, 4, 4)).at[0, 2:, 1].set(1.0)).tolist()   # a body from row 2; nothing
      [2, -1]
    """
    rows_held = cover.max(-1) >= PLACED_COVER
    return jnp.where(rows_held.any(-1), jnp.argmax(rows_held, -1), -1).astype(jnp.int32)


def box_pixels(boxes: jax.Array, size: int) -> jax.Array:
    """Boxes of cells (..., GRID, GRID) as pixel masks (..., size, size).

    Args:
      boxes: bool, True inside the box (`random_boxes`).
      size: the pixel side, a multiple of GRID.

    Returns:
      bool (..., size, size).
    """
    factor = size // GRID
    return jnp.repeat(jnp.repeat(boxes, factor, axis=-2), factor, axis=-1)


def shrink_into_boxes(images: jax.Array, boxes: jax.Array) -> jax.Array:
    """Each whole image shrunk to fill its box (antialiased, linear), for `cutmix(paste="resize")`.

    Args:
      images: images (..., N, S, S, 3), any dtype.
      boxes: bool (..., N, GRID, GRID), one rectangle of cells or none per image (`random_boxes`).

    Returns:
      float32 (..., N, S, S, 3): inside each box the image shrunk to the box's height and width; outside it
      meaningless (zero), to be masked by the caller; an image without a box gets zeros.

    Example:
      >>> import jax.numpy as jnp
      >>> image = jnp.zeros((1, 32, 32, 3)).at[:, :, 16:].set(1.0)      # dark left half, bright right half
      >>> box = jnp.zeros((1, 4, 4), bool).at[0, 1:3, 2:4].set(True)     # 2x2 cells: rows 8-23, columns 16-31
      >>> shrunk = shrink_into_boxes(image, box)
      >>> shrunk[0, 8:24, 17:23].max().item(), shrunk[0, 8:24, 25:31].min().item()
      (0.0, 1.0)
    """
    size = images.shape[-2]
    factor = size // GRID
    rows, cols = boxes.any(-1), boxes.any(-2)  # (..., N, GRID): which cell rows / columns the box covers
    scale = jnp.stack([rows.sum(-1), cols.sum(-1)], -1) * factor / size
    translation = jnp.stack([jnp.argmax(rows, -1), jnp.argmax(cols, -1)], -1) * factor
    scale = jnp.maximum(scale, factor / size)  # no box: any positive scale, the result is masked away

    def one(image, s, t):
        return jax.image.scale_and_translate(image, image.shape, (0, 1), s, t, method="linear", antialias=True)

    flat = images.reshape((-1,) + images.shape[-3:]).astype(jnp.float32)
    shrunk = jax.vmap(one)(flat, scale.reshape(-1, 2).astype(jnp.float32),
                           translation.reshape(-1, 2).astype(jnp.float32))
    return shrunk.reshape(images.shape)


def foreground(images: jax.Array) -> jax.Array:
    """A soft mask of what stands out from each image's frame: 0 for its background, 1 for its object.

    Args:
      images: images (..., S, S, 3), any dtype.

    Returns:
      float32 (..., S, S) in [0, 1]: each pixel's distance from the mean colour of the image's outermost pixels,
      over the largest such distance in the image, ramped over `FOREGROUND_RAMP`.

    Example:
      >>> import jax.numpy as jnp
      >>> sky = jnp.full((1, 32, 32, 3), 200.0).at[:, 12:20, 8:24].set(40.0)   # a dark plane on a pale sky
      >>> mask = foreground(sky)
      >>> mask[0, 16, 16].item(), mask[0, 2, 2].item()
      (1.0, 0.0)
    """
    x = images.astype(jnp.float32)
    frame = jnp.concatenate([x[..., 0, :, :], x[..., -1, :, :], x[..., 1:-1, 0, :], x[..., 1:-1, -1, :]], axis=-2)
    distance = jnp.linalg.norm(x - frame.mean(-2)[..., None, None, :], axis=-1)
    relative = distance / jnp.maximum(distance.max((-2, -1), keepdims=True), 1e-6)
    low, high = FOREGROUND_RAMP
    return jnp.clip((relative - low) / (high - low), 0.0, 1.0)


def cell_means(mask: jax.Array) -> jax.Array:
    """A pixel mask's mean over each cell.

    Args:
      mask: float (..., S, S), S a multiple of GRID.

    Returns:
      float (..., GRID, GRID): the share of each cell's pixels the mask covers.

    Example:
      >>> import jax.numpy as jnp
      >>> cell_means(jnp.zeros((32, 32)).at[:4, :8].set(1.0))[0].tolist()   # half the top-left cell
      [0.5, 0.0, 0.0, 0.0]
    """
    size = mask.shape[-1]
    factor = size // GRID
    return mask.reshape(mask.shape[:-2] + (GRID, factor, GRID, factor)).mean((-3, -1))


def cutmix(key: jax.Array, images: jax.Array, labels: jax.Array, num_classes: int, prob: float,
           paste: str = "crop") -> tuple[jax.Array, jax.Array]:
    """CutMix (ResizeMix, or an object paste) of a real batch with the next image of the batch, and the class maps.

    Args:
      key: a PRNG key, used once.
      images: images (..., N, S, S, 3), any dtype (uint8 as the pipeline gives them).
      labels: int labels (..., N).
      num_classes: C.
      prob: probability that an image gets a box from its neighbour.
      paste: "crop": the neighbour's pixels in the same box (CutMix); "resize": the whole neighbour shrunk into
        the box (ResizeMix), rounded back to the images' dtype; "object": that shrunk neighbour blended in
        through its shrunk `foreground` mask, each cell's map weighing the neighbour's class by the mask's mean
        over the cell; "placed": as "object", in a box on the top edge of the image's own object
        (`placed_boxes`) instead of a random one.

    Returns:
      (images of the same shape and dtype, float32 class maps (..., N, GRID, GRID, C), each cell summing to 1).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> x = jnp.stack([jnp.zeros((32, 32, 3)), jnp.ones((32, 32, 3))])
      >>> mixed, maps = cutmix(jax.random.key(0), x, jnp.array([0, 1]), 2, prob=1.0)
      >>> bool((mixed[0] == 1).any()), float(maps[0, ..., 1].sum()) > 0   # image 0 got a box of image 1
      (True, True)
    """
    if paste not in PASTES:
        raise ValueError(f"paste must be one of {', '.join(PASTES)}, not {paste!r}")
    # One foreground per batch: the placed box reads the host's, the blend its neighbour's (the same, rolled).
    fg = foreground(images) if paste in SOFT_PASTES else None
    if paste == "placed":
        boxes = placed_boxes(key, images, prob, mask=fg)
    else:
        boxes = random_boxes(key, labels.shape, prob)
    other_images = jnp.roll(images, -1, axis=labels.ndim - 1)
    other_labels = jnp.roll(labels, -1, axis=-1)
    pixels = box_pixels(boxes, images.shape[-2])
    alpha = pixels.astype(jnp.float32)
    if paste == "crop":
        pasted = other_images.astype(jnp.float32)
    elif paste == "resize":
        pasted = shrink_into_boxes(other_images, boxes)
    else:  # soft: the image premultiplied by its mask, both shrunk, so no background bleeds in at its edges
        mask = jnp.roll(fg, -1, axis=labels.ndim - 1)[..., None]
        shrunk = shrink_into_boxes(jnp.concatenate([other_images * mask, mask], -1), boxes)
        alpha, pasted = alpha * shrunk[..., 3], shrunk[..., :3]
    mixed = images * (1.0 - alpha[..., None]) + jnp.where(pixels[..., None], pasted, 0.0)
    if jnp.issubdtype(images.dtype, jnp.integer):
        info = jnp.iinfo(images.dtype)
        mixed = jnp.clip(jnp.round(mixed), info.min, info.max)
    weight = cell_means(alpha)[..., None]  # whole-cell pastes: the box itself
    maps = (1.0 - weight) * one_hot_maps(labels, num_classes) + weight * one_hot_maps(other_labels, num_classes)
    return mixed.astype(images.dtype), maps


def pasted_weights(maps: jax.Array, labels: jax.Array) -> jax.Array:
    """How much of each cell a map gives to classes other than the image's own label.

    Args:
      maps: class maps (..., N, GRID, GRID, C), as `cutmix` returns them.
      labels: the images' own int labels (..., N).

    Returns:
      float32 (..., N, GRID, GRID): 0 where the cell is all the label's, 1 where it is all another class's.
    """
    own = jnp.take_along_axis(maps, labels[..., None, None, None].astype(jnp.int32), axis=-1)[..., 0]
    return 1.0 - own


def image_labels(labels: jax.Array) -> jax.Array:
    """Labels for a classifier of whole images: int labels as they are, a class map's weights averaged over its
    cells (each class's share of the image: CutMix's area rule, per cell for the soft pastes).

    Args:
      labels: int (..., N), or class maps float (..., N, GRID, GRID, C).

    Returns:
      `labels` unchanged, or float32 (..., N, C) summing to one.

    Example:
      >>> import jax.numpy as jnp
      >>> horse_with_bird_on_top = one_hot_maps(jnp.array([1]), 2).at[0, 0].set(jnp.array([1.0, 0.0]))
      >>> image_labels(horse_with_bird_on_top).tolist()  # 4 of 16 cells class 0
      [[0.25, 0.75]]
    """
    if jnp.issubdtype(labels.dtype, jnp.integer):
        return labels
    return jnp.mean(labels.astype(jnp.float32), axis=(-3, -2))


def random_maps(key: jax.Array, labels: jax.Array, num_classes: int, prob: float,
                weights: jax.Array | None = None) -> jax.Array:
    """Class maps for generated images, by `cutmix`'s law: with probability `prob` a box of another random class.

    Args:
      key: a PRNG key, used once.
      labels: int labels (..., N), the class outside the box.
      num_classes: C.
      prob: probability that an image gets a box.
      weights: optional float (..., N, GRID, GRID): each cell's weight for the other class, instead of random
        boxes (`prob` then unused). With a soft paste (`SOFT_PASTES`) the real batch's own (`pasted_weights`),
        so the fakes' maps follow the law of the real maps' soft cells.

    Returns:
      float32 (..., N, GRID, GRID, C), each cell summing to 1.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> half = jnp.zeros((1, 4, 4)).at[0, 0].set(0.5)                    # the top row half another class
      >>> maps = random_maps(jax.random.key(2), jnp.array([0]), 2, 0.5, weights=half)  # this key draws class 1
      >>> maps[0, 0, 0].tolist(), maps[0, 3, 0].tolist()
      ([0.5, 0.5], [1.0, 0.0])
    """
    k_box, k_other = jax.random.split(key)
    if weights is None:
        weights = random_boxes(k_box, labels.shape, prob).astype(jnp.float32)
    other = jax.random.randint(k_other, labels.shape, 0, num_classes)
    weights = weights[..., None]
    return (1.0 - weights) * one_hot_maps(labels, num_classes) + weights * one_hot_maps(other, num_classes)
