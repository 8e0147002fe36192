"""Augmentation: what each transform does, that all of them are differentiable, that the step applies the same
policy to every image D sees, that the empty policy never touches the step, and that keys never repeat."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan
from jaxgan import augment, parallel, state as state_lib, step as step_lib
from jaxgan.errors import UserError
from tests.conftest import tiny_config

ALL = "flip,color,translation,cutout"


def keys(n, seed=0):
    return jax.random.split(jax.random.key(seed), n)


def test_flip_mirrors_about_half_the_images():
    x = jax.random.uniform(jax.random.key(1), (200, 32, 32, 3), minval=-1, maxval=1)
    y = np.asarray(augment.apply("flip", x, keys(200)))
    same = [np.array_equal(a, b) for a, b in zip(y, np.asarray(x))]
    mirrored = [np.array_equal(a, b[:, ::-1]) for a, b in zip(y, np.asarray(x))]
    assert all(s or m for s, m in zip(same, mirrored)) and 70 < sum(mirrored) < 130


def test_translation_moves_content_by_at_most_four_pixels_and_pads_with_zeros():
    x = jax.random.uniform(jax.random.key(1), (20, 32, 32, 3), minval=0.1, maxval=1)
    for a, b in zip(np.asarray(x), np.asarray(augment.apply("translation", x, keys(20)))):
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if np.array_equal(b[max(dy, 0):32 + min(dy, 0), max(dx, 0):32 + min(dx, 0)],
                                   a[max(-dy, 0):32 + min(-dy, 0), max(-dx, 0):32 + min(-dx, 0)])]
        assert found
        dy, dx = found[0]
        assert np.count_nonzero(b == 0) == 3 * (32 * 32 - (32 - abs(dy)) * (32 - abs(dx)))


def test_cutout_zeroes_one_square_of_at_most_half_the_side():
    x = jnp.ones((50, 32, 32, 3))
    y = np.asarray(augment.apply("cutout", x, keys(50)))
    for img in y:
        rows, cols = np.nonzero(img[..., 0] == 0)
        assert len(rows) > 0 and rows.max() - rows.min() < 16 and cols.max() - cols.min() < 16
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one rectangle
    assert (y[:, :, :, 0] == 0).sum(axis=(1, 2)).max() == 256  # a full 16x16 square when it fits


def test_color_changes_brightness_saturation_contrast_per_image():
    x = jax.random.uniform(jax.random.key(1), (8, 32, 32, 3), minval=-1, maxval=1)
    y = np.asarray(augment.apply("color", x, keys(8)))
    assert y.shape == x.shape and not np.allclose(y, x)
    assert len({round(float(d), 4) for d in (y - np.asarray(x)).mean(axis=(1, 2, 3))}) == 8


def test_every_transform_is_differentiable():
    x = jax.random.uniform(jax.random.key(1), (4, 32, 32, 3), minval=-1, maxval=1)
    w = jax.random.normal(jax.random.key(2), x.shape)
    for policy in ("flip", "color", "translation", "cutout", ALL):
        g = jax.grad(lambda x: jnp.sum(augment.apply(policy, x, keys(4)) * w))(x)
        assert np.all(np.isfinite(g)) and np.abs(np.asarray(g)).sum() > 0, policy
    # Cutout's gradient is the mask: zero exactly where the image was cut.
    y = augment.apply("cutout", x, keys(4))
    g = jax.grad(lambda x: jnp.sum(augment.apply("cutout", x, keys(4))))(x)
    np.testing.assert_array_equal(np.asarray(g) == 0, np.asarray(y) == 0)


def test_one_key_per_image_gives_the_same_image_whatever_the_batch():
    x = jax.random.uniform(jax.random.key(1), (6, 32, 32, 3), minval=-1, maxval=1)
    k = augment.image_keys(jax.random.key(3), jnp.int32(0), 6)
    whole = augment.apply(ALL, x, k)
    halves = jnp.concatenate([augment.apply(ALL, x[:3], augment.image_keys(jax.random.key(3), jnp.int32(0), 3)),
                              augment.apply(ALL, x[3:], augment.image_keys(jax.random.key(3), jnp.int32(3), 3))])
    np.testing.assert_array_equal(whole, halves)


def test_unknown_transform_is_a_config_error():
    with pytest.raises(UserError, match="config key 'augment'.*'rotate'"):
        tiny_config(augment="flip,rotate")
    assert tiny_config(augment=" cutout,flip ").augment == " cutout,flip "
    assert augment.parse(" cutout,flip ") == ("flip", "cutout")


def _one_step(cfg):
    mesh = parallel.make_mesh()
    st = parallel.replicate(state_lib.create(cfg), mesh)
    rng = np.random.default_rng(0)
    batch = {"image": jnp.asarray(rng.integers(0, 256, (cfg.n_dis, cfg.batch_size, 32, 32, 3), dtype=np.uint8)),
             "label": jnp.asarray(rng.integers(0, 10, (cfg.n_dis, cfg.batch_size)).astype(np.int32))}
    return step_lib.make_train_step(cfg, mesh)(st, batch)


def test_the_step_applies_one_policy_to_every_image_d_sees(monkeypatch):
    calls = []
    real_apply = augment.apply

    def recording(names, x, k):
        calls.append(tuple(names))
        return real_apply(names, x, k)

    monkeypatch.setattr(augment, "apply", recording)
    st, metrics = _one_step(tiny_config(augment=ALL, n_dis=2))
    diff = ("color", "translation", "cutout")
    # Traced once: reals flipped per D update, then per update D's real and fake, then G's fake.
    assert calls.count(("flip",)) == 2
    assert calls[2:] == [diff] * 5 and int(st.step) == 1 and np.isfinite(float(metrics["g_loss"]))


def test_no_policy_never_touches_the_images(monkeypatch):
    def forbidden(*args):
        raise AssertionError("augment.apply called with augment=''")

    monkeypatch.setattr(augment, "apply", forbidden)
    st, metrics = _one_step(tiny_config())
    assert int(st.step) == 1 and np.isfinite(float(metrics["d_loss"]))


def test_augmentation_changes_the_step_and_stays_seeded():
    a, _ = _one_step(tiny_config(augment=ALL))
    b, _ = _one_step(tiny_config(augment=ALL))
    c, _ = _one_step(tiny_config())
    leaf = lambda st: np.asarray(st.d.params["Conv_0"]["kernel"])
    np.testing.assert_array_equal(leaf(a), leaf(b))
    assert not np.array_equal(leaf(a), leaf(c))


def test_experiments_accept_the_key():
    assert jaxgan.load_experiment("cgan", {"augment": ALL}).augment == ALL
