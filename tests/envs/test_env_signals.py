"""Signals and env builds, with real `mlrun run` processes (issue 11.5 and 11.7): a
signal during a build stops it -- the run KILLED with 128+N, not FAILED, and the build's
processes gone --, and `mlrun env prune` never deletes an env that a command of a dead
mlrun still uses. The env's local package is built by a backend that can be held
halfway (tests.envs.wheelhouse), so the signal lands inside the build, not by luck."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.envs.projects import PYTHON, python_project
from tests.envs.wheelhouse import local_package
from tests.execution.procs import records, spawn_mlrun, survivors
from tests.helpers import mlrun, pid_alive, wait_until

pytestmark = pytest.mark.slow  # every test here builds an env

ENV = f"""\
python: "{PYTHON}"
dependencies: [mlt-alpha==1.0, ./localpkg]
"""


def _held_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    project = python_project(tmp_path / "p", ENV)
    local_package(project / "localpkg")
    flag = tmp_path / "hold-build"
    flag.touch()
    monkeypatch.setenv("MLT_SLOW_FLAG", str(flag))
    return project, flag


@pytest.mark.parametrize(
    "signum", [pytest.param(s, id=s.name) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
)
def test_a_signal_during_the_env_build_is_killed_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlrun_home: Path, signum: int
) -> None:
    project, flag = _held_build(tmp_path, monkeypatch)
    proc = spawn_mlrun("run", str(project), "--offline")
    wait_until(Path(f"{flag}.started").exists, "the build to start", 120)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err.decode()
    assert survivors(str(flag)) == []  # uv and the package's build backend
    name = signal.Signals(signum).name
    assert list(records(mlrun_home).values()) == [
        ("KILLED", 128 + signum, f"stopped by {name} sent to mlrun")
    ]


def test_a_build_dies_with_its_mlrun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlrun_home: Path
) -> None:
    project, flag = _held_build(tmp_path, monkeypatch)
    proc = spawn_mlrun("run", str(project), "--offline")
    wait_until(Path(f"{flag}.started").exists, "the build to start", 120)
    proc.kill()  # mlrun alone, SIGKILL: nothing of it runs again
    proc.communicate(timeout=60)
    wait_until(lambda: not survivors(str(flag)), "the build to die with its mlrun", 15)


HOLD = """\
setsid python -c "import sys, time; print(sys.prefix, flush=True); time.sleep(300)" > "$1.prefix" &
echo $! > "$1.tmp" && mv "$1.tmp" "$1"
sleep 300
"""


def test_prune_never_deletes_an_env_a_dead_mlruns_command_still_uses(
    tmp_path: Path, mlrun_home: Path
) -> None:
    """mlrun is SIGKILLed while its command (and a process that left its session, using
    the env's python) runs; `mlrun env prune --all` must not pull the env from under
    that process: it stops what the dead mlrun left first, then prunes."""
    pidfile = tmp_path / "escapee"
    project = python_project(
        tmp_path / "p", f'python: "{PYTHON}"\n', {"hold.sh": HOLD}, command=f"sh hold.sh {pidfile}"
    )
    escapee = 0
    proc = spawn_mlrun("run", str(project), "--offline")
    try:
        wait_until(pidfile.exists, "the command to start", 120)
        escapee = int(pidfile.read_text())
        envs = mlrun_home / "cache" / "envs"
        (env_dir,) = [d for d in envs.iterdir() if not d.name.startswith(".")]
        prefix = Path(f"{pidfile}.prefix")  # made by the escapee's shell: it may lag
        wait_until(lambda: prefix.exists() and prefix.read_text().strip(), "the escapee")
        assert prefix.read_text().strip().startswith(str(env_dir))  # the env's python
        proc.kill()
        proc.communicate(timeout=60)
        pruned = mlrun("env", "prune", "--all", "--json")
        assert pruned.returncode == 0, pruned.stderr
        assert not pid_alive(escapee) or env_dir.exists()
        assert not pid_alive(escapee)  # the dead mlrun's leftovers were stopped first ...
        actions = {r["key"]: r["action"] for r in json.loads(pruned.stdout)}
        assert actions == {env_dir.name: "removed"}  # ... so the env could go
        assert "whose mlrun process" in pruned.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
        if escapee and pid_alive(escapee):
            os.kill(escapee, signal.SIGKILL)


def test_a_signal_during_a_workflow_steps_env_build_stops_it_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlrun_home: Path
) -> None:
    """The step's env is built in a worker thread; the signal reaches the main thread,
    which interrupts the build there and then (not after it ends by itself)."""
    project, flag = _held_build(tmp_path, monkeypatch)
    mlproject = project / "MLproject"
    mlproject.write_text(
        mlproject.read_text() + "workflows:\n  w:\n    steps:\n      s: {entry_point: main}\n"
    )
    proc = spawn_mlrun("run", str(project), "-e", "w", "--offline")
    wait_until(Path(f"{flag}.started").exists, "the build to start", 120)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)  # the held build would take 120 s
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert survivors(str(flag)) == []
    (workflow,) = records(mlrun_home).values()  # the step's run never started
    assert workflow[:2] == ("KILLED", 143)
