"""`mlrun env build|list|prune` with real envs; prune never touches an env in use."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrun.envs.cache.inventory import list_envs, prune
from tests.envs.projects import PYTHON, python_project, run_json
from tests.helpers import cli, mlrun, wait_until

ENV = f"""\
python: "{PYTHON}"
dependencies: [mlt-alpha==1.0, mlt-beta==1.0]
"""


@pytest.mark.slow  # builds an env
def test_env_build_prepares_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    project = python_project(tmp_path / "p", ENV, command=f"touch {marker}")
    built = mlrun("env", "build", str(project), "--offline", "--json", check=True)
    record = json.loads(built.stdout)
    assert record["built"] is True and record["kind"] == "uv"
    assert "mlt-alpha==1.0" in record["packages"]
    assert not marker.exists()
    again = mlrun("env", "build", str(project), "--offline", check=True)
    assert f"uv env {record['key']} (cached)" in again.stdout
    _, shown = run_json(python_project(tmp_path / "p", ENV))
    assert shown["env"]["key"] == record["key"] and shown["env"]["built"] is False
    local = python_project(tmp_path / "q", ENV)
    (local / "python_env.yaml").unlink()
    (local / "MLproject").write_text("entry_points: {main: {command: 'true'}}\n")
    assert "nothing to build" in mlrun("env", "build", str(local), check=True).stdout


@pytest.mark.slow  # builds envs
def test_env_list(tmp_path: Path) -> None:
    assert "no cached environments" in cli("env", "list", check=True).stdout
    one = python_project(tmp_path / "one", ENV)
    two = python_project(tmp_path / "two", ENV.replace("mlt-beta==1.0", "mlt-beta==2.0"))
    run_json(one)
    run_json(two)
    run_json(python_project(tmp_path / "three", ENV))  # shares one's env
    found = json.loads(cli("env", "list", "--json", check=True).stdout)
    assert len(found) == 2
    by_projects = {tuple(e["projects"]): e for e in found}
    assert set(by_projects) == {(str(one), str(tmp_path / "three")), (str(two),)}
    for entry in found:
        assert entry["kind"] == "uv" and entry["state"] == "ready" and entry["size"] > 0
        assert entry["last_used"] >= entry["created"] and not entry["in_use"]
        assert entry["python"].startswith(PYTHON) and entry["packages"] == 2
    text = cli("env", "list", check=True).stdout
    assert text.splitlines()[0].split() == [
        "KEY",
        "KIND",
        "SIZE",
        "LAST",
        "USED",
        "STATE",
        "PROJECTS",
    ]
    assert str(two) in text


@pytest.mark.slow  # builds envs
def test_prune_removes_unused_envs_and_leaves_one_in_use(tmp_path: Path) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    wait = (
        f"python -c \\\"import pathlib, time; pathlib.Path('{started}').touch(); "
        f"[time.sleep(0.05) for _ in iter(lambda: pathlib.Path('{release}').exists(), "
        'True)]\\"'
    )
    busy = python_project(tmp_path / "busy", ENV, command=wait)
    idle = python_project(tmp_path / "idle", ENV.replace("mlt-beta==1.0", "mlt-beta==2.0"))
    run_json(idle)
    running = subprocess.Popen(
        [sys.executable, "-m", "mlrun", "run", str(busy), "--offline", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: started.exists() or running.poll() is not None, "the busy run", timeout=120
        )
        assert running.poll() is None, running.communicate()
        envs = {tuple(e.projects): e for e in list_envs()}
        busy_env, idle_env = envs[(str(busy),)], envs[(str(idle),)]
        assert busy_env.in_use and not idle_env.in_use
        proc = cli("env", "prune", "--all", "--json", check=True)
        actions = {r["key"]: (r["action"], r["reason"]) for r in json.loads(proc.stdout)}
        assert actions == {busy_env.key: ("kept", "in use"), idle_env.key: ("removed", "")}
        assert Path(busy_env.path, "env", "bin", "python").exists()
        assert not Path(idle_env.path).exists()
    finally:
        release.touch()
        _, err = running.communicate(timeout=60)
    assert running.returncode == 0, err
    proc = cli("env", "prune", "--all", check=True)
    assert "removed" in proc.stdout and busy_env.key[:12] in proc.stdout
    assert list_envs() == []


@pytest.mark.slow  # builds an env
def test_prune_by_age_and_incomplete_envs(tmp_path: Path) -> None:
    run_json(python_project(tmp_path / "p", ENV))
    (info,) = list_envs()
    kept = prune(older_than=30 * 86400, everything=False)
    assert [(r["key"], r["action"]) for r in kept] == [(info.key, "kept")]
    later = time.time() + 31 * 86400
    dry = prune(older_than=30 * 86400, everything=False, dry_run=True, now=later)
    assert [r["action"] for r in dry] == ["would remove"] and Path(info.path).exists()
    assert [r["action"] for r in prune(older_than=30 * 86400, everything=False, now=later)] == [
        "removed"
    ]
    # a directory without its marker (a build that died) goes at the next prune
    half = Path(info.path).parent / ("0" * 24)
    (half / "env").mkdir(parents=True)
    proc = cli("env", "prune", check=True)
    assert "removed" in proc.stdout and not half.exists()


def test_prune_bad_age_is_exit_2() -> None:
    proc = cli("env", "prune", "--older-than", "soon")
    assert proc.returncode == 2 and "soon" in proc.stderr and "30d" in proc.stderr
