"""Training across processes and machines on JAX's distributed runtime (`jax.distributed`).

    # the same command on every process, each with its own --process-id (0 hosts the coordinator):
    jaxgan train dcgan --workdir W --coordinator HOST:PORT --num-processes N --process-id I
    # TPU VMs, SLURM, Open MPI: JAX finds the coordinator and the process's place itself
    jaxgan train dcgan --workdir W --distributed auto

The flags may also come from the environment (JAXGAN_COORDINATOR, JAXGAN_NUM_PROCESSES, JAXGAN_PROCESS_ID).
Without them nothing changes: one process, its local devices.

With them, the mesh spans every device of every process and the step is the same `shard_map` program; every
process holds the (small) dataset and the batch of step s is gathered from the same global permutation on the
global mesh, so a run's batches, and so its result, do not depend on how many processes or devices it has. On
CPU the cross-process collectives use gloo. Process 0 writes the run folder's files (config, metrics, TensorBoard,
samples, environment) and holds its one-trainer lock; every process takes part in orbax's checkpoint saves, whose
arrays are plain replicated arrays, so a checkpoint written by N processes restores in 1 and the reverse.

When a process dies, JAX's runtime notices its missing heartbeats within `HEARTBEAT_TIMEOUT_S` and aborts the
others from C++ (a fatal log and a stack trace). So that a user sees one line instead, a distributed `jaxgan
train` runs as a small supervisor (it never starts a JAX backend) around a child process doing the work: the
supervisor passes the child's output through, keeps the runtime's own log lines in a file, and turns such an abort
into one line (`supervise`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading

from jaxgan.errors import UserError

ENV = {"coordinator": "JAXGAN_COORDINATOR", "num_processes": "JAXGAN_NUM_PROCESSES",
       "process_id": "JAXGAN_PROCESS_ID"}
CHILD_ENV = "JAXGAN_DISTRIBUTED_CHILD"  # set in the supervised child: it starts the runtime itself
HEARTBEAT_TIMEOUT_S = 20  # a silent process is declared dead after this; the others then stop (well within 60 s)
DEFAULT_TIMEOUT_S = 120  # how long processes wait for one another at start-up
EXIT_PEER_LOST = 1


@dataclasses.dataclass(frozen=True)
class Topology:
    """Where this process sits in a distributed run (None fields: left to JAX's auto-detection)."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    auto: bool = False
    timeout_s: int = DEFAULT_TIMEOUT_S

    def describe(self) -> str:
        """How messages name this process.

        Returns:
          "process I of N", or "this process" when JAX's auto-detection decides.
        """
        if self.process_id is None:
            return "this process"
        return f"process {self.process_id} of {self.num_processes}"


def topology(coordinator=None, num_processes=None, process_id=None, mode=None, timeout_s=DEFAULT_TIMEOUT_S,
             environ=None) -> Topology | None:
    """The validated topology of the command-line flags (else the environment), or None for one process.

    Args:
      coordinator: "HOST:PORT" of process 0's coordinator (--coordinator, else $JAXGAN_COORDINATOR).
      num_processes: the number of processes (--num-processes, else $JAXGAN_NUM_PROCESSES).
      process_id: this process's index, 0..num_processes-1 (--process-id, else $JAXGAN_PROCESS_ID).
      mode: "auto" to let JAX detect the cluster (TPU VMs, SLURM, Open MPI), else None.
      timeout_s: seconds to wait for every process at start-up.
      environ: the environment to read (default: os.environ).

    Returns:
      A `Topology`, or None when nothing asks for more than one process.

    Raises:
      UserError: a malformed address, a missing companion flag, a process id out of range, a bad timeout.
    """
    environ = os.environ if environ is None else environ
    values = {"coordinator": coordinator, "num_processes": num_processes, "process_id": process_id}
    for key, var in ENV.items():
        if values[key] is None and environ.get(var):
            values[key] = environ[var]
    if mode not in (None, "auto"):
        raise UserError(f"--distributed takes 'auto', got {mode!r}")
    if mode is None and all(v is None for v in values.values()):
        return None
    flag = {"coordinator": "--coordinator", "num_processes": "--num-processes", "process_id": "--process-id"}
    for key in ("num_processes", "process_id"):
        if values[key] is not None:
            try:
                values[key] = int(values[key])
            except (TypeError, ValueError):
                raise UserError(f"{flag[key]} must be a whole number, got {values[key]!r}") from None
    if mode is None:
        missing = [flag[k] for k, v in values.items() if v is None]
        if missing:
            raise UserError(f"a distributed run needs --coordinator, --num-processes and --process-id (missing: "
                            f"{', '.join(missing)}), or --distributed auto")
    if values["coordinator"] is not None and not re.fullmatch(r"[^\s:]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5}",
                                                              values["coordinator"]):
        raise UserError(f"--coordinator must be HOST:PORT, got {values['coordinator']!r}")
    if values["coordinator"] is not None and not 0 < int(values["coordinator"].rsplit(":", 1)[1]) < 65536:
        raise UserError(f"--coordinator {values['coordinator']}: the port must be 1..65535")
    n, i = values["num_processes"], values["process_id"]
    if n is not None and n < 1:
        raise UserError(f"--num-processes must be at least 1, got {n}")
    if i is not None and (i < 0 or (n is not None and i >= n)):
        raise UserError(f"--process-id {i} is out of range for {n} processes (0..{n - 1})" if n is not None
                        else f"--process-id must not be negative, got {i}")
    if timeout_s < 1:
        raise UserError(f"--distributed-timeout must be at least 1 second, got {timeout_s}")
    return Topology(values["coordinator"], n, i, mode == "auto", int(timeout_s))


def start(topo: Topology) -> None:
    """Starts JAX's distributed runtime for `topo` (once per process, before any other JAX call).

    Args:
      topo: from `topology`.

    Raises:
      UserError: the runtime could not start (e.g. the coordinator's port is taken, or auto-detection found no
        cluster).
    """
    import jax

    # XLA:CPU needs a collectives backend for computations that span processes; gloo ships with jaxlib.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(topo.coordinator, topo.num_processes, topo.process_id,
                                   initialization_timeout=topo.timeout_s,
                                   heartbeat_timeout_seconds=HEARTBEAT_TIMEOUT_S)
    except (RuntimeError, ValueError) as e:  # jax.errors.JaxRuntimeError is a RuntimeError
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{topo.describe()}: JAX's distributed runtime did not start ({first})") from None
    try:
        _size_cpu_thread_pool_for_the_host(topo.timeout_s)
    except (RuntimeError, ValueError) as e:
        raise UserError(f"{topo.describe()}: the processes did not all report their hosts ({e})") from None


