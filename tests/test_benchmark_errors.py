"""`benchmarks/user_errors.py` and the scripts in `benchmarks/` that end through it: a user's mistake is one line on
stderr and exit 2, as with the `jaxgan` command."""
import ast
import contextlib
import doctest
import importlib.util
import io
import subprocess
import sys

import pytest

from jaxgan import cli
from jaxgan.errors import UserError
from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("user_errors", REPO / "benchmarks" / "user_errors.py")
user_errors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(user_errors)
# The one copy: scripts that tests import (conftest.benchmark_script) import it by name, and doctest finds run_main's
# example only when inspect.getmodule(run_main) is this module.
sys.modules["user_errors"] = user_errors
run_main, EXIT_USER_ERROR = user_errors.run_main, user_errors.EXIT_USER_ERROR


def test_the_exit_status_is_the_jaxgan_commands():
    assert EXIT_USER_ERROR == cli.EXIT_USER_ERROR == 2


def test_its_docstring_example_runs():
    result = doctest.testmod(user_errors, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def _run(main):
    with contextlib.redirect_stderr(io.StringIO()) as err:
        status = run_main(main, "demo")
    return status, err.getvalue()


def test_a_user_error_is_one_line_and_exit_2():
    def main():
        raise UserError("--n must be at least 1, got 0")

    assert _run(main) == (EXIT_USER_ERROR, "demo: error: --n must be at least 1, got 0\n")


def test_the_entry_points_own_status_passes_through():
    assert _run(lambda: None) == (0, "")
    assert _run(lambda: 5) == (5, "")


def test_a_bug_keeps_its_traceback():
    def main():
        raise KeyError("not the user's fault")

    with pytest.raises(KeyError):
        run_main(main, "demo")


def _scripts_importing_jaxgan():
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        if path.name == "user_errors.py":
            continue
        tree = ast.parse(path.read_text())
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in imports if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in imports if isinstance(n, ast.ImportFrom)]
        if any(m == "jaxgan" or m.startswith("jaxgan.") or m == "train_step" for m in names):
            yield path, tree


def test_every_benchmark_that_uses_jaxgan_exits_through_run_main():
    """A script that can raise UserError (through jaxgan) must not end in a traceback for it."""
    scripts, missing = list(_scripts_importing_jaxgan()), []
    for path, tree in scripts:
        guard = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
        body = ast.unparse(guard[0]) if guard else ""
        if f'run_main(main, {path.stem!r})' not in body.replace('"', "'"):
            missing.append(path.name)
    assert len(scripts) >= 15
    assert not missing, f"not ended by sys.exit(run_main(main, NAME)): {', '.join(missing)}"


@pytest.mark.parametrize("script, args, words", [
    ("saturation.py", ["--pretrained", "no_such_model"], "unknown pretrained model 'no_such_model'"),
    ("ship_check.py", ["x=/no/such/run", "--shipped", "/no/such/bundle"], "/no/such"),
])
def test_a_benchmark_given_a_wrong_name_says_so_in_one_line(script, args, words):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == EXIT_USER_ERROR, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(f"{script[:-3]}: error: ") and words in lines[0], done.stderr
