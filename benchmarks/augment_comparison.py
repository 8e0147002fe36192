"""Augmentation at equal compute: each experiment with and without `augment`, trained side by side, then scored.

    python benchmarks/augment_comparison.py cgan pegasus --minutes 30 --augment flip,color,translation,cutout \
        [--data-dir ../shared/tensorflow_datasets] [--out benchmarks/augment_comparison]

For each experiment, the two arms (augment="" and the given policy) train from scratch at the same time, one
process each, for the same training time (`time_to_quality.train_for`: the clock runs while steps run and stops
while FID-C is measured, every minutes / 3 on 2000 samples). Sharing the machine, the two arms see the same load and
the same drift. Each arm's final state is saved as a run folder (OUT_runs/EXPERIMENT-ARM), then both are scored
by `jaxgan eval` (10k samples: FID-C, class accuracy, intra-class FID-C, ...). Writes OUT.json and OUT.md.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs

HERE = pathlib.Path(__file__).resolve().parent


def arm(args):
    """One arm in its own process: train for the budget, save the run folder, write the curve as JSON."""
    sys.path.insert(0, str(HERE))
    import time_to_quality

    import jaxgan
    from jaxgan import checkpoint, evaluator as evaluator_lib, run
    from jaxgan.metrics import reference

    cfg = jaxgan.load_experiment(args.experiment, {"augment": args.arm_augment})
    ev = evaluator_lib.load()
    ref = reference.load(ev, "train", args.data_dir)
    label = f"{args.experiment} augment={args.arm_augment or 'none'}"
    result, state = time_to_quality.train_for(cfg, label, args.minutes, 3, 2000, args.data_dir, ev, ref)
    workdir = pathlib.Path(args.workdir)
    run.prepare(cfg.replace(steps=max(int(state.step), 1)), workdir)
    ckpt = checkpoint.Checkpointer(workdir / run.CHECKPOINTS)
    ckpt.save(int(state.step), state)
    ckpt.close()
    (workdir / "curve.json").write_text(json.dumps(result, indent=1) + "\n")


def score(name: str, policy: str, workdir: pathlib.Path, data_dir, rescore: bool) -> dict:
    """One arm's row: `jaxgan eval` of its run folder (in a fresh process: the code that trained it need not be the
    code that started this script), unless an eval.json is there and `rescore` is off."""
    if rescore or not (workdir / "eval.json").is_file():
        cmd = [sys.executable, "-m", "jaxgan.cli", "eval", "--workdir", str(workdir), "--out",
               str(workdir / "eval.json")] + (["--data-dir", data_dir] if data_dir else [])
        if subprocess.run(cmd).returncode != 0:
            sys.exit(f"jaxgan eval failed on {workdir}")
    metrics = json.loads((workdir / "eval.json").read_text())
    curve = json.loads((workdir / "curve.json").read_text())
    return {"experiment": name, "augment": policy, "steps": curve["points"][-1]["step"],
            "images_per_s": curve["images_per_s"], "curve": curve["points"],
            "fid_c": metrics["fid_c"], "class_accuracy": metrics.get("class_accuracy"),
            "intra_class_fid_c_mean": metrics.get("intra_fid_c_mean"),
            "precision": metrics.get("precision"), "recall": metrics.get("recall")}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*", default=["cgan", "pegasus"])
    p.add_argument("--minutes", type=float, default=30.0, help="training time per arm")
    p.add_argument("--augment", default="flip,color,translation,cutout", help="the policy of the augmented arm")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="benchmarks/augment_comparison", help="writes OUT.json and OUT.md")
    p.add_argument("--score-only", action="store_true",
                   help="train nothing: score the arms' run folders already in OUT_runs (eval.json kept if there)")
    p.add_argument("--arm-augment", default=None, help=argparse.SUPPRESS)
    p.add_argument("--experiment", default=None, help=argparse.SUPPRESS)
    p.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.experiment is not None:
        return arm(args)

    out = pathlib.Path(args.out)
    runs = out.parent / f"{out.name}_runs"
    rows = []
    for name in args.experiments:
        arms = {policy: runs / f"{name}-{'augment' if policy else 'plain'}" for policy in ("", args.augment)}
        if not args.score_only:
            procs = {}
            for policy, workdir in arms.items():
                cmd = [sys.executable, __file__, "--experiment", name, "--arm-augment", policy, "--workdir",
                       str(workdir), "--minutes", str(args.minutes)]
                procs[policy] = subprocess.Popen(cmd + (["--data-dir", args.data_dir] if args.data_dir else []))
            for policy, proc in procs.items():
                if proc.wait() != 0:
                    sys.exit(f"the {name} arm augment={policy!r} failed (exit {proc.returncode})")
        for policy, workdir in arms.items():  # scored one after the other, the machine otherwise idle
            rows.append(score(name, policy, workdir, args.data_dir, rescore=not args.score_only))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"minutes": args.minutes, "rows": rows}, indent=1) + "\n")
    lines = [f"Each arm: {args.minutes:g} minutes of training time, both arms of an experiment side by side on this "
             "machine; scored by `jaxgan eval` (10k samples, evaluator features; FID-C is not FID).", "",
             "| experiment | augment | steps | images/s | FID-C | class accuracy | intra-class FID-C (mean) | P / R |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        acc = "-" if r["class_accuracy"] is None else f"{100 * r['class_accuracy']:.1f}%"
        intra = "-" if r["intra_class_fid_c_mean"] is None else f"{r['intra_class_fid_c_mean']:.3f}"
        lines.append(f"| {r['experiment']} | {r['augment'] or 'none'} | {r['steps']} | {r['images_per_s']} | "
                     f"{r['fid_c']:.3f} | {acc} | {intra} | {r['precision']:.3f} / {r['recall']:.3f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(run_main(main, "augment_comparison"))
