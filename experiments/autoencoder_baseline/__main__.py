"""`python -m jaxgan.experiments.autoencoder_baseline --workdir DIR [--data-dir DIR]`: train the baseline, write its
Pegasus, its samples and their FID-C. Mistakes end in one line and exit code 2, like the `jaxgan` command."""
import argparse
import sys

from jaxgan import autoencoder
from jaxgan.errors import UserError


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m jaxgan.experiments.autoencoder_baseline", description=__doc__)
    p.add_argument("--workdir", required=True, help="folder for the pictures and metrics.json (made if missing)")
    p.add_argument("--data-dir", default=None, help="tensorflow-datasets folder holding cifar10")
    p.add_argument("--rounds", type=int, default=autoencoder.Recipe.rounds, help="rounds of 1000 steps")
    args = p.parse_args(argv)
    try:
        if args.rounds < 1:
            raise UserError(f"--rounds must be at least 1, got {args.rounds}")
        autoencoder.run(args.workdir, args.data_dir, autoencoder.Recipe(rounds=args.rounds),
                        log=lambda line: print(line, file=sys.stderr))
    except UserError as e:
        print(f"autoencoder_baseline: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
