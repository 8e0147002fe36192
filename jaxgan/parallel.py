"""The one place that knows about devices: the data-parallel mesh and how per-device step code is mapped over it.

    mesh = parallel.make_mesh()                 # every device (of every process) on one axis named "batch"
    f = parallel.data_parallel(per_device_fn, mesh, in_specs=(REPLICATED, BATCH), out_specs=(REPLICATED, REPLICATED))

Per-device code is written as under `jax.pmap`: it sees its shard of the batch and averages gradients (and batch
norm statistics) over `AXIS` with `parallel.mean`, which is `jax.lax.pmean` summed in device order. `jax.pmap`
itself is in maintenance mode; `jax.shard_map` under `jit` gives the same semantics and runs unchanged on 1 or N
devices.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "batch"
REPLICATED = P()
BATCH = P(AXIS)  # leading axis split over devices
STEPS_BATCH = P(None, AXIS)  # (n_dis, batch, ...): second axis split


def make_mesh(devices=None) -> Mesh:
    """A one-axis data-parallel mesh.

    Args:
      devices: the devices (default: every device of every process; in one process, its local devices).

    Returns:
      A `Mesh` whose one axis is `AXIS`.
    """
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.array(devices), (AXIS,))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def mean(tree, axis_name: str = AXIS):
    """`jax.lax.pmean(tree, axis_name)`, summed in device order whatever the devices' processes.

    `pmean`'s all-reduce adds the devices' values in an order of the backend's choosing: XLA's in-process
    all-reduce and gloo's cross-process one differ, so 2 processes x 2 devices and 1 x 4 drift apart by float32
    rounding (Adam turns that into visible differences within tens of steps). Here each device gets one slice of
    every device's values (`all_to_all`), adds them in device order, and the sums are gathered back: the same
    bytes on the wire as a ring all-reduce, the same memory, and a result that depends only on the number of
    devices. Its gradient is `mean` of the cotangents, as `pmean`'s is under `shard_map(check_vma=False)`.

    Args:
      tree: a pytree of float arrays, each device's own values (call inside `data_parallel`).
      axis_name: the mesh axis to average over.

    Returns:
      The same pytree, averaged over the devices of `axis_name`, identical on every device.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> mesh = make_mesh(jax.devices()[:1])
      >>> f = jax.jit(data_parallel(lambda x: mean(x), mesh, in_specs=BATCH, out_specs=REPLICATED))
      >>> f(jnp.array([3.0]))
      Array([3.], dtype=float32)
    """
    n = jax.lax.psum(1, axis_name)  # static under shard_map
    if n == 1:
        return tree
    flat, unravel = ravel_pytree(tree)
    chunk = math.ceil(flat.size / n)
    parts = jnp.pad(flat, (0, n * chunk - flat.size)).reshape(n, chunk)
    # Row i goes to device i; device i receives row i of every device, stacked in device order.
    received = jax.lax.all_to_all(parts, axis_name, split_axis=0, concat_axis=0)
    summed = jnp.sum(received, axis=0)
    total = jax.lax.all_gather(summed, axis_name, tiled=True)[:flat.size]
    return unravel(total / n)


def _mean_fwd(tree, axis_name):
    return mean(tree, axis_name), None


def _mean_bwd(axis_name, _, cotangent):
    return (mean(cotangent, axis_name),)


mean.defvjp(_mean_fwd, _mean_bwd)


def replicate(tree, mesh: Mesh):
    """A copy of `tree` on every device of `mesh`.

    Args:
      tree: a pytree of arrays (a `GANState`).
      mesh: the mesh.

    Returns:
      The replicated pytree.
    """
    if jax.process_count() > 1:
        # Across processes, device_put takes host values (the same on every process), not single-device arrays.
        tree = jax.device_get(tree)
    return jax.device_put(tree, NamedSharding(mesh, REPLICATED))


def data_parallel(fn, mesh: Mesh, in_specs, out_specs):
    """`fn` written per device (pmap semantics) mapped over `mesh`.

    Args:
      fn: the per-device function; it reduces across devices explicitly (`parallel.mean(x)`).
      mesh: the mesh.
      in_specs: a PartitionSpec per argument (`REPLICATED`, `BATCH`, `STEPS_BATCH`).
      out_specs: a PartitionSpec per output.

    Returns:
      The mapped function (jit it).
    """
    # check_vma=False keeps pmap's semantics: values are per-device unless reduced explicitly, and the transpose
    # of pmean is pmean, so "pmean the local gradients" gives exactly the gradient of the global batch, batch norm
    # statistics included (tests/test_parallel.py checks this against one device).
    return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)


def await_each_step(mesh: Mesh) -> bool:
    """Whether a training loop over `mesh` must wait for each step before dispatching the next.

    True on XLA:CPU with more than one device in the mesh (`--xla_force_host_platform_device_count`,
    `jax_num_cpu_devices`). There, the devices' programs share the process's CPU thread pool and meet at blocking
    in-process collectives; with several steps in flight, participants of a later step can hold threads that an
    earlier step's remaining participants need, and the step deadlocks until XLA's 40 s collective timeout kills the
    process. Measured: `examples/research.ipynb`'s 8-device loop stalled at an all-to-all in 3 runs of 3 while another
    process kept a core busy, and ran to the same figures when each step was awaited. On one CPU device, and on
    GPUs and TPUs, steps stay asynchronous. On CPU, awaiting costs little: the host and the devices share the
    same cores.

    Args:
      mesh: the training mesh.

    Returns:
      True when each step should be awaited (`jax.block_until_ready`) before the next one is dispatched.

    >>> await_each_step(make_mesh(jax.devices()[:1]))
    False
    """
    return mesh.size > 1 and all(d.platform == "cpu" for d in mesh.devices.flat)


def check_batch_divides(batch_size: int, mesh: Mesh) -> None:
    """Checks that the global batch splits evenly over the mesh.

    Args:
      batch_size: the global batch.
      mesh: the mesh.

    Raises:
      UserError: naming the config key, when it does not.
    """
    from jaxgan.errors import UserError

    if batch_size % mesh.size:
        raise UserError(f"config key 'batch_size': {batch_size} does not split evenly over {mesh.size} devices")
