"""Multi-process training on JAX's distributed runtime, with real processes on localhost (gloo collectives, fake
CPU devices), on tfds' mock CIFAR-10: 2 processes x 2 devices train what 1 process x 4 devices trains, their
checkpoint resumes in 1 process, a dead process stops the other with one line, and bad input fails before
anything is written."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

from jaxgan import distributed, run, sampling
from jaxgan.errors import UserError
from tests.conftest import REPO, xla_flags
from tests.test_cli import TINY

STEPS = 12
SETTINGS = [*TINY, "--set", "log_every=3", "--set", "checkpoint_every=6", "--set", "keep_checkpoints=3", "--quiet"]
TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def env_with(devices: int) -> dict:
    return dict(os.environ, XLA_FLAGS=xla_flags(f"--xla_force_host_platform_device_count={devices}"),
                JAX_PLATFORMS="cpu", PYTHONWARNINGS="ignore")


def train_args(workdir, *extra):
    return [sys.executable, "-m", "tests.mock_jaxgan", "train", "dcgan", "--workdir", str(workdir), *SETTINGS,
            *map(str, extra)]


def start_processes(workdir, n: int, devices: int, *extra, per_process=None, port=None):
    """n `jaxgan train` processes of one run, each with `devices` fake CPU devices; per_process[i]: its own extras."""
    port = port or free_port()
    return [subprocess.Popen(train_args(workdir, *extra, *(per_process[i] if per_process else ()),
                                        "--coordinator", f"localhost:{port}", "--num-processes", n,
                                        "--process-id", i),
                             cwd=REPO, env=env_with(devices), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for i in range(n)]


def finish(procs, timeout=TIMEOUT):
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        outs.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return outs


def train_one_process(workdir, devices: int, *extra):
    return subprocess.run(train_args(workdir, *extra), cwd=REPO, env=env_with(devices), capture_output=True,
                          text=True, timeout=TIMEOUT)


def params_of(workdir, which="latest"):
    _, state = run.load(workdir, which)
    return jax.device_get((state.g.params, state.d.params, state.ema.params, state.g.stats, state.d.stats))


def assert_close(a, b, atol=0.0):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def test_topology_flags_and_environment():
    assert distributed.topology(environ={}) is None
    t = distributed.topology("localhost:1234", 2, 1, environ={})
    assert (t.coordinator, t.num_processes, t.process_id, t.auto) == ("localhost:1234", 2, 1, False)
    t = distributed.topology(environ={"JAXGAN_COORDINATOR": "10.0.0.1:99", "JAXGAN_NUM_PROCESSES": "4",
                                      "JAXGAN_PROCESS_ID": "3"})
    assert (t.coordinator, t.num_processes, t.process_id) == ("10.0.0.1:99", 4, 3)
    assert distributed.topology(mode="auto", environ={}).auto
    for kwargs, words in [
        (dict(coordinator="localhost:1234", num_processes=2, process_id=2), "--process-id 2 is out of range"),
        (dict(coordinator="localhost:1234", num_processes=2, process_id=-1), "out of range"),
        (dict(coordinator="localhost", num_processes=2, process_id=0), "HOST:PORT"),
        (dict(coordinator="localhost:70000", num_processes=2, process_id=0), "1..65535"),
        (dict(coordinator="localhost:1234", num_processes=0, process_id=0), "--num-processes must be at least 1"),
        (dict(coordinator="localhost:1234", process_id=0), "missing: --num-processes"),
        (dict(coordinator="localhost:1234", num_processes=2, process_id=0, timeout_s=0), "--distributed-timeout"),
        (dict(mode="manual"), "--distributed takes 'auto'"),
    ]:
        with pytest.raises(UserError, match=words):
            distributed.topology(environ={}, **kwargs)
    with pytest.raises(UserError, match="whole number"):
        distributed.topology(environ={"JAXGAN_COORDINATOR": "h:1", "JAXGAN_NUM_PROCESSES": "two",
                                      "JAXGAN_PROCESS_ID": "0"})


def test_two_processes_train_what_one_does_and_hand_over_to_one(tmp_path):
    """2 processes x 2 devices == 1 process x 4 devices, bit for bit (the issue asks 1e-5); the 2-process run's
    step-6 checkpoint resumed by 1 process x 4 devices continues exactly as the 1-process run did, and the
    reverse."""
    one, two, resumed = tmp_path / "one", tmp_path / "two", tmp_path / "resumed"
    procs = start_processes(two, 2, 2, "--steps", STEPS)
    single = train_one_process(one, 4, "--steps", STEPS)  # meanwhile: the machine has two cores
    outs = finish(procs)
    assert single.returncode == 0, single.stderr[-3000:]
    for out in outs:
        assert out.returncode == 0, out.stderr[-3000:]
    assert_close(params_of(two), params_of(one))
    cfg, s_two = run.load(two)
    _, s_one = run.load(one)
    a, _ = sampling.sample(cfg, s_two, 16, seed=3)
    b, _ = sampling.sample(cfg, s_one, 16, seed=3)
    assert np.array_equal(a, b)
    # Process 0 alone wrote the run's files: one metrics line per logging step, one session, one lock holder.
    steps = [int(line.split('"step": ')[1].split(",")[0]) for line in (two / run.METRICS).read_text().splitlines()]
    assert steps == list(range(3, STEPS + 1, 3))
    assert sorted(p.name for p in (two / run.CHECKPOINTS).iterdir()) == ["12", "6"]

    # N -> 1: the 2-process run's step-6 checkpoint, resumed by one process.
    shutil.copytree(two, resumed)
    shutil.rmtree(resumed / run.CHECKPOINTS / "12")
    out = train_one_process(resumed, 4, "--steps", STEPS)
    assert out.returncode == 0, out.stderr[-3000:]
    assert_close(params_of(resumed), params_of(one))
    # 1 -> N: the 1-process run's step-6 checkpoint, resumed by two processes.
    shutil.rmtree(resumed)
    shutil.copytree(one, resumed)
    shutil.rmtree(resumed / run.CHECKPOINTS / "12")
    for out in finish(start_processes(resumed, 2, 2, "--steps", STEPS)):
        assert out.returncode == 0, out.stderr[-3000:]
    assert_close(params_of(resumed), params_of(one))


def wait_for_logged_steps(workdir, procs, n: int):
    deadline = time.monotonic() + TIMEOUT
    while not ((workdir / run.METRICS).is_file() and (workdir / run.METRICS).read_text().count("\n") >= n):
        assert time.monotonic() < deadline and procs[0].poll() is None, finish(procs)[0].stderr[-3000:]
        time.sleep(0.5)


def test_sigterm_to_one_process_stops_both_and_a_dead_process_stops_the_other(tmp_path):
    """SIGTERM to one process: both save the same step and exit 143. Restarted, the two resume from it; then one
    is killed, and the other exits non-zero with one line within 60 s."""
    workdir = tmp_path / "w"
    args = ("--steps", 100000, "--set", "log_every=1", "--set", "checkpoint_every=1000")
    procs = start_processes(workdir, 2, 1, *args)
    wait_for_logged_steps(workdir, procs, 2)
    procs[1].send_signal(signal.SIGTERM)
    outs = finish(procs, timeout=120)
    saved = [int(p.name) for p in (workdir / run.CHECKPOINTS).iterdir()]
    assert len(saved) == 1
    for out in outs:
        assert out.returncode == 143, out.stderr[-3000:]
        assert f"the checkpoint of step {saved[0]} is saved" in out.stderr
    assert len((workdir / run.METRICS).read_text().splitlines()) == saved[0]  # each step once, by process 0

    procs = start_processes(workdir, 2, 1, *args)
    wait_for_logged_steps(workdir, procs, saved[0] + 2)
    procs[1].send_signal(signal.SIGKILL)  # its child, doing the work, dies with it
    killed = time.monotonic()
    out, err = procs[0].communicate(timeout=120)
    assert time.monotonic() - killed < 60
    assert procs[0].returncode not in (0, None)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jaxgan: error: process 0 of 2:"), err[-3000:]
    assert "another process" in lines[0]
    procs[1].communicate()


def assert_each_one_line(outs, *words):
    for out in outs:
        assert out.returncode == 2, (out.returncode, out.stderr[-3000:])
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jaxgan: error:"), out.stderr[-3000:]
        for w in words:
            assert w in lines[0], lines[0]


def test_bad_distributed_input_fails_in_one_line_and_writes_nothing(tmp_path):
    port = free_port()
    cases = {
        # the id is checked before anything starts
        "id": [subprocess.Popen(train_args(tmp_path / "id", "--coordinator", f"localhost:{port}", "--num-processes",
                                           2, "--process-id", 2), cwd=REPO, env=env_with(1), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)],
        # process 1 waits for a coordinator nobody started
        "unreachable": [subprocess.Popen(train_args(tmp_path / "unreachable", "--coordinator", f"localhost:{port}",
                                                    "--num-processes", 2, "--process-id", 1, "--distributed-timeout",
                                                    3), cwd=REPO, env=env_with(1), text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)],
    }
    assert_each_one_line(finish(cases["id"]), "--process-id 2 is out of range")
    assert_each_one_line(finish(cases["unreachable"]), "could not reach the coordinator", f"localhost:{port}")
    # 2 x 2 devices: a batch of 6 does not split over 4
    assert_each_one_line(finish(start_processes(tmp_path / "batch", 2, 2, "--set", "batch_size=6")),
                         "'batch_size'", "4 devices")
    assert_each_one_line(finish(start_processes(tmp_path / "configs", 2, 1,
                                                per_process=[[], ["--set", "lr_g=0.001"]])),
                         "config differs between processes")
    for name in ("id", "unreachable", "batch", "configs"):
        assert not (tmp_path / name).exists(), name


HOST_MATMUL = textwrap.dedent("""
    import hashlib, jax, numpy as np
    from jaxgan import layers
    x = jax.random.normal(jax.random.key(1), (16, 17, 17, 64))  # dcgan's output layer, 16 images per device
    dy = jax.random.normal(jax.random.key(2), (16, 16, 16, 12))
    print(hashlib.sha256(np.asarray(jax.jit(layers._conv2x2_kernel_grad)(x, dy)).tobytes()).hexdigest())
