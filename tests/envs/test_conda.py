"""conda.yaml projects built for real against a local channel the test writes, with
py-rattler (no conda install needed); and with a conda executable when one is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.envs.conda_channel import build_channel, require_rattler
from tests.helpers import cli, mlrun, write_project

CONDA_YAML = """\
name: anything
channels: [./channel]
dependencies:
  - hello-mlrun
"""


def _project(root: Path, conda_yaml: str = CONDA_YAML) -> Path:
    project = write_project(
        root,
        """\
        conda_env: conda.yaml
        entry_points:
          main:
            parameters: {who: {type: string, default: world}}
            command: "hello-mlrun {who}"
        """,
        {"conda.yaml": conda_yaml},
    )
    build_channel(project / "channel")
    return project


def _run(project: Path, *args: str) -> tuple[str, dict[str, object]]:
    proc = mlrun("run", str(project), "--json", *args, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]  # --json: the summary alone on stdout
    shown = json.loads(cli("runs", "show", run_id, "--json", check=True).stdout)
    return Path(shown["log_paths"]["stdout"]).read_text().strip(), shown


@pytest.mark.slow  # builds an env
def test_conda_env_with_rattler_builds_runs_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_rattler()
    monkeypatch.setenv("MLRUN_CONDA_EXE", "rattler")
    project = _project(tmp_path / "p")
    out, shown = _run(project, "-P", "who=you")
    env: dict[str, object] = shown["env"]  # type: ignore[assignment]
    prefix = str(env["path"])
    assert out == f"hello-mlrun you from {prefix}"  # the packaged script, CONDA_PREFIX set
    assert shown["env_kind"] == "conda" and env["built"] is True
    assert env["packages"] == ["hello-mlrun=1.0=0"]
    assert "py-rattler" in env["tools"]  # type: ignore[operator]
    assert Path(prefix, "conda-meta").is_dir()
    out, again = _run(project, "-P", "who=again")
    assert again["env"]["built"] is False and out.startswith("hello-mlrun again")  # type: ignore[index]
    key = env["key"]
    (project / "conda.yaml").write_text(
        "# reformatted\ndependencies: ['hello-mlrun']\nchannels: ['./channel']\nname: other\n"
    )
    dry = json.loads(cli("run", str(project), "--dry-run", "--json", check=True).stdout)
    assert dry["env"]["key"] == key and dry["env"]["cached"] is True
    (project / "conda.yaml").write_text(CONDA_YAML.replace("- hello-mlrun", "- hello-mlrun=1.0"))
    _, changed = _run(project)
    assert changed["env"]["key"] != key and changed["env"]["built"] is True  # type: ignore[index]


@pytest.mark.slow  # builds an env
def test_concurrent_conda_runs_build_once_and_prune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_rattler()
    monkeypatch.setenv("MLRUN_CONDA_EXE", "rattler")
    project = _project(tmp_path / "p")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlrun", "run", str(project), "--json", "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    records = []
    for out, _ in outputs:
        run_id = json.loads(out)["run_id"]
        records.append(json.loads(cli("runs", "show", run_id, "--json", check=True).stdout))
    assert len({r["env"]["key"] for r in records}) == 1
    assert sorted(r["env"]["built"] for r in records) == [False, False, False, True]
    listed = json.loads(cli("env", "list", "--json", check=True).stdout)
    assert [(e["kind"], e["state"], e["projects"]) for e in listed] == [
        ("conda", "ready", [str(project)])
    ]
    assert "removed" in cli("env", "prune", "--all", check=True).stdout
    assert json.loads(cli("env", "list", "--json", check=True).stdout) == []


@pytest.mark.slow  # starts an env build
def test_unsolvable_conda_env_is_exit_125(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_rattler()
    monkeypatch.setenv("MLRUN_CONDA_EXE", "rattler")
    project = _project(tmp_path / "p", CONDA_YAML.replace("hello-mlrun", "not-in-channel"))
    proc = mlrun("run", str(project))
    assert proc.returncode == 125
    assert "not-in-channel" in proc.stderr and "full build log" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pip_section_without_python_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_rattler()
    monkeypatch.setenv("MLRUN_CONDA_EXE", "rattler")
    project = _project(tmp_path / "p", CONDA_YAML + "  - pip: [mlt-alpha==1.0]\n")
    proc = cli("run", str(project), "--offline")
    assert proc.returncode == 125
    assert "python is not among its dependencies" in proc.stderr


def test_missing_conda_executable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRUN_CONDA_EXE", str(tmp_path / "no-such-conda"))
    proc = cli("run", str(_project(tmp_path / "p")))
    assert proc.returncode == 125 and "MLRUN_CONDA_EXE" in proc.stderr


def test_conda_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = next((shutil.which(n) for n in ("micromamba", "mamba", "conda") if shutil.which(n)), None)
    if exe is None:
        pytest.skip("no conda, mamba or micromamba executable on this machine")
    monkeypatch.setenv("MLRUN_CONDA_EXE", exe)
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(tmp_path / "pkgs"))
    project = _project(tmp_path / "p")
    out, shown = _run(project, "-P", "who=exe")
    assert out.startswith("hello-mlrun exe") and shown["env"]["built"] is True  # type: ignore[index]
