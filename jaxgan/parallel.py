"""The one place that knows about devices: the data-parallel mesh and how per-device step code is mapped over it.

    mesh = parallel.make_mesh()                 # every device (of every process) on one axis named "batch"
    f = parallel.data_parallel(per_device_fn, mesh, in_specs=(REPLICATED, BATCH), out_specs=(REPLICATED, REPLICATED))

Per-device code is written as under `jax.pmap`: it sees its shard of the batch and averages gradients (and batch
norm statistics) over `AXIS` with `jax.lax.pmean`. `jax.pmap` itself is in maintenance mode; `jax.shard_map` under
`jit` gives the same semantics and runs unchanged on 1 or N devices.
"""
from __future__ import annotations

import jax
import numpy as np
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
      fn: the per-device function; it reduces across devices explicitly (`jax.lax.pmean(x, AXIS)`).
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
