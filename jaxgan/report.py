"""One self-contained HTML page about a run, built only from its run folder, so an old run can be reported again.

    jaxgan report --workdir runs/pegasus [--out report.html] [--baseline runs/autoencoder]

It reads, when present: config.json, environment.json, metrics.jsonl (loss curves, D(x) and D(G(z)), the balance
control, FID-C during training), samples/step_*.png (the fixed-noise grids), eval.json (`jaxgan eval --out
WORKDIR/eval.json`: the final metrics), pegasus/ (`jaxgan pegasus --out WORKDIR/pegasus`: the Pegasus pictures and
scores, and architecture.svg) and, with --baseline, the autoencoder baseline's metrics.json. Every picture is
embedded (data: URIs), nothing is fetched: the file opens offline and can be mailed as it is.
"""
from __future__ import annotations

import base64
import datetime
import html
import io
import json
import pathlib

from jaxgan import run
from jaxgan.errors import UserError

MAX_GRIDS = 12  # fixed-noise grids shown, evenly spaced over training, the last always included
PEGASUS_PICTURES = (
    ("pegasus_x8.png", "The Pegasus (8x, nearest neighbour)"),
    ("side_by_side.png", "The autoencoder baseline's Pegasus beside the GAN's"),
    ("candidates.png", "The 16 best candidates, with their scores"),
    ("batch64.png", "64 samples nobody picked: images 0-63 of seed 0 under the Pegasus's mixture"),
    ("interpolations.png", "Interpolations between latents; the Pegasus's latent from horse to bird"),
    ("neighbours.png", "Nearest training images, in pixels and in evaluator features"),
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


def _plot(rows: list[dict], title: str, keys: tuple[str, ...], ylabel: str) -> bytes | None:
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


def build(workdir, baseline=None) -> str:
    """The report's HTML. UserError when `workdir` is not a run folder or a file it needs is unreadable."""
    workdir = run.require(workdir)
    config = _read_json(workdir / run.CONFIG, "the run's config")
    env_path = workdir / "environment.json"
    sessions = _read_json(env_path, "the run's environment record") if env_path.is_file() else []
    rows = read_metrics(workdir / "metrics.jsonl")
    train_rows = [r for r in rows if "d_loss" in r]
    fid_rows = [r for r in rows if "fid_c" in r]
    steps = max((r["step"] for r in rows if "step" in r), default=0)
    sections = []

    # Configuration and environment.
    env_rows = []
    for i, s in enumerate(sessions if isinstance(sessions, list) else []):
        pk = s.get("packages", {})
        env_rows.append((str(i + 1), s.get("started", "-"), str(s.get("start_step", "-")),
                         f"{s.get('backend', '-')}: {s.get('devices', '-')} x {s.get('device_kind', '-')}",
                         ", ".join(f"{k} {v}" for k, v in pk.items() if v), f"Python {s.get('python', '-')}",
                         s.get("command", "-")))
    sections.append(
        "<h2>Configuration</h2>" + _table([(k, json.dumps(v)) for k, v in config.items()], ("key", "value"))
        + "<h2>Environment</h2>"
        + (_table(env_rows, ("session", "started (UTC)", "from step", "devices", "packages", "python", "command"))
           if env_rows else "<p>No environment.json: the run predates it.</p>")
        + f"<p>Seed {html.escape(str(config.get('seed')))}; every random draw is a fold_in of it.</p>")

    # Training curves.
    plots = []
    for title, keys, ylabel in CURVES:
        png = _plot(train_rows, title, keys, ylabel)
        if png:
            plots.append(_img(png, "image/png", title))
    png = _plot(fid_rows, "FID-C during training (lower is better)", ("fid_c",), "FID-C")
    if png:
        plots.append(_img(png, "image/png", "FID-C during training"))
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
    metric_rows = []
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
    sections.append(
        "<h2>Final metrics</h2>" + (_table(metric_rows, ("model", "FID-C", "KID-C", "precision", "recall",
                                                          "memorised (pixel)", "class accuracy", "samples"))
                                     + "<p>FID-C/KID-C: Fréchet/kernel distances in the features of jaxgan's own "
                                       "CIFAR-10 evaluator (not Inception: not comparable with published FID).</p>"
                                     if metric_rows else
                                     f"<p>No eval.json: run <code>jaxgan eval --workdir {html.escape(str(workdir))} "
                                     f"--out {html.escape(str(workdir / 'eval.json'))}</code>.</p>"))

    # The Pegasus.
    peg = workdir / "pegasus"
    if (peg / "pegasus.json").is_file():
        result = _read_json(peg / "pegasus.json", "the Pegasus search")
        best = result.get("pegasus", {})
        score_rows = [(k, _fmt(best.get(k), 4) if isinstance(best.get(k), float) else str(best.get(k)))
                      for k in ("mix", "truncation", "seed", "index", "score", "recognisability", "p_horse",
                                "p_wings", "realism", "d_percentile", "feature_density", "uniqueness_pixel",
                                "uniqueness_feature", "command") if k in best]
        pictures = []
        for name, caption in PEGASUS_PICTURES:
            f = peg / name
            if f.is_file():
                mime = "image/svg+xml" if name.endswith(".svg") else "image/png"
                pictures.append(f"<figure>{_img(f.read_bytes(), mime, caption)}<figcaption>{html.escape(caption)}"
                                "</figcaption></figure>")
        sections.append(
            f"<h2>The Pegasus</h2><p>Searched over {result.get('budget', '?')} candidates at step "
            f"{result.get('step', '?')}; {result.get('eligible', '?')} passed every check.</p>"
            + _table(score_rows, ("score", "value")) + "".join(pictures))

    title = f"jaxgan run {workdir.name}: {config.get('model', '?')}, {steps} steps"
    generated = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1200px; margin: 1em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }}
td, th {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }}
.row {{ display: flex; flex-wrap: wrap; gap: 8px; }}
figure {{ margin: 4px; }} figcaption {{ font-size: 0.8em; color: #555; }}
img {{ max-width: 100%; }} img.px {{ image-rendering: pixelated; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Run folder <code>{html.escape(str(workdir.resolve()))}</code>; report built {generated} by
<code>jaxgan report</code> from that folder alone.</p>
{"".join(sections)}
</body></html>
"""


def write(workdir, out=None, baseline=None) -> pathlib.Path:
    """Builds the report into `out` (default WORKDIR/report.html) and returns its path."""
    if baseline is not None and not (pathlib.Path(baseline) / "metrics.json").is_file():
        raise UserError(f"baseline folder {baseline} holds no metrics.json; make it with "
                        "`python -m jaxgan.experiments.autoencoder_baseline`")
    text = build(workdir, baseline)
    out = run.output_file(out if out is not None else pathlib.Path(workdir) / run.REPORT)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)  # never half a report where an older one was
    return out
