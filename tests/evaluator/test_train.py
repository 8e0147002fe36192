"""The evaluator's training recipe, on a tiny network: it learns, and one seed gives one set of weights."""
import jax
import numpy as np

from jaxgan.evaluator import train as evaluator_train

TINY = evaluator_train.Recipe(epochs=3, batch_size=64, widths=(8, 16, 16), stem_width=8, warmup_epochs=1)


def _flat(variables):
    return np.concatenate([np.ravel(x) for x in jax.tree.leaves(variables)])


def test_learns_and_is_deterministic(cifar_train):
    images, labels = cifar_train[0][:256], cifar_train[1][:256]
    lines = []
    _, v1, _ = evaluator_train.train_evaluator(images, labels, TINY, log=lines.append)
    _, v2, _ = evaluator_train.train_evaluator(images, labels, TINY, log=lambda s: None)
    _, v3, _ = evaluator_train.train_evaluator(images, labels, TINY.__class__(**{**vars(TINY), "seed": 1}),
                                                log=lambda s: None)
    assert len(lines) == 3
    losses = [float(line.split("loss ")[1].split(",")[0]) for line in lines]
    assert losses[-1] < losses[0], losses
    np.testing.assert_array_equal(_flat(v1), _flat(v2))
    assert not np.array_equal(_flat(v1), _flat(v3))


def test_augment_keeps_shape_and_content():
    x = np.arange(2 * 32 * 32 * 3, dtype=np.uint8).reshape(2, 32, 32, 3)
    y = np.asarray(evaluator_train.augment(jax.random.key(0), x))
    assert y.shape == x.shape and y.dtype == x.dtype
    # A flip and a shift of at most 2 pixels: the centre 28x28 of each image comes from the original, moved.
    for a, b in zip(x, y):
        found = any(np.array_equal(b[2:30, 2:30], src[2 + dy:30 + dy, 2 + dx:30 + dx])
                    for src in (a, a[:, ::-1]) for dy in range(-2, 3) for dx in range(-2, 3))
        assert found
