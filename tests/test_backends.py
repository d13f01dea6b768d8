"""The backend seat: `-b NAME` picks where a run's command starts, from the registry
(`local` built in) or from a plugin's `mlrun.backends` entry point; `-c` reaches the
backend as a dict; a backend refuses an env kind before anything is recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mlrun
from mlrun.backends import BACKENDS, get_backend, known_names
from mlrun.backends.config import MAX_BYTES, parse_config
from mlrun.cli.main import run_cli
from mlrun.errors import ExecutionError, NotAvailableError, UsageError
from mlrun.tracking import open_store
from tests.helpers import mlrun as mlrun_cli
from tests.helpers import write_project
from tests.workflow.wfhelpers import flow_project

# A third-party backend: processes on this machine, with the config's "greeting" in the
# command's environment, and every start counted in the file the config names.
PLUGIN = """
from mlrun.envs.base import ContainerSpec
from mlrun.errors import UsageError
from mlrun.execution.child import LocalChild


class Fake:
    name = "fake"

    def check(self, env_plan, config):
        if env_plan.starts == "container":
            raise UsageError("the fake backend cannot run containers")
        unknown = sorted(set(config) - {"greeting", "count_file"})
        if unknown:
            raise UsageError(f"unknown fake backend setting {unknown[0]!r}")

    def describe(self, env_plan, command, cwd, config):
        return {"name": self.name, "greeting": config.get("greeting"), "cwd": str(cwd)}

    def start(self, env, launch, config, reporter):
        what = env.what_to_start(launch)
        assert not isinstance(what, ContainerSpec)
        if "count_file" in config:
            with open(config["count_file"], "a") as fh:
                fh.write(launch.run_id + "\\n")
        environ = dict(what.environ, FAKE_GREETING=str(config.get("greeting")))
        return LocalChild(what.argv(), what.cwd, environ)


BACKEND = Fake()
"""


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A directory holding an installed-looking distribution that registers `fake`."""
    root = tmp_path / "site"
    (root / "fake_mlrun_backend").mkdir(parents=True)
    (root / "fake_mlrun_backend" / "__init__.py").write_text(PLUGIN)
    info = root / "fake_mlrun_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-mlrun-backend\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text("[mlrun.backends]\nfake = fake_mlrun_backend\n")
    return root


@pytest.fixture
def plugin(plugin_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(plugin_path))
    return plugin_path


