"""Standard Inception-v3 FID, KID and IS through torch-fidelity (an optional extra), for users who have the weights.

    pip install 'jaxgan[inception]'
    jaxgan eval --images samples.npz --inception            # or inception.inception_metrics(images, train_images)

jaxgan does not port Inception-v3: torch-fidelity is the established implementation whose numbers match the
original TensorFlow FID. It downloads the Inception weights on first use; where that is impossible (offline, no
extra installed) the command says so in one line. jaxgan's own FID-C needs neither.
"""
from __future__ import annotations

import numpy as np

from jaxgan.errors import UserError

INSTALL = "pip install 'jaxgan[inception]'"


class _UInt8Images:
    """A torch-style dataset of uint8 (3, H, W) tensors, the input torch-fidelity expects."""

    def __init__(self, images: np.ndarray):
        import torch

        self.images = torch.from_numpy(np.ascontiguousarray(np.asarray(images).transpose(0, 3, 1, 2)))

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def check_available() -> None:
    """UserError in one line unless torch-fidelity can be imported (checked before any slow work)."""
    try:
        import torch  # noqa: F401
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise UserError(f"standard Inception FID/KID/IS needs the optional extra torch-fidelity: {INSTALL} "
                        f"(jaxgan's own FID-C needs nothing more)") from None


def inception_metrics(images: np.ndarray, reference_images: np.ndarray) -> dict:
    """FID, KID (mean, std) and IS (mean, std) of uint8 NHWC `images` against `reference_images`."""
    check_available()
    import torch
    import torch_fidelity
    try:
        m = torch_fidelity.calculate_metrics(
            input1=_UInt8Images(images), input2=_UInt8Images(reference_images), cuda=torch.cuda.is_available(),
            isc=True, fid=True, kid=True, kid_subset_size=min(1000, len(images), len(reference_images)),
            verbose=False, save_cpu_ram=True)
    except Exception as e:  # the usual cause: the Inception-v3 weights cannot be downloaded (offline)
        first = str(e).splitlines()[0] if str(e) else ""
        raise UserError(f"torch-fidelity could not compute Inception metrics ({type(e).__name__}: {first}); "
                        f"it needs the Inception-v3 weights, downloaded on first use (offline here?)") from None
    return {"fid": float(m["frechet_inception_distance"]),
            "kid": float(m["kernel_inception_distance_mean"]), "kid_std": float(m["kernel_inception_distance_std"]),
            "is": float(m["inception_score_mean"]), "is_std": float(m["inception_score_std"])}
