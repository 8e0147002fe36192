"""The package's import graph has no cycle, counting every import statement (function-local ones included).

A cycle makes module order matter and hides coupling; the run-folder module exists so that no library module needs
the command line. The checker reads the source with `ast`, so it sees imports that never run in a test.
"""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxgan"


def module_names() -> dict[str, pathlib.Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("jaxgan",) + path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(path: pathlib.Path, name: str, known: set[str]) -> set[str]:
    """Every jaxgan module `path` imports anywhere in its body; a `from P import x` counts as P.x when that is a
    module, else as P."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = module_names()
    return {name: imports_of(path, name, set(mods)) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first repeated at the end), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_checker_reads_local_and_relative_imports(tmp_path):
    pkg = tmp_path / "jaxgan"
    pkg.mkdir()
    (pkg / "a.py").write_text("def f():\n    from jaxgan import b\n")
    (pkg / "b.py").write_text("from . import a\n")
    known = {"jaxgan", "jaxgan.a", "jaxgan.b"}
    assert imports_of(pkg / "a.py", "jaxgan.a", known) == {"jaxgan.b"}
    assert imports_of(pkg / "b.py", "jaxgan.b", known) == {"jaxgan.a"}


def test_no_import_cycle_in_the_package():
    edges = graph()
    assert len(edges) > 20  # the walk found the package
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
