"""The flagship's arms side by side: FID-C and class accuracy against CPU-hours (and steps), from their run folders.

    python benchmarks/flagship_curves.py NAME=RUN_FOLDER [NAME=RUN_FOLDER ...] [--out benchmarks/flagship_curves]

Each run folder must have been trained with `eval_every` (training then logs, every eval_every steps, FID-C
against its classes' statistics, `fid_c_all` against all of CIFAR-10 train as `jaxgan eval`'s fid_c reports it,
and the evaluator's class accuracy). Three panels: FID-C against the run's own classes, against all ten (with
`--real-all`, the figure real images of those classes get there), class accuracy. CPU-hours are the sum of the
logged intervals' steps x batch / images per second: the time of the training steps themselves, on one core per
arm when the arms are pinned side by side (`taskset -c 0` / `-c 1`), without start-up and evaluation time. Earlier
measurements without a curve (an endpoint measured by `jaxgan eval`) can be added as points from a JSON list in
`--points` ([{"name", "cpu_hours", "steps", "fid_c_all", "class_accuracy", "source"}]). Arms whose run folders
are gone (a replaced machine) are kept from an earlier OUT.json with `--keep` (an arm named again on the command line
is read from its folder instead). Writes OUT.png (the three panels) and OUT.json (every point).

    python benchmarks/flagship_curves.py --keep benchmarks/flagship_curves.json NEW=RUN_FOLDER ...

A new arm started from a folder whose own sources are gone (a state restored from an archive on a new machine)
takes that folder's CPU-hours from the kept arm it was part of: `--hours-from SOURCE_FOLDER="KEPT ARM"`.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys

from jaxgan import report, run, summaries
from jaxgan.config import CIFAR10_CLASSES
from jaxgan.errors import UserError

from user_errors import run_main  # benchmarks/ is on the path when a script in it runs


def _interpolated_hours(points: list[dict], step: int) -> float:
    """CPU-hours of a kept arm's curve at `step`, linear between its evaluations (the pace is even between them)."""
    below = max((q for q in points if q["steps"] <= step), key=lambda q: q["steps"], default=None)
    above = min((q for q in points if q["steps"] >= step), key=lambda q: q["steps"], default=None)
    if below is None or above is None:
        raise UserError(f"the kept curve does not reach step {step} (it spans "
                         f"{points[0]['steps'] if points else '-'}-{points[-1]['steps'] if points else '-'})")
    if above["steps"] == below["steps"]:
        return below["cpu_hours"]
    share = (step - below["steps"]) / (above["steps"] - below["steps"])
    return below["cpu_hours"] + share * (above["cpu_hours"] - below["cpu_hours"])


def _seconds_at_steps(workdir: pathlib.Path, hours_from: dict[str, list[dict]] | None = None) -> dict[int, float]:
    """{logged step: CPU-seconds of training up to it}; a run started from another run's state (`train
    --init-from`) goes on from the source's CPU-seconds at the step it started from. `hours_from` maps a source
    folder (as its environment.json names it) to a kept arm's points: that source's CPU-hours are read there, for a
    source whose own chain of folders is gone (a replaced machine)."""
    hours_from = hours_from or {}
    cfg = run.load_config(workdir)
    seconds, last, at_step = 0.0, summaries.first_step(workdir), {}
    source = (summaries.sessions(workdir) or [{}])[0].get("started_from")
    if source and source["run"] in hours_from:
        seconds = _interpolated_hours(hours_from[source["run"]], source["step"]) * 3600
    elif source:
        before = {k: v for k, v in _seconds_at_steps(pathlib.Path(source["run"]), hours_from).items()
                  if k <= source["step"]}
        seconds = before[max(before)] if before else 0.0
    for r in report.read_metrics(workdir / run.METRICS):
        if r.get("images_per_s"):
            seconds += (r["step"] - last) * cfg.batch_size / r["images_per_s"]
            last = r["step"]
            at_step[r["step"]] = seconds
    return at_step


