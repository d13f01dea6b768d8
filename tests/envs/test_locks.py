"""Lock files (`mlrun lock`): real resolutions with uv against local wheelhouses, real
builds that follow them, stale locks refused and reported, the lock's digest in every
run record; conda locks with py-rattler against a local channel."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.envs.conda_channel import build_channel, require_rattler
from tests.envs.projects import PYTHON, dry_env, python_project, run_json
from tests.envs.wheelhouse import local_package, make_wheel, module
from tests.helpers import cli, mlrun, write_project

UNPINNED = f"""\
python: "{PYTHON}"
dependencies: [mlt-alpha]
"""


def _wheelhouse(full: Path, target: Path, *names: str) -> Path:
    """A wheelhouse holding only the named wheels of the full one (the same bytes)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(full / name, target / name)
    return target


def _old_index(full: Path, tmp_path: Path) -> Path:
    """An index as it was before mlt-beta 2.0 came out."""
    return _wheelhouse(
        full,
        tmp_path / "old-index",
        "mlt_alpha-1.0-py3-none-any.whl",
        "mlt_beta-1.0-py3-none-any.whl",
    )


def _lock(project: Path, *args: str) -> dict[str, object]:
    proc = cli("lock", str(project), "--offline", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.mark.slow  # resolves and builds envs
def test_a_locked_env_builds_the_same_versions_on_another_home_when_the_index_offers_newer(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = python_project(tmp_path / "p", UNPINNED)
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(_old_index(isolated_tools, tmp_path)))
    locked = _lock(project)
    assert locked["file"] == "python_env.lock" and locked["changed"] is True
    assert locked["packages"] == ["mlt-alpha==1.0", "mlt-beta==1.0"]
    text = (project / "python_env.lock").read_text()
    assert "--hash=sha256:" in text and f"# python: {PYTHON}." in text
    first_seen, first = run_json(project)
    assert first_seen["packages"] == {"mlt_alpha": "1.0", "mlt_beta": "1.0"}

    # Another machine, months later: a fresh MLRUN_HOME, and the index has mlt-beta 2.0.
    monkeypatch.setenv("MLRUN_HOME", str(tmp_path / "home2"))
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(isolated_tools))
    seen, shown = run_json(project)
    assert seen["packages"] == {"mlt_alpha": "1.0", "mlt_beta": "1.0"}
    assert shown["env"]["built"] is True
    assert (
        shown["env"]["packages"] == first["env"]["packages"] == ["mlt-alpha==1.0", "mlt-beta==1.0"]
    )
    assert shown["env"]["lock"] == {
        "file": "python_env.lock",
        "sha256": locked["sha256"],
        "kind": "python",
    }
    assert shown["env"]["key"] == first["env"]["key"]  # the key comes from the lock
    assert shown["env"]["unpinned"] == []
    # Without the lock the same spec resolves to the newer version: the lock did it.
    unlocked, unlocked_run = run_json(project, "--no-lock")
    assert unlocked["packages"] == {"mlt_alpha": "1.0", "mlt_beta": "2.0"}
    assert "lock" not in unlocked_run["env"]


@pytest.mark.slow  # resolves and builds envs
def test_the_env_key_comes_from_the_lock(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = python_project(tmp_path / "p", UNPINNED)
    unlocked = dry_env(project)
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(_old_index(isolated_tools, tmp_path)))
    _lock(project)
    old = dry_env(project)
    assert old["lock"]["file"] == "python_env.lock" and old["key"] != unlocked["key"]
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(isolated_tools))
    relocked = _lock(project)  # the same spec, resolved again: mlt-beta 2.0 now
    assert relocked["changed"] is True and "mlt-beta==2.0" in relocked["packages"]
    new = dry_env(project)
    assert new["key"] != old["key"] and new["lock"]["sha256"] == relocked["sha256"]
    assert _lock(project)["changed"] is False  # a resolution that finds the same: same file
    assert dry_env(project, "--no-lock")["key"] == unlocked["key"]


@pytest.mark.slow  # resolves and builds envs
def test_a_stale_lock_is_refused_by_run_and_env_build_and_reported_by_validate(
    tmp_path: Path,
) -> None:
    project = python_project(tmp_path / "p", UNPINNED)
    _lock(project)
    assert cli("validate", str(project)).returncode == 0
    (project / "python_env.yaml").write_text(
        UNPINNED.replace("[mlt-alpha]", "[mlt-alpha, mlt-gamma]")
    )
    for args in (("run", str(project), "--offline"), ("env", "build", str(project), "--offline")):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert "python_env.lock: the lock is stale: python_env.yaml changed since it was made" in (
            proc.stderr
        )
        assert "run `mlrun lock` again, or pass --no-lock" in proc.stderr
    assert cli("runs", "list", "--json").stdout.strip() == "[]"  # refused before recording
    report = cli("validate", str(project), "--json")
    assert report.returncode == 2
    diagnostics = json.loads(report.stdout)["diagnostics"]
    assert [d["file"] for d in diagnostics] == [str(project / "python_env.lock")]
    assert "stale" in diagnostics[0]["message"]
    seen, _ = run_json(project, "--no-lock")  # --no-lock builds from the spec
    assert seen["packages"]["mlt_gamma"] == "1.0"
    _lock(project)
    assert cli("validate", str(project)).returncode == 0
    # Reformatting the spec is not a change.
    (project / "python_env.yaml").write_text(
        f'# the env\npython: "{PYTHON}"\ndependencies:\n  - mlt-alpha\n  - "mlt-gamma"\n'
    )
    assert cli("validate", str(project)).returncode == 0


