"""A wheel built from a clean copy of the repository (`pip wheel .`) carries every package and the evaluator's
weights, installs, and runs `jaxgan experiments` outside the source tree."""
import os
import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_from_a_clean_copy_installs_and_runs(tmp_path):
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, check=True).stdout.decode().split("\0")
    src = tmp_path / "src"
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((REPO / name).read_bytes())
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "-w", str(tmp_path / "dist"), str(src)], check=True, timeout=600)
    (wheel,) = (tmp_path / "dist").glob("jaxgan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.parent.relative_to(REPO)) for p in (REPO / "jaxgan").rglob("__init__.py")}
    packages |= {"jaxgan/experiments/" + str(p.parent.relative_to(REPO / "experiments"))
                 for p in (REPO / "experiments").rglob("__init__.py")}
    packages = {p.replace("/.", "") for p in packages}
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert not missing, f"packages left out of the wheel: {missing}"
    assert "jaxgan/evaluator/cifar10_evaluator.msgpack" in names and "jaxgan/experiments/dcgan.py" in names

    site = tmp_path / "site"
    subprocess.run(pip + ["install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=600)
    env = dict(os.environ, PYTHONPATH=str(site))
    where = tmp_path / "elsewhere"
    where.mkdir()
    out = subprocess.run([str(site / "bin" / "jaxgan"), "experiments"], cwd=where, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert {"cgan", "dcgan", "pegasus"} <= set(out.stdout.split())
    origin = subprocess.run([sys.executable, "-c", "import jaxgan; print(jaxgan.__file__)"], cwd=where, env=env,
                            capture_output=True, text=True, check=True).stdout.strip()
    assert origin.startswith(str(site)), origin  # the installed copy ran, not the source tree
