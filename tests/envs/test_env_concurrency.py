"""Concurrent runs and killed builds, with real `mlrun run` processes.

The env's local package is built by its own backend, which can be made to stop halfway
(tests.envs.wheelhouse): that is how these tests hold a build open on purpose, instead of
hoping for an overlap in time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.envs.projects import PYTHON, python_project, run_json
from tests.envs.wheelhouse import local_package
from tests.execution.procs import survivors
from tests.helpers import cli, wait_until

pytestmark = pytest.mark.slow  # every test here builds an env

ENV = f"""\
python: "{PYTHON}"
dependencies: [mlt-alpha==1.0, mlt-beta==1.0, ./localpkg]
"""


def _project(tmp_path: Path) -> Path:
    project = python_project(tmp_path / "p", ENV)
    local_package(project / "localpkg")
    return project


def _spawn(project: Path, out: Path, *, new_session: bool = False) -> subprocess.Popen[bytes]:
    with (
        open(out.with_suffix(".out"), "wb") as stdout,
        open(out.with_suffix(".err"), "wb") as stderr,
    ):
        return subprocess.Popen(
            [sys.executable, "-m", "mlrun", "run", str(project), "--offline", "--json"],
            stdout=stdout,
            stderr=stderr,
            start_new_session=new_session,
        )


def test_eight_concurrent_runs_build_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    flag = tmp_path / "hold-build"
    flag.touch()
    monkeypatch.setenv("MLT_SLOW_FLAG", str(flag))
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [_spawn(project, logs / f"run{i}") for i in range(8)]
    try:
        # One run is building (and holds the build open); the seven others must be waiting
        # for it, which they say on stderr.
        wait_until(lambda: Path(f"{flag}.started").exists(), "the build to start", timeout=120)
        errs = [logs / f"run{i}.err" for i in range(8)]
        wait_until(
            lambda: sum("waiting for another mlrun" in e.read_text() for e in errs) == 7,
            "seven runs to wait for the build",
            timeout=120,
        )
    finally:
        flag.unlink()
        codes = [p.wait(240) for p in procs]
    assert codes == [0] * 8, [e.read_text() for e in errs]
    results = [_last_json((logs / f"run{i}.out").read_text()) for i in range(8)]
    records = [
        json.loads(cli("runs", "show", r["run_id"], "--json", check=True).stdout) for r in results
    ]
    assert len({r["env"]["key"] for r in records}) == 1
    assert sorted(r["env"]["built"] for r in records) == [False] * 7 + [True]
    assert sum("mlrun: building uv env" in e.read_text() for e in errs) == 1
    for record in records:  # what each command printed (its stdout log)
        assert '"mlt_local": "local"' in Path(record["log_paths"]["stdout"]).read_text()


def _last_json(text: str) -> dict[str, object]:
    """mlrun's --json summary: stdout holds it alone (the command's output is on stderr)."""
    result: dict[str, object] = json.loads(text)
    return result


@pytest.mark.parametrize("kill", ["process-group", "mlrun-only"])
def test_build_killed_halfway_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill: str
) -> None:
    project = _project(tmp_path)
    flag = tmp_path / "hold-build"
    flag.touch()
    monkeypatch.setenv("MLT_SLOW_FLAG", str(flag))
    first = _spawn(project, tmp_path / "first", new_session=True)
    wait_until(lambda: Path(f"{flag}.started").exists(), "the build to start", timeout=120)
    envs = Path(os.environ["MLRUN_HOME"]) / "cache" / "envs"
    (key_dir,) = [d for d in envs.iterdir() if not d.name.startswith(".")]
    assert (key_dir / "env" / "pyvenv.cfg").exists()  # halfway: venv made, no marker
    assert not (key_dir / "mlrun-env.json").exists()
    (key_dir / "env" / "left-over").write_text("from the killed build")
    if kill == "process-group":
        os.killpg(first.pid, signal.SIGKILL)  # mlrun, uv and the package build at once
        first.wait(30)
        flag.unlink()
        second = _spawn(project, tmp_path / "second")
    else:
        # Only mlrun dies (issue 11.7): its build dies with it, through the build's
        # lifeline, instead of going on writing into the env as an orphan while the
        # next run builds there.
        first.kill()
        first.wait(30)
        wait_until(lambda: not survivors(str(flag)), "the build to die with its mlrun", 15)
        flag.unlink()
        second = _spawn(project, tmp_path / "second")
    assert second.wait(240) == 0, (tmp_path / "second.err").read_text()
    result = _last_json((tmp_path / "second.out").read_text())
    shown = json.loads(cli("runs", "show", str(result["run_id"]), "--json", check=True).stdout)
    assert shown["env"]["built"] is True
    assert not (key_dir / "env" / "left-over").exists()
    assert (key_dir / "mlrun-env.json").exists()
    seen, again = run_json(project)
    assert again["env"]["built"] is False and seen["packages"]["mlt_local"] == "local"
