"""jaxgan diagram: the SVG is traced from the models (layers, shapes, conditioning paths) and is valid XML."""
import xml.etree.ElementTree as ET

import pytest

import jaxgan
from jaxgan import cli, diagram


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # valid XML, or this raises
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_conditional_model_shows_layers_shapes_and_conditioning():
    cfg = jaxgan.load_experiment("cgan")
    g, _, d, _ = diagram.networks(cfg)
    assert [b.kind for b in g].count("ConditionalBatchNorm") == 3 and all(
        b.conditional for b in g if b.kind == "ConditionalBatchNorm")
    assert [b.out_shape[1:] for b in g if b.kind == "UpsampleConv"] == [(8, 8, 128), (16, 16, 64), (32, 32, 3)]
    assert any(b.name == "class_projection" and b.conditional for b in d)
    texts = _texts(diagram.svg(cfg))
    assert "class y (labels or mixture weights)" in texts
    assert any("4x4x256 -> 8x8x128" in t for t in texts)
    assert sum(t == "ConditionalBatchNorm" for t in texts) == 3
    assert svg_arrows(diagram.svg(cfg)) == 4  # class -> three CBNs and the projection


def svg_arrows(svg: str) -> int:
    return svg.count('stroke-dasharray="5,3"')


def test_changing_the_model_changes_the_diagram():
    small = diagram.svg(jaxgan.load_experiment("cgan", ["g_width=32"]))
    assert any("4x4x128 -> 8x8x64" in t for t in _texts(small))
    plain = diagram.svg(jaxgan.load_experiment("dcgan"))
    assert "class y" not in plain and svg_arrows(plain) == 0 and "BatchNorm" in plain


def test_cli(tmp_path, capsys):
    out = tmp_path / "g.svg"
    assert cli.main(["diagram", "--experiment", "pegasus", "--out", str(out)]) == 0
    assert "Generator" in _texts(out.read_text())
    for args, words in ([["--experiment", "cgan", "--out", str(tmp_path / "g.png")], ".svg"],
                        [["--workdir", str(tmp_path), "--out", str(out)], "not a jaxgan run folder"],
                        [["--out", str(out)], "give one of"]):
        capsys.readouterr()
        assert cli.main(["diagram", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0]


@pytest.mark.parametrize("experiment", ["sngan", "dcgan_tutorial"])
def test_every_model_can_be_drawn(experiment):
    assert "Discriminator" in _texts(diagram.svg(jaxgan.load_experiment(experiment)))
