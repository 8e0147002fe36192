"""The pure train step: which network each phase may change, determinism, no retracing, the training tips."""
import chex
import jax
import numpy as np
import pytest

from jaxgan import data, parallel, state as state_lib, step as step_lib
from tests.conftest import tiny_config


def run(cfg, images, labels, n_steps, phases=("d", "g"), max_traces=None, st=None):
    mesh = parallel.make_mesh()
    st = parallel.replicate(state_lib.create(cfg), mesh) if st is None else st
    batches = data.Batches(images, labels, cfg.batch_size, cfg.n_dis, state_lib.root_key(cfg, state_lib.KEY_DATA), mesh)
    train_step = step_lib.make_train_step(cfg, mesh, phases=phases, max_traces=max_traces)
    metrics = []
    for i in range(int(st.step), int(st.step) + n_steps):
        st, m = train_step(st, batches.get(i))
        metrics.append(jax.device_get(m))
    return st, metrics


def host(tree):
    return jax.tree.map(np.asarray, jax.device_get(tree))


def g_part(st):
    return host((st.g.params, st.g.stats, st.g.opt_state, st.ema.params, st.ema.stats))


def d_part(st):
    return host((st.d.params, st.d.stats, st.d.opt_state))


@pytest.fixture(scope="module")
def before():
    return host(state_lib.create(tiny_config()))


def test_d_update_leaves_g_bit_identical(small_images, before):
    st, _ = run(tiny_config(), *small_images, 2, phases=("d",))
    chex.assert_trees_all_equal(g_part(st), (before.g.params, before.g.stats, before.g.opt_state,
                                             before.ema.params, before.ema.stats))
    assert not np.array_equal(host(st.d.params)["Conv_0"]["kernel"], before.d.params["Conv_0"]["kernel"])


def test_g_update_leaves_d_bit_identical(small_images, before):
    st, _ = run(tiny_config(), *small_images, 2, phases=("g",))
    chex.assert_trees_all_equal(d_part(st), (before.d.params, before.d.stats, before.d.opt_state))
    assert not np.array_equal(host(st.g.params)["Dense_0"]["kernel"], before.g.params["Dense_0"]["kernel"])


def test_same_seed_same_parameters_and_another_seed_differs(small_images):
    a, _ = run(tiny_config(), *small_images, 3)
    b, _ = run(tiny_config(), *small_images, 3)
    chex.assert_trees_all_equal(host(a), host(b))
    c, _ = run(tiny_config(seed=1), *small_images, 3)
    assert not np.array_equal(host(c.g.params)["Dense_0"]["kernel"], host(a.g.params)["Dense_0"]["kernel"])


@pytest.mark.parametrize("changes", [{}, {"n_dis": 2, "balance": True, "loss": "hinge", "r1_gamma": 1.0,
                                          "lecam_weight": 0.3}])
def test_no_retracing_after_the_first_step(small_images, changes):
    chex.clear_trace_counter()  # chex counts traces per function across the whole session
    st, metrics = run(tiny_config(**changes), *small_images, 4, max_traces=1)  # chex raises on a second trace
    assert int(st.step) == 4 and all(np.isfinite(m["d_loss"]) and np.isfinite(m["g_loss"]) for m in metrics)


def test_learning_rate_decay_follows_the_step_and_stops_at_zero(small_images):
    cfg = tiny_config(lr_decay_start=1, lr_decay_steps=2)  # scale 1, 1, 0.5, 0, 0 at steps 0..4
    st, _ = run(cfg, *small_images, 3)
    halfway = host(st)
    st, _ = run(cfg, *small_images, 2, st=st)
    # At scale 0 the parameters stand still while Adam's moments go on.
    chex.assert_trees_all_equal(host((st.g.params, st.d.params)), (halfway.g.params, halfway.d.params))
    moments = lambda s: s.d.opt_state[0].mu["Conv_0"]["kernel"]
    assert not np.array_equal(moments(host(st)), moments(halfway))
    # Before the decay starts a run is the constant-rate run (to rounding: the factor is traced); in it they differ.
    constant, _ = run(tiny_config(), *small_images, 2)
    decayed, _ = run(cfg, *small_images, 2)
    chex.assert_trees_all_close(host(constant), host(decayed), rtol=1e-4, atol=1e-7)
    constant, _ = run(tiny_config(), *small_images, 1, st=constant)
    assert not np.array_equal(host(constant.g.params)["Dense_0"]["kernel"], halfway.g.params["Dense_0"]["kernel"])


