"""The README's library example runs as written (from the project root, with ../shared beside it)."""
import re

from tests.conftest import REPO


def test_library_example_runs(data_dir, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    (block,) = [b for b in blocks if "make_train_step" in b]
    assert len(block.strip().splitlines()) <= 16
    monkeypatch.chdir(REPO)
    block = block.replace('"../shared/tensorflow_datasets"', repr(str(data_dir)))
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.split()
    assert out[0] == "20" and 0 < float(out[1]) < 1 and 0 < float(out[2]) < 1
