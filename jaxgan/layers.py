"""Layers the models share: fast exact nearest-upsample + 3x3 conv and 3x3 conv, spectral-normalised conv/dense.

The fast layer reduces to `conv2x2` (a 2x2 'VALID' convolution) whose weight gradient is computed as four matrix
products instead of XLA:CPU's weight-gradient convolution, which runs at a fraction of the CPU's matmul speed for
these shapes (2-3x slower, measured in benchmarks/RESULTS.md).

`UpsampleConv` computes conv3x3(nearest_upsample_2x(x)) without building the upsampled image: each of the four
output phases (even/odd row, even/odd column) only ever sees a 2x2 neighbourhood of the low-resolution input, with
kernel taps summed where the upsampled pixels repeat. One 2x2 convolution with 4*C_out outputs and a pixel shuffle
gives the same numbers with ~2.25x fewer FLOPs, and its backward pass avoids the slow weight-gradient kernels of
XLA:CPU (benchmarks/RESULTS.md). Its parameters are exactly those of `nn.Conv(features, (3, 3))`.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import parallel

_DN = ("NHWC", "HWIO", "NHWC")


def _conv_with_matmul_kernel_grad(padding: str, kernel_grad):
    """A stride-1 NHWC x HWIO convolution whose weight gradient is `kernel_grad(x, dy)` (matmuls) instead of XLA's
    weight-gradient convolution; the input gradient stays XLA's, which is fast for these shapes."""

    @jax.custom_vjp
    def conv(x, kernel):
        return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=_DN)

    def fwd(x, kernel):
        return conv(x, kernel), (x, kernel)

    def bwd(residuals, dy):
        x, kernel = residuals
        dx = jax.vjp(lambda x: conv.fun(x, kernel), x)[1](dy)[0]
        return dx, kernel_grad(x, dy).astype(kernel.dtype)

    conv.defvjp(fwd, bwd)
    return conv


def _conv2x2_kernel_grad(x, dy):
    """dK[a, b] = sum over n, i, j of x[n, i+a, j+b]^T dy[n, i, j], as matmuls over every pixel.

    Either the input is shifted (four slices of x) or the output gradient is (dy zero-padded into x's frame at
    four offsets, then one matmul against x itself): whichever copies fewer channels.
    """
    n, h, w, c_out = dy.shape
    c_in = x.shape[-1]
    if c_in <= c_out:
        dy2 = dy.reshape(-1, c_out)
        return jnp.stack([jnp.stack([
            jnp.einsum("nk,no->ko", x[:, a:a + h, b:b + w, :].reshape(-1, c_in), dy2) for b in (0, 1)])
            for a in (0, 1)])
    shifted = jnp.concatenate([jnp.pad(dy, ((0, 0), (a, 1 - a), (b, 1 - b), (0, 0))) for a in (0, 1) for b in (0, 1)],
                              axis=-1)  # (n, h+1, w+1, 4 * c_out), offsets in (a, b) order
    dk = jnp.einsum("nk,no->ko", x.reshape(-1, c_in), shifted.reshape(-1, 4 * c_out))
    return dk.reshape(c_in, 2, 2, c_out).transpose(1, 2, 0, 3)


def _conv3x3_kernel_grad(x, dy):
    """The 3x3 'SAME' weight gradient as nine matmuls of the padded input's shifted slices against dy."""
    _, h, w, c_out = dy.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    dy2 = dy.reshape(-1, c_out)
    return jnp.stack([jnp.stack([jnp.einsum("nk,no->ko", xp[:, a:a + h, b:b + w, :].reshape(-1, x.shape[-1]), dy2)
                                 for b in range(3)]) for a in range(3)])


_conv2x2 = _conv_with_matmul_kernel_grad("VALID", _conv2x2_kernel_grad)
_conv3x3 = _conv_with_matmul_kernel_grad("SAME", _conv3x3_kernel_grad)


