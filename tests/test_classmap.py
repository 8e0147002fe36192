"""Spatially mixed labels: CutMix puts each cell's pixels where its map says, the models read maps as labels."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan
from jaxgan import augment, classmap, models, state as state_lib
from tests.conftest import tiny_config

N = 64


def numbered_images(n=N):
    """Image i is the constant i, so every pixel tells which image it came from."""
    return jnp.broadcast_to(jnp.arange(n, dtype=jnp.uint8)[:, None, None, None], (n, 32, 32, 3))


def source_per_cell(images):
    step = 32 // classmap.GRID
    return np.asarray(images)[..., ::step, ::step, 0].astype(int)


@pytest.mark.parametrize("paste", ["crop", "resize"])  # whole cells; "object" blends: tested below
def test_each_cell_holds_the_class_of_the_image_its_pixels_came_from(paste):
    labels = jnp.arange(N) % 4
    mixed, maps = classmap.cutmix(jax.random.key(3), numbered_images()[None], labels[None], 4, prob=0.5, paste=paste)
    assert mixed.shape == (1, N, 32, 32, 3) and mixed.dtype == jnp.uint8 and maps.shape == (1, N, 4, 4, 4)
    source = source_per_cell(mixed[0])
    np.testing.assert_array_equal(np.asarray(labels)[source], np.asarray(maps[0]).argmax(-1))
    np.testing.assert_allclose(np.asarray(maps).sum(-1), 1.0)
    # Whole cells only: every pixel of a cell comes from the same image.
    np.testing.assert_array_equal(np.repeat(np.repeat(source, 8, 1), 8, 2), np.asarray(mixed[0, ..., 0]))
    pasted = (source != np.arange(N)[:, None, None]).any((1, 2))
    assert 0.25 < pasted.mean() < 0.75  # about half the images got a box...
    assert (source[pasted] == (np.arange(N)[pasted] + 1)[:, None, None] % N).any((1, 2)).all()  # ...of the next one


def test_resize_pastes_the_whole_neighbour_shrunk_into_the_box():
    """Each image is dark on the left and bright on the right: both halves land in the box, side by side.

    (Which image lands there is checked with numbered images above.)
    """
    images = np.zeros((N, 32, 32, 3), np.uint8)
    images[:, :, 16:] = 200
    labels = jnp.arange(N) % 4
    mixed, maps = classmap.cutmix(jax.random.key(7), jnp.asarray(images), labels, 4, prob=1.0, paste="resize")
    assert mixed.dtype == jnp.uint8
    mixed, maps, labels = np.asarray(mixed).astype(int), np.asarray(maps), np.asarray(labels)
    for i in range(N):  # neighbours differ in class, so the map shows where the box is
        rows, cols = np.nonzero(np.repeat(np.repeat(maps[i].argmax(-1) == labels[(i + 1) % N], 8, 0), 8, 1))
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        middle = (left + right + 1) // 2
        box = mixed[i, top:bottom + 1, left:right + 1, 0]
        assert box[2:-2, :middle - left - 2].max() <= 5 and box[2:-2, middle - left + 2:].min() >= 195, i  # halves
        outside = np.ones((32, 32), bool)
        outside[top:bottom + 1, left:right + 1] = False
        np.testing.assert_array_equal(mixed[i, ..., 0][outside], images[i, ..., 0][outside])


def test_object_paste_lands_the_neighbours_object_without_its_sky_and_maps_weigh_the_area():
    """Every neighbour is a dark 16x16 square (40) on a pale sky (200), over a mid-grey scene (120): in the box the
    square lands shrunk, the sky does not (the scene shows through); each cell's map gives the neighbour's class
    the mask's area there."""
    images = np.full((N, 32, 32, 3), 120, np.uint8)
    images[1::2] = 200
    images[1::2, 8:24, 8:24] = 40
    labels = jnp.arange(N) % 4
    mixed, maps = classmap.cutmix(jax.random.key(7), jnp.asarray(images), labels, 4, prob=1.0, paste="object")
    assert mixed.dtype == jnp.uint8 and maps.dtype == jnp.float32
    mixed, maps = np.asarray(mixed[0::2, ..., 0]).astype(float), np.asarray(maps[0::2])  # the scenes got squares
    assert mixed.min() <= 45 and mixed.max() <= 121  # the square came, no sky did
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-6)
    alpha = (120 - mixed) / (120 - 40)  # how much of each pixel is the square
    covered = alpha.reshape(-1, 4, 8, 4, 8).mean((2, 4))
    other = np.asarray(labels[1::2])
    np.testing.assert_allclose(np.take_along_axis(maps, other[:, None, None, None], -1)[..., 0], covered, atol=0.02)
    assert (covered.sum((1, 2)) > 0).all() and (covered < 0.99).all((1, 2)).mean() > 0.5  # objects, in no box
    weights = np.asarray(classmap.pasted_weights(jnp.asarray(maps), labels[0::2]))
    np.testing.assert_allclose(weights, covered, atol=0.02)