""")


def test_a_cpu_thread_pool_sized_for_the_host_computes_as_one_process_does():
    """What 2 x 2 == 1 x 4 rests on: XLA:CPU's matmuls round according to its thread pool, max(NPROC or cores,
    devices); a 2-device process given NPROC=4 (as `start` does for two such processes on one host) computes what
    a 4-device process computes."""
    def digest(devices, nproc=""):
        env = dict(env_with(devices), NPROC=nproc)
        out = subprocess.run([sys.executable, "-c", HOST_MATMUL], env=env, cwd=REPO, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    assert digest(2, nproc="4") == digest(4)


class FakeCoordinationClient:
    """The key-value store of JAX's coordination service, in memory."""

    def __init__(self, values):
        self.values = dict(values)

    def key_value_set(self, key, value):
        self.values[key] = value

    def blocking_key_value_get(self, key, timeout_ms):
        return self.values[key]


@pytest.mark.parametrize("mine, others, expected", [
    (2, ["2 this-host"], "4"),  # two processes x 2 devices on this host: the pool 1 x 4 would have
    (2, ["2 other-host"], "3"),  # one process a host: the cores, as JAX makes it
    (1, ["1 this-host", "1 this-host", "1 other-host"], "3"),  # one CPU device a process (GPU hosts): the cores
])
def test_thread_pool_is_sized_for_this_hosts_devices_of_the_run(monkeypatch, mine, others, expected):
    from jax._src import distributed as jax_distributed

    monkeypatch.setattr(distributed.socket, "gethostname", lambda: "this-host")
    monkeypatch.setattr(distributed.os, "sched_getaffinity", lambda pid: {0, 1, 2})  # three cores
    monkeypatch.setenv("XLA_FLAGS", f"--xla_force_host_platform_device_count={mine}")
    monkeypatch.delenv("NPROC", raising=False)
    client = FakeCoordinationClient({f"jaxgan/host/{i + 1}": v for i, v in enumerate(others)})
    monkeypatch.setattr(jax_distributed.global_state, "client", client)
    monkeypatch.setattr(jax_distributed.global_state, "process_id", 0)
    monkeypatch.setattr(jax_distributed.global_state, "num_processes", len(others) + 1)
    distributed._size_cpu_thread_pool_for_the_host(1.0)
    assert client.values["jaxgan/host/0"] == f"{mine} this-host"
    assert os.environ["NPROC"] == expected
    monkeypatch.setenv("NPROC", "7")  # the user's own setting wins
    distributed._size_cpu_thread_pool_for_the_host(1.0)
    assert os.environ["NPROC"] == "7"
