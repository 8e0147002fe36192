"""Everything `import jaxgan` exposes has an Args/Returns docstring, and docs/API.md is generated from them."""
import importlib.util
import inspect

import pytest

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("make_api", REPO / "docs" / "make_api.py")
make_api = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_api)


def documented():
    for module in make_api.public_modules():
        for name, obj in make_api.members(module):
            yield f"{module.__name__}.{name}", obj
            if inspect.isclass(obj):
                for mname, m in make_api.methods(obj):
                    yield f"{module.__name__}.{name}.{mname}", m


def problems(obj) -> list[str]:
    """What the docstring of a public function, method, property or class lacks."""
    if isinstance(obj, property):
        return [] if inspect.getdoc(obj.fget) else ["no docstring"]
    doc = inspect.getdoc(obj)
    if not doc:
        return ["no docstring"]
    if inspect.isclass(obj):
        return []
    sig = inspect.signature(obj)
    params = [p for p in sig.parameters if p not in ("self", "cls")]
    out = []
    if params and "Args:" not in doc:
        out.append("no Args:")
    returns_none = sig.return_annotation in (None, "None") or obj.__name__ == "__init__"
    if not returns_none and "Returns:" not in doc:
        out.append("no Returns:")
    return out


def test_every_public_function_has_args_and_returns():
    missing = {name: p for name, obj in documented() if (p := problems(obj))}
    assert not missing, "\n".join(f"{k}: {', '.join(v)}" for k, v in sorted(missing.items()))


def test_the_check_can_fail():
    def undocumented(x):
        return x

    def documented_fn(x):
        """Doubles.

        Args:
          x: a number.

        Returns:
          2x.
        """
        return 2 * x

    assert problems(undocumented) == ["no docstring"]
    assert problems(documented_fn) == []


def test_api_md_is_generated_from_the_docstrings():
    text = make_api.render()
    assert "### `def jaxgan.models.register(" in text and "### `class jaxgan.state.GANState(" in text
    on_disk = (REPO / "docs" / "API.md").read_text()
    assert on_disk == text, "docs/API.md is out of date: run python docs/make_api.py"


@pytest.mark.parametrize("module", ["jaxgan.losses", "jaxgan.models.spec", "jaxgan.models", "jaxgan.augment",
                                    "jaxgan.config", "jaxgan.parallel", "jaxgan.layers", "jaxgan.wings",
                                    "jaxgan.sampling", "jaxgan.report"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