def test_placed_boxes_rest_on_the_top_edge_of_each_images_object():
    """Dark bodies on a pale sky (clear of the frame, which tells the background), reaching up to cell row 1, 2 or 3 at
    three places: each box's bottom row is the body's top row, so what is pasted there overlaps the body and reaches
    above it; a flat image gets the middle rows."""
    n = 600
    images = np.full((n, 32, 32, 3), 200, np.uint8)
    tops, lefts = np.arange(n) % 3 + 1, np.arange(n) // 3 % 3  # body: cell rows top..3, cell columns left..left+1
    for i in range(n):
        images[i, 8 * tops[i]:30, 8 * lefts[i] + 2:8 * lefts[i] + 14] = 40
    boxes = np.asarray(classmap.placed_boxes(jax.random.key(0), jnp.asarray(images), 0.5))
    on = boxes.any((1, 2))
    assert 0.44 < on.mean() < 0.56
    rows, cols = boxes.any(2), boxes.any(1)
    heights, widths = rows.sum(1)[on], cols.sum(1)[on]
    assert set(heights) == {classmap.PLACED_HEIGHT} and set(widths) == set(classmap.PLACED_WIDTHS)
    assert (boxes[on].sum((1, 2)) == heights * widths).all()  # rectangles
    bottom = np.array([np.nonzero(r)[0].max() if r.any() else -1 for r in rows])
    np.testing.assert_array_equal(bottom[on], tops[on])
    # The box spans the body's columns, give or take a cell: it always covers at least one of them.
    body_cols = np.zeros((n, 4), bool)
    body_cols[np.arange(n), lefts] = body_cols[np.arange(n), lefts + 1] = True
    assert (cols & body_cols).any(1)[on].all()
    flat = np.asarray(classmap.placed_boxes(jax.random.key(1), jnp.full((200, 32, 32, 3), 90, jnp.uint8), 1.0))
    assert (np.array([np.nonzero(r)[0].max() for r in flat.any(2)]) == classmap.GRID // 2).all()


def test_placed_paste_lands_the_neighbours_object_on_top_of_the_images_own():
    """Every other image is a dark square on a pale sky (the neighbour); the others have a mid-grey body on the
    lower half of a white scene: the square lands in the cells around the body's top edge, and the maps say so."""
    images = np.full((N, 32, 32, 3), 250, np.uint8)
    images[0::2, 16:30, 8:24] = 120
    images[1::2] = 200
    images[1::2, 8:24, 8:24] = 40
    labels = jnp.arange(N) % 4
    mixed, maps = classmap.cutmix(jax.random.key(7), jnp.asarray(images), labels, 4, prob=1.0, paste="placed")
    mixed, maps = np.asarray(mixed[0::2, ..., 0]).astype(int), np.asarray(maps[0::2])
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-6)
    other = np.take_along_axis(maps, np.asarray(labels[1::2])[:, None, None, None], -1)[..., 0]
    rows_with_square = (other > 0.05).any(2)
    assert rows_with_square[:, 2].all() and not rows_with_square[:, 3].any()  # on the body's top row, not below
    assert (mixed[:, :16] < 100).any((1, 2)).all()  # the square reaches above the body


