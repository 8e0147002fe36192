"""An SVG diagram of a run's generator and discriminator, traced from the Flax model definitions themselves.

    jaxgan diagram --workdir runs/cgan --out cgan.svg
    svg = diagram.svg(cfg)                       # the same, for any Config

Nothing here is drawn by hand: `trace` intercepts every submodule call while Flax initialises the model shapes
(`jax.eval_shape`: no arithmetic) and records, in call order, each block's class, name, input and output shapes
and parameter count. Blocks that read the class (conditional batch norms fed by the shared class embedding, the
projection discriminator's class embedding) are joined to a class-input box: the conditioning paths.
"""
from __future__ import annotations

import dataclasses
import html
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import models
from jaxgan.config import Config

BOX_W, BOX_H, GAP, COL_GAP, MARGIN = 340, 46, 18, 110, 50


@dataclasses.dataclass
class Block:
    name: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    params: int = 0
    conditional: bool = False  # reads the class input


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else ()


def trace(module: nn.Module, *args, **kwargs) -> tuple[list[Block], dict]:
    """The top-level blocks of `module` applied to `args`, in call order, and the parameter shapes."""
    blocks: list[Block] = []

    def interceptor(next_fun, f_args, f_kwargs, context):
        m = context.module
        top = context.method_name == "__call__" and len(m.path) == 1
        top = top and not (isinstance(m, nn.Dropout) and m.rate == 0)  # a no-op layer is not drawn
        if top:
            block = Block(m.path[0], type(m).__name__, _shape(f_args[0]) if f_args else (), ())
            # A second array argument is a conditioning vector (CBN's [z, class embedding]).
            block.conditional = isinstance(m, nn.Embed) or any(
                hasattr(a, "shape") and a.ndim == 2 for a in f_args[1:])
            blocks.append(block)
        out = next_fun(*f_args, **f_kwargs)
        if top:
            block.out_shape = _shape(out)
        return out

    with nn.intercept_methods(interceptor):
        variables = jax.eval_shape(lambda: module.init({"params": jax.random.key(0), "dropout": jax.random.key(1)},
                                                       *args, **kwargs))
    params = variables.get("params", {})
    for b in blocks:
        if b.name in params:
            b.params = sum(math.prod(p.shape) for p in jax.tree.leaves(params[b.name]))
    # Repeated calls of one module (D runs on real and fake batches) are one block.
    seen, unique = set(), []
    for b in blocks:
        if b.name not in seen:
            seen.add(b.name)
            unique.append(b)
    return unique, params


def networks(cfg: Config, batch: int = 1):
    """(generator blocks, generator params, discriminator blocks, discriminator params) of `cfg`'s models."""
    g, d = models.build(cfg)
    z = jnp.zeros((batch, cfg.z_dim))
    y = jnp.zeros((batch,), jnp.int32) if cfg.num_classes else None
    g_blocks, g_params = trace(g, z, y, train=False)
    d_blocks, d_params = trace(d, jnp.zeros((batch, 32, 32, 3)), y, train=False)
    return g_blocks, g_params, d_blocks, d_params


def _fmt_shape(shape) -> str:
    return "x".join(str(s) for s in shape[1:]) if len(shape) > 1 else str(shape)


def _box(x, y, title, sub, fill):
    return (f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" stroke="#333"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + 19}" text-anchor="middle" font-weight="bold">'
            f'{html.escape(title)}</text>'
            f'<text x="{x + BOX_W / 2}" y="{y + 36}" text-anchor="middle" font-size="11">{html.escape(sub)}</text>')


def _arrow(x1, y1, x2, y2, colour="#333", dashed=False):
    dash = ' stroke-dasharray="5,3"' if dashed else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="1.5"{dash} '
            f'marker-end="url(#head)"/>')