def conv2x2(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """2x2 'VALID' stride-1 convolution, NHWC x HWIO kernel (2, 2, C_in, C_out), weight gradient as matmuls."""
    return _conv2x2(x, kernel)


def conv3x3(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """3x3 'SAME' stride-1 convolution, NHWC x HWIO kernel, whose weight gradient is nine matmuls."""
    return _conv3x3(x, kernel)


class Conv3x3(nn.Module):
    """`nn.Conv(features, (3, 3), use_bias=False)` with the same parameters, trained faster on CPU (`conv3x3`)."""

    features: int
    kernel_init: Any = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (3, 3, x.shape[-1], self.features))
        return conv3x3(x, kernel.astype(x.dtype))


def upsample_nearest(x: jax.Array, factor: int = 2) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def _phase_taps(w: jax.Array, axis: int) -> tuple[jax.Array, jax.Array]:
    # Along one axis, output 2i sees (x[i-1], x[i]) with taps (w0, w1+w2); output 2i+1 sees (x[i], x[i+1]) with
    # taps (w0+w1, w2).
    w0, w1, w2 = jnp.split(w, 3, axis=axis)
    return jnp.concatenate([w0, w1 + w2], axis), jnp.concatenate([w0 + w1, w2], axis)


def subpixel_upsample_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """conv3x3_same(upsample_nearest(x, 2), kernel) for NHWC x and HWIO kernel (3, 3, C_in, C_out)."""
    b, h, w, _ = x.shape
    c_out = kernel.shape[-1]
    phases = []
    for rows in _phase_taps(kernel, 0):
        phases.extend(_phase_taps(rows, 1))  # order (row phase, col phase): (0,0) (0,1) (1,0) (1,1)
    k2 = jnp.concatenate(phases, axis=-1)  # (2, 2, C_in, 4 * C_out)
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = conv2x2(xp, k2)  # (b, h+1, w+1, 4*C_out)
    y = y.reshape(b, h + 1, w + 1, 2, 2, c_out)
    # Phase (a, c) of output pixel (i, j) is window (i + a, j + c) of the padded input.
    rows = [jnp.stack([y[:, a:a + h, c:c + w, a, c, :] for c in (0, 1)], axis=3) for a in (0, 1)]
    return jnp.stack(rows, axis=2).reshape(b, 2 * h, 2 * w, c_out)


class UpsampleConv(nn.Module):
    """Nearest-neighbour 2x upsampling followed by a 3x3 'SAME' convolution (computed the fast, exact way)."""

    features: int
    use_bias: bool = True
    kernel_init: Any = nn.initializers.lecun_normal()
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (3, 3, x.shape[-1], self.features))
        y = subpixel_upsample_conv(x.astype(self.dtype or x.dtype), kernel.astype(self.dtype or x.dtype))
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,)).astype(y.dtype)
        return y


class SNConv(nn.Module):
    """A spectrally normalised `nn.Conv` (Miyato et al. 2018); `u` lives in the 'batch_stats' collection."""

    features: int
    kernel_size: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    padding: Any = "SAME"

    @nn.compact
    def __call__(self, x, train: bool):
        conv = nn.Conv(self.features, self.kernel_size, self.strides, self.padding)
        return nn.SpectralNorm(conv)(x, update_stats=train)


class SNDense(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x, train: bool):
        return nn.SpectralNorm(nn.Dense(self.features))(x, update_stats=train)


class BatchNorm(nn.Module):
    """`flax.linen.BatchNorm` (the same variables, and on one device the same numbers up to float32 rounding) whose
    cross-device statistics use `parallel.mean`, so they do not depend on how the devices are spread over processes.

    Attributes:
      use_running_average: normalise with the running statistics (evaluation) instead of the batch's.
      momentum: decay of the running statistics.
      epsilon: added to the variance.
      use_scale: learn a per-channel scale.
      use_bias: learn a per-channel offset.
      axis_name: the mesh axis whose devices share statistics (None: this device's batch alone).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> x = jnp.arange(8.0).reshape(4, 2)
      >>> y, _ = BatchNorm(use_running_average=False).init_with_output(jax.random.key(0), x)
      >>> y.mean(0).round(6), (y.std(0) > 0.99).all()
      (Array([0., 0.], dtype=float32), Array(True, dtype=bool))
    """

    use_running_average: bool = False
    momentum: float = 0.99
    epsilon: float = 1e-5
    use_scale: bool = True
    use_bias: bool = True
    axis_name: str | None = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        features = x.shape[-1]
        ra_mean = self.variable("batch_stats", "mean", lambda s: jnp.zeros(s, jnp.float32), (features,))
        ra_var = self.variable("batch_stats", "var", lambda s: jnp.ones(s, jnp.float32), (features,))
        if self.use_running_average:
            mean, var = ra_mean.value, ra_var.value
        else:
            # Statistics in float32 whatever the compute dtype, E[x^2] - E[x]^2 in one pass, as flax does.
            x32 = x.astype(jnp.promote_types(x.dtype, jnp.float32))
            axes = tuple(range(x.ndim - 1))
            moments = jnp.stack([x32.mean(axes), jnp.square(x32).mean(axes)])
            if self.axis_name is not None and not self.is_initializing():
                moments = parallel.mean(moments, self.axis_name)
            mean, var = moments[0], jnp.maximum(0.0, moments[1] - jnp.square(moments[0]))
            if not self.is_initializing():
                ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
                ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
        y = x - mean
        mul = jax.lax.rsqrt(var + self.epsilon)
        dtypes = [x.dtype]
        if self.use_scale:
            scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
            mul = mul * scale
            dtypes.append(scale.dtype)
        y = y * mul
        if self.use_bias:
            bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
            y = y + bias
            dtypes.append(bias.dtype)
        return y.astype(jnp.result_type(*dtypes))
