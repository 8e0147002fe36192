"""The coursework's MLP autoencoder baseline: the official test images 13 (horse) and 160 (bird), the recipe's
shapes, and a short end-to-end run that writes its Pegasus and metrics."""
import json

import numpy as np
from PIL import Image

from jaxgan import autoencoder


def test_pegasus_inputs_are_the_official_test_images_13_and_160(data_dir):
    images, labels = autoencoder.test_images_by_id(["test_00013", "test_00160"], data_dir)
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [7, 2]  # horse, bird


def test_layer_sizes_follow_the_base_code():
    import jax
    import jax.numpy as jnp

    model = autoencoder.Autoencoder()
    params = model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)))["params"]
    shapes = {k: v["kernel"].shape for k, v in params.items()}
    assert shapes == {"enc_hidden": (3072, 512), "enc_latent": (512, 32), "dec_hidden": (32, 512),
                      "dec_out": (512, 3072)}


def test_short_run_learns_and_writes_everything(tmp_path, data_dir, train_reference):
    recipe = autoencoder.Recipe(rounds=2, steps_per_round=50)
    result = autoencoder.run(tmp_path / "ae", data_dir, recipe, n_eval=128, reference=train_reference,
                             log=lambda line: None)
    assert result["losses"][1] < result["losses"][0]
    for name in ("ae_pegasus.png", "ae_pegasus_x8.png", "ae_pegasus_inputs.png", "ae_samples.png"):
        assert (tmp_path / "ae" / name).is_file()
    assert np.asarray(Image.open(tmp_path / "ae" / "ae_pegasus.png")).shape == (32, 32, 3)
    saved = json.loads((tmp_path / "ae" / "metrics.json").read_text())
    assert saved["mixtures"]["fid_c"] > 0 and saved["reconstructions"]["n"] == 128
    assert abs(sum(saved["pegasus"]["class_probabilities"].values()) - 1) < 1e-3
