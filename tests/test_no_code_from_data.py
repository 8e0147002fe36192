"""Nothing jaxgan reads from a run folder, a checkpoint, a weight file or an .npz is executed or unpickled.

Read from the source with `ast`: no pickle-family module is imported, `np.load` is never asked to unpickle, and
nothing calls eval/exec. The one place code is run is `config.import_experiment_file`, for experiment files a
user names (on the command line, or recorded by path in a run folder's code.json; the folder holds no code).
"""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxgan"
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}


def calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            yield node, f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)


def problems_in(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"imports from {node.module}")
    for node, name in calls(tree):
        if name in ("eval", "exec") and isinstance(node.func, ast.Name):
            found.append(f"calls {name}()")
        if name == "load":
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    found.append("np.load with allow_pickle other than False")
        if name == "exec_module":
            found.append("exec_module")
    return found


def test_the_checker_sees_the_dangerous_forms():
    assert problems_in("import pickle\nnp.load(f, allow_pickle=True)\neval('1')\n") == [
        "imports pickle", "np.load with allow_pickle other than False", "calls eval()"]
    assert problems_in("np.load(f, allow_pickle=False)\nnp.load(f)\n") == []


def test_nothing_in_the_package_unpickles_or_executes_data():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        issues = problems_in(path.read_text())
        if issues:
            found[str(path.relative_to(PACKAGE))] = issues
    assert found == {"config.py": ["exec_module"]}, found  # experiment files only: see the module docstring
