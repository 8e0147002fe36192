"""The one frozen, validated configuration of a jaxgan run, and how experiments and `--set` overrides build it.

    from jaxgan import config
    cfg = config.load_experiment("dcgan", overrides=["lr_g=1e-4", "classes=horse,bird"])

An experiment is a module in `experiments/` (shipped as `jaxgan.experiments`) or a path to a `.py` file; either
defines `get_config() -> Config`, and a file may also register its own models and losses (`jaxgan.models.register`,
`jaxgan.losses.register`) before returning a config that names them. Every field is checked when a `Config` is
made: an unknown key or a bad value raises `UserError` naming the key; model and loss names are checked against
the registries.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import pathlib
import typing
from typing import Any

from jaxgan import augment, classmap, losses, models, registry
from jaxgan.errors import UserError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

COMPUTE_DTYPES = ("float32", "bfloat16")
# Keys that only say how long or how chatty a run is: they may change when a run is resumed.
RUNTIME_KEYS = ("steps", "log_every", "checkpoint_every", "keep_checkpoints", "sample_every", "eval_every",
                "eval_samples", "nan_policy", "max_rollbacks", "rollback_lr_factor")
NAN_POLICIES = ("rollback", "stop")


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything that defines a run. Flat on purpose: every key can be set as `--set key=value`."""

    # Model.
    model: str = "dcgan"
    z_dim: int = 128
    g_width: int = 64  # channels of the generator's last hidden block; earlier blocks double it
    d_width: int = 64  # channels of the discriminator's first block; later blocks double it
    d_dropout: float = 0.0
    num_classes: int = 0  # 0: unconditional; >0: models take class labels (set by the conditional experiments)
    # Objective.
    loss: str = "ns"
    r1_gamma: float = 0.0  # weight of the R1 penalty on real data (0: off)
    gp_weight: float = 0.0  # weight of the WGAN-GP gradient penalty (0: off)
    # LeCam regularisation of D (losses.lecam_penalty; the authors' CIFAR-10 scripts use 0.3): its weight (0: off)
    # and the decay of the moving averages of D's logits it anchors to.
    lecam_weight: float = 0.0
    lecam_decay: float = 0.99
    # Weight of G's saturation penalty (losses.saturation_penalty: its output's pre-tanh values past clipping; the
    # flat white or black blots of augmented runs; 0: off). Needs a generator that sows them (models.spec).
    pre_tanh_weight: float = 0.0
    # Weight of the class loss (losses.class_loss: the classifier a projection D implies, trained on real images by
    # D and followed by G on its own; 0: off). Needs a conditional model whose D sows its class scores (models.spec).
    # With spatial_mix, a mixed image's label is its map's class shares (classmap.image_labels).
    class_weight: float = 0.0
    # Optimisation.
    batch_size: int = 64  # global batch, split over all devices
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_dis: int = 1  # discriminator updates per generator update
    # Learning-rate decay: from step lr_decay_start both learning rates fall linearly to 0 over lr_decay_steps
    # steps (0: constant). A function of the run's step, so it carries on across slices and --init-from.
    lr_decay_start: int = 0
    lr_decay_steps: int = 0
    # Mixed precision: G and D compute in this dtype during training ("bfloat16" for GPUs/TPUs), while parameters,
    # optimizer states, statistics, losses and sampling stay float32. On XLA:CPU bfloat16 does not pay.
    compute_dtype: str = "float32"
    ema_decay: float = 0.999  # EMA of the generator's weights, used for sampling (0: off)
    # Augmentation (jaxgan/augment.py): "flip" mirrors real images; "color", "translation", "cutout" (DiffAugment)
    # transform every image D sees, real and fake, in both updates. "" : none.
    augment: str = ""
    # Spatially mixed labels (jaxgan/classmap.py): the probability that a real image gets a box of cells from
    # another image (CutMix) with a per-cell class map, and a fake the same kind of map (0: off; mixable models).
    spatial_mix: float = 0.0
    # into the box: "crop" (that box of the other image), "resize" (all of it shrunk), "object" (its foreground) or
    # "placed" (its foreground, in a box on the top edge of the image's own object)
    spatial_mix_paste: str = "crop"
    # The coursework's training tips.
    pretrain_d_steps: int = 0  # steps of D-only training against a fixed G before G starts
    balance: bool = False  # keep D and G at similar skill using D's accuracy on fakes
    balance_low: float = 0.55  # below this (smoothed) accuracy D gets an extra update
    balance_high: float = 0.95  # above it D's updates are skipped for the step
    # Data.
    classes: tuple[str, ...] = ()  # CIFAR-10 class names to train on; empty: all ten
    # Run.
    seed: int = 0
    steps: int = 2000
    log_every: int = 25
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    sample_every: int = 0  # steps between fixed-noise sample grids (0: only at the end)
    eval_every: int = 0  # steps between FID-C measurements (0: off); the best checkpoint is kept in best/
    eval_samples: int = 2000  # samples per FID-C measurement during training (jaxgan eval uses 10k)
    # A non-finite loss or state, found on a logging or checkpoint step: "rollback" to the newest checkpoint with
    # both learning rates times rollback_lr_factor (at most max_rollbacks times), or "stop" (exit code 3).
    nan_policy: str = "rollback"
    max_rollbacks: int = 3
    rollback_lr_factor: float = 0.5

    def __post_init__(self):
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready values.

        Returns:
          {key: value} for every field, tuples as lists.
        """
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def replace(self, **changes) -> "Config":
        """A copy with some keys changed, validated like a new config.

        Args:
          **changes: key=value pairs; strings are parsed as `--set` parses them.

        Returns:
          The new `Config`.

        Raises:
          UserError: an unknown key or a bad value, naming the key.

        Example:
          >>> Config().replace(lr_g="1e-4").lr_g
          0.0001
        """
        unknown = sorted(set(changes) - _HINTS.keys())
        if unknown:
            raise UserError(f"unknown config key '{unknown[0]}' (known keys: {', '.join(_HINTS)})")
        return dataclasses.replace(self, **changes)  # __post_init__ coerces and checks every value

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Config":
        """A config from a dict such as config.json's.

        Args:
          values: {key: value}; missing keys take their defaults.

        Returns:
          The validated `Config`.

        Raises:
          UserError: an unknown key or a bad value, naming the key.
        """
        return cls().replace(**values)

    @property
    def class_ids(self) -> tuple[int, ...]:
        """CIFAR-10 label ids of the classes trained on, in label order."""
        names = self.classes or CIFAR10_CLASSES
        return tuple(sorted(CIFAR10_CLASSES.index(n) for n in names))


_HINTS: dict[str, Any] = typing.get_type_hints(Config)  # field name -> type, in field order


def _coerce(key: str, value: Any) -> Any:
    """Turns a value (from Python or from a `--set` string) into the field's type, or raises naming the key."""
    hint = _HINTS[key]
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes")
            if not isinstance(value, (bool, int)):
                raise ValueError
            return bool(value)
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if typing.get_origin(hint) is tuple:
            if isinstance(value, str):
                value = [v for v in (p.strip() for p in value.split(",")) if v]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError
            return tuple(value)
    except (TypeError, ValueError):
        raise UserError(f"config key '{key}': {value!r} is not a valid {getattr(hint, '__name__', hint)}") from None
    raise AssertionError(f"unhandled type {hint} for {key}")


