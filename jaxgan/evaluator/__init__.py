"""jaxgan's evaluator: a CIFAR-10 classifier trained by jaxgan, shipped with the package, whose features define FID-C.

    from jaxgan import evaluator
    ev = evaluator.load()                      # the shipped weights (or load(path) for your own)
    features, logits = ev.features_and_logits(images_uint8)   # (N, 256), (N, 10)
    ev.weights_id                              # names the weights in cached reference statistics

The weights are reproduced by `jaxgan evaluator train --out PATH` (see `jaxgan.evaluator.train`). They are stored
with flax's msgpack serialisation (arrays and plain metadata, no pickled code).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib

import numpy as np
from flax import serialization

from jaxgan.errors import UserError
from jaxgan.evaluator.network import EvaluatorNet

SHIPPED_WEIGHTS = pathlib.Path(__file__).with_name("cifar10_evaluator.msgpack")


@dataclasses.dataclass(frozen=True, eq=False)
class Evaluator:
    net: EvaluatorNet
    variables: dict
    meta: dict
    weights_id: str  # the first 16 hex digits of the weight file's sha256

    @property
    def feature_dim(self) -> int:
        return self.net.widths[-1]

    def features_and_logits(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate features and class logits of uint8 (N, 32, 32, 3) images, as float32 numpy arrays."""
        from jaxgan.evaluator.train import predict

        return predict(self.net, self.variables, np.asarray(images), batch_size)


def save(path, net: EvaluatorNet, variables, meta: dict) -> None:
    path = pathlib.Path(path)
    meta = dict(meta, widths=list(net.widths), stem_width=net.stem_width, num_classes=net.num_classes)
    # Metadata travels as one JSON string: msgpack state dicts would turn its lists into {"0": ...} mappings.
    payload = {"variables": variables, "meta": json.dumps(meta)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(serialization.msgpack_serialize(serialization.to_state_dict(payload)))
    tmp.replace(path)  # an interrupted save never leaves a half-written weight file under the real name


def load(path=None) -> Evaluator:
    """The evaluator stored at `path` (default: the shipped weights); UserError in one line if unreadable."""
    path = pathlib.Path(path) if path is not None else SHIPPED_WEIGHTS
    if not path.is_file():
        raise UserError(f"evaluator weights not found: {path}")
    data = path.read_bytes()
    try:
        payload = serialization.msgpack_restore(data)
        meta = json.loads(payload["meta"])
        net = EvaluatorNet(widths=tuple(meta["widths"]), stem_width=meta["stem_width"],
                           num_classes=meta["num_classes"])
        variables = payload["variables"]
    except Exception as e:
        raise UserError(f"{path} is not a jaxgan evaluator weight file ({type(e).__name__})") from None
    return Evaluator(net, variables, meta, hashlib.sha256(data).hexdigest()[:16])
