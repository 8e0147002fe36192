"""The example notebooks: both run top to bottom in quick mode; the committed ones are fresh (made by a full run of
today's library and code cells), show every figure and name no machine path; a broken cell or a removed figure
is caught."""
import copy
import importlib.util

import nbformat
import pytest

from tests.conftest import REPO, user_xla_flags

spec = importlib.util.spec_from_file_location("run_notebooks", REPO / "examples" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_notebooks)


def committed(name):
    return nbformat.read(REPO / "examples" / name, as_version=4)


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_committed_notebook_is_fresh_whole_and_portable(name):
    nb = committed(name)
    assert run_notebooks.problems(nb, name) == []
    assert len(run_notebooks.figure_cells(nb)) >= 3
    assert nb.metadata["jaxgan"]["mode"] == "full"


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_quick_mode_runs_top_to_bottom(name, tmp_path, data_dir, monkeypatch):
    """Executed in a fresh kernel on the real CIFAR-10: any cell error fails here (nbclient raises), and so does a
    figure cell without an image or a machine path in an output."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("XLA_FLAGS", user_xla_flags())  # full-size models for minutes: compiling well pays
    nb, seconds = run_notebooks.execute(REPO / "examples" / name, tmp_path / name, quick=True)
    assert run_notebooks.problems(nb, name, committed=False) == []
    assert nb.metadata["jaxgan"]["mode"] == "quick"
    assert (tmp_path / "runs").is_dir()  # it ran in the copy's folder, not in examples/
    print(f"{name}: quick mode in {seconds:.0f} s")


def test_a_removed_figure_an_edited_cell_or_an_error_is_caught():
    name = "pegasus.ipynb"
    nb = committed(name)
    run_notebooks.stamp(nb, "full", 0)  # as if just made: each case below breaks one thing
    assert run_notebooks.problems(nb, name) == []
    no_figure = copy.deepcopy(nb)
    run_notebooks.figure_cells(no_figure)[2].outputs = [
        o for o in run_notebooks.figure_cells(no_figure)[2].outputs if "data" not in o]
    assert any("figure cell 3" in p and "shows no image" in p for p in run_notebooks.problems(no_figure, name))

    edited = copy.deepcopy(nb)
    next(c for c in edited.cells if c.cell_type == "code").source += "\nprint('new')"
    assert any("code cells changed" in p for p in run_notebooks.problems(edited, name))

    failed = copy.deepcopy(nb)
    failed.cells[-2].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])]
    assert any("a cell failed: ValueError: boom" in p for p in run_notebooks.problems(failed, name))

    leaky = copy.deepcopy(nb)
    leaky.cells[1].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="cached in /home/ann/x\n"))
    assert any("machine path" in p for p in run_notebooks.problems(leaky, name))

    quick = copy.deepcopy(nb)
    quick.metadata["jaxgan"]["mode"] = "quick"
    assert any("not a full one" in p for p in run_notebooks.problems(quick, name))


def test_the_library_digest_follows_every_library_file(tmp_path):
    for top in run_notebooks.LIBRARY_DIRS:
        (tmp_path / top / "__pycache__").mkdir(parents=True)
        (tmp_path / top / "a.py").write_text("x = 1\n")
    before = run_notebooks.library_digest(tmp_path)
    (tmp_path / "jaxgan" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"cache")
    assert run_notebooks.library_digest(tmp_path) == before
    (tmp_path / "experiments" / "a.py").write_text("x = 2\n")
    assert run_notebooks.library_digest(tmp_path) != before


def test_a_failing_cell_stops_the_run_with_its_error(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / x / 0")],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nbformat.write(nb, tmp_path / "broken.ipynb")
    import nbclient.exceptions

    with pytest.raises(nbclient.exceptions.CellExecutionError, match="ZeroDivisionError"):
        run_notebooks.execute(tmp_path / "broken.ipynb", tmp_path / "out" / "broken.ipynb", quick=True)
    written = nbformat.read(tmp_path / "out" / "broken.ipynb", as_version=4)  # the failed run's outputs are kept
    assert any(o.get("ename") == "ZeroDivisionError" for o in written.cells[1].outputs)
