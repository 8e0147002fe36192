"""One self-contained HTML page about a run, built only from its run folder, so an old run can be reported again.

    jaxgan report --workdir runs/pegasus [--out report.html] [--baseline runs/autoencoder]

It reads, when present: config.json, environment.json, metrics.jsonl (loss curves, D(x) and D(G(z)), the balance
control, FID-C during training), samples/step_*.png (the fixed-noise grids), eval.json (`jaxgan eval --out
WORKDIR/eval.json`: the final metrics), pegasus/ (`jaxgan pegasus --out WORKDIR/pegasus`: the Pegasus pictures and
scores, and architecture.svg) and, with --baseline, the autoencoder baseline's metrics.json. Every picture is
embedded (data: URIs), nothing is fetched: the file opens offline and can be mailed as it is.

The page leads with what a reader comes for: the Pegasus and the 64 unpicked samples (or, before a Pegasus
search, the latest fixed-noise grid), large, under a one-line verdict and the headline metrics; then the
Pegasus's scores and pictures, the final metrics, the curves and grids; configuration and environment last,
folded.
"""
from __future__ import annotations

import base64
import datetime
import html
import io
import json
import pathlib
import shlex

from jaxgan import run
from jaxgan.errors import UserError

MAX_GRIDS = 12  # fixed-noise grids shown, evenly spaced over training, the last always included
HERO_PICTURES = (  # shown first, large
    ("pegasus_x8.png", "The Pegasus (8x, nearest neighbour)"),
    ("batch64.png", "64 samples nobody picked: images 0-63 of seed 0 under the Pegasus's mixture"),
)
PEGASUS_PICTURES = HERO_PICTURES + (
    ("side_by_side.png", "The autoencoder baseline's Pegasus beside the GAN's"),
    ("candidates.png", "The 16 best candidates, with their scores"),
    ("interpolations.png", "Interpolations between latents; the Pegasus's latent from horse to bird"),
    ("neighbours.png", "Nearest training images, in pixels and in evaluator features"),
    ("refined.png", "The top 16 as searched and after latent refinement (--refine; reported apart from the search)"),
    ("pegasus_sketched_x8.png", "The sketched Pegasus (8x): the pick of the 16 white candidates refined towards a "
                                "sketched wing (--sketch; reported apart from the search)"),
    ("sketched.png", "The 16 white candidates as searched, the wing sketched on each, and after sketch-guided "
                     "refinement (--sketch)"),
    ("architecture.svg", "The architecture (jaxgan diagram)"),
)
CURVES = (  # (title, metrics.jsonl keys, y label)
    ("Losses", ("d_loss", "g_loss"), "loss"),
    ("Discriminator's probabilities", ("d_real", "d_fake"), "D(x), D(G(z))"),
    ("Balance control", ("d_updates", "balance_acc"), "updates; accuracy"),
    ("Throughput", ("images_per_s",), "images/s"),
)
LABELS = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))",
          "d_updates": "D updates this step", "balance_acc": "D accuracy on fakes (smoothed)",
          "images_per_s": "images/s", "fid_c": "FID-C"}


def _uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _img(data: bytes, mime: str, alt: str, pixelated: bool = False, width: int | None = None) -> str:
    style = ' class="px"' if pixelated else ""
    size = f' width="{width}"' if width else ""
    return f'<img src="{_uri(data, mime)}" alt="{html.escape(alt)}"{style}{size}>'


def _read_json(path: pathlib.Path, what: str):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"cannot read {what} {path}: {e}") from None