@pytest.mark.slow  # resolves and builds envs
def test_a_wheel_whose_bytes_are_not_the_locked_ones_is_refused(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = python_project(tmp_path / "p", UNPINNED)
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(_old_index(isolated_tools, tmp_path)))
    _lock(project)
    # Someone replaced mlt-beta 1.0 on the index with other code under the same version.
    forged = tmp_path / "forged"
    _wheelhouse(isolated_tools, forged, "mlt_alpha-1.0-py3-none-any.whl")
    make_wheel(forged, "mlt-beta", "1.0", {"mlt_beta/__init__.py": module("evil", "1.0")})
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(forged))
    proc = mlrun("run", str(project), "--offline", timeout=300)
    assert proc.returncode == 125, proc.stderr
    assert "hash" in proc.stderr.lower() and "mlt-beta" in proc.stderr


@pytest.mark.slow  # resolves and builds envs
@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_a_lock_with_a_local_package_and_build_dependencies(tmp_path: Path, manager: str) -> None:
    project = python_project(
        tmp_path / "p",
        f"""\
        python: "{PYTHON}"
        build_dependencies: [pip]
        dependencies: [mlt-alpha==1.0, ./pkg]
        """,
    )
    local_package(project / "pkg", "from the project")
    locked = _lock(project)
    assert "./pkg" in locked["packages"] and any(
        str(p).startswith("pip==")
        for p in locked["packages"]  # type: ignore[union-attr]
    )
    seen, shown = run_json(project, "--env-manager", manager)
    assert seen["packages"] == {
        "mlt_alpha": "1.0",
        "mlt_beta": "2.0",
        "mlt_local": "from the project",
    }
    assert shown["env"]["lock"]["sha256"] == locked["sha256"]
    log = Path(shown["env"]["build_log"]).read_text()
    assert "--require-hashes" in log and "--no-deps" in log


def test_lock_refuses_what_it_cannot_lock(tmp_path: Path) -> None:
    bare = write_project(tmp_path / "bare", "entry_points: {main: {command: 'true'}}\n")
    proc = cli("lock", str(bare))
    assert proc.returncode == 2 and "there is nothing to lock" in proc.stderr
    proc = cli("lock", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_an_unreadable_lock_is_an_error_of_run_and_validate(tmp_path: Path) -> None:
    project = python_project(tmp_path / "p", UNPINNED)
    (project / "python_env.lock").write_text("numpy==1.0\n")
    proc = cli("run", str(project), "--dry-run")
    assert proc.returncode == 2 and "not a lock file mlrun can read" in proc.stderr
    assert "python_env.lock" in proc.stderr
    assert cli("validate", str(project)).returncode == 2
    assert cli("run", str(project), "--dry-run", "--no-lock").returncode == 0


CONDA = """\
channels: [./channel]
dependencies:
  - hello-mlrun
"""


@pytest.mark.slow  # solves and builds a conda env
def test_a_conda_lock_pins_the_channel_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_rattler()
    monkeypatch.setenv("MLRUN_CONDA_EXE", "rattler")
    project = write_project(
        tmp_path / "p",
        """\
        conda_env: conda.yaml
        entry_points:
          main:
            command: "hello-mlrun locked"
        """,
        {"conda.yaml": CONDA},
    )
    build_channel(project / "channel", version="1.0")
    locked = _lock(project)
    assert locked["file"] == "conda.lock"
    text = (project / "conda.lock").read_text()
    assert "@EXPLICIT" in text and "hello-mlrun-1.0-0.tar.bz2#sha256:" in text
    # The channel publishes 2.0: the locked env keeps 1.0.
    build_channel(project / "channel", version="2.0")
    proc = mlrun("run", str(project), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(cli("runs", "show", json.loads(proc.stdout)["run_id"], "--json").stdout)
    assert any(p.startswith("hello-mlrun=1.0=") for p in shown["env"]["packages"])
    assert shown["env"]["lock"]["sha256"] == locked["sha256"]
    assert "hello-mlrun locked from" in Path(shown["log_paths"]["stdout"]).read_text()
    unlocked = mlrun("run", str(project), "--json", "--no-lock", timeout=300)
    shown = json.loads(cli("runs", "show", json.loads(unlocked.stdout)["run_id"], "--json").stdout)
    assert any(p.startswith("hello-mlrun=2.0=") for p in shown["env"]["packages"])
    (project / "conda.yaml").write_text(CONDA + "  - python\n")
    assert cli("validate", str(project)).returncode == 2


def test_lock_paths_sit_beside_the_spec(tmp_path: Path) -> None:
    from mlrun.envs.lockfile import lock_path
    from mlrun.spec.loader import load_project

    project = write_project(
        tmp_path / "p",
        "python_env: envs/train.yaml\nentry_points: {main: {command: 'true'}}\n",
        {"envs/train.yaml": "dependencies: []\n"},
    )
    assert lock_path(load_project(project)) == project / "envs" / "train.lock"
    docker = write_project(tmp_path / "d", "docker_env: {image: x}\nentry_points: {}\n")
    assert lock_path(load_project(docker)) == docker / "docker_env.lock"
    assert os.path.basename(
        str(lock_path(load_project(python_project(tmp_path / "q", UNPINNED))))
    ) == ("python_env.lock")