def _local_cpu_devices() -> int:
    """This process's number of CPU devices, read from its settings before the CPU backend exists."""
    import jax

    if jax.config.jax_num_cpu_devices > 0:
        return jax.config.jax_num_cpu_devices
    flag = re.search(r"--xla_force_host_platform_device_count=(\d+)", os.environ.get("XLA_FLAGS", ""))
    return int(flag.group(1)) if flag else 1


def _size_cpu_thread_pool_for_the_host(timeout_s: float) -> None:
    """Gives this process's XLA:CPU thread pool the size one process driving all of this host's devices of the run
    would have, before the CPU backend starts.

    XLA:CPU splits a long matmul over its thread pool, whose size is max(NPROC or the usable cores, the process's
    CPU devices), and the split changes the float32 rounding: 2 processes x 2 devices on one host would otherwise
    compute with 2 threads where 1 x 4 uses 4, and drift apart. With one process per host (real clusters), or one
    CPU device per process (GPU hosts), this leaves the pool as JAX would make it. An NPROC set by the user wins.
    """
    if os.environ.get("NPROC"):
        return

    # The coordination service's key-value store works before any backend exists (orbax uses it the same way).
    # It is private API: if a JAX release moves it, train on with JAX's own pool (results then match a 1-process
    # run only to rounding; tests/test_distributed.py fails and says so).
    try:
        from jax._src import distributed as jax_distributed

        state = jax_distributed.global_state
        client, process_id, num_processes = state.client, state.process_id, state.num_processes
    except (ImportError, AttributeError):
        return
    me = socket.gethostname()
    client.key_value_set(f"jaxgan/host/{process_id}", f"{_local_cpu_devices()} {me}")
    devices = 0
    for i in range(num_processes):
        count, host = client.blocking_key_value_get(f"jaxgan/host/{i}", int(timeout_s * 1000)).split(" ", 1)
        devices += int(count) if host == me else 0
    # The cores this process may use, as XLA counts them (macOS has no affinity: all of them).
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ["NPROC"] = str(max(cores, devices))


