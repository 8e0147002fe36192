"""Runs the example notebooks top to bottom and stamps them; checks that committed outputs are not stale.

    python examples/run_notebooks.py                  # full run, outputs written into the notebooks (make notebooks)
    python examples/run_notebooks.py --quick --out D  # quick mode (JAXGAN_NOTEBOOK_QUICK=1), copies written to D
    python examples/run_notebooks.py --check          # the committed notebooks: fresh, whole, no machine paths

A full run records in each notebook's metadata (`metadata.jaxgan`) the package version, a digest of the library
it ran against (every file of jaxgan/ and experiments/ but caches) and a digest of its own code cells. `--check`
(and tests/test_notebooks.py) compares them with the checkout: a notebook whose library or code cells changed
after its outputs were made is stale, and `make notebooks` brings it up to date. Cells tagged `figure` must show
an image (PNG or SVG). Notebooks run with the folder they are in as the current directory (in `--out` mode, the
copy's folder), so what they write goes under `runs/` there. Set TFDS_DATA_DIR for the prepared CIFAR-10;
without it (and without ../shared/tensorflow_datasets beside the project) tfds downloads it.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import re
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
NOTEBOOKS = ("pegasus.ipynb", "research.ipynb")
QUICK_ENV = "JAXGAN_NOTEBOOK_QUICK"
FIGURE_TAG = "figure"
IMAGE_TYPES = ("image/png", "image/svg+xml")
LIBRARY_DIRS = ("jaxgan", "experiments")
# Paths that name one machine: a user's home, a temp folder, this checkout. Committed outputs must hold none.
MACHINE_PATH = re.compile(r"/(?:home|root|Users|tmp|var/folders|work)/|[A-Za-z]:\\(?:Users|Windows)\\")


def library_digest(repo: pathlib.Path = REPO) -> str:
    """sha256 over the library's files (path and bytes), caches left out.

    Args:
      repo: the checkout's root.

    Returns:
      A hex digest that changes when any file of jaxgan/ or experiments/ does.
    """
    h = hashlib.sha256()
    for top in LIBRARY_DIRS:
        for path in sorted((repo / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                h.update(path.relative_to(repo).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def code_digest(nb) -> str:
    """sha256 over the notebook's code cells' sources, in order.

    Args:
      nb: an nbformat notebook.

    Returns:
      A hex digest.
    """
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(cell.source.encode() + b"\0")
    return h.hexdigest()


def drop_duplicate_pictures(nb) -> None:
    """Keeps one rendering of each picture: a PIL image offers PNG and JPEG, and the PNG is the exact one."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                data.pop("image/jpeg", None)


def stamp(nb, mode: str, seconds: float) -> None:
    """Records what the outputs were made with in `nb.metadata["jaxgan"]`."""
    import jaxgan

    nb.metadata["jaxgan"] = {"version": jaxgan.__version__, "library_digest": library_digest(),
                             "code_digest": code_digest(nb), "mode": mode, "seconds": round(seconds)}


def figure_cells(nb) -> list:
    """The code cells tagged `figure` (each must show an image)."""
    return [c for c in nb.cells if c.cell_type == "code" and FIGURE_TAG in c.metadata.get("tags", [])]


def has_image(cell) -> bool:
    return any(t in out.get("data", {}) for out in cell.get("outputs", []) for t in IMAGE_TYPES)


