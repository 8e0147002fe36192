import dataclasses

import pytest

import jaxgan
from jaxgan import config, pretrained
from jaxgan.errors import UserError


def test_experiments_load_and_are_valid():
    names = config.list_experiments()
    assert {"dcgan", "dcgan_tutorial", "sngan"} <= set(names)
    for name in names:
        assert isinstance(config.load_experiment(name), jaxgan.Config)


def test_pegasus_lecam_is_the_shipped_models_recipe():
    # The experiment names the recipe the shipped model was trained with (by `--set`s on `pegasus`) to 66075 steps;
    # its later stages taught it all ten classes with a class loss (the card's lineage), and its config differs
    # from the experiment's by exactly those settings, not by anything a user could not read off the card.
    card = pretrained.card("pegasus")
    shipped = jaxgan.Config.from_dict(card["config"])
    assert sorted(config.differing_keys(config.load_experiment("pegasus_lecam"), shipped)) == [
        "class_weight", "classes", "num_classes"]
    assert (shipped.classes, shipped.num_classes, shipped.class_weight) == ((), 10, 0.1)
    first = card["lineage"][0]
    assert first["from_step"] == 0 and all(" pegasus " in c and "lecam_weight=0.3" in c for c in first["commands"])
    assert sorted(config.differing_keys(config.load_experiment("pegasus"), shipped)) == [
        "augment", "class_weight", "classes", "lecam_weight", "num_classes"]


def test_tutorial_recipe_matches_the_keras_tutorial():
    c = config.load_experiment("dcgan_tutorial")
    assert (c.model, c.z_dim, c.batch_size, c.lr_g, c.lr_d, c.beta1, c.d_dropout) == (
        "dcgan_tutorial", 100, 128, 2e-4, 2e-4, 0.5, 0.4)


def test_overrides_are_typed():
    c = config.load_experiment("dcgan", ["lr_g=1e-3", "classes=horse, bird", "balance=true", "n_dis=2"])
    assert c.lr_g == 1e-3 and c.classes == ("horse", "bird") and c.balance is True and c.n_dis == 2
    assert c.class_ids == (2, 7)


@pytest.mark.parametrize("override, key", [
    (["learning_rate=1"], "learning_rate"),
    (["lr_g=-1"], "lr_g"),
    (["lr_g=fast"], "lr_g"),
    (["model=vae"], "model"),
    (["classes=horse,unicorn"], "classes"),
    (["batch_size=0"], "batch_size"),
    (["balance=maybe"], "balance"),
    (["n_dis=1.5"], "n_dis"),
    (["balance_low=0.9", "balance_high=0.5"], "balance_low"),
    (["compute_dtype=float16"], "compute_dtype"),
    (["lecam_weight=-0.3"], "lecam_weight"),
    (["lecam_decay=1"], "lecam_decay"),
    (["pre_tanh_weight=-1"], "pre_tanh_weight"),
    (["class_weight=-1"], "class_weight"),
    (["class_weight=1"], "class_weight"),  # dcgan is unconditional: there is no class to learn
    (["spatial_mix=1"], "spatial_mix"),
    (["spatial_mix=0.5"], "spatial_mix"),  # dcgan's generator takes no class maps
    (["spatial_mix_paste=shrink"], "spatial_mix_paste"),
    (["spatial_mix_paste=resize"], "spatial_mix_paste"),  # without spatial_mix it would do nothing
    (["lr_decay_steps=-5"], "lr_decay_steps"),
    (["lr_decay_start=1000"], "lr_decay_start"),  # without lr_decay_steps it would do nothing
])
def test_bad_keys_and_values_name_the_key(override, key):
    with pytest.raises(UserError, match=f"'{key}'"):
        config.load_experiment("dcgan", override)


def test_set_needs_key_value():
    with pytest.raises(UserError, match="key=value"):
        config.parse_overrides(["lr_g"])


def test_unknown_experiment():
    with pytest.raises(UserError, match="unknown experiment 'dcgann'"):
        config.load_experiment("dcgann")


def test_experiment_from_a_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("from jaxgan import Config\ndef get_config():\n    return Config(g_width=32)\n")
    assert config.load_experiment(str(path)).g_width == 32


def test_json_round_trip(tmp_path):
    c = config.load_experiment("dcgan", ["classes=horse,bird"])
    config.save_json(c, tmp_path / "c.json")
    assert config.load_json(tmp_path / "c.json") == c


def test_config_is_frozen_and_python_values_are_normalised():
    c = jaxgan.Config(lr_g=1, classes=["horse"])
    assert c.lr_g == 1.0 and isinstance(c.lr_g, float) and c.classes == ("horse",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr_g = 2.0
    assert config.differing_keys(c, c.replace(steps=10)) == []
    assert config.differing_keys(c, c.replace(g_width=32)) == ["g_width"]
