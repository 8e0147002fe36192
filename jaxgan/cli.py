"""The `jaxgan` command line.

    jaxgan train EXPERIMENT --workdir DIR [--steps N] [--time-limit MINUTES] [--data-dir DIR] [--init-from RUN]
                 [--set key=value ...]
                 [--coordinator HOST:PORT --num-processes N --process-id I | --distributed auto]
    jaxgan sample (--workdir DIR | --pretrained NAME) [--n 64] [--seed 0] [--first I] [--mix horse=0.7,bird=0.3]
                  [--truncation T] --out FILE.png|FILE.npz
    jaxgan eval (--workdir DIR | --pretrained NAME) [--n 10000] [--seed S] [--truncation T] [--out metrics.json]
    jaxgan eval --images FILE.npz [--out metrics.json]
    jaxgan pegasus (--workdir DIR | --pretrained NAME) --out OUTDIR [--budget 4096] [--seed 0] [--baseline AE_DIR]
                   [--prefer white] [--score part|whole] [--refine STEPS] [--sketch STEPS]
    jaxgan diagram (--workdir DIR | --pretrained NAME | --experiment NAME) --out FILE.svg
    jaxgan report (--workdir DIR | --pretrained NAME) [--out report.html] [--baseline AE_DIR] [--pegasus DIR]
    jaxgan pretrained                      the shipped models (and those in $JAXGAN_PRETRAINED_PATH), with cards
    jaxgan export --workdir DIR --out BUNDLE [--name NAME] [--dtype auto|float16|float32]
    jaxgan evaluator train --out FILE.msgpack [--network judge] [--data-dir DIR]
    jaxgan data verify [--data-dir DIR]    checksums (SHA256SUMS beside the data), counts, shapes, labels
    jaxgan experiments

Every mistake a user can make (a path, a name, a config value, a damaged checkpoint, missing data) ends with one
line on stderr and exit code 2, never a traceback, and nothing already written is lost.
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys

from jaxgan.errors import UserError

EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3
COMPILATION_CACHE_ENV = "JAXGAN_COMPILATION_CACHE"


def enable_compilation_cache():
    """Keep compiled XLA executables on disk so a second run starts without compiling: $JAXGAN_COMPILATION_CACHE,
    else ~/.cache/jaxgan/xla; set it to "off" to compile every time."""
    import os

    where = os.environ.get(COMPILATION_CACHE_ENV, "~/.cache/jaxgan/xla")
    if where.lower() in ("", "0", "off", "none"):
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", str(pathlib.Path(where).expanduser()))
    # The train step takes seconds to compile; executables under half a second are not worth a disk read.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def _topology(args):
    from jaxgan import distributed

    return distributed.topology(args.coordinator, args.num_processes, args.process_id, args.distributed,
                                args.distributed_timeout)


def _cmd_train(args):
    import os

    from jaxgan import config, distributed, train

    topo = _topology(args)
    if topo is not None and os.environ.get(distributed.CHILD_ENV):
        distributed.start(topo)  # before anything else touches JAX's devices

    limit = None
    if args.time_limit is not None:
        limit = 60 * train.check_time_limit(args.time_limit, "--time-limit", "minutes")
    overrides = config.parse_overrides(args.set)
    if args.steps is not None:
        overrides["steps"] = args.steps
    cfg = config.load_experiment(args.experiment, overrides)
    workdir = pathlib.Path(args.workdir)
    state = train.train(cfg, workdir, data_dir=args.data_dir, progress=not args.quiet, time_limit=limit,
                        init_from=args.init_from)
    if distributed.is_primary():
        _end_of_slice(cfg, workdir, int(state.step), args.time_limit)


def _end_of_slice(cfg, workdir: pathlib.Path, reached: int, minutes):
    """What a finished train command says: where the run stands, its training time over all slices and, when a
    time limit ended it early, how to go on. A slice (a command with a time limit) also leaves a candidate bundle
    of the step reached, whether the limit or the run's last step ended it."""
    from jaxgan import distributed, pretrained, run, summaries

    total = summaries.training_time(workdir)
    spent = f"{total['seconds'] / 3600:.2f} h of training over {total['slices']} slice(s)"
    if reached >= cfg.steps:
        print(f"trained {cfg.steps} steps ({spent}); samples in {workdir / run.SAMPLES}")
    else:
        last = summaries.sessions(workdir)[-1]
        done = reached - int(last.get("start_step", reached))
        rate = done / last["train_seconds"] if done > 0 and last.get("train_seconds") else None
        eta = f"; about {(cfg.steps - reached) / rate / 3600:.1f} h to go at this slice's pace" if rate else ""
        print(f"time limit of {minutes} min reached at step {reached} of {cfg.steps} ({spent}{eta}); "
              f"run the same command to continue")
    # A bundle to keep or copy away, whatever happens to the run folder; an older one left beside a finished run
    # would pass for its result.
    if minutes is not None and distributed.process_count() == 1:
        candidate = workdir / run.CANDIDATE
        fresh = workdir / (run.CANDIDATE + ".new")
        old = workdir / (run.CANDIDATE + ".old")
        for leftover in (fresh, old):  # from an export that was killed half-way
            shutil.rmtree(leftover, ignore_errors=True)
        said = []  # export names the folder it writes; it is said once the bundle is where it stays
        pretrained.export(workdir, fresh, name=f"{workdir.name}-step{reached}", log=said.append)
        if candidate.exists():
            candidate.rename(old)
        fresh.rename(candidate)
        shutil.rmtree(old, ignore_errors=True)
        for line in said:
            print(line.replace(str(fresh), str(candidate)))