def _project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {code: {type: int, default: 0}}
            command: "python greet.py {code}"
        """,
        {
            "greet.py": "import os, sys\n"
            "print(os.environ['FAKE_GREETING'])\n"
            "sys.exit(int(sys.argv[1]))\n"
        },
    )


def _docker_project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "d",
        'docker_env: {image: "python:3.12-slim"}\nentry_points:\n  main: {command: "true"}\n',
    )


def test_local_is_the_first_built_in_backend() -> None:
    assert next(iter(BACKENDS)) == "local"
    assert get_backend("local").name == "local"


def test_a_plugin_backend_is_found_through_its_entry_point_and_gets_the_config(
    plugin: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert known_names() == ["local", "slurm", "kubernetes", "fake"]
    project = _project(tmp_path)
    assert run_cli(["run", str(project), "-b", "fake", "-c", '{"greeting": "hi there"}']) == 0
    assert "hi there" in capfd.readouterr().out
    config = tmp_path / "fake.json"
    config.write_text(json.dumps({"greeting": "from a file"}))
    assert run_cli(["run", str(project), "-b", "fake", "-c", str(config), "-P", "code=3"]) == 3
    assert "from a file" in capfd.readouterr().out
    runs = open_store().search_runs()
    assert sorted((r.status, r.exit_code) for r in runs) == [("FAILED", 3), ("FINISHED", 0)]


def test_the_api_takes_a_plugin_backend_and_its_config(plugin: Path, tmp_path: Path) -> None:
    project = _project(tmp_path)
    submitted = mlrun.run(
        str(project), backend="fake", backend_config={"greeting": "api"}, echo=False
    )
    log = open_store().get_run(submitted.run_id).log_paths["stdout"]
    assert Path(log).read_text() == "api\n"
    with pytest.raises(ExecutionError):
        mlrun.run(str(project), parameters={"code": 4}, backend="fake", echo=False)


def test_every_step_of_a_workflow_starts_through_the_backend(plugin: Path, tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    count = tmp_path / "starts.txt"
    config = json.dumps({"count_file": str(count)})
    assert run_cli(["run", str(project), "-e", "flow", "-b", "fake", "-c", config, "-q"]) == 0
    steps = open_store().search_runs(tags={"mlrun.workflow": "flow"})
    started = count.read_text().split()
    assert len(started) == 4 and sorted(started) == sorted(
        r.run_id for r in steps if r.tags.get("mlrun.kind") != "workflow"
    )


def test_dry_run_shows_how_the_backend_would_start_it(
    plugin: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    args = ["run", str(project), "-b", "fake", "-c", '{"greeting": "x"}', "--dry-run"]
    assert run_cli([*args, "--json"]) == 0
    shown = json.loads(capfd.readouterr().out)
    assert shown["backend"] == {"name": "fake", "greeting": "x", "cwd": str(project)}
    assert run_cli(args) == 0
    assert "backend:      fake\n  greeting: x\n" in capfd.readouterr().out
    assert run_cli(["run", str(project), "--dry-run", "--json"]) == 0
    local = json.loads(capfd.readouterr().out)["backend"]
    assert local == {"name": "local", "starts": "process", "where": "this machine"}


def test_a_backend_refuses_an_env_kind_before_anything_is_recorded(
    plugin: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = _docker_project(tmp_path)
    assert run_cli(["run", str(project), "-b", "fake", "--dry-run"]) == 2
    assert run_cli(["run", str(project), "-b", "fake"]) == 2
    assert "the fake backend cannot run containers" in capfd.readouterr().err
    assert run_cli(["run", str(_project(tmp_path)), "-b", "fake", "-c", '{"gpus": 1}']) == 2
    assert "unknown fake backend setting 'gpus'" in capfd.readouterr().err
    assert open_store().search_runs() == []


def test_an_unknown_backend_names_the_registered_ones(plugin_path: Path, tmp_path: Path) -> None:
    import os

    project = _project(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(plugin_path))
    proc = mlrun_cli("run", str(project), "-b", "yarn", env=env)
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first == (
        "mlrun: error: backend 'yarn' is not available yet "
        "(known backends: local, slurm, kubernetes, fake)"
    )
    assert "Traceback" not in proc.stderr
    with pytest.raises(NotAvailableError, match=r"known backends: local, slurm, kubernetes\)"):
        mlrun.run(str(project), backend="databricks")
    assert open_store().search_runs() == []


def test_the_local_backend_has_no_settings_yet(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with pytest.raises(UsageError, match=r"local backend \(given: zone\)") as info:
        mlrun.run(str(project), backend_config={"zone": "a"})
    assert "not available yet" not in str(info.value)  # MLflow takes -c: not a gap of ours
    assert run_cli(["run", str(project), "-c", "{}", "--dry-run"]) == 0  # empty is fine


def test_a_local_run_does_not_look_for_plugins(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mlrun.cli.main import run_cli\n"
        "rc = run_cli(sys.argv[1:])\n"
        "print('LOADED', rc, 'importlib.metadata' in sys.modules, file=sys.stderr)\n"
    )
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", str(project), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "LOADED 0 False" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[1, 2]", "--backend-config must be a JSON object, not an array"),
        ('"text"', "--backend-config must be a JSON object, not a string"),
        ("{", "--backend-config is not valid JSON"),
        ("[" * 100_000, "--backend-config is nested too deeply"),
        ("missing.json", "--backend-config file missing.json does not exist"),
        (" " * (MAX_BYTES + 1), "--backend-config is larger than 1024 KiB"),
    ],
)
def test_bad_backend_configs_are_one_clear_sentence(value: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_config(value)
    assert str(info.value).startswith(message)


def test_backend_config_forms(tmp_path: Path) -> None:
    assert parse_config(None) == {}
    assert parse_config({"a": 1}) == {"a": 1}
    assert parse_config('{"a": [1, 2]}') == {"a": [1, 2]}
    path = tmp_path / "kube.JSON"
    path.write_text('{"kube-context": "dev"}')
    assert parse_config(str(path)) == {"kube-context": "dev"}
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        parse_config(str(tmp_path / "bad.json"))
    with pytest.raises(UsageError, match=r"^backend_config file"):
        parse_config(str(tmp_path / "nope.json"), "backend_config")


def test_a_broken_plugin_is_one_clear_sentence(
    plugin: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    info = plugin / "fake_mlrun_backend-1.0.dist-info" / "entry_points.txt"
    info.write_text("[mlrun.backends]\nfake = fake_mlrun_backend\nbroken = no_such_module\n")
    assert known_names() == ["local", "slurm", "kubernetes", "broken", "fake"]
    assert run_cli(["run", str(_project(tmp_path)), "-b", "broken"]) == 2
    err = capfd.readouterr().err
    assert "backend 'broken' (from 'no_such_module') could not be loaded" in err
    assert "Traceback" not in err
