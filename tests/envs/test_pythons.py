"""Every Python from 3.8 up that this machine has, with every manager that builds a venv:
real builds, offline from the test wheelhouse, run through the CLI. CI guarantees 3.8,
3.10, 3.12 and 3.13 (.ci/install-pythons); the others are tested where they are found.

conda is not in the matrix: a conda env gets its Python from a conda channel, not from
the machine, and no channel with real Pythons is reachable here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlrun.envs.python.interpreters import find, listed
from tests.conftest import require_service
from tests.envs.projects import assert_bytecode_used, conda_project, python_project, run_json
from tests.helpers import mlrun

pytestmark = pytest.mark.slow  # every test builds an env

REQUIRED = ("3.8", "3.10", "3.12", "3.13")  # what CI makes sure exist
OLDEST = (3, 8)  # the oldest Python projects pin that mlrun supports in envs
MINORS = sorted(
    {m for m in listed() if tuple(map(int, m.split("."))) >= OLDEST} | set(REQUIRED),
    key=lambda m: tuple(map(int, m.split("."))),
)


def _require(minor: str) -> None:
    require_service(minor in listed(), f"no Python {minor} on this machine")


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
@pytest.mark.parametrize("minor", MINORS)
def test_every_python_with_every_manager(tmp_path: Path, manager: str, minor: str) -> None:
    _require(minor)
    project = python_project(
        tmp_path / "p", f'python: "{minor}"\ndependencies: [mlt-alpha==1.0, mlt-beta==1.0]\n'
    )
    seen, shown = run_json(project, "--env-manager", manager)
    env = shown["env"]
    assert shown["status"] == "FINISHED" and env["built"] is True
    assert seen["packages"] == {"mlt_alpha": "1.0", "mlt_beta": "1.0"}
    assert env["python"]["version"].startswith(minor + ".")
    prefix = Path(env["path"])
    version = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert ".".join(version) == minor  # the env's interpreter is the one asked for
    for module in ("mlt_alpha", "mlt_beta"):
        assert_bytecode_used(prefix, module)
    if manager == "virtualenv":  # pip is in the env and runs on that Python
        pip = subprocess.run(
            [str(prefix / "bin" / "python"), "-m", "pip", "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"(python {minor})" in pip and env["tools"]["pip"] in pip


def _stripped_ensurepip(root: Path) -> Path:
    """A PYTHONPATH entry that hides the interpreter's ensurepip, as distributions that
    split it into another package (Debian's python3.X-venv) leave it."""
    module = root / "ensurepip"
    module.mkdir(parents=True)
    (module / "__init__.py").write_text("")
    (module / "__main__.py").write_text("raise SystemExit('No module named ensurepip')\n")
    return root


def test_python_38_virtualenv_without_ensurepip_gets_pip_from_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """virtualenv bundles no pip for 3.8; without ensurepip either, pip comes from the
    package index (here a local one holding the pip that supports 3.8), else the build
    fails with one sentence saying what to install."""
    _require("3.8")
    found, _ = find("3.8")
    assert found is not None
    bundled = subprocess.run(  # the pip wheels Python 3.8 ships with: our package index
        [found.path, "-c", "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wheels = sorted(Path(bundled, "_bundled").glob("pip-*.whl"))
    if not wheels:
        pytest.skip(f"Python {found.version} ships no pip wheel to serve as the index")
    monkeypatch.setenv("PYTHONPATH", str(_stripped_ensurepip(tmp_path / "stripped")))
    project = python_project(tmp_path / "p", 'python: "3.8"\ndependencies: [mlt-gamma==1.0]\n')
    failed = mlrun("run", str(project), "--offline", "--env-manager", "virtualenv", timeout=300)
    assert failed.returncode == 125, failed.stderr
    assert "cannot put pip into a virtualenv for Python 3.8" in failed.stderr
    assert "python3.8-venv" in failed.stderr and "Traceback" not in failed.stderr
    log = Path(failed.stderr.split("full build log: ")[1].split()[0]).read_text()
    assert "No module named ensurepip" in log

    links = tmp_path / "links"
    links.mkdir()
    wheel = wheels[-1]
    (links / wheel.name).write_bytes(wheel.read_bytes())
    monkeypatch.setenv("MLRUN_FIND_LINKS", f"{os.environ['MLRUN_FIND_LINKS']} {links}")
    seen, shown = run_json(project, "--env-manager", "virtualenv")
    assert seen["packages"] == {"mlt_gamma": "1.0"}
    assert shown["env"]["tools"]["pip"] == wheel.name.split("-")[1]
    log = Path(shown["env"]["build_log"]).read_text()
    assert "installing pip from the package index" in log


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
@pytest.mark.parametrize("minor", REQUIRED)
def test_conda_yaml_without_conda_with_the_pythons_ci_has(
    tmp_path: Path, manager: str, minor: str
) -> None:
    """A conda.yaml pinning each Python, built without conda: its Python, its `pip:`
    section, and with --conda-to-pip its conda package that has a pip name."""
    _require(minor)
    project = conda_project(
        tmp_path / "p",
        f"""\
        channels: [conda-forge]
        dependencies:
          - python={minor}
          - mlt-beta=1.0
          - cudatoolkit=11.3
          - pip:
            - mlt-gamma==1.0
        """,
    )
    seen, shown = run_json(project, "--env-manager", manager, "--conda-to-pip")
    assert seen["packages"] == {"mlt_beta": "1.0", "mlt_gamma": "1.0"}
    assert shown["env"]["python"]["version"].startswith(minor + ".")
    assert shown["env"]["conda_to_pip"] == {"installed": ["mlt-beta==1.0.*"], "skipped": []}
    assert_bytecode_used(Path(shown["env"]["path"]), "mlt_beta")