def _check(ok: bool, key: str, why: str, value: Any):
    if not ok:
        raise UserError(f"config key '{key}': {why}, got {value!r}")


def _validate(c: Config):
    for key in _HINTS:  # a frozen dataclass: normalise types (1 -> 1.0, list -> tuple) before checking
        object.__setattr__(c, key, _coerce(key, getattr(c, key)))
    _check(c.model in models.names(), "model", f"must be a registered model ({', '.join(models.names())})", c.model)
    _check(c.loss in losses.names(), "loss", f"must be a registered loss ({', '.join(losses.names())})", c.loss)
    try:
        augment.parse(c.augment)
    except ValueError as e:
        raise UserError(f"config key 'augment': {e}") from None
    _check(c.compute_dtype in COMPUTE_DTYPES, "compute_dtype", f"must be one of {', '.join(COMPUTE_DTYPES)}",
           c.compute_dtype)
    for key in ("z_dim", "g_width", "d_width", "batch_size", "n_dis", "steps", "log_every", "checkpoint_every",
                "keep_checkpoints"):
        _check(getattr(c, key) >= 1, key, "must be at least 1", getattr(c, key))
    for key in ("num_classes", "pretrain_d_steps", "sample_every", "eval_every", "seed", "lr_decay_start",
                "lr_decay_steps"):
        _check(getattr(c, key) >= 0, key, "must not be negative", getattr(c, key))
    for key in ("lr_g", "lr_d"):
        _check(getattr(c, key) > 0, key, "must be positive", getattr(c, key))
    _check(c.lr_decay_start == 0 or c.lr_decay_steps > 0, "lr_decay_start", "has no effect without lr_decay_steps > 0",
           c.lr_decay_start)
    for key in ("beta1", "beta2", "ema_decay", "d_dropout", "lecam_decay"):
        _check(0 <= getattr(c, key) < 1, key, "must be in [0, 1)", getattr(c, key))
    _check(c.eval_samples >= 64, "eval_samples", "must be at least 64", c.eval_samples)
    _check(c.nan_policy in NAN_POLICIES, "nan_policy", f"must be one of {', '.join(NAN_POLICIES)}", c.nan_policy)
    _check(c.max_rollbacks >= 0, "max_rollbacks", "must not be negative", c.max_rollbacks)
    _check(0 < c.rollback_lr_factor < 1, "rollback_lr_factor", "must be in (0, 1)", c.rollback_lr_factor)
    _check(0 <= c.spatial_mix < 1, "spatial_mix", "must be in [0, 1)", c.spatial_mix)
    _check(c.spatial_mix == 0 or models.is_mixable(c.model), "spatial_mix",
           f"needs a model whose generator takes class maps ({', '.join(models.mixable_names())}), not {c.model}",
           c.spatial_mix)
    _check(c.spatial_mix_paste in classmap.PASTES, "spatial_mix_paste", f"must be one of {', '.join(classmap.PASTES)}",
           c.spatial_mix_paste)
    _check(c.spatial_mix_paste == "crop" or c.spatial_mix > 0, "spatial_mix_paste",
           "has no effect without spatial_mix > 0", c.spatial_mix_paste)
    for key in ("r1_gamma", "gp_weight", "lecam_weight", "pre_tanh_weight", "class_weight"):
        _check(getattr(c, key) >= 0, key, "must not be negative", getattr(c, key))
    _check(c.class_weight == 0 or c.num_classes > 0, "class_weight", "needs a conditional model (num_classes > 0)",
           c.class_weight)
    _check(0 <= c.balance_low < c.balance_high <= 1, "balance_low",
           f"must satisfy 0 <= balance_low < balance_high ({c.balance_high}) <= 1", c.balance_low)
    for name in c.classes:
        _check(name in CIFAR10_CLASSES, "classes",
               f"unknown class '{name}' (CIFAR-10 classes: {', '.join(CIFAR10_CLASSES)})", ",".join(c.classes))
    _check(len(set(c.classes)) == len(c.classes), "classes", "lists a class twice", ",".join(c.classes))
    _check(not models.is_mixable(c.model) or c.num_classes > 0, "num_classes",
           f"must be the number of classes trained on: the {c.model} generator is class-conditional", c.num_classes)
    _check(c.num_classes in (0, len(c.class_ids)), "num_classes",
           f"must be 0 (unconditional) or the number of classes trained on ({len(c.class_ids)})", c.num_classes)


