"""Shared fixtures: the prepared CIFAR-10 beside the project, loaded once, and small fast configs."""
import os
import pathlib
import tempfile

import numpy as np
import pytest

import jaxgan
from jaxgan import data

REPO = pathlib.Path(__file__).resolve().parents[1]
# Reference statistics are cached per test session (the CLI tests' subprocesses inherit it), never in ~/.cache;
# JAXGAN_TEST_CACHE names a folder to reuse across sessions instead (for quick local reruns).
os.environ["JAXGAN_CACHE"] = os.environ.get("JAXGAN_TEST_CACHE") or tempfile.mkdtemp(prefix="jaxgan-test-cache-")
# The CLI keeps compiled executables on disk; tests keep theirs in a folder of this session, not in ~/.cache.
os.environ["JAXGAN_COMPILATION_CACHE"] = tempfile.mkdtemp(prefix="jaxgan-test-xla-")
DATA_DIR = pathlib.Path(os.environ.get("JAXGAN_TEST_DATA_DIR", REPO.parent / "shared" / "tensorflow_datasets"))


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


def train_on(images_labels, cfg: jaxgan.Config, workdir):
    """Trains `cfg` into `workdir` in-process on the given (images, labels) instead of reading all of CIFAR-10."""
    from jaxgan import train

    orig = train.load_train_data
    train.load_train_data = lambda cfg, data_dir=None: images_labels
    try:
        return train.train(cfg, workdir, progress=False)
    finally:
        train.load_train_data = orig


@pytest.fixture
def tiny():
    return tiny_config


@pytest.fixture(scope="session")
def small_images(cifar_train) -> tuple[np.ndarray, np.ndarray]:
    """The first 512 training images: enough for several small steps."""
    images, labels = cifar_train
    return images[:512], labels[:512]


@pytest.fixture(scope="session")
def evaluator():
    from jaxgan import evaluator as evaluator_lib

    return evaluator_lib.load()


@pytest.fixture(scope="session")
def train_reference(evaluator, data_dir):
    """The shipped evaluator's CIFAR-10 train reference, computed once per session (about a minute) and cached."""
    from jaxgan.metrics import reference

    return reference.load(evaluator, "train", data_dir)