def _column(x, title, input_label, input_shape, blocks, class_box, out_label):
    head, sub = title
    parts = [f'<text x="{x + BOX_W / 2}" y="{MARGIN - 22}" text-anchor="middle" font-size="16" '
             f'font-weight="bold">{html.escape(head)}</text>'
             f'<text x="{x + BOX_W / 2}" y="{MARGIN - 6}" text-anchor="middle">{html.escape(sub)}</text>']
    y = MARGIN + 14
    parts.append(_box(x, y, input_label, _fmt_shape(input_shape), "#eeeeee"))
    for b in blocks:
        parts.append(_arrow(x + BOX_W / 2, y + BOX_H, x + BOX_W / 2, y + BOX_H + GAP))
        y += BOX_H + GAP
        sub = f"{_fmt_shape(b.in_shape)} -> {_fmt_shape(b.out_shape)}"
        if b.kind == "Embed":  # the projection discriminator's class term
            sub = f"y -> {_fmt_shape(b.out_shape)}; logit += <embed(y), features>"
        sub += f"   {b.params:,} params" if b.params else ""
        title = b.kind if b.name.startswith(b.kind) else f"{b.kind} '{b.name}'"
        parts.append(_box(x, y, title, sub, "#fde3c8" if b.conditional else "#dbe9f6"))
        if b.conditional and class_box is not None:
            cx, cy = class_box
            parts.append(_arrow(cx, cy, x + (BOX_W if cx > x else 0), y + BOX_H / 2, "#c0504d", dashed=True))
    parts.append(_arrow(x + BOX_W / 2, y + BOX_H, x + BOX_W / 2, y + BOX_H + GAP))
    y += BOX_H + GAP
    parts.append(_box(x, y, out_label, "", "#eeeeee"))
    return parts, y + BOX_H


def svg(cfg: Config) -> str:
    """The SVG text of `cfg`'s G (left) and D (right), with the class input between them when conditional."""
    g_blocks, g_params, d_blocks, d_params = networks(cfg)
    n_g = sum(b.params for b in g_blocks) + sum(
        math.prod(p.shape) for k, p in g_params.items() if not isinstance(p, dict))
    n_d = sum(b.params for b in d_blocks)
    gx, dx = MARGIN, MARGIN + 2 * BOX_W + 2 * COL_GAP
    class_box = None
    parts = []
    if cfg.num_classes:
        cx = MARGIN + BOX_W + COL_GAP
        cy = MARGIN + 14 + 2 * (BOX_H + GAP)
        table = g_params.get("class_embedding")
        sub = (f"G: shared embedding {table.shape[0]}x{table.shape[1]}, + z, into every CBN" if table is not None
               else f"{cfg.num_classes} classes")
        parts.append(_box(cx, cy, "class y (labels or mixture weights)", sub, "#f6d5d4"))
        class_box = (cx, cy + BOX_H / 2)
    g_mod, d_mod = models.build(cfg)
    g_parts, g_end = _column(gx, ("Generator", f"{type(g_mod).__name__}, {n_g:,} parameters"),
                             "z ~ N(0, I)", (1, cfg.z_dim), g_blocks, None if class_box is None else
                             (class_box[0], class_box[1]), "image 32x32x3 in [-1, 1] (tanh)")
    d_parts, d_end = _column(dx, ("Discriminator", f"{type(d_mod).__name__}, {n_d:,} parameters"),
                             "image", (1, 32, 32, 3), d_blocks, None if class_box is None else
                             (class_box[0] + BOX_W, class_box[1]), "logit; sigmoid(logit) = P(real)")
    parts += g_parts + d_parts
    width, height = dx + BOX_W + MARGIN, max(g_end, d_end) + MARGIN + 40
    legend = (f'<text x="{MARGIN}" y="{height - 20}" font-size="11">model {html.escape(cfg.model)}, '
              f'z_dim {cfg.z_dim}, g_width {cfg.g_width}, d_width {cfg.d_width}, classes '
              f'{cfg.num_classes or "none (unconditional)"}. Orange blocks read the class (dashed red: '
              f'conditioning path). Traced from the Flax modules by jaxgan.diagram.</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="Helvetica, Arial, DejaVu Sans, sans-serif" font-size="12">'
            '<defs><marker id="head" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
            '<path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>'
            f'<rect width="{width}" height="{height}" fill="white"/>' + "".join(parts) + legend + "</svg>\n")


def write(cfg: Config, path) -> None:
    import pathlib

    pathlib.Path(path).write_text(svg(cfg))