def test_pretraining_trains_d_alone_first(small_images, before):
    st, metrics = run(tiny_config(pretrain_d_steps=2), *small_images, 2)
    chex.assert_trees_all_equal(g_part(st), (before.g.params, before.g.stats, before.g.opt_state,
                                             before.ema.params, before.ema.stats))
    assert [int(m["pretraining"]) for m in metrics] == [1, 1]
    st, metrics = run(tiny_config(pretrain_d_steps=2), *small_images, 1, st=st)
    assert int(metrics[0]["pretraining"]) == 0
    assert not np.array_equal(host(st.g.params)["Dense_0"]["kernel"], before.g.params["Dense_0"]["kernel"])


def test_balance_skips_d_when_it_wins_and_adds_an_update_when_it_loses(small_images):
    cfg = tiny_config(balance=True, balance_low=0.3, balance_high=0.6)
    mesh = parallel.make_mesh()
    winning = parallel.replicate(state_lib.create(cfg).replace(d_fake_acc=np.float32(0.9)), mesh)
    d_before = d_part(winning)
    st, metrics = run(cfg, *small_images, 1, st=winning)
    assert int(metrics[0]["d_updates"]) == 0
    chex.assert_trees_all_equal(d_part(st), d_before)
    losing = parallel.replicate(state_lib.create(cfg).replace(d_fake_acc=np.float32(0.1)), mesh)
    st, metrics = run(cfg, *small_images, 1, st=losing)
    assert int(metrics[0]["d_updates"]) == 2
    assert int(host(st.d.opt_state)[0].count) == 2  # Adam counted two updates
    normal = parallel.replicate(state_lib.create(cfg).replace(d_fake_acc=np.float32(0.45)), mesh)
    _, metrics = run(cfg, *small_images, 1, st=normal)
    assert int(metrics[0]["d_updates"]) == 1


def test_ema_follows_g(small_images):
    st, _ = run(tiny_config(ema_decay=0.5), *small_images, 3)
    g, e = host(st.g.params)["Dense_0"]["kernel"], host(st.ema.params)["Dense_0"]["kernel"]
    b = state_lib.create(tiny_config()).g.params["Dense_0"]["kernel"]
    assert not np.array_equal(g, e) and not np.array_equal(e, b)
    assert np.abs(e - g).mean() < np.abs(np.asarray(b) - g).mean()


def test_batch_must_split_over_devices():
    from jaxgan.errors import UserError

    class FakeMesh:
        size = 3

    with pytest.raises(UserError, match="batch_size"):
        parallel.check_batch_divides(16, FakeMesh())


@pytest.mark.parametrize("model", ["dcgan", "cdcgan"])
def test_bfloat16_compute_keeps_float32_state_and_tracks_the_float32_step(small_images, model):
    changes = {"model": model, "num_classes": 10} if model == "cdcgan" else {}
    chex.clear_trace_counter()
    full, m32 = run(tiny_config(**changes), *small_images, 2)
    mixed, m16 = run(tiny_config(compute_dtype="bfloat16", **changes), *small_images, 2, max_traces=1)
    dtypes = {str(a.dtype) for a in jax.tree.leaves(host(mixed)) if np.issubdtype(a.dtype, np.floating)}
    assert dtypes == {"float32"}  # parameters, optimizer states, statistics, EMA: the state never changes type
    chex.assert_trees_all_equal_shapes_and_dtypes(host(full), host(mixed))
    for a, b in zip(m32, m16):  # the same step in lower precision: close, not equal
        assert abs(float(a["d_loss"]) - float(b["d_loss"])) < 0.05 and a["d_loss"] != b["d_loss"]
    assert np.allclose(host(mixed.g.params)["Dense_0"]["kernel"], host(full.g.params)["Dense_0"]["kernel"],
                       atol=1e-3)


def test_lecam_anchors_follow_d_alone_and_change_its_update(small_images):
    off, metrics_off = run(tiny_config(loss="hinge"), *small_images, 2)
    assert off.lecam is None and "lecam" not in metrics_off[0]  # off: nothing in the state or the metrics
    on, metrics_on = run(tiny_config(loss="hinge", lecam_weight=0.3), *small_images, 2)
    anchors = host(on.lecam)
    assert anchors.shape == (2,) and np.isfinite(anchors).all() and (anchors != 0).all()
    assert all(float(m["lecam"]) >= 0 for m in metrics_on)
    assert not np.array_equal(host(on.d.params)["Conv_0"]["kernel"], host(off.d.params)["Conv_0"]["kernel"])
    # G's update holds D fixed, its anchors included.
    g_only, _ = run(tiny_config(loss="hinge", lecam_weight=0.3), *small_images, 2, phases=("g",))
    np.testing.assert_array_equal(host(g_only.lecam), [0.0, 0.0])
    # The anchors' moving average forgets more slowly with a larger decay.
    slow, _ = run(tiny_config(loss="hinge", lecam_weight=0.3, lecam_decay=0.999), *small_images, 2)
    assert (np.abs(host(slow.lecam)) < np.abs(anchors)).all()


