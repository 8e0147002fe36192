"""jaxgan's evaluator: a CIFAR-10 classifier trained by jaxgan, shipped with the package, whose features define FID-C.

    from jaxgan import evaluator
    ev = evaluator.load()                      # the shipped weights (or load(path) for your own)
    features, logits = ev.features_and_logits(images_uint8)   # (N, 256), (N, 10)
    ev.weights_id                              # names the weights in cached reference statistics
    judge = evaluator.load_judge()             # a second classifier, only ever used to report (see .judge)

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
from jaxgan.evaluator.judge import JudgeNet
from jaxgan.evaluator.network import NETWORKS, EvaluatorNet

SHIPPED_WEIGHTS = pathlib.Path(__file__).with_name("cifar10_evaluator.msgpack")
SHIPPED_JUDGE = pathlib.Path(__file__).with_name("cifar10_judge.msgpack")


@dataclasses.dataclass(frozen=True, eq=False)
class Evaluator:
    net: EvaluatorNet | JudgeNet
    variables: dict
    meta: dict
    weights_id: str  # the first 16 hex digits of the weight file's sha256

    @property
    def feature_dim(self) -> int:
        return self.net.widths[-1]

    def features_and_logits(self, images: np.ndarray, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate features and class logits of uint8 (N, 32, 32, 3) images, as float32 numpy arrays.

        Args:
          images: uint8 (N, 32, 32, 3).
          batch_size: images per call of the network (None: `train.PREDICT_BATCH`, the fastest measured on CPU,
            where the outputs were bit-identical for every size tried).

        Returns:
          (features float32 (N, feature_dim), logits float32 (N, 10)).
        """
        from jaxgan.evaluator.train import PREDICT_BATCH, predict

        return predict(self.net, self.variables, np.asarray(images), batch_size or PREDICT_BATCH)


def save(path, net: EvaluatorNet | JudgeNet, variables, meta: dict) -> None:
    """Writes `variables` and `meta` (plus the network's name and sizes) to `path`, atomically.

    Args:
      path: the weight file to write (.msgpack).
      net: the network the variables belong to (one of NETWORKS).
      variables: its flax variables (params and batch_stats), on the host.
      meta: JSON-able facts to keep with them (test accuracy, recipe, versions).
    """
    path = pathlib.Path(path)
    name = next(k for k, cls in NETWORKS.items() if isinstance(net, cls))
    meta = dict(meta, network=name, widths=list(net.widths), stem_width=net.stem_width, num_classes=net.num_classes)
    # Metadata travels as one JSON string: msgpack state dicts would turn its lists into {"0": ...} mappings.
    payload = {"variables": variables, "meta": json.dumps(meta)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(serialization.msgpack_serialize(serialization.to_state_dict(payload)))
    tmp.replace(path)  # an interrupted save never leaves a half-written weight file under the real name


def load(path=None) -> Evaluator:
    """The classifier stored at `path`.

    Args:
      path: a weight file written by `save` (default: the shipped evaluator).

    Returns:
      An `Evaluator`. Raises UserError, in one line, if the file is missing or unreadable.
    """
    path = pathlib.Path(path) if path is not None else SHIPPED_WEIGHTS
    if not path.is_file():
        raise UserError(f"evaluator weights not found: {path}")
    data = path.read_bytes()
    try:
        payload = serialization.msgpack_restore(data)
        meta = json.loads(payload["meta"])
        net = NETWORKS[meta.get("network", "evaluator")](widths=tuple(meta["widths"]), stem_width=meta["stem_width"],
                                                         num_classes=meta["num_classes"])
        variables = payload["variables"]
    except Exception as e:
        raise UserError(f"{path} is not a jaxgan evaluator weight file ({type(e).__name__})") from None
    return Evaluator(net, variables, meta, hashlib.sha256(data).hexdigest()[:16])


def load_judge(path=None) -> Evaluator:
    """The judge (`jaxgan.evaluator.judge`): a classifier used only to report, never to select.

    Args:
      path: a weight file written by `jaxgan evaluator train --network judge` (default: the shipped judge).

    Returns:
      An `Evaluator` holding the judge. Raises UserError, in one line, if the file is missing or unreadable.
    """
    return load(path if path is not None else SHIPPED_JUDGE)