def test_foreground_finds_an_object_that_stands_out_from_the_frame():
    sky = jnp.full((2, 32, 32, 3), 180.0).at[:, 10:22, 4:28].set(jnp.array([60.0, 50.0, 40.0]))
    sky = sky.at[1].add(jax.random.uniform(jax.random.key(0), (32, 32, 3), maxval=20.0))  # a noisy sky
    mask = np.asarray(classmap.foreground(sky))
    assert mask.shape == (2, 32, 32) and mask.min() >= 0 and mask.max() <= 1
    assert (mask[:, 11:21, 5:27] == 1).all() and (mask[:, :8] == 0).all() and (mask[:, 24:] == 0).all()
    flat = np.asarray(classmap.foreground(jnp.full((1, 32, 32, 3), 90.0)))
    assert np.isfinite(flat).all() and (flat == 0).all()  # nothing stands out: all background, no division by 0


def test_random_maps_with_weights_ask_the_fakes_for_the_real_maps_cells():
    boxed = jax.random.uniform(jax.random.key(1), (500, 1, 1)) < 0.5
    weights = jax.random.uniform(jax.random.key(0), (500, 4, 4)) * boxed
    labels = jnp.zeros((500,), jnp.int32)
    maps = np.asarray(classmap.random_maps(jax.random.key(2), labels, 4, 0.5, weights=weights))
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-6)
    other = maps[..., 1:].sum(-1)
    drew_another = (maps[..., 1:] > 0).any((1, 2, 3))
    np.testing.assert_allclose(other[drew_another], np.asarray(weights)[drew_another], rtol=1e-6)
    assert 0.6 < drew_another[np.asarray(weights).any((1, 2))].mean() < 0.9  # three classes of four are another
    np.testing.assert_allclose(np.asarray(classmap.pasted_weights(jnp.asarray(maps), labels))[drew_another],
                               np.asarray(weights)[drew_another], atol=1e-6)


def test_no_mixing_gives_the_images_and_one_hot_maps():
    labels = jnp.arange(N) % 4
    mixed, maps = classmap.cutmix(jax.random.key(0), numbered_images(), labels, 4, prob=0.0)
    np.testing.assert_array_equal(mixed, numbered_images())
    np.testing.assert_array_equal(maps, classmap.one_hot_maps(labels, 4))


def test_boxes_are_one_to_three_cells_a_side_anywhere():
    boxes = np.asarray(classmap.random_boxes(jax.random.key(0), (4000,), 0.5))
    on = boxes.any((1, 2))
    assert 0.45 < on.mean() < 0.55
    heights, widths = boxes[on].any(2).sum(1), boxes[on].any(1).sum(1)
    assert set(heights) == set(widths) == {1, 2, 3}
    assert (boxes[on].sum((1, 2)) == heights * widths).all()  # rectangles
    assert boxes[on].any(0).all()  # every cell is covered by some box


def test_random_maps_follow_the_same_law_with_random_classes():
    labels = jnp.zeros((2000,), jnp.int32)
    maps = np.asarray(classmap.random_maps(jax.random.key(1), labels, 4, prob=0.5))
    boxed = (maps.argmax(-1) != 0).any((1, 2))
    assert 0.3 < boxed.mean() < 0.5  # half get a box, a quarter of those of their own class
    assert set(np.unique(maps.argmax(-1))) == {0, 1, 2, 3}


def test_a_flip_mirrors_a_map_with_its_image():
    """The step flips real images and their maps with the same per-image keys: they stay aligned."""
    labels = jnp.arange(N) % 4
    mixed, maps = classmap.cutmix(jax.random.key(3), numbered_images(), labels, 4, prob=1.0)
    keys = jax.random.split(jax.random.key(5), N)
    flipped = augment.apply("flip", mixed.astype(jnp.float32), keys)
    flipped_maps = augment.apply("flip", maps, keys)
    assert not np.array_equal(flipped, mixed.astype(jnp.float32))
    np.testing.assert_array_equal(np.asarray(labels)[source_per_cell(flipped)], np.asarray(flipped_maps).argmax(-1))