def process_count() -> int:
    """The number of processes of this run.

    Returns:
      `jax.process_count()`: 1 without a distributed runtime.
    """
    import jax

    return jax.process_count()


def is_primary() -> bool:
    """Whether this process writes the run folder's files.

    Returns:
      True on process 0 (and in a single process).
    """
    import jax

    return jax.process_index() == 0


def agree(what: str, value: str) -> None:
    """Checks that every process holds the same `value` (compared by sha256).

    Args:
      what: what the value is, for the message ("config").
      value: this process's value (e.g. the config as JSON).

    Raises:
      UserError: naming the processes whose value differs from process 0's (on every process).
    """
    if process_count() == 1:
        return
    import numpy as np
    from jax.experimental import multihost_utils

    digest = np.frombuffer(hashlib.sha256(value.encode()).digest(), np.uint32)
    every = np.asarray(multihost_utils.process_allgather(digest))
    differ = [p for p in range(len(every)) if not np.array_equal(every[p], every[0])]
    if differ:
        raise UserError(f"the {what} differs between processes: process{'es' if len(differ) > 1 else ''} "
                        f"{', '.join(map(str, differ))} against process 0; start every process with the same "
                        f"experiment and --set flags")


def any_process(flag: bool) -> bool:
    """Whether `flag` is true on any process (a collective: every process must call it at the same point).

    Args:
      flag: this process's flag.

    Returns:
      The logical or over processes.
    """
    if process_count() == 1:
        return flag
    import numpy as np
    from jax.experimental import multihost_utils

    return bool(np.any(multihost_utils.process_allgather(np.int32(flag))))


def primary_first(fn, what: str):
    """Runs `fn` on process 0 only; the others wait for it and stop too if it failed with a UserError.

    Args:
      fn: a function of no arguments (e.g. taking the run's lock, writing config.json).
      what: what it does, for the other processes' message.

    Returns:
      fn's result on process 0, None elsewhere.

    Raises:
      UserError: process 0's own on process 0; on the others, one saying that process 0 could not `what`.
    """
    if process_count() == 1:
        return fn()
    import numpy as np
    from jax.experimental import multihost_utils

    result, error = None, None
    if is_primary():
        try:
            result = fn()
        except UserError as e:
            error = e
    ok = multihost_utils.broadcast_one_to_all(np.int32(error is None))
    if error is not None:
        raise error
    if not int(ok):
        raise UserError(f"process 0 could not {what} (its output says why); stopping")
    return result


def local_copy(tree):
    """A copy of a replicated pytree on this process's first device, for single-device code (sampling, FID-C).

    Args:
      tree: a pytree of replicated arrays (a `GANState` on the global mesh).

    Returns:
      The same pytree; unchanged in a single process.
    """
    if process_count() == 1:
        return tree
    import jax

    return jax.tree.map(lambda x: x.addressable_shards[0].data if isinstance(x, jax.Array) else x, tree)


def peer_lost_message(who: str | None = None) -> str:
    """What a process says when another process of its run is gone.

    Args:
      who: "process I of N" (default: this process's place, from the runtime).

    Returns:
      One line.
    """
    if who is None:
        import jax

        who = f"process {jax.process_index()} of {jax.process_count()}"
    return (f"{who}: another process of this run stopped or became unreachable, so this one stopped too; restart "
            f"every process to resume from the last checkpoint")


# The runtime's own log lines (absl's format: severity, date, time, thread, file:line]) and gloo's chatter.
_RUNTIME_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]|^\[Gloo\]")
_FATAL = re.compile(r"Terminating process because|coordination service|Check failure stack trace")


