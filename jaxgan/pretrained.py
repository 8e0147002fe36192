"""Pretrained models shipped with jaxgan (or kept in folders of your own), loaded without pickle, checked by sha256.

    jaxgan pretrained                                   # the models found, with their cards
    jaxgan sample --pretrained pegasus --n 64 --out grid.png
    jaxgan export --workdir runs/pegasus --name pegasus --out jaxgan/pretrained_models/pegasus

A bundle is a folder NAME/ holding:
    config.json       the run's config (what `run.load_config` reads)
    weights.msgpack   the EMA generator and the discriminator (params and statistics) as flax msgpack: plain
                      arrays, float16 when that keeps samples within one level of float32, else float32
    card.json         the model card: experiment, config, steps, hardware, training time (the steps' own time, and
                      wall-clock time summed over the run's slices), the lineage of a run started from another
                      run's state (each stage's folder, steps, commands and time, and their total), versions,
                      commit, metrics, storage dtype, and the sha256 of weights.msgpack, checked on every load
    eval.json         the metrics (`jaxgan eval` of the run), when the run had them
Bundles are looked up in the package's `pretrained_models/` folder and in the folders of $JAXGAN_PRETRAINED_PATH
(separated by ':'), in that order. Loading one gives the (config, state) a run folder gives, so every command that
reads a run reads a bundle the same way; the state's G is the EMA generator and its optimizer states are zeros.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxgan import config as config_lib, run, state as state_lib, summaries
from jaxgan.config import Config
from jaxgan.errors import UserError

SHIPPED = pathlib.Path(__file__).resolve().parent / "pretrained_models"
PATH_ENV = "JAXGAN_PRETRAINED_PATH"
WEIGHTS, CARD = "weights.msgpack", "card.json"
FORMAT = 1
MAX_LEVELS = 1  # float16 storage is used only when samples stay within this many uint8 levels of float32


def search_path() -> list[pathlib.Path]:
    """The folders searched for bundles, in order.

    Returns:
      The package's `pretrained_models/`, then each folder of $JAXGAN_PRETRAINED_PATH.
    """
    extra = [pathlib.Path(p).expanduser() for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p]
    return [SHIPPED] + extra


def available() -> dict[str, pathlib.Path]:
    """The bundles found on the search path (the first of a name wins).

    Returns:
      {name: folder}.
    """
    found: dict[str, pathlib.Path] = {}
    for folder in search_path():
        if folder.is_dir():
            for bundle in sorted(folder.iterdir()):
                if (bundle / CARD).is_file() and bundle.name not in found:
                    found[bundle.name] = bundle
    return found


def locate(name: str) -> pathlib.Path:
    """The folder of bundle `name`.

    Args:
      name: a bundle name (`available()`).

    Returns:
      Its folder.

    Raises:
      UserError: naming the ones found, when there is no such bundle.
    """
    found = available()
    if name not in found:
        names = ", ".join(found) or "none"
        raise UserError(f"unknown pretrained model '{name}' (available: {names}; more folders go in ${PATH_ENV})")
    return found[name]


def card(name: str) -> dict:
    """The model card of bundle `name`.

    Args:
      name: a bundle name.

    Returns:
      The card as a dict.

    Raises:
      UserError: unknown name or unreadable card.
    """
    path = locate(name) / CARD
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"pretrained model '{name}': {path} is unreadable ({type(e).__name__})") from None


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(name: str, mesh=None):
    """A bundle as (config, state), like `run.load` gives for a run folder.

    Args:
      name: a bundle name.
      mesh: where to place the state (default: all local devices).

    Returns:
      (config, `GANState`) with the EMA generator (also as G) and the discriminator.

    Raises:
      UserError: unknown name, or a weight file that is missing, damaged (sha256 mismatch), or of another model.
    """
    from jaxgan import parallel

    folder = locate(name)
    meta = card(name)
    cfg = run.load_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise UserError(f"pretrained model '{name}': {weights} is missing")
    if _sha256(weights) != meta.get("weights_sha256"):
        raise UserError(f"pretrained model '{name}': {weights} is damaged (its sha256 differs from the card's); "
                        f"reinstall jaxgan or export the bundle again")
    target = state_lib.abstract(cfg)
    template = {"ema": {"params": target.ema.params, "stats": target.ema.stats},
                "d": {"params": target.d.params, "stats": target.d.stats}}
    try:
        raw = serialization.msgpack_restore(weights.read_bytes())
        arrays = serialization.from_state_dict(template, raw)
        arrays = jax.tree.map(lambda a, t: _checked(a, t), arrays, template)
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"pretrained model '{name}': {weights} does not hold this config's networks "
                        f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})") from None
    zeros = jax.tree.map(lambda t: jnp.zeros(t.shape, t.dtype), target)
    ema = state_lib.EMAState(arrays["ema"]["params"], arrays["ema"]["stats"])
    state = zeros.replace(
        step=jnp.asarray(meta.get("steps", 0), jnp.int32),
        g=zeros.g.replace(params=jax.tree.map(jnp.copy, ema.params), stats=jax.tree.map(jnp.copy, ema.stats)),
        d=zeros.d.replace(params=arrays["d"]["params"], stats=arrays["d"]["stats"]), ema=ema)
    return cfg, parallel.replicate(state, mesh or parallel.make_mesh())


def _checked(array, target) -> jax.Array:
    array = np.asarray(array)
    if array.shape != tuple(target.shape):
        raise ValueError(f"an array of shape {array.shape} where the config needs {tuple(target.shape)}")
    return jnp.asarray(array.astype(target.dtype))


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pathlib.Path(__file__).parent, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def export(workdir, out, name: str | None = None, dtype: str = "auto", log=print) -> pathlib.Path:
    """Writes a bundle from a trained run folder.

    Args:
      workdir: the run folder (its latest checkpoint; environment.json when present, and eval.json when present
        and measured at that checkpoint's step or recording no step).
      out: the bundle folder to write (created; must not exist yet).
      name: shown in the card (default: the folder's name).
      dtype: "float16", "float32", or "auto" (float16 when 64 samples stay within one uint8 level of float32).
      log: where progress lines go.

    Returns:
      The bundle's folder.

    Raises:
      UserError: not a run folder, no checkpoint, `out` exists, or a bad `dtype`.
    """
    from jaxgan import sampling

    if dtype not in ("auto", "float16", "float32"):
        raise UserError(f"storage dtype must be auto, float16 or float32, got {dtype!r}")
    out = pathlib.Path(out)
    if out.exists():
        raise UserError(f"{out} exists; a bundle is written into a new folder")
    run.output_folder(out)
    workdir = pathlib.Path(workdir)
    cfg, state = run.load(workdir)
    arrays = jax.device_get({"ema": {"params": state.ema.params, "stats": state.ema.stats},
                             "d": {"params": state.d.params, "stats": state.d.stats}})
    half = jax.tree.map(lambda a: a.astype(np.float16) if a.dtype == np.float32 else a, arrays)
    restored = jax.tree.map(lambda h, a: np.asarray(h).astype(a.dtype), half, arrays)
    full_images, _ = sampling.sample(cfg, state, 64, seed=0)
    half_state = state.replace(ema=state_lib.EMAState(restored["ema"]["params"], restored["ema"]["stats"]))
    half_images, _ = sampling.sample(cfg, half_state, 64, seed=0)
    levels = int(np.abs(full_images.astype(int) - half_images.astype(int)).max())
    use_half = dtype == "float16" or (dtype == "auto" and levels <= MAX_LEVELS)
    out.mkdir()
    (out / WEIGHTS).write_bytes(serialization.msgpack_serialize(half if use_half else arrays))
    config_lib.save_json(cfg, out / run.CONFIG)
    metrics = json.loads((workdir / run.EVAL).read_text()) if (workdir / run.EVAL).is_file() else {}
    measured = (metrics.get("source") or {}).get("step")
    if measured is not None and int(measured) != int(state.step):  # the run trained on after `jaxgan eval`
        log(f"left out {workdir / run.EVAL}: it measured step {measured}, not the exported step {int(state.step)} "
            f"(`jaxgan eval --workdir {workdir} --out {workdir / run.EVAL}` measures this one)")
        metrics = {}
    if metrics:
        (out / run.EVAL).write_text(json.dumps(metrics, indent=2) + "\n")
    sessions = summaries.sessions(workdir)
    keys = ("fid_c", "fid_c_classes", "kid_c", "kid_c_std", "precision", "recall", "class_accuracy",
            "intra_fid_c_mean", "intra_fid_c", "uniqueness")
    meta = {
        "format": FORMAT, "name": name or out.name, "model": cfg.model, "config": cfg.to_dict(),
        "steps": int(state.step), "storage_dtype": "float16" if use_half else "float32",
        "float16_max_level_difference": levels,
        "hardware": sorted({f"{e.get('backend')} {e.get('device_kind')} x{e.get('devices')}" for e in sessions}),
        "training_seconds": _training_seconds(workdir, cfg),
        "training_wall_seconds": summaries.training_time(workdir)["seconds"],
        "training_slices": len(sessions),
        "training_sessions": sessions,
        "started_from": sessions[0].get("started_from") if sessions else None,
        **_lineage(workdir, int(state.step)),
        "jax": jax.__version__, "flax": _version("flax"), "jaxgan_commit": _commit(),
        "metrics": {k: metrics[k] for k in keys if k in metrics},
        "weights_sha256": _sha256(out / WEIGHTS),
    }
    (out / CARD).write_text(json.dumps(meta, indent=1) + "\n")
    size = (out / WEIGHTS).stat().st_size / 2**20
    log(f"wrote {out}: {meta['storage_dtype']} weights ({size:.1f} MiB; float16 samples within {levels} level(s) of "
        f"float32), card.json, config.json{', eval.json' if metrics else ''}")
    return out


def _training_seconds(workdir: pathlib.Path, cfg: Config, until: int | None = None) -> float | None:
    """Training time from metrics.jsonl: each logged interval's images over its measured images/s (to step `until`
    when given: a source run may have trained on past the step another run started from)."""
    from jaxgan import report

    rows = [r for r in report.read_metrics(workdir / run.METRICS)
            if r.get("images_per_s") and (until is None or r["step"] <= until)]
    total, last = 0.0, summaries.first_step(workdir)  # a run started from another's state begins at its step
    for r in rows:
        total += (r["step"] - last) * cfg.batch_size / r["images_per_s"]
        last = r["step"]
    return round(total, 1) if rows else None


def _lineage(workdir: pathlib.Path, step: int) -> dict:
    """The chain of runs a state was trained through, oldest first, for the card.

    A run started from another run's state (`train --init-from`) records only its own training; its card would say
    a fraction of what the weights cost. This follows each run's recorded start back through the source folders
    that still exist here, each stage to the step the next one started from.

    Args:
      workdir: the exported run folder.
      step: the exported step.

    Returns:
      {"lineage": [{"run", "from_step", "to_step", "training_seconds", "slices", "commands"}, ...], and
      "lineage_training_seconds": their sum (None when a stage's time is unknown or a source folder is missing,
      whose stage is then {"run", "to_step", "missing": True})}.
    """
    stages, seen, folder, until = [], set(), workdir.resolve(), step
    while True:
        seen.add(folder)
        records = [r for r in summaries.sessions(folder) if int(r.get("start_step", 0)) < until] or \
            summaries.sessions(folder)[:1]
        try:
            seconds = _training_seconds(folder, run.load_config(folder), until)
        except UserError:
            seconds = None
        stages.append({"run": str(folder), "from_step": summaries.first_step(folder), "to_step": until,
                       "training_seconds": seconds, "slices": len(records),
                       "commands": [r.get("command") for r in records]})
        source = (records[0].get("started_from") if records else None) or {}
        if not source:
            break
        folder, until = pathlib.Path(source["run"]).resolve(), int(source["step"])
        if folder in seen or not (folder / run.CONFIG).is_file():
            stages.append({"run": source["run"], "to_step": until, "missing": True})
            break
    stages.reverse()
    times = [s.get("training_seconds") for s in stages]
    total = round(sum(times), 1) if all(t is not None for t in times) else None
    return {"lineage": stages, "lineage_training_seconds": total}


def _version(package: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def describe(name: str) -> str:
    """One paragraph about a bundle, for `jaxgan pretrained`.

    Args:
      name: a bundle name.

    Returns:
      Text lines.
    """
    c = card(name)
    m = c.get("metrics", {})
    figures = ", ".join(f"{k} {m[k]:.4g}" for k in ("fid_c", "class_accuracy", "intra_fid_c_mean", "precision",
                                                   "recall") if isinstance(m.get(k), (int, float)))
    stages, total = c.get("lineage") or [], c.get("lineage_training_seconds")
    trained = f", {total / 3600:.1f} h of training over {len(stages)} runs" if len(stages) > 1 and total else ""
    return (f"{name}: {c.get('model')} ({c.get('config', {}).get('classes') or 'all classes'}), {c.get('steps')} "
            f"steps{trained}, {c.get('storage_dtype')} weights, jax {c.get('jax')}, commit "
            f"{str(c.get('jaxgan_commit'))[:10]}\n"
            f"  {figures or 'no metrics recorded'}\n  {locate(name)}")
