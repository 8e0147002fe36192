"""The part-aware Pegasus score and latent refinement (jaxgan/wings.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import evaluator as evaluator_lib, state as state_lib, wings
from jaxgan.models.biggan import LEVELS
from tests.conftest import tiny_config


def test_foreground_spread_compares_the_band_above_the_back_with_the_body_below():
    img = np.full((1, 32, 32, 3), 128, np.uint8)
    img[0, 8:14, 1:31] = 250   # a wide pale shape in the upper band: 30 columns
    img[0, 22:30, 13:19] = 20  # a narrow dark body below: 6 columns
    assert wings.foreground_spread(img)[0] == pytest.approx(5.0)
    assert wings.spread_factor(np.array([5.0, wings.SPREAD_CAP, 0.0]))[:2] == pytest.approx([1.0, 1.0])
    assert wings.spread_factor(np.array([0.75]))[0] == pytest.approx(0.5 ** 0.25)


def test_upper_band_reads_only_the_upper_rows():
    x = jax.random.uniform(jax.random.key(0), (2, 32, 32, 3), minval=-1, maxval=1)
    changed = x.at[:, wings.UPPER_ROWS:].set(0.5)
    band = wings.upper_band(x)
    assert band.shape == x.shape
    np.testing.assert_array_equal(np.asarray(band), np.asarray(wings.upper_band(changed)))


@pytest.fixture(scope="module")
def ev():
    return evaluator_lib.load()


def test_part_scores_combine_the_steady_horse_and_the_upper_band(ev, small_images):
    images = small_images[0][:12]
    parts = wings.part_scores(images, ev, batch_size=5)  # three batches, the last one padded
    assert all(v.shape == (12,) for v in parts.values())
    expected = parts["p_horse_steady"] ** 0.6 * parts["p_wings_upper"] ** 0.4 * wings.spread_factor(parts["spread"])
    np.testing.assert_allclose(parts["part_recognisability"], expected, rtol=1e-6)
    _, logits = ev.features_and_logits(images)
    np.testing.assert_allclose(parts["p_horse"], np.asarray(jax.nn.softmax(logits, -1))[:, 7], atol=1e-5)
    # The steady reading is the mean of p(horse) over the 18 views, each read as an image of its own.
    x = jnp.asarray(images, jnp.float32) / 127.5 - 1.0
    views = np.concatenate([np.asarray(v) for v in wings.steady_views(x)])
    _, view_logits = ev.features_and_logits(np.round((views + 1.0) * 127.5).astype(np.uint8))
    by_view = np.asarray(jax.nn.softmax(view_logits, -1))[:, 7].reshape(18, 12)
    np.testing.assert_allclose(parts["p_horse_steady"], by_view.mean(axis=0), atol=1e-5)
    assert not np.allclose(parts["p_horse_steady"], parts["p_horse"], atol=1e-3)  # the views do differ
    again = wings.part_scores(images[:5], ev, batch_size=5)
    np.testing.assert_allclose(again["p_wings_upper"], parts["p_wings_upper"][:5], atol=1e-6)


def test_the_steady_reading_is_paid_only_where_asked(ev, small_images):
    images = small_images[0][:6]
    every = wings.part_scores(images, ev, batch_size=4)
    chosen = np.array([True, False, False, True, True, False])
    some = wings.part_scores(images, ev, batch_size=4, steady=chosen)
    np.testing.assert_allclose(some["p_horse_steady"][chosen], every["p_horse_steady"][chosen], atol=1e-6)
    np.testing.assert_array_equal(some["p_horse_steady"][~chosen], some["p_horse"][~chosen])
    none = wings.part_scores(images, ev, steady=np.zeros(6, bool))
    np.testing.assert_array_equal(none["p_horse_steady"], none["p_horse"])


def test_steady_views_are_the_shifts_and_mirrors_of_the_grid():
    x = jax.random.uniform(jax.random.key(4), (2, 32, 32, 3))
    views = wings.steady_views(x)
    assert len(views) == 2 * len(wings.STEADY_SHIFTS) ** 2 and all(v.shape == x.shape for v in views)
    k = len(wings.STEADY_SHIFTS) ** 2 - 1  # the last unmirrored view: +2 rows, +2 columns
    np.testing.assert_array_equal(np.asarray(views[k][:, :-2, :-2]), np.asarray(x[:, 2:, 2:]))
    np.testing.assert_array_equal(np.asarray(views[len(views) // 2 + 4]), np.asarray(x[:, :, ::-1]))


def test_jitter_is_a_keyed_shift_or_mirror():
    x = jax.random.uniform(jax.random.key(1), (6, 32, 32, 3))
    a, b = wings.jitter(jax.random.key(2), x), wings.jitter(jax.random.key(2), x)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(wings.jitter(jax.random.key(3), x)))
    assert np.array_equal(np.asarray(wings.jitter(jax.random.key(2), x, max_shift=0)[0]), np.asarray(x[0])) or \
        np.array_equal(np.asarray(wings.jitter(jax.random.key(2), x, max_shift=0)[0]), np.asarray(x[0, :, ::-1]))


@pytest.fixture(scope="module")
def tiny_cdcgan():
    """An untrained four-class cdcgan small enough to refine through in seconds: (config, state)."""
    cfg = tiny_config(model="cdcgan", num_classes=4, classes=("airplane", "bird", "deer", "horse"), loss="hinge",
                      g_width=8, d_width=8)
    return cfg, state_lib.create(cfg)


def test_refine_climbs_its_objective_and_keeps_valid_mixtures(ev, tiny_cdcgan):
    cfg, st = tiny_cdcgan
    z = np.asarray(jax.random.normal(jax.random.key(0), (3, cfg.z_dim)))
    mix = np.tile(np.array([[0.1, 0.2, 0.0, 0.7]], np.float32), (3, 1))
    out = wings.refine(cfg, st, ev, z, mix, steps=15, lr=0.1)
    assert out["images"].shape == (3, 32, 32, 3) and out["images"].dtype == np.uint8
    assert out["z"].shape == z.shape and out["mix"].shape == mix.shape
    np.testing.assert_allclose(out["mix"].sum(axis=-1), 1.0, atol=1e-5)
    assert out["objective"].shape == (16,) and out["objective"][-1] > out["objective"][0]
    again = wings.refine(cfg, st, ev, z, mix, steps=15, lr=0.1)
    np.testing.assert_array_equal(out["images"], again["images"])  # keys from the seed: the same run twice
    levels = wings.refine(cfg, st, ev, z, np.repeat(mix[:, None], LEVELS, 1), steps=2)
    assert levels["mix"].shape == (3, LEVELS, 4)


def test_wing_sketch_rises_from_the_back_away_from_the_head_with_sky_around_it():
    horse = np.full((2, 32, 32, 3), 200, np.uint8)                  # pale sky
    horse[:, 18:26, 6:26] = 60                                       # a dark body
    horse[0, 8:18, 22:26] = 60                                       # image 0: the neck rises on the right
    horse[1, 8:18, 6:10] = 60                                        # image 1: on the left
    wing, sky = wings.wing_sketch(horse)
    assert wing.shape == sky.shape == (2, 32, 32) and wing.dtype == np.float32
    for k, leans_left in ((0, True), (1, False)):
        rows, cols = np.nonzero(wing[k])
        assert rows.max() < 18 and rows.min() <= 18 - wings.WING_RISE  # above the back, rising WING_RISE rows
        top, bottom = cols[rows == rows.min()].mean(), cols[rows == rows.max()].mean()
        assert (top < bottom) == leans_left  # leaning away from the head, towards the tail
        assert not (wing[k] * sky[k]).any() and sky[k].sum() > wing[k].sum() / 2
        assert not sky[k, 18:].any()  # the sky stays above the back
    assert not sky[0, :, 22:26].any() and not sky[1, :, 6:10].any()  # nor covers the neck


def test_refine_towards_a_sketch_paints_the_wing_white_and_keeps_the_rest(ev, tiny_cdcgan):
    cfg, st = tiny_cdcgan
    z = np.asarray(jax.random.normal(jax.random.key(1), (2, cfg.z_dim)))
    mix = np.tile(np.array([[0.0, 0.0, 0.0, 1.0]], np.float32), (2, 1))
    wing = np.zeros((2, 32, 32), np.float32)
    wing[:, 4:12, 10:20] = 1.0
    sky = np.zeros_like(wing)
    sky[:, 1:4, 8:22] = 1.0
    plain = wings.refine(cfg, st, ev, z, mix, steps=0)
    out = wings.refine(cfg, st, ev, z, mix, steps=20, lr=0.1, sketch=(wing, sky))
    assert out["objective"][-1] > out["objective"][0]

    def distance(images, mask, colour):
        x = images.astype(np.float32) / 127.5 - 1.0
        return float((((x - np.asarray(colour)) ** 2).mean(-1) * mask).sum() / mask.sum())

    assert distance(out["images"], wing, wings.SKETCH_WING) < distance(plain["images"], wing, wings.SKETCH_WING)
    assert distance(out["images"], sky, wings.SKETCH_SKY) < distance(plain["images"], sky, wings.SKETCH_SKY)
    again = wings.refine(cfg, st, ev, z, mix, steps=20, lr=0.1, sketch=(wing, sky))
    np.testing.assert_array_equal(out["images"], again["images"])