class _Filter:
    """Passes a stream through, line by line ('\\r' ends a line too, for progress bars), but diverts the runtime's
    log lines, and everything after a fatal one, to `log`."""

    def __init__(self, out, log, lock):
        self.out, self.log, self.lock = out, log, lock
        self.fatal = False
        self.said_error = False  # the child printed its own one-line error

    def feed(self, text: str) -> None:
        with self.lock:
            for piece in re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text):
                m = _RUNTIME_LINE.match(piece)
                if m and m.group(1) in ("E", "F") and _FATAL.search(piece):
                    self.fatal = True
                if self.fatal or m:
                    self.log.write(piece)
                    self.log.flush()
                else:
                    self.said_error = self.said_error or piece.startswith("jaxgan: error:")
                    self.out.write(piece)
                    self.out.flush()


def _pump(stream, filt: _Filter):
    pending = ""
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            break
        pending += chunk.decode("utf-8", "replace")
        # Whole lines go on at once; a partial one waits (at most until the stream ends).
        cut = max(pending.rfind("\n"), pending.rfind("\r"))
        if cut >= 0:
            filt.feed(pending[:cut + 1])
            pending = pending[cut + 1:]
    if pending:
        filt.feed(pending)


def _die_with_parent():
    """In the child: the kernel kills it when the supervisor dies (Linux), so no orphan trains on alone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def supervise(argv: list[str], topo: Topology, module: str = "jaxgan.cli") -> int:
    """Runs `jaxgan ARGV` in a child process that starts the distributed runtime, and reports how it ended.

    The child's stdout and stderr pass through; the runtime's log lines go to a file in the temporary folder
    instead (named when something fails). SIGINT and SIGTERM are passed on to the child (which saves and stops).
    When the runtime aborts the child because another process died or the coordinator cannot be reached, this
    prints one line.

    Args:
      argv: the command-line words after `jaxgan`.
      topo: this process's topology.
      module: what the child runs with `python -m` (its `main` reads JAXGAN_DISTRIBUTED_CHILD).

    Returns:
      The exit code: the child's; 2 if the coordinator could not be reached; 1 if another process was lost.
    """
    tag = "auto" if topo.process_id is None else f"p{topo.process_id}"
    fd, log_path = tempfile.mkstemp(prefix=f"jaxgan-{tag}-", suffix=".log")
    env = dict(os.environ, **{CHILD_ENV: "1", "PYTHONUNBUFFERED": "1"})
    with os.fdopen(fd, "w") as log:
        child = subprocess.Popen([sys.executable, "-m", module, *argv], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_die_with_parent)
        lock = threading.Lock()
        filters = (_Filter(sys.stdout, log, lock), _Filter(sys.stderr, log, lock))
        pumps = [threading.Thread(target=_pump, args=(s, f), daemon=True)
                 for s, f in zip((child.stdout, child.stderr), filters)]
        for t in pumps:
            t.start()

        def forward(signum, frame):
            child.send_signal(signum)

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            rc = child.wait()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
        for t in pumps:
            t.join()
    runtime_log = pathlib.Path(log_path).read_text()
    fatal = rc != 0 and any(f.fatal for f in filters)
    if rc != 0 and any(f.said_error for f in filters):  # the child said it in one line already
        code = rc if rc > 0 else EXIT_PEER_LOST
    elif fatal:
        who = topo.describe()
        if "RegisterTask" in runtime_log or ("Barrier" in runtime_log and "DEADLINE_EXCEEDED" in runtime_log):
            print(f"jaxgan: error: {who}: could not reach the coordinator {topo.coordinator or '(auto-detected)'} "
                  f"within {topo.timeout_s} s, or not every process joined (runtime log: {log_path})",
                  file=sys.stderr)
            code = 2
        else:
            print(f"jaxgan: error: {peer_lost_message(who)} (runtime log: {log_path})", file=sys.stderr)
            code = EXIT_PEER_LOST
    else:
        code = rc if rc >= 0 else 128 - rc
    if not fatal:  # kept only when it explains a failure
        os.unlink(log_path)
    return code
