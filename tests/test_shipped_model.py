"""The pretrained Pegasus model shipped in the package: found by name, small enough, its card complete, its weights
checked by sha256 and loaded without pickle, and it generates what its card says it was."""
import numpy as np

from jaxgan import pretrained, sampling
from jaxgan.config import CIFAR10_CLASSES
from tests.test_cli import jaxgan

CARD_METRICS = ("fid_c", "kid_c", "precision", "recall", "class_accuracy", "intra_fid_c_mean", "uniqueness")


def test_the_pegasus_model_ships_with_the_package():
    folder = pretrained.available()["pegasus"]
    assert folder.parent == pretrained.SHIPPED
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 30 * 2**20
    assert sorted(f.name for f in folder.iterdir()) == ["card.json", "config.json", "eval.json", "weights.msgpack"]


def test_its_card_says_what_the_issue_asks():
    card = pretrained.card("pegasus")
    for key in ("config", "steps", "hardware", "training_seconds", "jax", "flax", "jaxgan_commit", "storage_dtype",
                "weights_sha256"):
        assert card.get(key) is not None, key
    for key in CARD_METRICS:
        assert key in card["metrics"], key
    classes = card["config"]["classes"] or CIFAR10_CLASSES[:card["config"]["num_classes"]]
    assert {"horse", "bird", "airplane"} <= set(classes)  # what a Pegasus is mixed from
    stages = card["lineage"]  # started from another run's state: the card counts every stage
    assert stages[-1]["to_step"] == card["steps"] and not any(s.get("missing") for s in stages)
    assert card["lineage_training_seconds"] >= card["training_seconds"] > 0
    assert card["float16_max_level_difference"] <= 1 or card["storage_dtype"] == "float32"


def test_it_loads_and_samples_offline():
    cfg, state = pretrained.load("pegasus")  # sha256-checked
    assert int(state.step) == pretrained.card("pegasus")["steps"]
    images, labels = sampling.sample(cfg, state, 16, seed=0)
    assert images.shape == (16, 32, 32, 3) and images.std() > 20
    assert len(np.unique(images.reshape(16, -1), axis=0)) == 16
    listing = jaxgan("pretrained")
    assert listing.returncode == 0 and "pegasus: cdcgan" in listing.stdout