def output_text(nb) -> str:
    """Every text output of the notebook (streams, plain text, HTML, errors), joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            for kind, value in out.get("data", {}).items():
                if kind.startswith("text/"):
                    parts.append(value if isinstance(value, str) else "".join(value))
            parts.extend(out.get("traceback", []))
    return "\n".join(parts)


def problems(nb, name: str, committed: bool = True) -> list[str]:
    """What is wrong with an executed notebook.

    Args:
      nb: the notebook.
      name: its name, for the messages.
      committed: also check the stamp against the checkout (a committed notebook must be fresh and full).

    Returns:
      One line per problem; empty when it is fine.
    """
    found = []
    for i, cell in enumerate(figure_cells(nb)):
        if not has_image(cell):
            found.append(f"{name}: figure cell {i + 1} ({cell.source.splitlines()[0][:60]!r}) shows no image")
    if not figure_cells(nb):
        found.append(f"{name}: no cell is tagged '{FIGURE_TAG}'")
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"{name}: a cell failed: {out.get('ename')}: {out.get('evalue')}")
    text = output_text(nb)
    match = MACHINE_PATH.search(text)
    if match:
        around = text[max(0, match.start() - 40):match.end() + 40]
        found.append(f"{name}: an output names a machine path: ...{around}...")
    if committed:
        meta = nb.metadata.get("jaxgan")
        if not meta:
            found.append(f"{name}: no outputs stamp (run `make notebooks`)")
        else:
            if meta.get("mode") != "full":
                found.append(f"{name}: committed outputs come from a {meta.get('mode')} run, not a full one")
            if meta.get("code_digest") != code_digest(nb):
                found.append(f"{name}: code cells changed after the outputs were made (run `make notebooks`)")
            if meta.get("library_digest") != library_digest():
                found.append(f"{name}: the library changed after the outputs were made (run `make notebooks`)")
            import jaxgan

            if meta.get("version") != jaxgan.__version__:
                found.append(f"{name}: outputs made with jaxgan {meta.get('version')}, the package is "
                             f"{jaxgan.__version__}")
    return found


def execute(path: pathlib.Path, out: pathlib.Path, quick: bool, timeout: int = 1800) -> tuple[object, float]:
    """Runs the notebook at `path` top to bottom in a fresh kernel, with `out`'s folder as the current directory,
    and writes the executed notebook (stamped) to `out`.

    Args:
      path: the notebook to run.
      out: where the executed copy goes (may be `path`).
      quick: run in quick mode ($JAXGAN_NOTEBOOK_QUICK=1).
      timeout: seconds any one cell may take.

    Returns:
      (the executed notebook, seconds taken).

    Raises:
      nbclient.exceptions.CellExecutionError: a cell failed (the copy at `out` is written first, outputs and all).
    """
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get(QUICK_ENV)
    os.environ[QUICK_ENV] = "1" if quick else "0"  # the kernel inherits this process's environment
    start = time.perf_counter()
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(out.parent)}})
        try:
            client.execute()
        finally:
            seconds = time.perf_counter() - start
            drop_duplicate_pictures(nb)
            stamp(nb, "quick" if quick else "full", seconds)
            nbformat.write(nb, out)
    finally:
        if previous is None:
            os.environ.pop(QUICK_ENV, None)
        else:
            os.environ[QUICK_ENV] = previous
    return nb, seconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", default=list(NOTEBOOKS), help="names in examples/ (default: all)")
    p.add_argument("--quick", action="store_true", help="quick mode; needs --out")
    p.add_argument("--out", type=pathlib.Path, help="write executed copies here instead of in place")
    p.add_argument("--check", action="store_true", help="only check the committed notebooks")
    args = p.parse_args(argv)
    import nbformat

    if args.check:
        found = [line for name in args.notebooks
                 for line in problems(nbformat.read(HERE / name, as_version=4), name)]
        print("\n".join(found) or f"{', '.join(args.notebooks)}: fresh, every figure shown, no machine paths")
        return 1 if found else 0
    if args.quick and args.out is None:
        p.error("--quick writes copies: give --out DIR")
    if "TFDS_DATA_DIR" not in os.environ and (REPO.parent / "shared" / "tensorflow_datasets").is_dir():
        os.environ["TFDS_DATA_DIR"] = str(REPO.parent / "shared" / "tensorflow_datasets")
    status = 0
    for name in args.notebooks:
        out = HERE / name if args.out is None else args.out / name
        nb, seconds = execute(HERE / name, out, args.quick)
        found = problems(nb, name, committed=False)
        print(f"{name}: {'quick' if args.quick else 'full'} run in {seconds:.0f} s"
              + ("" if not found else "\n  " + "\n  ".join(found)), flush=True)
        status |= bool(found)
    return status


if __name__ == "__main__":
    sys.exit(main())
