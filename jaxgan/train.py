"""The training loop around the pure step: resuming, logging, checkpoints, sample grids, FID-C tracking.

    state = jaxgan.train.train(cfg, "runs/dcgan", data_dir="../shared/tensorflow_datasets")

What it writes into the run folder is listed in `jaxgan/run.py`. Training the same config into the same folder
again resumes from the latest checkpoint; a larger `steps` trains on. Metrics stay on the device except on
logging steps: the step and the batch gather run under `jax.transfer_guard("disallow")`, so an implicit transfer
between host and device there is an error, not a silent slowdown.

A run may train in slices: `train(..., time_limit=seconds)` (`jaxgan train --time-limit MINUTES`) stops once that
much wall-clock time has passed since the call, saves a checkpoint of the step it reached and returns; the next call
resumes there, bit-identical to an unbroken run. Each slice's steps and wall-clock time are recorded in
environment.json (`summaries.record_progress`), so a run's total training time adds up over its slices.

In a distributed run (`jaxgan.distributed`) every process runs this loop on the global mesh; process 0 alone
writes the run folder's files and holds its lock, every process takes part in checkpoint saves, and a stop
request (Ctrl-C, SIGTERM) is agreed between the processes on logging steps, so they all stop after the same step.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import sys
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import (checkpoint, data, distributed, parallel, run, sampling, state as state_lib, step as step_lib,
                    summaries)
from jaxgan.config import Config
from jaxgan.errors import UserError

GRID_SEED, GRID_SIZE = 1234, 64
HOT_LOOP_TRANSFERS = "disallow"  # jax.transfer_guard level around the step and the batch gather


def load_train_data(cfg: Config, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """The training images of `cfg`'s classes.

    Args:
      cfg: the run's config (its `classes`).
      data_dir: tensorflow-datasets folder holding cifar10 (None: $TFDS_DATA_DIR, else tfds' default).

    Returns:
      (images uint8 (N, 32, 32, 3), labels int32 (N,) numbered 0..k-1 in the order of `cfg.class_ids`).
    """
    images, labels = data.load_cifar10("train", data_dir, cfg.classes)
    return images, np.searchsorted(np.array(cfg.class_ids), labels).astype(np.int32)


def _format(m: dict, images_per_s: float | None) -> str:
    speed = "    -" if images_per_s is None else f"{images_per_s:5.0f}"
    return (f"{speed} img/s  D {m['d_loss']:.3f}  G {m['g_loss']:.3f}  "
            f"D(x) {m['d_real']:.2f}  D(G(z)) {m['d_fake']:.2f}")


def train(cfg: Config, workdir, data_dir=None, progress: bool = True, mesh=None,
          time_limit: float | None = None, init_from=None) -> state_lib.GANState:
    """Trains `cfg` into the run folder `workdir`, resuming from its latest checkpoint.

    Args:
      cfg: the config to train (`cfg.steps` is where training stops).
      workdir: the run folder (created when missing; see `jaxgan.run`).
      data_dir: tensorflow-datasets folder holding cifar10 (None: $TFDS_DATA_DIR, else tfds' default).
      progress: show a progress bar.
      mesh: the data-parallel mesh (default: every device of every process).
      time_limit: wall-clock seconds (from this call) after which training stops with a checkpoint of the step it
        reached, to be resumed by the next call; None: no limit.
      init_from: another run folder whose latest state a *new* run starts from (`check_source_run`: fine-tuning
        under a changed recipe); ignored once `workdir` has checkpoints of its own, so the same call resumes.

    Returns:
      The final `GANState` (on the mesh); its `step` is below `cfg.steps` when the time limit ended training.

    Raises:
      UserError: a bad run folder, missing data, a batch that does not split over the devices, an unreadable
        checkpoint.
      KeyboardInterrupt: after Ctrl-C, once the state of the step in flight is saved.
      Terminated: after SIGTERM (how schedulers and clouds preempt), likewise.
      Diverged: a non-finite loss or state that nan_policy=rollback could not (or nan_policy=stop may not) undo;
        no non-finite state is ever saved.
    """
    deadline = None if time_limit is None else _now() + check_time_limit(time_limit)
    mesh = mesh or parallel.make_mesh()
    parallel.check_batch_divides(cfg.batch_size, mesh)
    distributed.agree("config", json.dumps(cfg.to_dict(), sort_keys=True))
    if init_from is not None:  # a wrong source fails before anything is written
        check_source_run(cfg, init_from)
    images, labels = load_train_data(cfg, data_dir)  # missing data fails before anything is written
    # The run has one lock, held by process 0; the other processes go on only once it is taken.
    lock = run.TrainerLock(workdir, log=lambda line: print(line, file=sys.stderr))
    distributed.primary_first(lock.__enter__, "lock the run folder")
    try:
        return _train(cfg, workdir, images, labels, data_dir, progress, mesh, deadline, init_from)
    finally:
        if distributed.is_primary():
            lock.__exit__(None, None, None)


def check_time_limit(value, name: str = "time_limit", unit: str = "seconds") -> float:
    """A time limit as a positive, finite number.

    Args:
      value: the limit (a number, or text such as "90.5").
      name: what the error message calls it.
      unit: the unit the error message names.

    Returns:
      It as a float.

    Raises:
      UserError: zero, negative, infinite or not a number; the message names `name`.

    Example:
      >>> check_time_limit("1.5")
      1.5
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (np.isfinite(number) and number > 0):
        raise UserError(f"{name} must be a positive number of {unit}, got {value!r}")
    return number


# The clock the time limit is read from (a test replaces it); monotonic, so a clock change cannot end a slice.
_now = time.monotonic


# What gives a state's latents and labels their meaning: a run started from another run's state must share them.
MEANING_KEYS = ("model", "z_dim", "num_classes", "classes")


def check_source_run(cfg: Config, source) -> Config:
    """Checks that a new run of `cfg` may start from run folder `source`'s state (`train(init_from=...)`).

    The two configs may differ in anything that leaves the state's arrays as they are (learning rates, losses,
    augmentation, `spatial_mix`, penalties that keep no state of their own...), never in `MEANING_KEYS`.

    Args:
      cfg: the new run's config.
      source: a run folder.

    Returns:
      The source run's config.

    Raises:
      UserError: not a run folder, a differing meaning key, or a state whose arrays differ (naming the first).
    """
    source_cfg = run.load_config(source)
    for key in MEANING_KEYS:
        if getattr(source_cfg, key) != getattr(cfg, key):
            raise UserError(f"cannot start from {source}: its {key} is {getattr(source_cfg, key)!r}, this run's "
                            f"{getattr(cfg, key)!r}")
    theirs = jax.tree_util.tree_flatten_with_path(state_lib.abstract(source_cfg))[0]
    ours = jax.tree_util.tree_flatten_with_path(state_lib.abstract(cfg))[0]
    if [p for p, _ in theirs] != [p for p, _ in ours]:
        raise UserError(f"cannot start from {source}: its state holds other arrays than this config's (a key such "
                        f"as lecam_weight switches a part of it on or off)")
    for (path, a), (_, b) in zip(theirs, ours):
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            raise UserError(f"cannot start from {source}: its state's {jax.tree_util.keystr(path)} is {a.dtype.name}"
                            f"{list(a.shape)}, this config's {b.dtype.name}{list(b.shape)} (a key such as g_width "
                            f"differs)")
    return source_cfg


def _train(cfg: Config, workdir, images, labels, data_dir, progress: bool, mesh, deadline,
           init_from=None) -> state_lib.GANState:
    from tqdm import tqdm

    primary = distributed.is_primary()
    workdir = pathlib.Path(workdir)
    distributed.primary_first(lambda: run.prepare(cfg, workdir), "prepare the run folder")
    batches = data.Batches(images, labels, cfg.batch_size, cfg.n_dis, state_lib.root_key(cfg, state_lib.KEY_DATA), mesh)
    ckpt = checkpoint.Checkpointer(workdir / run.CHECKPOINTS, cfg.keep_checkpoints)
    state = ckpt.restore_latest(cfg, mesh)
    # Under the lock: what a killed trainer left half-written goes, so no checkpoint past this one can surface
    # later (its metrics lines are trimmed below and would be lost).
    distributed.primary_first(lambda: ckpt.discard_incomplete(None if state is None else int(state.step)),
                              "tidy the checkpoints folder")
    started_from = None
    if state is None and init_from is not None:
        # The source's step count and training key go on, so its schedule of keys is never restarted.
        state = run.load(init_from, mesh=mesh)[1]
        started_from = {"run": str(pathlib.Path(init_from).resolve()), "step": int(state.step)}
        if primary:
            print(f"{workdir}: a new run, starting from {init_from} at its step {int(state.step)}")
    state = parallel.replicate(state_lib.create(cfg), mesh) if state is None else state
    start = int(state.step)
    if start >= cfg.steps:
        print(f"{workdir}: already trained for {start} steps (--steps {cfg.steps}); nothing to do")
        return state
    if primary:
        # Lines a crash left beyond the checkpoint resumed from would appear twice: they go.
        trim_metrics(workdir / run.METRICS, start)
        (workdir / run.SAMPLES).mkdir(exist_ok=True)
    guard = _DivergenceGuard(cfg, workdir)
    train_step = step_lib.make_train_step(guard.effective_config(), mesh)
    best = _BestCheckpoint(cfg, workdir, data_dir) if cfg.eval_every else None
    if primary:
        summaries.record_environment(workdir, start, started_from)
        if start or deadline is not None:
            _announce(workdir, start, cfg.steps, deadline)
    slice_started = time.perf_counter()
    tb = summaries.TensorBoard(workdir, resume_step=start, enabled=primary)
    bar = tqdm(total=cfg.steps, initial=start, disable=not (progress and primary), dynamic_ncols=True,
               desc=f"{cfg.model} {'resumed at ' + str(start) if start else 'training'}")
    last_time, last_step = time.perf_counter(), start
    metrics_path = workdir / run.METRICS if primary else pathlib.Path(os.devnull)
    log = metrics_path.open("a")
    step, stop, out_of_time = start, False, False
    single = distributed.process_count() == 1
    await_steps = parallel.await_each_step(mesh)
    with _StopOnSignal() as ctrl_c:
        while step < cfg.steps and not stop and not out_of_time:
            with jax.transfer_guard(HOT_LOOP_TRANSFERS):
                state, metrics = train_step(state, batches.get(step))
            if await_steps:  # several CPU devices: steps in flight can deadlock their collectives
                jax.block_until_ready(state.step)
            done = step + 1
            if done == start + 1:  # once: leave compilation out of the first images/s figure
                jax.block_until_ready(state.step)
                last_time, last_step = time.perf_counter(), done
                if primary:
                    summaries.record_first_step(workdir)
            logging = done % cfg.log_every == 0 or done == cfg.steps
            saving = done % cfg.checkpoint_every == 0 or done == cfg.steps
            if logging or saving:  # the loop's only host syncs: metrics and a finiteness check of the state
                m, finite = jax.device_get((metrics, all_finite(state)))
                m = {k: float(v) for k, v in m.items()}
                if not (finite and all(np.isfinite(v) for v in m.values())):
                    log.close()
                    state, train_step, step = guard.roll_back(done, ckpt, mesh)
                    log = metrics_path.open("a")
                    log.write(json.dumps(guard.records[-1]) + "\n")
                    log.flush()
                    tb.close()  # a new event file that makes TensorBoard drop what was logged past the restored step
                    tb = summaries.TensorBoard(workdir, resume_step=step, enabled=primary)
                    bar.n = step
                    bar.write(f"step {done}: non-finite {'loss' if finite else 'parameters'}; rolled back to step "
                              f"{step} with learning rates x{guard.factor():g} (rollback {len(guard.records)} of "
                              f"{cfg.max_rollbacks})")
                    last_time, last_step = time.perf_counter(), step
                    continue
            if logging:
                now = time.perf_counter()
                ips = (done - last_step) * cfg.batch_size / (now - last_time) if done > last_step else None
                last_time, last_step = now, done
                log.write(json.dumps({"step": done, "images_per_s": ips and round(ips, 1), **m}) + "\n")
                log.flush()
                tb.scalars(done, {**m, "images_per_s": ips})
                bar.set_postfix_str(_format(m, ips), refresh=False)
                bar.update(done - bar.n)
            if saving:
                tb.flush()  # everything logged up to a resume point is on disk before the checkpoint is
                ckpt.save(done, state, cfg)
                if primary:
                    summaries.record_progress(workdir, done, time.perf_counter() - slice_started)
            if cfg.sample_every and done % cfg.sample_every == 0 and done != cfg.steps and primary:
                write_grid(cfg, distributed.local_copy(state), workdir, done, tb)
            if best is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
                quality = best.measure(done, state)
                value, accuracy = quality["fid_c"], quality["class_accuracy"]
                row = {"step": done, "fid_c": round(value, 4), "eval_samples": cfg.eval_samples}
                if accuracy is not None:
                    row["class_accuracy"] = round(accuracy, 4)
                if "fid_c_all" in quality:  # a class subset: FID-C against all ten classes, as jaxgan eval gives it
                    row["fid_c_all"] = round(quality["fid_c_all"], 4)
                log.write(json.dumps(row) + "\n")
                log.flush()
                tb.scalars(done, {k: v for k, v in quality.items() if v is not None}, prefix="eval")
                also = "" if accuracy is None else f", class accuracy {accuracy:.1%}"
                bar.write(f"step {done}: FID-C {value:.3f}{also} ({cfg.eval_samples} samples; best {best.value:.3f} "
                          f"at step {best.step})")
            step = done
            # One process alone must not stop: the others would wait for it in the next step's collectives. So
            # between processes the request is agreed on logging and checkpoint steps (already host syncs).
            stop = ctrl_c.requested if single else (logging or saving) and distributed.any_process(ctrl_c.requested)
            # The clock is read on the host only (no sync with the device); processes agree as for a stop.
            late = deadline is not None and _now() >= deadline
            out_of_time = late if single else (logging or saving) and distributed.any_process(late)
    log.close()
    bar.close()
    if stop or out_of_time:  # keep what was trained (when it is finite): the next run resumes here
        if int(state.step) not in ckpt.all_steps() and bool(jax.device_get(all_finite(state))):
            ckpt.save(int(state.step), state, cfg)
        ckpt.wait()
    if primary:
        summaries.record_progress(workdir, int(state.step), time.perf_counter() - slice_started)
    if stop:
        tb.close()
        if ctrl_c.signum in (signal.SIGTERM, None):  # None: another process of the run was asked to stop
            raise Terminated(int(state.step))
        raise KeyboardInterrupt
    if primary:  # the picture of where this slice (or the run) ended
        write_grid(cfg, distributed.local_copy(state), workdir, int(state.step), tb)
    tb.close()
    ckpt.wait()
    ckpt.close()
    if best is not None:
        best.close()
    return state


def _announce(workdir: pathlib.Path, start: int, steps: int, deadline: float | None):
    """One line (stdout: stderr is for errors) on where a run stands as a slice starts: steps done, and the
    training time of earlier slices."""
    total = summaries.training_time(workdir)
    earlier = (f"; {total['slices'] - 1} earlier slice(s) trained {total['seconds'] / 3600:.2f} h"
               if total["slices"] > 1 else "")
    limit = "" if deadline is None else f"; this slice stops after {(deadline - _now()) / 60:.1f} min"
    print(f"{workdir}: step {start} of {steps}{earlier}{limit}", flush=True)


class _BestCheckpoint:
    """FID-C (and class accuracy, for conditional models) of the EMA generator every `eval_every` steps; the state
    of lowest FID-C so far is saved in best/ (one kept)."""

    def __init__(self, cfg: Config, workdir: pathlib.Path, data_dir):
        from jaxgan import evaluator
        from jaxgan.metrics import reference

        self.cfg, self.record = cfg, workdir / run.BEST_RECORD
        self.evaluator = evaluator.load()
        ref = reference.load(self.evaluator, "train", data_dir, log=print)
        self.mu, self.sigma = ref.statistics_of(cfg.class_ids)  # a class-subset run is compared with its classes
        # ... and, to be read beside `jaxgan eval` (which compares with all ten), with every class too.
        self.all_classes = (ref.mu, ref.sigma) if cfg.classes else None
        self.ckpt = checkpoint.Checkpointer(workdir / run.BEST, keep=1)
        self.step, self.value = None, float("inf")
        if self.record.is_file():  # resumed: the best so far stays the one to beat
            try:
                saved = json.loads(self.record.read_text())
                self.step, self.value = int(saved["step"]), float(saved["fid_c"])
            except (OSError, ValueError, KeyError, TypeError):
                raise UserError(f"{self.record} is damaged; delete it (and best/) to start the record afresh") from None

    def measure(self, step: int, state) -> dict:
        from jaxgan import evaluation

        # Every process measures (the same value): each then takes part in saving the best checkpoint.
        quality = evaluation.generator_quality(self.cfg, distributed.local_copy(state), self.evaluator, self.mu,
                                               self.sigma, self.cfg.eval_samples, all_classes=self.all_classes)
        value = quality["fid_c"]
        if value < self.value:
            self.step, self.value = step, value
            self.ckpt.save(step, state, self.cfg)
            self.ckpt.wait()  # best.json must never name a checkpoint that is not on disk yet
            if distributed.is_primary():
                self.record.write_text(json.dumps({"step": step, "fid_c": value,
                                                   "eval_samples": self.cfg.eval_samples}))
        return quality

    def close(self):
        self.ckpt.wait()
        self.ckpt.close()


@jax.jit
def all_finite(state: state_lib.GANState) -> jax.Array:
    """Whether every floating-point array of G, D and the EMA generator (parameters and statistics) is finite.

    Args:
      state: a `GANState`.

    Returns:
      A boolean scalar, on the device.
    """
    trees = (state.g.params, state.g.stats, state.d.params, state.d.stats, state.ema.params, state.ema.stats)
    leaves = [x for x in jax.tree.leaves(trees) if jnp.issubdtype(x.dtype, jnp.floating)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def trim_metrics(path: pathlib.Path, step: int) -> None:
    """Drops the lines of metrics.jsonl past `step` (written after the checkpoint a run goes back to), atomically.

    Args:
      path: metrics.jsonl.
      step: the step training resumes from.
    """
    if not path.is_file():
        return
    lines = path.read_text().splitlines()
    keep = []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut off by a crash
        if not isinstance(row, dict) or row.get("step", 0) <= step:
            keep.append(line)
    if keep != lines:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in keep))
        tmp.replace(path)


class Diverged(Exception):
    """Training produced a non-finite loss or state and could not (or may not) roll back: args (step, last finite
    checkpoint or None)."""


class _DivergenceGuard:
    """What happens when a logging or checkpoint step finds a non-finite loss or state: with nan_policy=rollback,
    back to the newest checkpoint (saved only when finite) with both learning rates lowered, at most
    `max_rollbacks` times; otherwise `Diverged`. Rollbacks are recorded in WORKDIR/rollbacks.json, so a resumed
    run trains with the lowered rates too."""

    def __init__(self, cfg: Config, workdir: pathlib.Path):
        self.cfg, self.path = cfg, workdir / run.ROLLBACKS
        self.records = []
        if self.path.is_file():
            try:
                self.records = list(json.loads(self.path.read_text()))
            except (OSError, ValueError, TypeError):
                raise UserError(f"{self.path} is damaged; delete it to train with the config's learning rates")

    def factor(self) -> float:
        return self.cfg.rollback_lr_factor ** len(self.records)

    def effective_config(self) -> Config:
        return self.cfg.replace(lr_g=self.cfg.lr_g * self.factor(), lr_d=self.cfg.lr_d * self.factor())

    def roll_back(self, step: int, ckpt: checkpoint.Checkpointer, mesh):
        ckpt.wait()  # the checkpoint named or restored below must be complete on disk
        last = ckpt.latest_step()
        if self.cfg.nan_policy == "stop" or len(self.records) >= self.cfg.max_rollbacks:
            raise Diverged(step, last)
        state = (ckpt.restore(last, self.cfg, mesh) if last is not None
                 else parallel.replicate(state_lib.create(self.cfg), mesh))
        restored = int(state.step)
        self.records.append({"step": restored, "rollback": len(self.records) + 1, "diverged_at": step,
                             "lr_g": self.cfg.lr_g * self.cfg.rollback_lr_factor ** (len(self.records) + 1),
                             "lr_d": self.cfg.lr_d * self.cfg.rollback_lr_factor ** (len(self.records) + 1)})
        if distributed.is_primary():
            self.path.write_text(json.dumps(self.records, indent=1) + "\n")
            trim_metrics(self.path.parent / run.METRICS, restored)
        return state, step_lib.make_train_step(self.effective_config(), mesh), restored


class Terminated(Exception):
    """Training stopped on SIGTERM after saving the checkpoint of the step it had reached (`args[0]`)."""


class _StopOnSignal:
    """The first Ctrl-C or SIGTERM asks the loop to stop after the step in flight, so the state saved is whole (an
    interrupt raised inside the step call would leave only its donated, deleted input); a second one of the same
    signal acts at once, as it would without jaxgan."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested, self.signum = False, None
        self._previous = {}

    def _handle(self, signum, frame):
        self.requested, self.signum = True, signum
        signal.signal(signum, self._previous[signum])

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # signals can only be caught there
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, previous in self._previous.items():
            if s != self.signum:
                signal.signal(s, previous)


def write_grid(cfg: Config, state, workdir: pathlib.Path, step: int, tb: summaries.TensorBoard | None = None
               ) -> pathlib.Path:
    """The EMA generator on the same latents (and labels) at every call: samples/step_XXXXXX.png.

    Args:
      cfg: the run's config.
      state: the state to sample.
      workdir: the run folder.
      step: the step number in the file name.
      tb: also log the grid to this TensorBoard writer.

    Returns:
      The PNG's path.
    """
    images, _ = sampling.sample(cfg, state, GRID_SIZE, seed=GRID_SEED, batch_size=GRID_SIZE)
    path = workdir / run.SAMPLES / f"step_{step:06d}.png"
    picture = sampling.save_grid(images, path, ncol=8)
    if tb is not None:
        tb.image(step, "samples/fixed_noise", picture)
    return path
