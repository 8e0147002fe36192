import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan
from jaxgan import models, state as state_lib


@pytest.mark.parametrize("model, gw, dw", [("dcgan", 8, 8), ("dcgan_tutorial", 8, 8), ("sngan", 16, 16)])
@pytest.mark.parametrize("num_classes", [0, 10])
def test_shapes_and_ranges(model, gw, dw, num_classes):
    cfg = jaxgan.Config(model=model, g_width=gw, d_width=dw, z_dim=16, num_classes=num_classes)
    g, d = models.build(cfg)
    st = state_lib.create(cfg)
    z = jax.random.normal(jax.random.key(0), (3, 16))
    y = jnp.array([0, 4, 9])
    x = g.apply({"params": st.g_params, **st.g_stats}, z, y, train=False)
    assert x.shape == (3, 32, 32, 3) and float(jnp.abs(x).max()) <= 1.0
    logits = d.apply({"params": st.d_params, **st.d_stats}, x, y, train=False)
    assert logits.shape == (3,)
    p = models.probability(logits)
    assert bool(jnp.all((p > 0) & (p < 1)))
    if num_classes:  # the label changes the image and the logit
        x2 = g.apply({"params": st.g_params, **st.g_stats}, z, y[::-1], train=False)
        assert not np.allclose(x, x2)


def test_dcgan_shapes_follow_the_issue():
    """G: z(128) -> 4x4x256 -> 8x8x128 -> 16x16x64 -> 32x32x3; D: 64, 128, 256 stride-2 convs."""
    cfg = jaxgan.load_experiment("dcgan")
    g, d = models.build(cfg)
    z = jnp.zeros((2, 128))
    _, variables = g.init_with_output(jax.random.key(0), z, None, train=False, capture_intermediates=True)
    outs = {name: v["__call__"][0].shape for name, v in variables["intermediates"].items() if "__call__" in v}
    assert outs["Dense_0"] == (2, 4096)
    assert outs["UpsampleConv_0"] == (2, 8, 8, 128)
    assert outs["UpsampleConv_1"] == (2, 16, 16, 64)
    assert outs["UpsampleConv_2"] == (2, 32, 32, 3)
    params = state_lib.create(cfg).d_params
    assert [params[f"Conv_{i}"]["kernel"].shape[-1] for i in range(3)] == [64, 128, 256]


def _biggan(num_classes=10):
    cfg = jaxgan.Config(model="biggan", g_width=16, d_width=16, z_dim=16, num_classes=num_classes)
    g, _ = models.build(cfg)
    st = state_lib.create(cfg)
    return lambda z, y: g.apply({"params": st.g_params, **st.g_stats}, z, y, train=False), st


def test_biggan_one_hot_mixtures_are_exactly_the_labels():
    from jaxgan.models import biggan

    g, _ = _biggan()
    z = jax.random.normal(jax.random.key(0), (4, 16))
    y = jnp.array([7, 2, 0, 9])
    plain = g(z, y)
    one_hot = jax.nn.one_hot(y, 10)
    np.testing.assert_array_equal(g(z, one_hot), plain)
    np.testing.assert_array_equal(g(z, jnp.repeat(one_hot[:, None], biggan.LEVELS, 1)), plain)


def test_biggan_mixtures_and_per_block_mixing_change_the_image():
    _, st = _biggan()
    # The gain/offset maps start at zero (plain batch norm): give them weights so the class matters.
    z = jax.random.normal(jax.random.key(0), (2, 16))
    horse, bird = jax.nn.one_hot(jnp.array([7, 7]), 10), jax.nn.one_hot(jnp.array([2, 2]), 10)
    params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.key(1), p.shape), st.g_params)
    cfg = jaxgan.Config(model="biggan", g_width=16, d_width=16, z_dim=16, num_classes=10)
    gen, _ = models.build(cfg)
    run = lambda y: gen.apply({"params": params, **st.g_stats}, z, y, train=False)
    mixed = run(0.6 * horse + 0.4 * bird)
    assert not np.allclose(mixed, run(horse)) and not np.allclose(mixed, run(bird))
    coarse_horse_fine_bird = jnp.stack([horse, bird, bird], axis=1)
    assert not np.allclose(run(coarse_horse_fine_bird), run(bird))


def test_biggan_needs_classes():
    from jaxgan.errors import UserError

    with pytest.raises(UserError, match="num_classes"):
        jaxgan.Config(model="biggan", num_classes=0)