def parse_overrides(items: list[str]) -> dict[str, str]:
    """Splits `--set` style overrides into a dict (values stay strings; `Config.replace` parses them).

    Args:
      items: strings "key=value".

    Returns:
      {key: value}.

    Raises:
      UserError: an item without "=".

    Example:
      >>> parse_overrides(["lr_g=1e-4", "classes=horse,bird"])
      {'lr_g': '1e-4', 'classes': 'horse,bird'}
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"a config override must be key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def list_experiments() -> list[str]:
    """The names of the shipped experiments (modules of `experiments/`).

    Returns:
      Sorted names, each usable as `load_experiment(name)`.
    """
    import jaxgan.experiments as pkg

    return sorted(p.stem for p in pathlib.Path(pkg.__file__).parent.glob("*.py") if not p.stem.startswith("_"))


_imported_files: dict[pathlib.Path, Any] = {}  # experiment files imported in this process, by absolute path


def import_experiment_file(path: str | pathlib.Path):
    """Imports an experiment file once per process; the models and losses it registers record it as their origin.

    Args:
      path: a `.py` file.

    Returns:
      The imported module.

    Raises:
      UserError: the file does not exist.
    """
    path = pathlib.Path(path).expanduser().resolve()
    if path in _imported_files:
        return _imported_files[path]
    if not path.is_file():
        raise UserError(f"experiment file {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"jaxgan_experiment_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    with registry.loading_from(path):
        spec.loader.exec_module(module)
    _imported_files[path] = module
    return module


def load_experiment(name: str, overrides: list[str] | dict[str, Any] = ()) -> Config:
    """The experiment's config with `overrides` applied.

    Args:
      name: a shipped experiment (`list_experiments()`) or a path to a `.py` file defining `get_config()`.
      overrides: `["key=value", ...]` strings (as `--set` gives them) or a dict of values.

    Returns:
      The validated `Config`.

    Raises:
      UserError: unknown experiment, missing file, no `get_config()`, or a bad key or value.

    Example:
      >>> load_experiment("dcgan", {"steps": 10}).steps
      10
    """
    if name.endswith(".py"):
        module = import_experiment_file(name)
    else:
        if name not in list_experiments():
            known = ", ".join(list_experiments())
            raise UserError(f"unknown experiment '{name}' (known: {known}, or a path to a .py file)")
        module = importlib.import_module(f"jaxgan.experiments.{name}")
    if not hasattr(module, "get_config"):
        raise UserError(f"experiment '{name}' defines no get_config()")
    cfg = module.get_config()
    if isinstance(overrides, (list, tuple)):
        overrides = parse_overrides(list(overrides))
    return cfg.replace(**overrides) if overrides else cfg


def code_origins(cfg: Config) -> dict[str, str]:
    """The experiment files that registered `cfg`'s model and loss, for those not built in.

    Args:
      cfg: a config.

    Returns:
      {"model": path, "loss": path} with only the keys whose implementation came from a file.
    """
    found = {"model": models.MODELS.origin(cfg.model), "loss": losses.LOSSES.origin(cfg.loss)}
    return {key: str(path) for key, path in found.items() if path is not None}


def save_json(cfg: Config, path: pathlib.Path) -> None:
    """Writes the config as JSON (what config.json holds).

    Args:
      cfg: the config.
      path: the file.
    """
    path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")


def load_json(path: pathlib.Path) -> Config:
    """Reads a config written by `save_json`.

    Args:
      path: the file.

    Returns:
      The validated `Config`.

    Raises:
      UserError: the file is unreadable or holds a bad key or value.
    """
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"cannot read the run's config {path}: {e}") from None
    return Config.from_dict(values)


def differing_keys(a: Config, b: Config, ignore=RUNTIME_KEYS) -> list[str]:
    """The keys on which two configs differ, apart from `ignore` (by default the runtime keys, which a resumed run
    may change).

    Args:
      a: a config.
      b: another.
      ignore: keys not compared.

    Returns:
      Key names, in field order.
    """
    return [k for k in _HINTS if k not in ignore and getattr(a, k) != getattr(b, k)]
