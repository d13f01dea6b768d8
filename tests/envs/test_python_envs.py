"""Real python_env builds, offline from the test wheelhouse, with uv and with
virtualenv + pip, run through the CLI as a user would."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.envs.projects import (
    PYTHON,
    assert_bytecode_used,
    conda_project,
    dry_env,
    python_project,
    run_json,
)
from tests.envs.wheelhouse import local_package
from tests.helpers import cli, mlrun

ENV = f"""\
python: "{PYTHON}"
build_dependencies: [pip]
dependencies:
  - mlt-alpha==1.0
  - mlt-beta==1.0
"""


@pytest.mark.slow  # builds envs
@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_env_is_built_offline_and_the_entry_point_imports_it(tmp_path: Path, manager: str) -> None:
    project = python_project(tmp_path / "p", ENV)
    seen, shown = run_json(project, "--env-manager", manager)
    env = shown["env"]
    assert shown["status"] == "FINISHED" and shown["env_kind"] == manager
    assert seen["packages"] == {"mlt_alpha": "1.0", "mlt_beta": "1.0"}
    prefix = env["path"]
    assert Path(prefix).is_dir() and env["key"] in prefix
    assert seen["prefix"] == prefix and seen["VIRTUAL_ENV"] == prefix
    assert seen["PATH0"] == str(Path(prefix) / "bin")
    assert seen["executable"].startswith(prefix)
    assert env["built"] is True
    assert {"mlt-alpha==1.0", "mlt-beta==1.0"} <= set(env["packages"])
    assert any(p.startswith("pip==") for p in env["packages"])
    assert env["python"]["version"].startswith(PYTHON + ".")
    assert (
        (set(env["tools"]) >= {"uv"})
        if manager == "uv"
        else (set(env["tools"]) >= {"virtualenv", "pip"})
    )
    assert "installing dependencies" in Path(env["build_log"]).read_text()
    seen2, shown2 = run_json(project, "--env-manager", manager)
    assert shown2["env"]["key"] == env["key"] and shown2["env"]["built"] is False
    assert seen2 == seen


@pytest.mark.slow  # builds envs
@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_bytecode_is_compiled_at_build_time_whatever_mlruns_environment_says(
    tmp_path: Path, manager: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run imports compiled bytecode, as every later one does, even when mlrun
    runs with PYTHONDONTWRITEBYTECODE=1 (common in CI images: every run would compile
    again), SOURCE_DATE_EPOCH (which makes hash-checked .pyc files) or a
    PYTHONPYCACHEPREFIX (which would put them outside the env)."""
    elsewhere = tmp_path / "pycache-prefix"
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(elsewhere))
    project = python_project(tmp_path / "p", ENV)
    _, shown = run_json(project, "--env-manager", manager)
    prefix = Path(shown["env"]["path"])
    for module in ("mlt_alpha", "mlt_beta"):
        assert_bytecode_used(prefix, module)
    assert not elsewhere.exists()
    marker = json.loads((prefix.parent / "mlrun-env.json").read_text())
    key = shown["env"]["key"]
    assert marker["key"] == key  # compiling changes nothing the key or marker say
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE")
    _, again = run_json(project, "--env-manager", manager)
    assert again["env"]["key"] == key and again["env"]["built"] is False


@pytest.mark.slow  # builds envs
def test_uv_envs_compile_all_but_test_suites_and_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = f'python: "{PYTHON}"\nbuild_dependencies: [pip]\ndependencies: [mlt-gamma==1.0]\n'
    _, shown = run_json(python_project(tmp_path / "p", env))
    site = next(Path(shown["env"]["path"]).glob("lib/*/site-packages"))
    assert_bytecode_used(Path(shown["env"]["path"]), "mlt_gamma")
    assert not (site / "mlt_gamma" / "tests" / "__pycache__").exists()
    assert (site / "pip").is_dir() and not list((site / "pip").rglob("*.pyc"))
    assert "compiling bytecode" in Path(shown["env"]["build_log"]).read_text()
    monkeypatch.setenv("MLRUN_COMPILE_BYTECODE", "0")  # the way out for huge envs
    _, skipped = run_json(python_project(tmp_path / "q", env), "--rebuild-env")
    site = next(Path(skipped["env"]["path"]).glob("lib/*/site-packages"))
    assert skipped["env"]["built"] is True
    assert not (site / "mlt_gamma" / "__pycache__").exists()


@pytest.mark.slow  # builds envs
def test_reformatted_yaml_keeps_the_key_a_changed_dependency_does_not(tmp_path: Path) -> None:
    project = python_project(tmp_path / "p", ENV)
    first = dry_env(project)
    assert first["cached"] is False and first["builder"] == "uv"
    assert first["python"].startswith(PYTHON + ".") and first["unpinned"] == []
    envs = Path(os.environ["MLRUN_HOME"]) / "cache" / "envs"
    assert not (envs / first["key"]).exists()  # a dry run builds nothing
    _, shown = run_json(project)
    assert shown["env"]["key"] == first["key"]
    (project / "python_env.yaml").write_text(
        "# reformatted: flow style, other quotes, other key order, comments\n"
        f"dependencies: ['mlt-alpha == 1.0', \"mlt-beta==1.0\"]  # pinned\n"
        f"build_dependencies: [ pip ]\npython: '{PYTHON}'\n"
    )
    same = dry_env(project)
    assert same["key"] == first["key"] and same["cached"] is True
    _, shown = run_json(project)
    assert shown["env"]["built"] is False
    (project / "python_env.yaml").write_text(ENV.replace("mlt-beta==1.0", "mlt-beta==2.0"))
    changed = dry_env(project)
    assert changed["key"] != first["key"] and changed["cached"] is False
    seen, shown = run_json(project)
    assert seen["packages"]["mlt_beta"] == "2.0" and shown["env"]["built"] is True


