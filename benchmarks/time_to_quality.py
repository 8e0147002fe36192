"""Quality per minute of compute: trains experiments for a wall-clock budget and prints FID-C against elapsed time.

    python benchmarks/time_to_quality.py cpu_fast dcgan_tutorial --minutes 30 [--evals 6] [--samples 5000]
        [--data-dir ../shared/tensorflow_datasets] [--out benchmarks/time_to_quality]

Each experiment trains from scratch, one after the other on the same machine. The clock runs from the start of
its training (the first step's compile included) and stops while FID-C is measured: every `minutes / evals` of
training time the EMA generator (the generator itself for recipes without EMA) draws `samples` images of the fixed
evaluation seed, scored against the CIFAR-10 train statistics of the project's evaluator. The training data load
is timed apart (start-up, not training). Writes OUT.json (every point), OUT.png (the plot) and prints a table.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import jax

import jaxgan
from jaxgan import data, evaluation, evaluator as evaluator_lib, parallel, state as state_lib, step as step_lib, train
from jaxgan.metrics import reference

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def run(name: str, minutes: float, evals: int, samples: int, data_dir, ev, ref, log=print) -> dict:
    return train_for(jaxgan.load_experiment(name), name, minutes, evals, samples, data_dir, ev, ref, log)[0]


def train_for(cfg, name: str, minutes: float, evals: int, samples: int, data_dir, ev, ref, log=print):
    """Trains `cfg` from scratch for `minutes` of training time, FID-C every minutes / evals; (result, state)."""
    mu, sigma = ref.statistics_of(cfg.class_ids)
    t0 = time.perf_counter()
    mesh = parallel.make_mesh()
    images, labels = train.load_train_data(cfg, data_dir)
    batches = data.Batches(images, labels, cfg.batch_size, cfg.n_dis, state_lib.root_key(cfg, state_lib.KEY_DATA),
                           mesh)
    state = parallel.replicate(state_lib.create(cfg), mesh)
    train_step = step_lib.make_train_step(cfg, mesh)
    load_s = time.perf_counter() - t0

    marks = [60.0 * minutes * (i + 1) / evals for i in range(evals)]
    points, elapsed, step = [], 0.0, 0
    while marks:
        t = time.perf_counter()
        state, _ = train_step(state, batches.get(step))
        step += 1
        jax.block_until_ready(state.step)  # a benchmark's clock must not run ahead of the queued work
        elapsed += time.perf_counter() - t
        if elapsed >= marks[0]:
            marks.pop(0)
            t = time.perf_counter()
            fid_c = evaluation.generator_fid_c(cfg, state, ev, mu, sigma, samples)
            points.append({"minutes": round(elapsed / 60, 3), "step": step, "images_seen": step * cfg.batch_size,
                           "fid_c": round(float(fid_c), 4), "eval_s": round(time.perf_counter() - t, 1)})
            log(f"{name:<16} {elapsed / 60:6.2f} min  step {step:6d}  FID-C {fid_c:8.3f}", flush=True)
    return {"experiment": name, "config": cfg.to_dict(), "budget_minutes": minutes, "data_load_s": round(load_s, 1),
            "images_per_s": round(step * cfg.batch_size / elapsed, 1), "points": points}, state


def plot(results: list[dict], path: pathlib.Path, samples: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for r in results:
        ax.plot([p["minutes"] for p in r["points"]], [p["fid_c"] for p in r["points"]], "o-", label=r["experiment"])
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training time (minutes, this machine)")
    ax.set_ylabel(f"FID-C ({samples} samples, lower is better)")
    ax.set_title(f"Time to quality on {jax.devices()[0].device_kind} x{jax.device_count()}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", default=["cpu_fast", "dcgan_tutorial"])
    p.add_argument("--minutes", type=float, default=30.0, help="training time per experiment")
    p.add_argument("--evals", type=int, default=6, help="FID-C measurements, evenly spaced in training time")
    p.add_argument("--samples", type=int, default=5000, help="generated images per FID-C")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="benchmarks/time_to_quality", help="writes OUT.json and OUT.png")
    args = p.parse_args()
    ev = evaluator_lib.load()
    ref = reference.load(ev, "train", args.data_dir, log=print)
    results = [run(name, args.minutes, args.evals, args.samples, args.data_dir, ev, ref) for name in args.experiments]
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({
        "device": f"{jax.devices()[0].device_kind} x{jax.device_count()}", "samples": args.samples,
        "jax": jax.__version__, "results": results}, indent=1) + "\n")
    plot(results, out.with_suffix(".png"), args.samples)
    print(f"\nFID-C ({args.samples} samples) against training minutes on {jax.devices()[0].device_kind}:")
    print("| experiment | images/s | " + " | ".join(f"{p['minutes']:.1f} min" for p in results[0]["points"]) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in results[0]["points"]) + " |")
    for r in results:
        print(f"| {r['experiment']} | {r['images_per_s']} | " + " | ".join(
            f"{p['fid_c']:.3f} (step {p['step']})" for p in r["points"]) + " |")
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    sys.exit(run_main(main, "time_to_quality"))
