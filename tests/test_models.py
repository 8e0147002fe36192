import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan
from jaxgan import models, state as state_lib

CONDITIONAL = ("biggan", "cdcgan")  # generators fed by a shared class embedding: any class mixture is an input


@pytest.mark.parametrize("model, gw, dw, num_classes", [
    (m, w, w, c) for m, w in (("dcgan", 8), ("dcgan_tutorial", 8), ("sngan", 16)) for c in (0, 10)]
    + [("biggan", 16, 16, 10), ("cdcgan", 8, 8, 10)])
def test_shapes_and_ranges(model, gw, dw, num_classes):
    cfg = jaxgan.Config(model=model, g_width=gw, d_width=dw, z_dim=16, num_classes=num_classes)
    g, d = models.build(cfg)
    st = state_lib.create(cfg)
    z = jax.random.normal(jax.random.key(0), (3, 16))
    y = jnp.array([0, 4, 9])
    x = g.apply({"params": st.g.params, **st.g.stats}, z, y, train=False)
    assert x.shape == (3, 32, 32, 3) and float(jnp.abs(x).max()) <= 1.0
    logits = d.apply({"params": st.d.params, **st.d.stats}, x, y, train=False)
    assert logits.shape == (3,)
    p = models.probability(logits)
    assert bool(jnp.all((p > 0) & (p < 1)))
    # The label changes the image (CBN generators start as plain batch norm: their class maps are zero at init).
    if num_classes and model not in CONDITIONAL:
        x2 = g.apply({"params": st.g.params, **st.g.stats}, z, y[::-1], train=False)
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
    params = state_lib.create(cfg).d.params
    assert [params[f"Conv_{i}"]["kernel"].shape[-1] for i in range(3)] == [64, 128, 256]


def _conditional(model):
    cfg = jaxgan.Config(model=model, g_width=16, d_width=16, z_dim=16, num_classes=10)
    g, _ = models.build(cfg)
    st = state_lib.create(cfg)
    return g, st


@pytest.mark.parametrize("model, width", [("cdcgan", 8), ("sngan", 16), ("dcgan", 8)])
def test_class_scores_are_the_projection_terms_of_every_label(model, width):
    cfg = jaxgan.Config(model=model, g_width=width, d_width=width, num_classes=10)
    variables = state_lib.create(cfg).d
    _, d = models.build(cfg)
    x = jax.random.normal(jax.random.key(0), (3, 32, 32, 3))
    collections = list(variables.stats)

    def logits(y, mutable=collections):  # (logits, the mutated collections)
        return d.apply({"params": variables.params, **variables.stats}, x, jnp.full((3,), y), train=True,
                       mutable=mutable)

    assert models.CLASS_SCORES not in logits(0)[1]  # sown only when the caller asks (only the step does)
    _, new = logits(0, collections + [models.CLASS_SCORES])
    scores = np.asarray(new[models.CLASS_SCORES]["out"][0])
    assert scores.shape == (3, 10)
    # D's logit of x under label c minus under label c' is exactly score c minus score c'.
    by_label = np.stack([np.asarray(logits(c)[0]) for c in range(10)], axis=1)
    np.testing.assert_allclose(by_label - by_label[:, :1], scores - scores[:, :1], atol=1e-4)
    assert np.ptp(scores, axis=1).min() > 0


@pytest.mark.parametrize("model", CONDITIONAL)
def test_one_hot_mixtures_are_exactly_the_labels(model):
    from jaxgan.models import biggan

    gen, st = _conditional(model)
    g = lambda z, y: gen.apply({"params": st.g.params, **st.g.stats}, z, y, train=False)
    z = jax.random.normal(jax.random.key(0), (4, 16))
    y = jnp.array([7, 2, 0, 9])
    plain = g(z, y)
    one_hot = jax.nn.one_hot(y, 10)
    np.testing.assert_array_equal(g(z, one_hot), plain)
    np.testing.assert_array_equal(g(z, jnp.repeat(one_hot[:, None], biggan.LEVELS, 1)), plain)


@pytest.mark.parametrize("model", CONDITIONAL)
def test_mixtures_and_per_block_mixing_change_the_image(model):
    gen, st = _conditional(model)
    # The gain/offset maps start at zero (plain batch norm): give them weights so the class matters.
    z = jax.random.normal(jax.random.key(0), (2, 16))
    horse, bird = jax.nn.one_hot(jnp.array([7, 7]), 10), jax.nn.one_hot(jnp.array([2, 2]), 10)
    params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.key(1), p.shape), st.g.params)
    run = lambda y: gen.apply({"params": params, **st.g.stats}, z, y, train=False)
    mixed = run(0.6 * horse + 0.4 * bird)
    assert not np.allclose(mixed, run(horse)) and not np.allclose(mixed, run(bird))
    coarse_horse_fine_bird = jnp.stack([horse, bird, bird], axis=1)
    assert not np.allclose(run(coarse_horse_fine_bird), run(bird))
    assert not np.allclose(run(coarse_horse_fine_bird), run(horse))


def test_cdcgan_discriminator_is_spectrally_normalised_with_a_projection():
    cfg = jaxgan.load_experiment("cgan")
    st = state_lib.create(cfg)
    params, stats = st.d.params, st.d.stats
    assert "class_projection" in params and "batch_stats" in stats
    kernel = params["SNConv_1"]["Conv_0"]["kernel"]  # (4, 4, 64, 128)
    _, d = models.build(cfg)
    x = jax.random.normal(jax.random.key(0), (2, 32, 32, 3))
    # Power iteration: after enough updates of u, the normalised kernel's top singular value is ~1.
    for _ in range(30):
        _, new = d.apply({"params": params, **stats}, x, jnp.array([0, 1]), train=True, mutable=["batch_stats"])
        stats = new
    sigma = stats["batch_stats"]["SNConv_1"]["SpectralNorm_0"]["Conv_0/kernel/sigma"]
    top = np.linalg.svd(np.asarray(kernel).reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    np.testing.assert_allclose(float(sigma), top, rtol=1e-3)


@pytest.mark.parametrize("model", CONDITIONAL)
def test_conditional_generators_need_classes(model):
    from jaxgan.errors import UserError

    with pytest.raises(UserError, match="num_classes"):
        jaxgan.Config(model=model, num_classes=0)