@pytest.mark.slow  # builds an env
def test_requirements_file_and_local_package(tmp_path: Path) -> None:
    project = python_project(
        tmp_path / "p",
        f"""\
        python: "{PYTHON}"
        dependencies: ["-r requirements.txt", ./localpkg]
        """,
        {"requirements.txt": "mlt-gamma==1.0\n"},
    )
    local_package(project / "localpkg", "local-one")
    seen, shown = run_json(project)
    assert seen["packages"] == {"mlt_gamma": "1.0", "mlt_local": "local-one"}
    key = shown["env"]["key"]
    (project / "requirements.txt").write_text("mlt-gamma==1.0\nmlt-beta==1.0\n")
    seen, shown = run_json(project)
    assert shown["env"]["key"] != key and seen["packages"]["mlt_beta"] == "1.0"
    key = shown["env"]["key"]
    local_package(project / "localpkg", "local-two")  # the local package's code changed
    seen, shown = run_json(project)
    assert shown["env"]["key"] != key and seen["packages"]["mlt_local"] == "local-two"


@pytest.mark.slow  # builds an env
def test_unpinned_requirement_warns_and_rebuild_resolves_again(tmp_path: Path) -> None:
    project = python_project(
        tmp_path / "p",
        f"""\
        python: "{PYTHON}"
        dependencies: [mlt-beta]
        """,
    )
    proc = mlrun("run", str(project), "--offline")
    assert proc.returncode == 0, proc.stderr
    assert "not pinned" in proc.stderr and "mlt-beta" in proc.stderr
    assert "--rebuild-env" in proc.stderr
    seen, shown = run_json(project, "--rebuild-env")
    assert shown["env"]["built"] is True and shown["env"]["unpinned"] == ["mlt-beta"]
    assert seen["packages"]["mlt_beta"] == "2.0"


@pytest.mark.slow  # starts an env build
def test_failed_build_is_exit_125_with_the_log_tail(tmp_path: Path) -> None:
    project = python_project(
        tmp_path / "p",
        f"""\
        python: "{PYTHON}"
        dependencies: [mlt-missing==9.9]
        """,
    )
    proc = mlrun("run", str(project), "--offline")
    assert proc.returncode == 125, proc.stderr
    assert "mlt-missing" in proc.stderr and "Traceback" not in proc.stderr
    assert "installing dependencies" in proc.stderr
    log = proc.stderr.split("full build log: ")[1].split()[0]
    assert Path(log).is_file() and "mlt-missing" in Path(log).read_text()
    runs = json.loads(cli("runs", "list", "--json", check=True).stdout)
    assert [(r["status"], r["exit_code"]) for r in runs] == [("FAILED", 125)]
    assert log in runs[0]["status_reason"]  # the log is attached to the failed run


def test_missing_python_version_is_exit_125_naming_it(tmp_path: Path) -> None:
    project = python_project(tmp_path / "p", 'python: "3.99"\ndependencies: []\n')
    dry = cli("run", str(project), "--dry-run", "--json")
    assert dry.returncode == 2  # the plan, with what would stop the run
    plan = json.loads(dry.stdout)
    assert "3.99" in plan["env"]["description"]
    assert [p["exit_code"] for p in plan["problems"]] == [125]
    proc = cli("run", str(project))
    assert proc.returncode == 125
    assert "Python 3.99" in proc.stderr and "uv python install 3.99" in proc.stderr
    assert "Traceback" not in proc.stderr
    runs = json.loads(cli("runs", "list", "--json", check=True).stdout)
    assert [r["status"] for r in runs] == ["FAILED"]


def test_bad_python_env_yaml_is_exit_2(tmp_path: Path) -> None:
    project = python_project(tmp_path / "p", "python: 3.10\n")
    proc = cli("run", str(project))
    assert proc.returncode == 2
    assert "python_env.yaml:1" in proc.stderr and "quoted" in proc.stderr


@pytest.mark.slow  # builds an env
def test_conda_yaml_under_uv_uses_its_python_and_pip_section(tmp_path: Path) -> None:
    project = conda_project(
        tmp_path / "p",
        f"""\
        channels: [conda-forge]
        dependencies:
          - python={PYTHON}
          - pip
          - pip: [mlt-alpha==1.0, mlt-beta==1.0]
        """,
    )
    seen, shown = run_json(project, "--env-manager", "uv")
    assert shown["env_kind"] == "uv"
    assert seen["packages"] == {"mlt_alpha": "1.0", "mlt_beta": "1.0"}