def read_metrics(path: pathlib.Path) -> list[dict]:
    """metrics.jsonl's lines; a line cut off by a crash is skipped, not fatal."""
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def plot(rows: list[dict], title: str, keys: tuple[str, ...], ylabel: str) -> bytes | None:
    """A line chart of some metrics against the step, as the report draws them.

    Args:
      rows: dicts with a "step" and some of `keys` (metrics.jsonl's lines, `read_metrics`, or your own loop's).
      title: the chart's title.
      keys: the metrics to draw, one line each (known ones get readable labels, e.g. d_real -> "D(x)").
      ylabel: the y axis's label.

    Returns:
      PNG bytes (`IPython.display.Image(data=...)` shows them), or None when no row has any of `keys`.

    Example:
      >>> png = plot([{"step": 1, "d_loss": 1.4}, {"step": 2, "d_loss": 1.2}], "D", ("d_loss",), "loss")
      >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
      True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {k: [(r["step"], r[k]) for r in rows if r.get(k) is not None and "step" in r] for k in keys}
    if not any(series.values()):
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=80)
    for k, points in series.items():
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, "o-" if len(points) < 30 else "-", label=LABELS.get(k, k), linewidth=1.2,
                    markersize=3)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _table(rows: list[tuple[str, str]], header: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>"


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _metric_row(name: str, m: dict) -> list[str]:
    u = m.get("uniqueness", {})
    return [name, _fmt(m.get("fid_c")), f"{_fmt(m.get('kid_c'), 4)} ± {_fmt(m.get('kid_c_std'), 4)}",
            _fmt(m.get("precision")), _fmt(m.get("recall")),
            "-" if u.get("memorisation_rate_pixel") is None else f"{100 * u['memorisation_rate_pixel']:.2f}%",
            "-" if m.get("class_accuracy") is None else f"{100 * m['class_accuracy']:.1f}%", _fmt(m.get("n"))]


def _grids(workdir: pathlib.Path) -> list[tuple[int, bytes]]:
    files = sorted((workdir / "samples").glob("step_*.png"))
    if len(files) > MAX_GRIDS:
        picks = sorted({round(i * (len(files) - 1) / (MAX_GRIDS - 1)) for i in range(MAX_GRIDS)})
        files = [files[i] for i in picks]
    out = []
    for f in files:
        try:
            out.append((int(f.stem.split("_")[1]), f.read_bytes()))
        except (ValueError, IndexError, OSError):
            continue
    return out


def _verdict(model: str, steps: int, metrics: dict | None, pegasus: dict | None) -> str:
    """One line: what was trained, how good it measures, and what the judge (else the evaluator) sees."""
    parts = [f"{model}, {steps} steps"]
    if metrics:
        acc = metrics.get("class_accuracy")
        parts.append(f"FID-C {_fmt(metrics.get('fid_c'), 2)}" + ("" if acc is None else f", {100 * acc:.1f}% of "
                                                                 "samples classified as their class"))
    else:
        parts.append("not evaluated yet")
    if pegasus:
        judge = pegasus.get("judge")
        if judge:
            p, b = judge["pegasus"], judge["batch64"]
            parts.append(f"the judge, a classifier that never selected anything, calls the Pegasus a {p['top_class']} "
                         f"(horse {p['p_horse']:.2f}, bird+airplane {p['p_wings']:.2f}) and "
                         f"{100 * b['horse_share']:.0f}% of the batch of 64 horses")
        else:
            best = pegasus.get("pegasus", {})
            parts.append(f"the evaluator gives the Pegasus horse {_fmt(best.get('p_horse'), 2)}, bird+airplane "
                         f"{_fmt(best.get('p_wings'), 2)} (it selected it: biased)")
    return "; ".join(parts) + "."


def _tiles(items: list[tuple[str, str]]) -> str:
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="v">{html.escape(v)}</div><div class="k">{html.escape(k)}</div></div>'
        for k, v in items) + "</div>"


def _figure(data: bytes, mime: str, caption: str, cls: str = "", pixelated: bool = False) -> str:
    return (f'<figure class="{cls}">{_img(data, mime, caption, pixelated=pixelated)}'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def build(workdir, baseline=None, pegasus=None) -> str:
    """The report's HTML.

    Args:
      workdir: a run folder.
      baseline: the autoencoder baseline's folder (its metrics.json goes beside the run's), or None.
      pegasus: a `jaxgan pegasus --out` folder to show (default: WORKDIR/pegasus, when it exists).

    Returns:
      The page, one self-contained HTML string. Raises UserError when `workdir` is not a run folder or a file it
      needs is unreadable.
    """
    workdir = run.require(workdir)
    config = _read_json(workdir / run.CONFIG, "the run's config")
    env_path = workdir / "environment.json"
    sessions = _read_json(env_path, "the run's environment record") if env_path.is_file() else []
    rows = read_metrics(workdir / "metrics.jsonl")
    train_rows = [r for r in rows if "d_loss" in r]
    fid_rows = [r for r in rows if "fid_c" in r]
    steps = max((r["step"] for r in rows if "step" in r), default=0)
    card = _read_json(workdir / "card.json", "the model card") if (workdir / "card.json").is_file() else None
    if card is not None:  # a pretrained bundle: no metrics.jsonl, its card says how long it trained
        steps = int(card.get("steps", steps))
    sections = []

    # Configuration and environment.
    env_rows = []
    for i, s in enumerate(sessions if isinstance(sessions, list) else []):
        pk = s.get("packages", {})
        cores = s.get("cpu_cores", "?")
        host = f" on {s['cpu']}, {cores} core{'' if cores == 1 else 's'}" if s.get("cpu") else ""  # older: none
        flags = f"XLA_FLAGS={shlex.quote(s['xla_flags'])} " if s.get("xla_flags") else ""
        env_rows.append((str(i + 1), s.get("started", "-"), str(s.get("start_step", "-")),
                         f"{s.get('backend', '-')}: {s.get('devices', '-')} x {s.get('device_kind', '-')}{host}",
                         ", ".join(f"{k} {v}" for k, v in pk.items() if v), f"Python {s.get('python', '-')}",
                         flags + s.get("command", "-")))
    folded = (
        "<details><summary>Configuration</summary>"
        + _table([(k, json.dumps(v)) for k, v in config.items()], ("key", "value"))
        + f"<p>Seed {html.escape(str(config.get('seed')))}; every random draw is a fold_in of it.</p></details>"
        + "<details><summary>Environment</summary>"
        + (_table(env_rows, ("session", "started (UTC)", "from step", "devices", "packages", "python", "command"))
           if env_rows else "<p>No environment.json: the run predates it.</p>") + "</details>")

    # Training curves.
    plots = []
    for title, keys, ylabel in CURVES:
        png = plot(train_rows, title, keys, ylabel)
        if png:
            plots.append(_img(png, "image/png", title))
    png = plot(fid_rows, "FID-C during training (lower is better)", ("fid_c",), "FID-C")
    if png:
        plots.append(_img(png, "image/png", "FID-C during training"))
    png = plot(fid_rows, "class accuracy during training (evaluator)", ("class_accuracy",), "share")
    if png:
        plots.append(_img(png, "image/png", "class accuracy during training"))
    sections.append("<h2>Training curves</h2>" + (
        '<div class="row">' + "".join(plots) + "</div>" if plots else "<p>No metrics logged yet.</p>"))

    # Fixed-noise grids.
    grids = _grids(workdir)
    sections.append(
        "<h2>Fixed noise over training</h2><p>The EMA generator on the same latents (and labels) at every "
        "sample step: how the model learned.</p>"
        + ('<div class="row">' + "".join(
            f"<figure>{_img(data, 'image/png', f'step {step}', pixelated=True, width=274)}"
            f"<figcaption>step {step}</figcaption></figure>" for step, data in grids) + "</div>"
           if grids else "<p>No sample grids yet.</p>"))

    # Final metrics, with the baseline beside them.
    metric_rows, m = [], None
    if (workdir / "eval.json").is_file():
        m = _read_json(workdir / "eval.json", "the run's metrics")
        src = m.get("source", {})
        metric_rows.append(_metric_row(f"this run (step {src.get('step', '?')})", m))
    if baseline is not None:
        b = _read_json(pathlib.Path(baseline) / "metrics.json", "the baseline's metrics")
        for key, name in (("mixtures", "autoencoder baseline: mixtures"),
                          ("reconstructions", "autoencoder baseline: reconstructions")):
            if isinstance(b.get(key), dict):
                metric_rows.append(_metric_row(name, b[key]))
    sections.insert(0,  # metrics before the curves; the Pegasus goes before both
        "<h2>Final metrics</h2>" + (_table(metric_rows, ("model", "FID-C", "KID-C", "precision", "recall",
                                                          "memorised (pixel)", "class accuracy", "samples"))
                                     + "<p>FID-C/KID-C: Fréchet/kernel distances in the features of jaxgan's own "
                                       "CIFAR-10 evaluator (not Inception: not comparable with published FID).</p>"
                                     if metric_rows else
                                     f"<p>No eval.json: run <code>jaxgan eval --workdir {html.escape(str(workdir))} "
                                     f"--out {html.escape(str(workdir / 'eval.json'))}</code>.</p>"))

    # The Pegasus: its scores and the pictures the hero does not show.
    peg = workdir / "pegasus" if pegasus is None else pathlib.Path(pegasus)
    result = None
    hero = []
    if (peg / "pegasus.json").is_file():
        result = _read_json(peg / "pegasus.json", "the Pegasus search")
        best = result.get("pegasus", {})
        score_rows = [(k, _fmt(best.get(k), 4) if isinstance(best.get(k), float) else str(best.get(k)))
                      for k in ("mix", "truncation", "seed", "index", "score", "recognisability", "p_horse",
                                "p_wings", "p_wings_upper", "part_score", "realism", "d_percentile",
                                "feature_density", "uniqueness_pixel",
                                "uniqueness_feature", "command") if k in best]
        judge = result.get("judge")
        if judge:
            j = judge["pegasus"]
            score_rows += [("judge: top class", j["top_class"]), ("judge: p_horse", _fmt(j["p_horse"], 4)),
                           ("judge: p_wings", _fmt(j["p_wings"], 4)),
                           ("judge: top 16 classified horse", f"{100 * judge['top']['horse_share']:.0f}%"),
                           ("judge: batch of 64 classified horse", f"{100 * judge['batch64']['horse_share']:.0f}%")]
        pictures = []
        for name, caption in PEGASUS_PICTURES:
            f = peg / name
            if f.is_file():
                mime = "image/svg+xml" if name.endswith(".svg") else "image/png"
                if (name, caption) in HERO_PICTURES:
                    hero.append(_figure(f.read_bytes(), mime, caption, "big", pixelated=True))
                else:
                    pictures.append(_figure(f.read_bytes(), mime, caption))
        sections.insert(0,
            f"<h2>The Pegasus</h2><p>Searched over {result.get('budget', '?')} candidates at step "
            f"{result.get('step', '?')}; {result.get('eligible', '?')} passed every check. The evaluator's scores "
            "selected it; the judge's only report.</p>"
            + _table(score_rows, ("score", "value")) + '<div class="row">' + "".join(pictures) + "</div>")
    if not hero and grids:  # before a Pegasus search: the latest samples
        step, data = grids[-1]
        hero.append(_figure(data, "image/png", f"Samples of the EMA generator at step {step} (fixed noise)", "big",
                            pixelated=True))
    tiles = [("steps", str(steps))]
    if m:
        tiles += [("FID-C (evaluator features)", _fmt(m.get("fid_c"), 2)),
                  ("class accuracy", "-" if m.get("class_accuracy") is None else f"{100 * m['class_accuracy']:.1f}%"),
                  ("precision / recall", f"{_fmt(m.get('precision'), 2)} / {_fmt(m.get('recall'), 2)}")]
    if result and result.get("judge"):
        tiles += [("judge: batch of 64 horse", f"{100 * result['judge']['batch64']['horse_share']:.0f}%")]
    lead = (f'<p class="verdict">{html.escape(_verdict(str(config.get("model", "?")), steps, m, result))}</p>'
            + _tiles(tiles) + ('<div class="row hero">' + "".join(hero) + "</div>" if hero else ""))

    kind = "pretrained model" if card is not None else "run"
    title = f"jaxgan {kind} {workdir.name}: {config.get('model', '?')}, {steps} steps"
    generated = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1180px; margin: 0 auto;
       padding: 1.5em; color: #1d2330; background: #f6f7f9; line-height: 1.45; }}
h1 {{ font-size: 1.6em; margin: 0.2em 0; }} h2 {{ margin-top: 1.6em; border-bottom: 1px solid #dde1e7; }}
.verdict {{ font-size: 1.15em; margin: 0.4em 0 0.8em; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 1em; }}
.tile {{ background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 8px 14px; min-width: 120px; }}
.tile .v {{ font-size: 1.4em; font-weight: 600; }} .tile .k {{ font-size: 0.8em; color: #5b6472; }}
.row {{ display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }}
figure {{ margin: 0; background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 8px; }}
figcaption {{ font-size: 0.8em; color: #5b6472; margin-top: 4px; max-width: 560px; }}
.hero figure.big img {{ width: 512px; }}
img {{ max-width: 100%; }} img.px {{ image-rendering: pixelated; }}
table {{ border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; background: #fff; }}
td, th {{ border: 1px solid #dde1e7; padding: 3px 8px; text-align: left; vertical-align: top; }}
details {{ margin: 0.8em 0; }} summary {{ cursor: pointer; font-weight: 600; font-size: 1.1em; }}
.foot {{ color: #5b6472; font-size: 0.85em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{lead}
{"".join(sections)}
<h2>Configuration and environment</h2>
{folded}
<p class="foot">Built {generated} by <code>jaxgan report</code> from the {kind} folder
<code>{html.escape(workdir.name)}</code> alone.</p>
</body></html>
"""


def write(workdir, out=None, baseline=None, pegasus=None) -> pathlib.Path:
    """Builds the report and writes it atomically.

    Args:
      workdir: a run folder (or a pretrained bundle's folder).
      out: the HTML file (default WORKDIR/report.html).
      baseline: the autoencoder baseline's folder, or None.
      pegasus: a `jaxgan pegasus --out` folder (default: WORKDIR/pegasus, when it exists).

    Returns:
      The path written. Raises UserError, in one line, for a bad folder or file.
    """
    if baseline is not None and not (pathlib.Path(baseline) / "metrics.json").is_file():
        raise UserError(f"baseline folder {baseline} holds no metrics.json; make it with "
                        "`python -m jaxgan.experiments.autoencoder_baseline`")
    if pegasus is not None and not (pathlib.Path(pegasus) / "pegasus.json").is_file():
        raise UserError(f"Pegasus folder {pegasus} holds no pegasus.json; make it with `jaxgan pegasus --out "
                        f"{pegasus}`")
    text = build(workdir, baseline, pegasus)
    out = run.output_file(out if out is not None else pathlib.Path(workdir) / run.REPORT)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)  # never half a report where an older one was
    return out
