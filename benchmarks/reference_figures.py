"""The reference figures of FID-C and friends: what real data, noise, one class and short GAN runs score.

    python benchmarks/reference_figures.py --data-dir ../shared/tensorflow_datasets \
        --set dcgan=runs/demo --set dcgan_tutorial=samples.npz

Each row evaluates 10k images against CIFAR-10 train with the shipped evaluator (see jaxgan.evaluation):
CIFAR-10 test (the floor: real images the reference has not seen), uniform noise, one class (train horses, 5000
images twice), and every `--set NAME=RUN_FOLDER_OR_NPZ` (10k samples of a run's EMA generator, seed 0).
"""
import argparse
import pathlib
import sys

import numpy as np

from jaxgan import cli, data, evaluation, evaluator as evaluator_lib, sampling
from jaxgan.metrics import reference

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=None)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--set", action="append", default=[], metavar="NAME=PATH")
    args = p.parse_args()
    ev = evaluator_lib.load()
    ref = reference.load(ev, "train", args.data_dir)
    test_images, _ = data.load_cifar10("test", args.data_dir)
    horses = ref.images[ref.labels == 7]
    rows = {
        "CIFAR-10 test (10k real, unseen)": test_images[:args.n],
        "uniform noise": np.random.default_rng(0).integers(0, 256, (args.n, 32, 32, 3), dtype=np.uint8),
        "one class: train horses, repeated": np.resize(horses, (args.n, 32, 32, 3)),
    }
    for item in args.set:
        name, _, path = item.partition("=")
        path = pathlib.Path(path)
        if path.suffix == ".npz":
            rows[name] = cli.load_images_npz(path)[0][:args.n]
        else:
            cfg, state = cli.load_run(path)
            rows[f"{name} (step {int(state.step)})"] = sampling.sample(cfg, state, args.n, seed=0)[0]
    print(f"evaluator {ev.weights_id}, reference CIFAR-10 train; pixel distances: L2 over 3072 values in [0, 1]")
    print("| images | n | FID-C | KID-C | precision | recall | NN pixel dist (mean) | memorised (pixel) "
          "| batch diversity (x real) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, images in rows.items():
        m = evaluation.evaluate_images(images, evaluator=ev, reference=ref)
        u = m["uniqueness"]
        print(f"| {name} | {m['n']} | {m['fid_c']:.3f} | {m['kid_c']:.4f} | {m['precision']:.3f} | "
              f"{m['recall']:.3f} | {u['nn_pixel_distance_mean']:.2f} | {100 * u['memorisation_rate_pixel']:.2f}% | "
              f"{u['batch_diversity']:.3f} |", flush=True)


if __name__ == "__main__":
    sys.exit(run_main(main, "reference_figures"))
