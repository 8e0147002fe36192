"""Sampling: class mixtures reproduce plain labels exactly, truncation bounds the latents, mistakes are UserErrors."""
import jax
import numpy as np
import pytest

import jaxgan
from jaxgan import sampling, state as state_lib
from jaxgan.errors import UserError


@pytest.fixture(scope="module")
def conditional():
    cfg = jaxgan.Config(model="cdcgan", g_width=16, d_width=16, z_dim=16, num_classes=10)
    st = state_lib.create(cfg)
    # Random gain/offset maps (they start at zero) so that the class input matters.
    g = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.key(1), p.shape), st.ema.params)
    return cfg, st.replace(ema=st.ema.replace(params=g))


def test_one_hot_mixture_reproduces_plain_conditional_sampling(conditional):
    cfg, st = conditional
    plain, _ = sampling.sample(cfg, st, 6, seed=3, labels=np.full(6, 7), batch_size=4)
    mix = sampling.parse_mix("horse=1", cfg)
    mixed, _ = sampling.sample(cfg, st, 6, seed=3, labels=np.broadcast_to(mix, (6, 10)), batch_size=4)
    np.testing.assert_array_equal(plain, mixed)
    per_block = sampling.parse_mix("horse=1|horse=1|horse=1", cfg)
    assert per_block.shape == (3, 10)
    blocks, _ = sampling.sample(cfg, st, 6, seed=3, labels=np.broadcast_to(per_block, (6, 3, 10)), batch_size=4)
    np.testing.assert_array_equal(plain, blocks)
    other, _ = sampling.sample(cfg, st, 6, seed=3, labels=np.broadcast_to(sampling.parse_mix(
        "horse=0.6,bird=0.4", cfg), (6, 10)), batch_size=4)
    assert not np.array_equal(plain, other)


def test_truncation_bounds_the_latents_and_changes_the_samples(conditional):
    z = np.asarray(sampling.latents(0, 0, 256, 16, 0.5))
    assert np.abs(z).max() <= 0.5 and z.std() > 0.2
    cfg, st = conditional
    a, _ = sampling.sample(cfg, st, 4, truncation=0.5)
    b, _ = sampling.sample(cfg, st, 4, truncation=0.5, batch_size=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sampling.sample(cfg, st, 4)[0])


@pytest.mark.parametrize("text, words", [
    ("pegasus=1", "unknown class 'pegasus'"),
    ("horse=0.6,bird=0.6", "summing to 1"),
    ("horse=0.5", "summing to 1"),
    ("horse=-1,bird=2", "non-negative"),
    ("horse", "not class=weight"),
    ("horse=a", "not class=weight"),
    ("horse=1|bird=1", "3 separated by '|'"),
])
def test_bad_mixtures(conditional, text, words):
    cfg, _ = conditional
    with pytest.raises(UserError) as e:
        sampling.parse_mix(text, cfg)
    assert words in str(e.value)


def test_mixture_needs_a_shared_class_embedding():
    with pytest.raises(UserError, match="unconditional"):
        sampling.parse_mix("horse=1", jaxgan.Config(model="dcgan"))
    with pytest.raises(UserError, match="shared class embedding"):
        sampling.parse_mix("horse=1", jaxgan.Config(model="dcgan", num_classes=10))


def test_first_picks_the_same_images_from_any_start(conditional):
    cfg, st = conditional
    whole, _ = sampling.sample(cfg, st, 7, seed=5, labels=np.full(7, 3), batch_size=4)
    part, _ = sampling.sample(cfg, st, 2, seed=5, labels=np.full(2, 3), first=4)
    np.testing.assert_array_equal(whole[4:6], part)


def test_generate_in_padded_batches_draws_what_sample_draws(conditional):
    """Given latents in fixed-size calls (the last padded) are the images `sample` draws at that batch size."""
    cfg, st = conditional
    labels = np.arange(7) % 10
    drawn, _ = sampling.sample(cfg, st, 7, seed=5, labels=labels, batch_size=4)
    z = np.asarray(sampling.latents(5, 0, 7, cfg.z_dim))
    np.testing.assert_array_equal(sampling.generate(cfg, st, z, labels, batch_size=4), drawn)
    twice = sampling.generate(cfg, st, np.tile(z, (2, 1)), np.tile(labels, 2), batch_size=4)  # other rows around them
    np.testing.assert_array_equal(twice, np.concatenate([drawn, drawn]))
    assert sampling.generate(cfg, st, z[:3], labels[:3]).shape == (3, 32, 32, 3)  # no batch size: one call