def curve(workdir: pathlib.Path, hours_from: dict[str, list[dict]] | None = None) -> list[dict]:
    """(steps, cpu_hours, fid_c, fid_c_all, class_accuracy) at every evaluation of a run folder (CPU-hours as
    `_seconds_at_steps` counts them, `hours_from` as there)."""
    at_step = _seconds_at_steps(workdir, hours_from)
    # A run of all ten classes logs one FID-C: its own classes are all ten.
    every_class = len(run.load_config(workdir).class_ids) == len(CIFAR10_CLASSES)
    points = []
    for r in report.read_metrics(workdir / run.METRICS):
        if "fid_c" in r:
            before = [s for s in at_step if s <= r["step"]]
            hours = at_step[max(before)] / 3600 if before else 0.0
            points.append({"steps": r["step"], "cpu_hours": round(hours, 3), "fid_c": r["fid_c"],
                           "fid_c_all": r["fid_c"] if every_class else r.get("fid_c_all"),
                           "class_accuracy": r.get("class_accuracy"), "eval_samples": r.get("eval_samples")})
    return points


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*", metavar="NAME=RUN_FOLDER")
    p.add_argument("--keep", type=pathlib.Path, default=None,
                   help="an earlier OUT.json whose arms are plotted as recorded there")
    p.add_argument("--points", type=pathlib.Path, default=None, help="JSON list of earlier endpoints")
    p.add_argument("--out", default="benchmarks/flagship_curves")
    p.add_argument("--real-all", type=float, default=None,
                   help="FID-C of real images of the runs' classes against all ten (a line on that panel)")
    p.add_argument("--hours-from", action="append", default=[], metavar="SOURCE_FOLDER=KEPT_ARM",
                   help="a source run folder whose own chain is gone: its CPU-hours are the kept arm's (from --keep), "
                        "interpolated at the step a run started from it")
    args = p.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = json.loads(args.keep.read_text())["arms"] if args.keep else {}
    hours_from = {}
    for item in args.hours_from:
        folder, _, label = item.partition("=")
        if label not in arms:
            p.error(f"--hours-from {item}: no kept arm named {label!r} (--keep gives the kept arms)")
        hours_from[folder] = arms[label]
    for item in args.runs:
        name, _, folder = item.partition("=")
        arms[name] = curve(pathlib.Path(folder), hours_from)
    extra = json.loads(args.points.read_text()) if args.points else []
    fig, (ax_c, ax_f, ax_a) = plt.subplots(1, 3, figsize=(15, 8), dpi=90)
    for i, (name, points) in enumerate(arms.items()):
        # tab20 has 20 colours (the default cycle repeats at 10); past them the line and marker tell arms apart.
        style = {"color": plt.cm.tab20(i % 20), "marker": "o^s"[i // 20 % 3],
                 "linestyle": ("-", "--", ":")[i // 20 % 3], "markersize": 3, "label": name}
        # One sample count per curve: a run's evaluations with fewer samples (FID-C is biased upwards by fewer
        # samples) are left out.
        n = max((q.get("eval_samples") or 0 for q in points), default=0)
        points = [q for q in points if (q.get("eval_samples") or 0) == n]
        ax_c.plot([q["cpu_hours"] for q in points], [q["fid_c"] for q in points], **style)
        fids = [(q["cpu_hours"], q["fid_c_all"]) for q in points if q.get("fid_c_all") is not None]
        if fids:
            ax_f.plot(*zip(*fids), **style)
        accs = [(q["cpu_hours"], q["class_accuracy"]) for q in points if q.get("class_accuracy") is not None]
        if accs:
            ax_a.plot(*zip(*accs), **style)
    for q in extra:
        ax_f.plot([q["cpu_hours"]], [q["fid_c_all"]], "s", label=f"{q['name']} ({q['steps']} steps, endpoint)")
        if q.get("class_accuracy") is not None:
            ax_a.plot([q["cpu_hours"]], [q["class_accuracy"]], "s", label=f"{q['name']} (endpoint)")
    if args.real_all is not None:
        ax_f.axhline(args.real_all, color="grey", linestyle=":", linewidth=1,
                     label=f"real images of these classes ({args.real_all:g})")
    ax_c.set(title="FID-C against the run's own classes (lower is better)", xlabel="CPU-hours (one core)",
             ylabel="FID-C")
    ax_f.set(title="FID-C against all ten classes (jaxgan eval's fid_c)", xlabel="CPU-hours (one core)",
             ylabel="FID-C")
    ax_a.axhline(0.8, color="grey", linestyle=":", linewidth=1)
    ax_a.set(title="class accuracy (evaluator)", xlabel="CPU-hours (one core)", ylabel="share")
    # One legend for the three panels, below them: with many arms, a legend in each panel covered the curves.
    labels = {}
    for ax in (ax_c, ax_f, ax_a):
        ax.grid(alpha=0.3)
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labels.setdefault(label, handle)
    fig.legend(labels.values(), labels.keys(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    rows = math.ceil(len(labels) / 3)
    fig.tight_layout(rect=(0, 0.02 + 0.028 * rows, 1, 1))  # a 7-point legend row takes about 0.028 of 8 inches
    out = pathlib.Path(args.out)
    fig.savefig(out.with_suffix(".png"), bbox_inches="tight")  # the legend's longest labels reach past the panels
    out.with_suffix(".json").write_text(json.dumps({"arms": arms, "points": extra}, indent=1) + "\n")
    for name, points in arms.items():
        last = points[-1] if points else {}
        print(f"{name}: {len(points)} evaluations; last at step {last.get('steps')}, {last.get('cpu_hours')} CPU-h: "
              f"FID-C {last.get('fid_c')} (own classes), {last.get('fid_c_all')} (all ten), class accuracy "
              f"{last.get('class_accuracy')}")


if __name__ == "__main__":
    sys.exit(run_main(main, "flagship_curves"))
