"""The step cache's decision -- reuse a run or run the step, and the reason -- without
starting a process. The run store is seeded with the records earlier runs of the steps
would have left, and the decision is read from `mlrun run -e flow --dry-run --json`, run
in this process. (test_cache_behaviour.py shows the same story end to end, with real runs.)

The flow: a -> b -> c, and d on its own; b declares a dep file outside the project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from mlrun.tracking import open_store, runs_root
from mlrun.tracking.model import FAILED, FINISHED
from mlrun.workflow import cache as wcache
from mlrun.workflow.cache import KeyInputs
from tests.helpers import cli
from tests.tracking.conftest import make_new_run
from tests.workflow.wfhelpers import env_with, flow_project

Rows = dict[str, dict[str, Any]]


def _decide(project: Path, *args: str, env: dict[str, str] | None = None) -> Rows:
    """The dry run's row (action, reason, key, parameters, run_id) for each step."""
    proc = cli("run", str(project), "-e", "flow", "--dry-run", "--json", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return {row["name"]: row for row in json.loads(proc.stdout)["steps"]}


def _actions(rows: Rows) -> dict[str, str]:
    return {name: row["action"] for name, row in rows.items()}


def _inputs(project: Path, rows: Rows, name: str, env: dict[str, str] | None = None) -> KeyInputs:
    """A step's key inputs, rebuilt from what the CLI shows: the entry point's command
    template (validate), the code identity and env of its plan (run --dry-run), its
    parameters (the workflow dry run), its deps' content and its upstream steps' keys."""
    summary = json.loads(cli("validate", str(project), "--json", check=True).stdout)
    row = rows[name]
    plan = json.loads(
        cli(
            "run",
            str(project),
            "-e",
            "step",
            *[f"-P{k}={v}" for k, v in row["parameters"].items()],
            "--dry-run",
            "--json",
            env=env,
            check=True,
        ).stdout
    )
    deps = [str(project.parent / "dep.txt")] if name == "b" else []
    upstream = {"b": ["a"], "c": ["b"]}.get(name, [])
    with mock.patch.dict(os.environ, env or os.environ, clear=True):  # the PATH it ran with
        env_identity = wcache.env_identity(plan["env"]["key"], plan["env_manager"])
    return KeyInputs(
        command=summary["entry_points"]["step"]["command"],
        parameters=row["parameters"],
        code=plan["source"]["code_identity"],
        env=env_identity,
        deps=wcache.deps_digests(deps, project),
        upstream={up: rows[up]["key"] for up in upstream},
    )


def _record(
    project: Path, name: str, inputs: KeyInputs, status: str = FINISHED, cache: bool = True
) -> str:
    """The record a run of step `name` with these inputs leaves (see engine._run): tags
    for the step, its inputs and (when cacheable) its key; outputs as step.py writes them."""
    store = open_store()
    tags = {
        wcache.TAG_WORKFLOW: "flow",
        wcache.TAG_STEP: name,
        wcache.TAG_PROJECT: str(project),
        wcache.TAG_INPUTS: json.dumps(inputs.to_json()),
    }
    if cache:
        tags[wcache.TAG_KEY] = inputs.key()
    run_id = uuid.uuid4().hex
    run_dir = runs_root(store) / run_id / "outputs"
    run_dir.mkdir(parents=True)
    params = inputs.parameters
    run = store.create_run(
        make_new_run(
            run_id=run_id,
            entry_point="step",
            run_name=name,
            params=dict(params),
            run_dir=str(run_dir),
            tags=tags,
        )
    )
    store.log_outputs(
        run.run_id,
        {"name": name, "value": f"{name}:{params['value']}", "input": params["input"]},
    )
    store.finish_run(run.run_id, status, 0 if status == FINISHED else 3)
    return run.run_id


def _run_all(project: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """Record a finished run of every step, in order, as a real run of the flow would:
    each dry run reveals the keys of the steps whose upstream is now cached. Each key
    must be exactly the hash of the documented inputs."""
    ids: dict[str, str] = {}
    while True:
        rows = _decide(project, *args, env=env)
        ready = [n for n, r in rows.items() if r["key"] is not None and n not in ids]
        if not ready:
            return ids
        for name in ready:
            inputs = _inputs(project, rows, name, env=env)
            assert inputs.key() == rows[name]["key"], f"step {name}: the key hashes other inputs"
            ids[name] = _record(project, name, inputs, cache=rows[name]["reason"] != "cache: false")


@pytest.fixture(autouse=True)
def no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deciding starts nothing: any process start fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache decision started a process")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)


@pytest.fixture
def flow(tmp_path: Path) -> tuple[Path, Path]:
    return flow_project(tmp_path)


def test_nothing_recorded_runs_everything(flow: tuple[Path, Path]) -> None:
    rows = _decide(flow[0])
    assert _actions(rows) == {"a": "run", "b": "run", "c": "run", "d": "run"}
    assert rows["a"]["reason"] == rows["d"]["reason"] == "no earlier run of this step"
    assert rows["b"]["reason"] == "upstream a will run"
    assert rows["c"]["reason"] == "upstream b will run"
    assert rows["b"]["parameters"]["input"] == "${{ steps.a.outputs.name }}"  # not known yet


def test_same_inputs_reuse_the_recorded_runs_and_their_outputs(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    ids = _run_all(project)
    rows = _decide(project)
    assert _actions(rows) == dict.fromkeys("abcd", "cached")
    assert {n: r["run_id"] for n, r in rows.items()} == ids
    assert all(r["reason"].startswith("same inputs as the run of ") for r in rows.values())
    assert rows["b"]["parameters"]["input"] == "a"  # a's outputs.name
    assert rows["c"]["parameters"]["input"] == "b:1"  # b's outputs.value


def test_a_changed_parameter_reruns_its_step_and_names_the_change(
    flow: tuple[Path, Path],
) -> None:
    project, _ = flow
    ids = _run_all(project)
    rows = _decide(project, "-P", "vb=2")
    assert _actions(rows) == {"a": "cached", "b": "run", "c": "run", "d": "cached"}
    assert rows["b"]["reason"] == f"parameter value: '1' -> '2' (since {ids['b'][:12]})"
    assert rows["c"]["reason"] == "upstream b will run"


def test_a_changed_upstream_alone_reruns_downstream(flow: tuple[Path, Path]) -> None:
    """b reads only a's constant `name` output: with a's key changed (and a run of it
    recorded), b's own parameters are the same, and the upstream is the reason."""
    project, _ = flow
    ids = _run_all(project)
    rows = _decide(project, "-P", "va=2")
    assert rows["a"]["reason"].startswith("parameter value: '1' -> '2'")
    _record(project, "a", _inputs(project, rows, "a"))
    rows = _decide(project, "-P", "va=2")
    assert _actions(rows) == {"a": "cached", "b": "run", "c": "run", "d": "cached"}
    assert rows["b"]["reason"] == f"upstream a changed (since {ids['b'][:12]})"


def test_a_changed_dep_reruns_the_step_that_declares_it(flow: tuple[Path, Path]) -> None:
    project, dep = flow
    _run_all(project)
    dep.write_text("two\n")
    rows = _decide(project)
    assert _actions(rows) == {"a": "cached", "b": "run", "c": "run", "d": "cached"}
    assert rows["b"]["reason"].startswith(f"dep {dep} changed (since ")


def test_changed_code_reruns_every_step(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    _run_all(project)
    (project / "notes.txt").write_text("a new file is new code in a non-git project\n")
    rows = _decide(project)
    assert _actions(rows) == dict.fromkeys("abcd", "run")
    for name in "ad":
        assert rows[name]["reason"].startswith("code changed (sha256:"), rows[name]
    # Byte-code caches are not code.
    (project / "notes.txt").unlink()
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "step.cpython-311.pyc").write_bytes(b"\0")
    assert _actions(_decide(project)) == dict.fromkeys("abcd", "cached")


def test_a_changed_command_reruns_every_step(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    _run_all(project)
    mlproject = project / "MLproject"
    mlproject.write_text(mlproject.read_text().replace("python step.py", "python -B step.py"))
    rows = _decide(project)
    assert _actions(rows) == dict.fromkeys("abcd", "run")
    assert "the entry point's command changed" in rows["a"]["reason"]


def test_another_interpreter_is_another_environment(
    flow: tuple[Path, Path], tmp_path: Path
) -> None:
    """The local env is the `python` first on PATH, by path."""
    project, _ = flow
    _run_all(project)
    other = tmp_path / "other-env" / "bin"
    other.mkdir(parents=True)
    (other / "python").symlink_to(sys.executable)
    env = env_with(PATH=f"{other}{os.pathsep}{os.environ['PATH']}")
    rows = _decide(project, env=env)
    assert _actions(rows) == dict.fromkeys("abcd", "run")
    assert rows["a"]["reason"].startswith("environment changed (local:")
    _run_all(project, env=env)
    assert _actions(_decide(project, env=env)) == dict.fromkeys("abcd", "cached")
    assert _actions(_decide(project)) == dict.fromkeys("abcd", "cached")  # both are kept


def test_a_run_whose_files_are_gone_is_not_reused(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    ids = _run_all(project)
    gone = runs_root(open_store()) / ids["d"]
    shutil.rmtree(gone)
    rows = _decide(project)
    assert rows["d"]["action"] == "run"
    assert rows["d"]["reason"].startswith(f"run {ids['d'][:12]} (recorded on ")
    assert rows["d"]["reason"].endswith(f"has this key, but {gone / 'outputs'} does not exist here")


def test_the_same_inputs_that_failed_run_again_and_say_so(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    rows = _decide(project)
    failed = _record(project, "d", _inputs(project, rows, "d"), status=FAILED)
    rows = _decide(project)
    assert rows["d"]["action"] == "run"
    assert rows["d"]["reason"] == f"the last run with these inputs ({failed[:12]}) FAILED"


def test_inputs_written_by_another_version_are_a_plain_change(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    store = open_store()
    old = store.create_run(
        make_new_run(
            entry_point="step",
            tags={
                wcache.TAG_WORKFLOW: "flow",
                wcache.TAG_STEP: "d",
                wcache.TAG_PROJECT: str(project),
                wcache.TAG_INPUTS: '{"unknown": "shape"}',
                wcache.TAG_KEY: "0" * 64,
            },
        )
    )
    store.finish_run(old.run_id, FINISHED, 0)
    assert _decide(project)["d"]["reason"] == f"inputs changed since run {old.run_id[:12]}"


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--force"], {n: "forced (--force)" for n in "ad"}),
        (["--force-step", "b"], {"b": "forced (--force-step)"}),
        (["--no-cache"], {n: "--no-cache" for n in "ad"}),
    ],
)
def test_forcing_options_run_steps_with_a_recorded_result(
    flow: tuple[Path, Path], args: list[str], why: dict[str, str]
) -> None:
    project, _ = flow
    _run_all(project)
    rows = _decide(project, *args)
    for name, reason in why.items():
        assert (rows[name]["action"], rows[name]["reason"]) == ("run", reason)
    if args[0] == "--force-step":  # b and what follows it; the rest from the cache
        assert _actions(rows) == {"a": "cached", "b": "run", "c": "run", "d": "cached"}


def test_a_step_declared_cache_false_always_runs(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    mlproject = project / "MLproject"
    text = mlproject.read_text()
    mlproject.write_text(
        text.replace("parameters: {name: d}", "parameters: {name: d}\n        cache: false")
    )
    _run_all(project)  # records d too, as a run of it would (without its key)
    rows = _decide(project)
    assert _actions(rows) == {"a": "cached", "b": "cached", "c": "cached", "d": "run"}
    assert rows["d"]["reason"] == "cache: false"


def test_a_selection_needs_its_upstream_from_the_cache(flow: tuple[Path, Path]) -> None:
    project, _ = flow
    proc = cli("run", str(project), "-e", "flow", "--only", "c", "--dry-run")
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "mlrun: error: step a is needed by the selected steps but has no cached result "
        "(no earlier run of this step)"
    )
    _run_all(project)
    rows = _decide(project, "--only", "c", "--force")
    assert _actions(rows) == {"a": "cached", "b": "cached", "c": "run", "d": "skip"}
    assert rows["d"]["reason"] == "not selected (--only/--from)"