def test_class_loss_trains_d_on_real_labels_and_g_towards_its_own(small_images):
    cfg = tiny_config(model="cdcgan", num_classes=10, loss="hinge")
    off, metrics_off = run(cfg, *small_images, 2)
    assert "d_class" not in metrics_off[0] and "g_class" not in metrics_off[0]  # off: nothing computed or reported
    on_cfg = cfg.replace(class_weight=1.0)
    on, metrics_on = run(on_cfg, *small_images, 2)
    for m in metrics_on:  # ten classes, near chance at the start: about log 10
        assert 1.0 < float(m["d_class"]) < 5.0 and 1.0 < float(m["g_class"]) < 5.0
    projection = lambda st: host(st.d.params)["class_projection"]["embedding"]
    assert not np.array_equal(projection(on), projection(off))
    assert not np.array_equal(host(on.g.params)["class_embedding"], host(off.g.params)["class_embedding"])
    # G's update holds D fixed, its class scores included.
    before = host(state_lib.create(on_cfg))
    g_only, _ = run(on_cfg, *small_images, 2, phases=("g",))
    chex.assert_trees_all_equal(d_part(g_only), (before.d.params, before.d.stats, before.d.opt_state))


def test_class_loss_needs_a_discriminator_that_sows_its_scores(small_images):
    import flax.linen as nn

    from jaxgan import models
    from jaxgan.errors import UserError

    class PlainD(nn.Module):  # conditional in name only: one logit, no projection, no scores
        width: int = 8
        num_classes: int = 0
        dropout: float = 0.0
        axis_name: str | None = None

        @nn.compact
        def __call__(self, x, y=None, train=True):
            return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]

    if "test_plain_d" not in models.names():
        models.register("test_plain_d", models.get("cdcgan").generator, PlainD, mixable=True)
    with pytest.raises(UserError, match=r"^class_weight: the test_plain_d discriminator sows no class scores"):
        run(tiny_config(model="test_plain_d", num_classes=10, class_weight=1.0), *small_images, 1)


def saturated_state(cfg):
    """A fresh state whose generator drives its output far into tanh's tails (output conv kernel x 50)."""
    st = state_lib.create(cfg)
    params = dict(st.g.params)
    params["UpsampleConv_2"] = dict(params["UpsampleConv_2"], kernel=params["UpsampleConv_2"]["kernel"] * 50.0)
    # The EMA gets its own copy: the step donates both.
    return st.replace(g=st.g.replace(params=params), ema=st.ema.replace(params=jax.tree.map(np.array, params)))


def test_saturation_penalty_pulls_gs_pre_tanh_values_back_and_leaves_d_alone(small_images):
    _, metrics_off = run(tiny_config(), *small_images, 1)
    assert "pre_tanh" not in metrics_off[0]  # off: nothing computed, nothing reported
    mesh = parallel.make_mesh()
    runs = {}
    for weight in (0.0, 10.0):
        cfg = tiny_config(pre_tanh_weight=weight, lr_g=1e-2)  # a large step: the pull shows within 12 steps
        st = parallel.replicate(saturated_state(cfg), mesh)
        runs[weight] = run(cfg, *small_images, 12, phases=("g",), st=st)
    (st_off, _), (st_on, metrics_on) = runs[0.0], runs[10.0]
    first, last = float(metrics_on[0]["pre_tanh"]), float(metrics_on[-1]["pre_tanh"])
    assert first > 1.0 and last < 0.5 * first  # saturated at the start; the penalty's gradient pulls it back
    chex.assert_trees_all_equal(d_part(st_on), d_part(st_off))  # G's update holds D fixed, penalty or not
    assert not np.array_equal(host(st_on.g.params)["UpsampleConv_2"]["kernel"],
                              host(st_off.g.params)["UpsampleConv_2"]["kernel"])


def test_saturation_penalty_needs_a_generator_that_sows_its_pre_tanh_values(small_images):
    import flax.linen as nn

    from jaxgan import models
    from jaxgan.errors import UserError

    class PlainG(nn.Module):  # the protocol without `tanh_output`
        width: int = 8
        num_classes: int = 0
        axis_name: str | None = None

        @nn.compact
        def __call__(self, z, y=None, train=True):
            return nn.tanh(nn.Dense(32 * 32 * 3)(z)).reshape(-1, 32, 32, 3)

    if "test_plain_g" not in models.names():
        models.register("test_plain_g", PlainG, models.get("dcgan").discriminator)
    with pytest.raises(UserError, match=r"^pre_tanh_weight: the test_plain_g generator sows no pre-tanh values"):
        run(tiny_config(model="test_plain_g", pre_tanh_weight=1.0), *small_images, 1)