@pytest.fixture(scope="module")
def cdcgan():
    cfg = jaxgan.Config(model="cdcgan", g_width=16, d_width=16, z_dim=16, num_classes=4, classes=(
        "airplane", "bird", "deer", "horse"))
    g, d = models.build(cfg)
    st = state_lib.create(cfg)
    # The class-dependent weights start at zero: give every weight some noise so the class matters.
    noisy = lambda tree, k: jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.key(k), p.shape), tree)
    g_vars, d_vars = {"params": noisy(st.g.params, 1), **st.g.stats}, {"params": noisy(st.d.params, 2), **st.d.stats}
    return (jax.jit(lambda z, y: g.apply(g_vars, z, y, train=False)),
            jax.jit(lambda x, y: d.apply(d_vars, x, y, train=False)))


def test_a_map_of_one_class_is_that_label(cdcgan):
    g, d = cdcgan
    z = jax.random.normal(jax.random.key(0), (4, 16))
    y = jnp.array([3, 1, 0, 2])
    images = g(z, y)
    np.testing.assert_allclose(g(z, classmap.one_hot_maps(y, 4)), images, atol=1e-4)  # float32 rounding
    np.testing.assert_allclose(d(images, classmap.one_hot_maps(y, 4)), d(images, y), rtol=1e-5, atol=1e-5)


def test_a_box_of_another_class_changes_g_most_in_its_cells_and_d_through_its_cells(cdcgan):
    g, d = cdcgan
    z = jax.random.normal(jax.random.key(0), (8, 16))
    horse = classmap.one_hot_maps(jnp.full((8,), 3), 4)
    winged = horse.at[:, 0, 1:3].set(jax.nn.one_hot(1, 4))  # bird in the two middle cells of the top row
    change = np.abs(np.asarray(g(z, winged) - g(z, horse))).mean((0, 3))
    assert change[:8, 8:24].mean() > 2 * change[16:, :].mean()  # the top-middle pixels change most
    x = g(z, horse)
    assert not np.allclose(d(x, winged), d(x, horse))
    # D's projection reads each cell's class where it is: the same box elsewhere reads differently, and the terms
    # of disjoint boxes add up.
    at = lambda cells: horse.at[:, cells[0], cells[1]].set(jax.nn.one_hot(1, 4))
    left, right = d(x, at((0, 1))) - d(x, horse), d(x, at((0, 2))) - d(x, horse)
    assert not np.allclose(left, right, atol=1e-3)
    np.testing.assert_allclose(d(x, winged) - d(x, horse), left + right, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("paste", ["resize", "object", "placed"])
def test_the_step_trains_on_spatially_mixed_labels_without_retracing(small_images, paste):
    """ResizeMix and object pastes; CutMix's crops, determinism and device-count independence: `test_parallel.py`."""
    import chex

    from tests.test_step import run

    chex.clear_trace_counter()  # chex counts traces per function across the session: each paste traces once
    cfg = tiny_config(model="cdcgan", num_classes=10, spatial_mix=0.5, spatial_mix_paste=paste, augment="flip",
                      loss="hinge")
    _, metrics = run(cfg, *small_images, 3, max_traces=1)
    assert all(np.isfinite(float(m["d_loss"])) and np.isfinite(float(m["g_loss"])) for m in metrics)


def test_the_class_loss_reads_a_mixed_image_as_its_class_shares(small_images):
    """`class_weight` with `spatial_mix`: the labels of the class loss are the maps' shares (`image_labels`)."""
    from tests.test_step import run

    cfg = tiny_config(model="cdcgan", num_classes=10, spatial_mix=0.5, spatial_mix_paste="placed", loss="hinge",
                      class_weight=1.0)
    _, metrics = run(cfg, *small_images, 2)
    for m in metrics:  # near chance at the start, and mixed labels cost at least as much: about log 10
        assert 1.0 < float(m["d_class"]) < 5.0 and 1.0 < float(m["g_class"]) < 5.0
    maps = classmap.random_maps(jax.random.key(0), jnp.arange(8) % 10, 10, 1.0)
    shares = classmap.image_labels(maps)
    np.testing.assert_allclose(shares.sum(-1), 1.0, rtol=1e-6)
    mixed = (shares.max(-1) < 1.0) & (shares.max(-1) > 0.0)
    assert mixed.any()  # a box of another class: the image is part one class, part the other
    np.testing.assert_array_equal(classmap.image_labels(jnp.arange(3)), jnp.arange(3))
