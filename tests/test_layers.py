import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import layers

DN = ("NHWC", "HWIO", "NHWC")


def naive_upsample_conv(x, kernel):
    return jax.lax.conv_general_dilated(layers.upsample_nearest(x), kernel, (1, 1), "SAME", dimension_numbers=DN)


@pytest.mark.parametrize("shape, c_out", [((2, 4, 4, 8), 5), ((3, 8, 6, 4), 3)])
def test_subpixel_upsample_conv_equals_upsample_then_conv(shape, c_out):
    x = jax.random.normal(jax.random.key(0), shape)
    k = jax.random.normal(jax.random.key(1), (3, 3, shape[-1], c_out))
    np.testing.assert_allclose(layers.subpixel_upsample_conv(x, k), naive_upsample_conv(x, k), rtol=1e-5, atol=1e-4)
    loss = lambda f: lambda x, k: jnp.sum(jnp.sin(f(x, k)))
    fast = jax.grad(loss(layers.subpixel_upsample_conv), (0, 1))(x, k)
    ref = jax.grad(loss(naive_upsample_conv), (0, 1))(x, k)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_upsample_conv_has_the_parameters_of_a_3x3_conv():
    x = jnp.ones((1, 4, 4, 6))
    ours = layers.UpsampleConv(5).init(jax.random.key(0), x)
    conv = nn.Conv(5, (3, 3)).init(jax.random.key(0), x)
    assert jax.tree.map(jnp.shape, ours) == jax.tree.map(jnp.shape, conv)
    y = layers.UpsampleConv(5).apply(conv, x)
    np.testing.assert_allclose(y, nn.Conv(5, (3, 3)).apply(conv, layers.upsample_nearest(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("c_in, c_out", [(3, 4), (6, 2)])  # both ways of forming the weight gradient
def test_conv2x2_gradients_match_xla(c_in, c_out):
    x = jax.random.normal(jax.random.key(0), (2, 5, 7, c_in))
    k = jax.random.normal(jax.random.key(1), (2, 2, c_in, c_out))
    ref = lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=DN)
    f = lambda conv: jax.grad(lambda x, k: jnp.sum(conv(x, k) ** 2), (0, 1))(x, k)
    for a, b in zip(f(layers.conv2x2), f(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_spectral_norm_conv_has_unit_spectral_norm_after_power_iterations():
    x = jax.random.normal(jax.random.key(0), (2, 8, 8, 4))
    m = layers.SNDense(6)
    v = m.init(jax.random.key(1), x.reshape(2, -1), train=False)
    for _ in range(30):
        _, upd = m.apply(v, x.reshape(2, -1), train=True, mutable=["batch_stats"])
        v = {**v, **upd}
    # The normalised layer applies w / sigma(w): its Jacobian's largest singular value is 1.
    y = lambda z: m.apply(v, z, train=False)
    bias = y(jnp.zeros((1, 256)))
    jac = jax.jacobian(lambda z: (y(z[None]) - bias)[0])(jnp.zeros(256))
    assert abs(float(jnp.linalg.norm(jac, 2)) - 1.0) < 1e-2


@pytest.mark.parametrize("shape, c_out", [((2, 5, 7, 3), 4), ((1, 4, 4, 8), 2)])
def test_conv3x3_equals_a_3x3_same_conv_with_its_gradients(shape, c_out):
    x = jax.random.normal(jax.random.key(0), shape)
    conv = nn.Conv(c_out, (3, 3), use_bias=False)
    params = conv.init(jax.random.key(1), x)
    ours = layers.Conv3x3(c_out)
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(1), x)) == jax.tree.map(jnp.shape, params)
    loss = lambda m: lambda p, x: jnp.sum(jnp.sin(m.apply(p, x)))
    np.testing.assert_allclose(ours.apply(params, x), conv.apply(params, x), rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(jax.grad(loss(ours), (0, 1))(params, x)),
                    jax.tree.leaves(jax.grad(loss(conv), (0, 1))(params, x))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_batch_norm_is_flax_batch_norm_on_one_device():
    x = jax.random.normal(jax.random.key(0), (6, 3, 3, 5)) * 2 + 1
    ours, theirs = layers.BatchNorm(momentum=0.8), nn.BatchNorm(momentum=0.8)
    variables = theirs.init(jax.random.key(1), x, use_running_average=False)
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(1), x)) == jax.tree.map(jnp.shape, variables)
    y, stats = ours.apply(variables, x, mutable=["batch_stats"])
    y_ref, stats_ref = theirs.apply(variables, x, use_running_average=False, mutable=["batch_stats"])
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(stats_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    evaluated = layers.BatchNorm(use_running_average=True).apply({**variables, **stats}, x)
    np.testing.assert_allclose(evaluated, theirs.apply({**variables, **stats}, x, use_running_average=True),
                               rtol=1e-5, atol=1e-5)
    loss = lambda f: lambda v: jnp.sum(jnp.sin(f(v)))
    grads = jax.grad(loss(lambda v: ours.apply(v, x, mutable=["batch_stats"])[0]))(variables)
    grads_ref = jax.grad(loss(lambda v: theirs.apply(v, x, use_running_average=False, mutable=["batch_stats"])[0]))(
        variables)
    for a, b in zip(jax.tree.leaves(grads["params"]), jax.tree.leaves(grads_ref["params"]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
