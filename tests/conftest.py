"""Shared fixtures: CIFAR-10 stand-ins from tfds' mock data, the prepared CIFAR-10 beside the project, small configs.

Most tests run on `tfds.testing.mock_data` (random images in CIFAR-10's shapes, read through jaxgan's own loader),
so a clone without `../shared` still runs them. Tests that need the real images take the `data_dir` fixture and are
marked `real_data` automatically: without the data they are skipped, each named with the reason (`-ra`), except
under CI, where a missing copy fails them. `pytest -m "not real_data"` runs only the self-contained ones.
"""
import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import jax
import numpy as np
import pytest

import jaxgan
from jaxgan import data

REPO = pathlib.Path(__file__).resolve().parents[1]
# One folder per test run, never ~/.cache, shared by both xdist workers and every subprocess they start (all
# inherit it through the environment; xdist's run id names it should a worker start without it): reference
# statistics are computed once (their file is flock-guarded) and the small train steps that dozens of tests and
# subprocesses compile are compiled once (XLA's persistent cache). JAXGAN_TEST_CACHE names a folder to reuse
# reference statistics across runs (quick local reruns).
SESSION_ENV = "JAXGAN_TEST_SESSION_DIR"
MAKES_SESSION_DIR = not os.environ.get(SESSION_ENV)  # this process starts the run (workers and subprocesses borrow)
if MAKES_SESSION_DIR:
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    os.environ[SESSION_ENV] = (os.path.join(tempfile.gettempdir(), f"jaxgan-test-{run_id}") if run_id else
                               tempfile.mkdtemp(prefix="jaxgan-test-"))
SESSION_DIR = pathlib.Path(os.environ[SESSION_ENV])
os.environ["JAXGAN_CACHE"] = os.environ.get("JAXGAN_TEST_CACHE") or str(SESSION_DIR / "cache")
os.environ["JAXGAN_COMPILATION_CACHE"] = str(SESSION_DIR / "xla")
jax.config.update("jax_compilation_cache_dir", os.environ["JAXGAN_COMPILATION_CACHE"])  # the in-process tests too
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
# Most tests compile many tiny programs and run each for a few steps, so XLA:CPU's compiler is most of their time:
# the suite, and every process it starts, compiles at -O0 with XLA:CPU's older (non-MLIR) fusion emitters, which
# compile a train step about 4x faster (tiny DCGAN, 1 core: 4.3 s -> 1.1 s; test_step.py: 112 s -> 55 s).
# What runs full-size models for long keeps the user's flags: the notebooks' kernels (`user_xla_flags`).
FAST_COMPILE = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")
_flags = os.environ.get("XLA_FLAGS", "").split()
os.environ["XLA_FLAGS"] = " ".join([*_flags, *(f for f in FAST_COMPILE if f not in _flags)])
DATA_DIR = pathlib.Path(os.environ.get("JAXGAN_TEST_DATA_DIR", REPO.parent / "shared" / "tensorflow_datasets"))


@contextlib.contextmanager
def benchmark_script(name: str):
    """A script of `benchmarks/` imported as a module, with `benchmarks/` on the import path as when it runs (the
    scripts import `user_errors` and each other from beside them)."""
    import importlib.util

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def xla_flags(*flags: str) -> str:
    """XLA_FLAGS for a test's subprocess: the suite's (fast compiling) and `flags` (later flags win)."""
    return " ".join((os.environ["XLA_FLAGS"], *flags))


def user_xla_flags() -> str:
    """XLA_FLAGS as the user set them, without the suite's compile flags: for processes running full-size models."""
    return " ".join(f for f in os.environ["XLA_FLAGS"].split() if f not in FAST_COMPILE)


MOCK_EXAMPLES = 512  # images per split of the mock CIFAR-10


def pytest_configure(config):
    config.addinivalue_line("markers", "real_data: needs the prepared CIFAR-10 beside the project (../shared)")


def pytest_unconfigure(config):
    if MAKES_SESSION_DIR and not hasattr(config, "workerinput"):
        shutil.rmtree(SESSION_DIR, ignore_errors=True)  # a few hundred MB of compiled steps