def _one_source(args):
    """Checks that exactly one of --workdir / --pretrained is given; returns the CLI words naming it."""
    if args.workdir is not None and args.pretrained is not None:
        raise UserError("give --workdir DIR or --pretrained NAME, not both")
    if args.workdir is None and args.pretrained is None:
        raise UserError("give --workdir DIR (a run folder) or --pretrained NAME (`jaxgan pretrained` lists them)")
    if args.pretrained is not None and getattr(args, "checkpoint", "latest") != "latest":
        raise UserError("--checkpoint goes with --workdir; a pretrained model has one state")
    return ["--workdir", str(args.workdir)] if args.workdir is not None else ["--pretrained", args.pretrained]


def _load(args):
    """(config, state) of --workdir or --pretrained."""
    from jaxgan import pretrained, run

    _one_source(args)
    if args.pretrained is not None:
        return pretrained.load(args.pretrained)
    return run.load(args.workdir, args.checkpoint)


def _cmd_sample(args):
    import numpy as np

    from jaxgan import run, sampling

    out = run.output_file(args.out, (".png", ".npz"))
    for flag, value in (("--n", args.n), ("--batch-size", args.batch_size)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if args.first < 0:
        raise UserError(f"--first must not be negative, got {args.first}")
    if args.truncation is not None and args.truncation <= 0:
        raise UserError(f"--truncation must be positive, got {args.truncation}")
    cfg, state = _load(args)
    mix = None if args.mix is None else sampling.parse_mix(args.mix, cfg)
    labels = None if mix is None else np.broadcast_to(mix, (args.n,) + mix.shape)
    images, labels = sampling.sample(cfg, state, args.n, seed=args.seed, labels=labels, batch_size=args.batch_size,
                                     truncation=args.truncation, first=args.first)
    if out.suffix == ".png":
        sampling.save_grid(images, out)
    elif mix is not None:
        np.savez(out, images=images, mixture=mix)
    else:
        labels = None if labels is None else np.asarray(cfg.class_ids)[labels]  # CIFAR-10 ids, as eval expects
        np.savez(out, images=images, **({} if labels is None else {"labels": labels}))
    print(f"wrote {len(images)} samples to {out}")


def load_images_npz(path: pathlib.Path):
    """(images, labels or None) of an .npz holding `images` (and optionally `labels`), or UserError."""
    import zipfile

    import numpy as np

    if not path.is_file():
        raise UserError(f"--images {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "images" not in f.files:
                raise UserError(f"--images {path}: no array named 'images' (found: {', '.join(f.files) or 'none'})")
            return f["images"], (f["labels"] if "labels" in f.files else None)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise UserError(f"--images {path}: not a readable .npz file ({type(e).__name__})") from None


def _cmd_eval(args):
    import json
    import time

    import numpy as np

    from jaxgan import evaluation, evaluator as evaluator_lib, run, sampling
    from jaxgan.metrics import reference as reference_lib

    if (args.workdir is None and args.pretrained is None) == (args.images is None):
        raise UserError("give either --workdir DIR or --pretrained NAME (sample its generator), or --images FILE.npz")
    if args.images is None:
        _one_source(args)
    if args.truncation is not None and (args.truncation <= 0 or args.images is not None):
        raise UserError("--truncation must be positive and goes with --workdir (it cuts the sampled latents), got "
                        f"{args.truncation}")
    reference_lib.parse_split(args.reference)  # a wrong name fails before minutes of sampling
    out = run.output_file(args.out) if args.out else None
    if args.inception:
        from jaxgan import inception

        inception.check_available()
    start = time.perf_counter()
    evaluator = evaluator_lib.load(args.evaluator)
    if args.images is None:
        if args.n < evaluation.MIN_IMAGES:
            raise UserError(f"--n must be at least {evaluation.MIN_IMAGES}, got {args.n}")
        cfg, state = _load(args)
        images, labels = sampling.sample(cfg, state, args.n, seed=args.seed, truncation=args.truncation)
        labels = None if labels is None else np.asarray(cfg.class_ids)[labels]  # model classes -> CIFAR-10 ids
        source = {"workdir": None if args.workdir is None else str(args.workdir), "pretrained": args.pretrained,
                  "checkpoint": args.checkpoint, "step": int(state.step), "n": args.n, "seed": args.seed,
                  "truncation": args.truncation}
        classes = cfg.class_ids if cfg.classes else None  # a class subset is also compared with its own classes
    else:
        images, labels = load_images_npz(pathlib.Path(args.images))
        source = {"images": str(args.images)}
        classes = None
    evaluation.check_images(images, labels, args.images or args.workdir or args.pretrained)
    if args.intra_class and labels is None:
        raise UserError(f"{args.images or args.workdir or args.pretrained}: intra-class FID-C needs labels, and these "
                        f"images have none (an unconditional model, or an .npz without 'labels')")
    sampled = time.perf_counter()
    ref = reference_lib.load(evaluator, args.reference, args.data_dir, log=lambda line: print(line, file=sys.stderr))
    metrics = evaluation.evaluate_images(images, labels, intra_class=args.intra_class or None, evaluator=evaluator,
                                         reference=ref, seed=args.seed, classes=classes)
    if args.inception:  # against the same reference images, already in memory
        metrics["inception"] = inception.inception_metrics(images, ref.images)
    result = {"source": source, **evaluation.to_json(metrics)}
    result["timings"].update(sampling_s=round(sampled - start, 2), total_s=round(time.perf_counter() - start, 2))
    text = json.dumps(result, indent=2)
    if out is not None:
        out.write_text(text + "\n")
    print(evaluation.summary(result) if out is not None else text)
    if out is not None:
        print(f"wrote {out}")


def _cmd_pegasus(args):
    from jaxgan import pegasus

    _one_source(args)
    pegasus.run(args.workdir, args.out, pretrained=args.pretrained, prefer=args.prefer, budget=args.budget,
                seed=args.seed, checkpoint=args.checkpoint, data_dir=args.data_dir, evaluator_path=args.evaluator,
                judge_path=args.judge, baseline=args.baseline, log=lambda line: print(line, file=sys.stderr),
                score=args.score, refine_steps=args.refine, sketch_steps=args.sketch)


def _cmd_report(args):
    import time

    from jaxgan import pretrained, report

    t0 = time.perf_counter()
    _one_source(args)
    if args.pretrained is not None:  # never into the installed package: the current folder by default
        folder = pretrained.locate(args.pretrained)
        out = report.write(folder, args.out or f"{args.pretrained}_report.html", args.baseline, args.pegasus)
    else:
        out = report.write(pathlib.Path(args.workdir), args.out, args.baseline, args.pegasus)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")


def _cmd_diagram(args):
    from jaxgan import config, diagram, pretrained, run

    out = run.output_file(args.out, (".svg",))
    if sum(x is not None for x in (args.workdir, args.pretrained, args.experiment)) != 1:
        raise UserError("give one of --workdir DIR (a run's config), --pretrained NAME or --experiment NAME")
    if args.workdir is not None:
        cfg = run.load_config(args.workdir)
    elif args.pretrained is not None:
        cfg = run.load_config(pretrained.locate(args.pretrained))
    else:
        cfg = config.load_experiment(args.experiment)
    diagram.write(cfg, out)
    print(f"wrote {out}")


def _cmd_evaluator_train(args):
    import dataclasses

    import jax

    from jaxgan import data, evaluator, run
    from jaxgan.evaluator import train as evaluator_train

    out = run.output_file(args.out)
    recipe = evaluator_train.JUDGE_RECIPE if args.network == "judge" else evaluator_train.Recipe()
    recipe = dataclasses.replace(recipe, **{k: v for k, v in (("seed", args.seed), ("epochs", args.epochs))
                                            if v is not None})
    train_images, train_labels = data.load_cifar10("train", args.data_dir)
    test_images, test_labels = data.load_cifar10("test", args.data_dir)
    net, variables, seconds = evaluator_train.train_evaluator(train_images, train_labels, recipe)
    acc = evaluator_train.accuracy(net, variables, test_images, test_labels)
    meta = {"test_accuracy": acc, "train_seconds": round(seconds, 1), "platform": jax.devices()[0].platform,
            "jax": jax.__version__, "recipe": {k: list(v) if isinstance(v, tuple) else v
                                               for k, v in vars(recipe).items()}}
    evaluator.save(out, net, jax.device_get(variables), meta)
    print(f"test accuracy {acc:.4f}; trained in {seconds:.0f} s on {meta['platform']}; "
          f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


def _cmd_pretrained(args):
    from jaxgan import pretrained

    names = list(pretrained.available())
    if not names:
        print(f"no pretrained models found in {', '.join(map(str, pretrained.search_path()))}")
    for name in names:
        print(pretrained.describe(name))


def _cmd_export(args):
    from jaxgan import pretrained

    pretrained.export(args.workdir, args.out, name=args.name, dtype=args.dtype)


def _cmd_data_verify(args):
    from jaxgan import data

    data.verify(args.data_dir)
    print(f"CIFAR-10 in {data.resolve_data_dir(args.data_dir)} is whole")


def _cmd_experiments(args):
    from jaxgan import config

    for name in config.list_experiments():
        print(name)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxgan", description="Functional JAX/Flax GANs on CIFAR-10.")
    p.add_argument("-v", "--verbose", action="store_true", help="show the libraries' own log messages")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train (or resume) an experiment in a run folder")
    t.add_argument("experiment", help="a name from `jaxgan experiments`, or a path to an experiment .py file")
    t.add_argument("--workdir", required=True, help="run folder: config, metrics, checkpoints, samples")
    t.add_argument("--steps", type=int, default=None, help="train until this many steps (resumes if fewer done)")
    t.add_argument("--time-limit", default=None, metavar="MINUTES",
                   help="stop after this much wall-clock time (fractions allowed) with a checkpoint and a candidate "
                        "bundle in WORKDIR/candidate; the same command resumes")
    t.add_argument("--data-dir", default=None,
                   help="tensorflow-datasets folder holding cifar10 (default: $TFDS_DATA_DIR, else tfds' default)")
    t.add_argument("--init-from", default=None, metavar="RUN",
                   help="start a new run from another run folder's latest state (same model, z_dim and classes; "
                        "other keys may differ); ignored once WORKDIR has checkpoints")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    dist = t.add_argument_group("distributed (jaxgan.distributed; also $JAXGAN_COORDINATOR, "
                                "$JAXGAN_NUM_PROCESSES, $JAXGAN_PROCESS_ID)")
    dist.add_argument("--coordinator", metavar="HOST:PORT", default=None,
                      help="process 0's address; every process gets the same one")
    dist.add_argument("--num-processes", type=int, default=None, metavar="N")
    dist.add_argument("--process-id", type=int, default=None, metavar="I", help="this process, 0..N-1")
    dist.add_argument("--distributed", choices=("auto",), default=None,
                      help="auto: let JAX detect the cluster (TPU VMs, SLURM, Open MPI)")
    dist.add_argument("--distributed-timeout", type=int, default=120, metavar="S",
                      help="seconds to wait for every process to join (default 120)")
    t.set_defaults(run=_cmd_train)

    s = sub.add_parser("sample", help="draw samples from a run's EMA generator")
    s.add_argument("--workdir", help="run folder")
    s.add_argument("--pretrained", metavar="NAME", help="a pretrained model instead (`jaxgan pretrained`)")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--first", type=int, default=0,
                   help="index of the first sample of the seed (sample i depends only on seed and i)")
    s.add_argument("--batch-size", type=int, default=500, help="images per generator call (does not change them)")
    s.add_argument("--out", required=True,
                   help="FILE.png for a grid, FILE.npz for an array `images` (+ CIFAR-10 `labels`)")
    s.add_argument("--checkpoint", choices=("latest", "best"), default="latest",
                   help="the latest checkpoint, or the one of lowest FID-C (runs trained with eval_every)")
    s.add_argument("--mix", default=None, metavar="CLASS=W,...",
                   help="class mixture for every sample, e.g. horse=0.6,bird=0.4; '|' between 3 mixtures sets "
                        "the generator's blocks coarse to fine (biggan, cdcgan); '; MIX@ROWS,COLS' regions make a "
                        "class map of 4x4 cells, e.g. 'horse=1; bird=1@0,1-2' (models trained with spatial_mix)")
    s.add_argument("--truncation", type=float, default=None, help="cut latents to [-t, t]")
    s.set_defaults(run=_cmd_sample)

    m = sub.add_parser("eval", help="FID-C, KID-C, precision/recall, uniqueness of a run's samples or of images")
    m.add_argument("--workdir", help="run folder: its EMA generator is sampled")
    m.add_argument("--pretrained", metavar="NAME", help="or a pretrained model (`jaxgan pretrained`)")
    m.add_argument("--images", help="FILE.npz with uint8 `images` (N, 32, 32, 3) and optional CIFAR-10 `labels`")
    m.add_argument("--n", type=int, default=10_000, help="samples to draw from the run (with --workdir)")
    m.add_argument("--checkpoint", choices=("latest", "best"), default="latest", help="with --workdir: which one")
    m.add_argument("--seed", type=int, default=0, help="sampling seed (and the seed of the metrics' subsets)")
    m.add_argument("--truncation", type=float, default=None,
                   help="with --workdir: cut the latents to [-t, t] (fidelity for variety); default: untruncated")
    m.add_argument("--out", help="write the metrics to this JSON file (else print them)")
    m.add_argument("--data-dir", default=None, help="tensorflow-datasets folder holding cifar10 (the reference)")
    m.add_argument("--reference", default="train", metavar="SPLIT",
                   help="the real images compared against: train (default), test, or the first N of one, train[:N] "
                        "(quicker; FID-C is then noisier and the memorisation threshold that of N images)")
    m.add_argument("--evaluator", default=None, help="evaluator weight file (default: the one shipped)")
    m.add_argument("--intra-class", action="store_true", help="require per-class FID-C (needs labels)")
    m.add_argument("--inception", action="store_true",
                   help="also standard Inception FID/KID/IS (needs the optional extra jaxgan[inception])")
    m.set_defaults(run=_cmd_eval)

    pg = sub.add_parser("pegasus", help="search a conditional run for the best winged horse; write the coursework's "
                                        "pictures")
    pg.add_argument("--workdir", help="run folder of a class-conditional model (cgan, pegasus)")
    pg.add_argument("--pretrained", metavar="NAME", help="or a pretrained model (`jaxgan pretrained`)")
    pg.add_argument("--out", required=True, help="folder for pegasus.png, candidates.png, ... (made if missing)")
    pg.add_argument("--budget", type=int, default=4096, help="candidates to generate and score")
    pg.add_argument("--seed", type=int, default=0, help="seed of the candidates' latents")
    pg.add_argument("--prefer", choices=("none", "white"), default="none",
                    help="white: rank eligible candidates by score x whiteness of the foreground (the classic white "
                         "Pegasus); pegasus_default.png and preference.png show the pick without it")
    pg.add_argument("--score", choices=("part", "whole"), default="part",
                    help="part (default): the horse from the whole image (over 18 shifted and mirrored views), the "
                         "wings also from the band above its back (jaxgan.wings); whole: both from the whole image, "
                         "as before")
    pg.add_argument("--refine", type=int, default=0, metavar="STEPS",
                    help="also refine the top 16 by gradient steps on latent and mixture; refined.png, refined.npz "
                         "(reported apart from the search)")
    pg.add_argument("--sketch", type=int, default=0, metavar="STEPS",
                    help="also refine the 16 best white candidates towards a white wing sketched above each one's "
                         "back, on blue sky (sketch-guided editing on the generator's manifold); sketched.png, "
                         "sketched.npz, pegasus_sketched.png (reported apart from the search)")
    pg.add_argument("--checkpoint", choices=("latest", "best"), default="latest")
    pg.add_argument("--data-dir", default=None, help="tensorflow-datasets folder holding cifar10 (nearest neighbours)")
    pg.add_argument("--evaluator", default=None, help="evaluator weight file (default: the one shipped)")
    pg.add_argument("--judge", default=None, help="judge weight file, used only to report (default: the one shipped)")
    pg.add_argument("--baseline", default=None,
                    help="autoencoder baseline folder (python -m jaxgan.experiments.autoencoder_baseline): also "
                         "write side_by_side.png")
    pg.set_defaults(run=_cmd_pegasus)

    dg = sub.add_parser("diagram", help="an SVG of a run's generator and discriminator, traced from the models")
    dg.add_argument("--workdir", help="run folder (its config.json names the models)")
    dg.add_argument("--pretrained", metavar="NAME", help="or a pretrained model")
    dg.add_argument("--experiment", help="or an experiment name, without training it")
    dg.add_argument("--out", required=True, help="FILE.svg")
    dg.set_defaults(run=_cmd_diagram)

    rp = sub.add_parser("report", help="one self-contained HTML page of a run: config, curves, grids, metrics, Pegasus")
    rp.add_argument("--workdir", help="run folder (read only)")
    rp.add_argument("--pretrained", metavar="NAME", help="or a pretrained model's bundle")
    rp.add_argument("--out", default=None, help="FILE.html (default: WORKDIR/report.html, or NAME_report.html)")
    rp.add_argument("--baseline", default=None, help="autoencoder baseline folder: its metrics beside the run's")
    rp.add_argument("--pegasus", default=None, metavar="DIR",
                    help="a `jaxgan pegasus --out` folder to show (default: WORKDIR/pegasus)")
    rp.set_defaults(run=_cmd_report)

    ev = sub.add_parser("evaluator", help="the CIFAR-10 classifier behind FID-C")
    ev_sub = ev.add_subparsers(dest="evaluator_command", required=True)
    evt = ev_sub.add_parser("train", help="train the evaluator on CIFAR-10 train and report its test accuracy")
    evt.add_argument("--out", required=True, help="weight file to write (.msgpack)")
    evt.add_argument("--data-dir", default=None, help="tensorflow-datasets folder holding cifar10")
    evt.add_argument("--epochs", type=int, default=None, help="default: the recipe's (jaxgan.evaluator.train)")
    evt.add_argument("--network", choices=("evaluator", "judge"), default="evaluator",
                     help="evaluator: FID-C's features (shipped as cifar10_evaluator.msgpack); judge: the second "
                          "classifier that only reports (cifar10_judge.msgpack)")
    evt.add_argument("--seed", type=int, default=None, help="default: the recipe's")
    evt.set_defaults(run=_cmd_evaluator_train)

    pt = sub.add_parser("pretrained", help="list the pretrained models with their cards")
    pt.set_defaults(run=_cmd_pretrained)

    ex = sub.add_parser("export", help="write a run's EMA generator and discriminator as a pretrained bundle")
    ex.add_argument("--workdir", required=True, help="run folder (its latest checkpoint)")
    ex.add_argument("--out", required=True, help="bundle folder to create (its name is the model's name)")
    ex.add_argument("--name", default=None, help="name in the card (default: the folder's)")
    ex.add_argument("--dtype", default="auto", help="auto (float16 when samples stay within 1 level), float16, "
                                                     "float32")
    ex.set_defaults(run=_cmd_export)

    da = sub.add_parser("data", help="the CIFAR-10 copy")
    da_sub = da.add_subparsers(dest="data_command", required=True)
    dav = da_sub.add_parser("verify", help="check checksums, record counts, shapes and labels")
    dav.add_argument("--data-dir", default=None, help="tensorflow-datasets folder holding cifar10")
    dav.set_defaults(run=_cmd_data_verify)

    e = sub.add_parser("experiments", help="list the experiments")
    e.set_defaults(run=_cmd_experiments)
    return p


def main(argv=None, child_module: str = "jaxgan.cli") -> int:
    """Runs one `jaxgan` command.

    Args:
      argv: the words after `jaxgan` (default: sys.argv[1:]).
      child_module: the module `python -m` runs for a distributed train's child process (tests use one reading
        mock data).

    Returns:
      The exit code: 0, 2 for a user's mistake (one line on stderr), 3 for a diverged run, 130/143 on a signal.
    """
    import os

    from jaxgan import distributed

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.run is _cmd_train and not os.environ.get(distributed.CHILD_ENV):
        try:
            topo = _topology(args)
        except UserError as e:
            print(f"jaxgan: error: {e}", file=sys.stderr)
            return EXIT_USER_ERROR
        if topo is not None:  # the work runs in a child whose runtime aborts are turned into one line
            return distributed.supervise(argv, topo, child_module)
    if not args.verbose:
        # orbax and tfds log through absl; the command reports what matters itself, in one line.
        import logging

        logging.getLogger("absl").disabled = True
    try:
        enable_compilation_cache()
        args.run(args)
    except UserError as e:
        print(f"jaxgan: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("jaxgan: interrupted; the latest checkpoint is kept, run the same command to resume", file=sys.stderr)
        return 130
    except Exception as e:  # training's own endings: preempted (SIGTERM), or diverged
        from jaxgan.train import Diverged, Terminated

        if isinstance(e, Terminated):
            print(f"jaxgan: terminated; the checkpoint of step {e.args[0]} is saved, run the same command to resume",
                  file=sys.stderr)
            return 128 + 15
        if os.environ.get(distributed.CHILD_ENV) and ("Gloo" in str(e) or "Connection closed" in str(e)
                                                      or type(e).__name__ == "JaxRuntimeError"):
            # A collective whose peer went away raises here before the runtime's heartbeat check aborts the
            # process: one line, then out at once (an orderly exit would wait for the lost peer at shutdown).
            print(f"jaxgan: error: {distributed.peer_lost_message()}", file=sys.stderr)
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(distributed.EXIT_PEER_LOST)
        if isinstance(e, Diverged):
            step, last = e.args
            print(f"jaxgan: error: training diverged at step {step} (non-finite loss or parameters); last finite "
                  f"checkpoint: {'none' if last is None else f'step {last}'}", file=sys.stderr)
            return EXIT_DIVERGED
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
