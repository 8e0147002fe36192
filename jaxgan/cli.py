"""The `jaxgan` command line.

    jaxgan train EXPERIMENT --workdir DIR [--steps N] [--data-dir DIR] [--set key=value ...]
    jaxgan sample --workdir DIR [--n 64] [--seed 0] --out FILE.png|FILE.npz
    jaxgan experiments

Every mistake a user can make (a path, a name, a config value, a damaged checkpoint, missing data) ends with one
line on stderr and exit code 2, never a traceback, and nothing already written is lost.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from jaxgan.errors import UserError

EXIT_USER_ERROR = 2


def _cmd_train(args):
    from jaxgan import config, train

    overrides = config.parse_overrides(args.set)
    if args.steps is not None:
        overrides["steps"] = args.steps
    cfg = config.load_experiment(args.experiment, overrides)
    train.train(cfg, pathlib.Path(args.workdir), data_dir=args.data_dir, progress=not args.quiet)
    print(f"trained {cfg.steps} steps; samples in {pathlib.Path(args.workdir) / 'samples'}")


def load_run(workdir: pathlib.Path):
    """(config, latest state) of a run folder, or UserError."""
    from jaxgan import checkpoint, config, parallel

    if not (workdir / "config.json").is_file():
        raise UserError(f"{workdir} is not a jaxgan run folder (no config.json)")
    cfg = config.load_json(workdir / "config.json")
    state = checkpoint.Checkpointer(workdir / "checkpoints", cfg.keep_checkpoints).restore_latest(
        cfg, parallel.make_mesh())
    if state is None:
        raise UserError(f"{workdir} has no checkpoint yet; train first")
    return cfg, state


def _cmd_sample(args):
    import numpy as np

    from jaxgan import sampling

    out = pathlib.Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise UserError(f"--out {out}: use a .png (grid) or .npz (array) file name")
    for flag, value in (("--n", args.n), ("--batch-size", args.batch_size)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    cfg, state = load_run(pathlib.Path(args.workdir))
    images, labels = sampling.sample(cfg, state, args.n, seed=args.seed, batch_size=args.batch_size)
    if out.suffix == ".png":
        sampling.save_grid(images, out)
    else:
        np.savez(out, images=images, **({} if labels is None else {"labels": labels}))
    print(f"wrote {len(images)} samples to {out}")


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
    t.add_argument("--data-dir", default=None,
                   help="tensorflow-datasets folder holding cifar10 (default: $TFDS_DATA_DIR, else tfds' default)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=_cmd_train)

    s = sub.add_parser("sample", help="draw samples from a run's EMA generator")
    s.add_argument("--workdir", required=True)
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--batch-size", type=int, default=500, help="images per generator call (does not change them)")
    s.add_argument("--out", required=True, help="FILE.png for a grid, FILE.npz for an array `images` (+ `labels`)")
    s.set_defaults(run=_cmd_sample)

    e = sub.add_parser("experiments", help="list the experiments")
    e.set_defaults(run=_cmd_experiments)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        # orbax and tfds log through absl; the command reports what matters itself, in one line.
        import logging

        logging.getLogger("absl").disabled = True
    try:
        args.run(args)
    except UserError as e:
        print(f"jaxgan: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("jaxgan: interrupted; the latest checkpoint is kept, run the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