# Files that keep a worker busy for a minute or more (`make test`'s --durations), slowest first. The two xdist
# workers take whole files in collection order (`--dist loadfile --no-loadscope-reorder`); xdist's own order, files
# with the most tests first, started these last, and the last of them ran on one core while the other sat idle.
SLOW_FILES = ("test_notebooks.py", "test_distributed.py", "test_parallel.py", "test_evaluation.py", "test_chaos.py",
              "test_pegasus.py", "test_cli.py", "test_autoencoder.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_data)
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the other files keep their order


def pytest_report_header(config):
    found = (DATA_DIR / "cifar10").is_dir()
    return (f"real CIFAR-10: {DATA_DIR}" if found else
            f"real CIFAR-10: not found at {DATA_DIR}; tests marked real_data will be skipped")


@contextlib.contextmanager
def mock_cifar10(num_examples: int = MOCK_EXAMPLES):
    """tfds' mock CIFAR-10 in place of any data folder: `data.load_cifar10(split, None)` reads random images."""
    import tensorflow_datasets as tfds

    saved = os.environ.pop("TFDS_DATA_DIR", None)
    try:
        with tfds.testing.mock_data(num_examples=num_examples, policy=tfds.testing.MockPolicy.USE_CODE):
            yield
    finally:
        if saved is not None:
            os.environ["TFDS_DATA_DIR"] = saved


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    if not (DATA_DIR / "cifar10").is_dir():
        msg = f"prepared CIFAR-10 not found at {DATA_DIR} (set JAXGAN_TEST_DATA_DIR)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return DATA_DIR


@pytest.fixture(scope="session")
def cifar_train(data_dir) -> tuple[np.ndarray, np.ndarray]:
    return data.load_cifar10("train", data_dir)


def tiny_config(**changes) -> jaxgan.Config:
    """A DCGAN small enough to compile and step in a second or two on CPU."""
    base = dict(model="dcgan", z_dim=16, g_width=8, d_width=8, batch_size=16, steps=4, log_every=1,
                checkpoint_every=2, ema_decay=0.9)
    base.update(changes)
    return jaxgan.Config(**base)


def train_on(images_labels, cfg: jaxgan.Config, workdir, **kwargs):
    """Trains `cfg` into `workdir` in-process on the given (images, labels) instead of reading all of CIFAR-10;
    `kwargs` go to `train.train` (`init_from`)."""
    from jaxgan import train

    orig = train.load_train_data
    train.load_train_data = lambda cfg, data_dir=None: images_labels
    try:
        return train.train(cfg, workdir, progress=False, **kwargs)
    finally:
        train.load_train_data = orig


@pytest.fixture
def tiny():
    return tiny_config


@pytest.fixture(scope="session")
def small_images() -> tuple[np.ndarray, np.ndarray]:
    """512 mock CIFAR-10 training images (random, all ten labels), read by jaxgan's loader from tfds' mock data."""
    with mock_cifar10():
        return data.load_cifar10("train", None)


@pytest.fixture(scope="session")
def evaluator():
    from jaxgan import evaluator as evaluator_lib

    return evaluator_lib.load()


# The suite's reference: the first 10,000 CIFAR-10 training images, not all 50,000. The metrics' tests need real
# training images, not all of them, and the whole split cost a core 158-175 s of a 15-minute suite (its features and
# a 10k x 50k nearest-neighbour search), then made every evaluation's search in pixel space 5x longer.
TRAIN_REFERENCE = "train[:10000]"
REFERENCE_SCRIPT = ("import sys; from jaxgan import evaluator; from jaxgan.metrics import reference; "
                    "reference.load(evaluator.load(), sys.argv[2], sys.argv[1], log=lambda line: None)")


@pytest.fixture(scope="session")
def train_reference(evaluator, data_dir):
    """The shipped evaluator's reference of the first 10,000 CIFAR-10 training images (`TRAIN_REFERENCE`), computed
    once per session and cached, where `jaxgan eval --reference` and the notebooks' quick mode find it too.

    Computed in a process with the user's XLA flags, since images through the evaluator take far longer at the
    suite's -O0 (50,000 images on one core: 104 s -> 186 s); this process then reads the cached file.
    """
    from jaxgan.metrics import reference

    subprocess.run([sys.executable, "-c", REFERENCE_SCRIPT, str(data_dir), TRAIN_REFERENCE], cwd=REPO, check=True,
                   env=dict(os.environ, XLA_FLAGS=user_xla_flags()), capture_output=True, timeout=1200)
    return reference.load(evaluator, TRAIN_REFERENCE, data_dir)
