"""The step cache end to end: hits, a miss for each kind of input change (re-running
only the affected steps, with the reason), resume after a failure, forcing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.workflow.wfhelpers import env_with, flow_project, reasons, run_json, statuses

# Real workflow runs, ~1-2 s each: test_cache_decision.py decides the same in process.
pytestmark = pytest.mark.slow

ALL_RUN = {"a": "finished", "b": "finished", "c": "finished", "d": "finished"}
ALL_CACHED = {"a": "cached", "b": "cached", "c": "cached", "d": "cached"}


def test_second_run_is_fully_cached_and_reuses_outputs(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    first = run_json(project, "-e", "flow")
    assert first["status"] == "FINISHED" and statuses(first) == ALL_RUN
    second = run_json(project, "-e", "flow")
    assert statuses(second) == ALL_CACHED
    by_name = {s["name"]: s for s in second["steps"]}
    for s in first["steps"]:
        assert by_name[s["name"]]["run_id"] == s["run_id"]  # the very same runs
    assert all(r.startswith("same inputs as the run of") for r in reasons(second).values())
    # Outputs flow downstream: c received b's value, b received a's name.
    c_params = by_name["c"]["parameters"]
    assert c_params["input"] == "b:1"
    assert by_name["b"]["parameters"]["input"] == "a"


def test_param_change_reruns_only_that_step_and_downstream(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    run_json(project, "-e", "flow")
    result = run_json(project, "-e", "flow", "-P", "vb=2")
    assert statuses(result) == {"a": "cached", "b": "finished", "c": "finished", "d": "cached"}
    why = reasons(result)
    assert "parameter value: '1' -> '2'" in why["b"]
    assert "parameter input: 'b:1' -> 'b:2'" in why["c"]


def test_upstream_change_alone_reruns_downstream(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    run_json(project, "-e", "flow")
    # a's key changes, but b reads only a's constant `name`: b's own parameters are equal.
    result = run_json(project, "-e", "flow", "-P", "va=2")
    assert statuses(result) == {"a": "finished", "b": "finished", "c": "finished", "d": "cached"}
    assert reasons(result)["b"].startswith("upstream a changed")


def test_deps_file_change_reruns_its_step_and_downstream(tmp_path: Path) -> None:
    project, dep = flow_project(tmp_path)
    run_json(project, "-e", "flow")
    dep.write_text("two\n")
    result = run_json(project, "-e", "flow")
    assert statuses(result) == {"a": "cached", "b": "finished", "c": "finished", "d": "cached"}
    assert f"dep {dep} changed" in reasons(result)["b"]
    assert "upstream b changed" in reasons(result)["c"]


def test_code_change_reruns_every_step(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    run_json(project, "-e", "flow")
    (project / "notes.txt").write_text("a new file is new code in a non-git project\n")
    result = run_json(project, "-e", "flow")
    assert statuses(result) == ALL_RUN
    assert all("code changed: notes.txt (new)" in r for r in reasons(result).values())
    # Byte-code caches are not code: a step importing a module does not bust the cache.
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "step.cpython-311.pyc").write_bytes(b"\0")
    assert statuses(run_json(project, "-e", "flow")) == ALL_CACHED


def test_env_change_reruns_every_step(tmp_path: Path) -> None:
    """The local env is identified by the `python` found first on PATH: another
    interpreter (here a venv-like directory) is another environment."""
    project, _ = flow_project(tmp_path)
    run_json(project, "-e", "flow")
    other = tmp_path / "other-env" / "bin"
    other.mkdir(parents=True)
    (other / "python").symlink_to(sys.executable)
    env = env_with(PATH=f"{other}{os.pathsep}{os.environ['PATH']}")
    result = run_json(project, "-e", "flow", env=env)
    assert statuses(result) == ALL_RUN
    assert all("environment changed" in r for r in reasons(result).values())
    assert statuses(run_json(project, "-e", "flow", env=env)) == ALL_CACHED


def test_resume_after_failure_reruns_only_failed_and_downstream(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    failed = run_json(project, "-e", "flow", env=env_with(WF_FAIL="b"), expect=3)
    assert failed["status"] == "FAILED" and failed["exit_code"] == 3
    assert statuses(failed) == {
        "a": "finished",
        "b": "failed",
        "c": "not run",
        "d": "not run",
    }  # fail-fast: d was not started either
    resumed = run_json(project, "-e", "flow")
    assert statuses(resumed) == {"a": "cached", "b": "finished", "c": "finished", "d": "finished"}
    assert "FAILED" in reasons(resumed)["b"]  # the same inputs failed last time


def test_force_force_step_and_no_cache(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    first = run_json(project, "-e", "flow")
    forced = run_json(project, "-e", "flow", "--force-step", "b")
    assert statuses(forced) == {"a": "cached", "b": "finished", "c": "finished", "d": "cached"}
    assert reasons(forced)["b"] == "forced (--force-step)"
    assert statuses(run_json(project, "-e", "flow", "--force")) == ALL_RUN
    # The forced results are now the cached ones.
    latest = run_json(project, "-e", "flow")
    assert statuses(latest) == ALL_CACHED
    assert {s["run_id"] for s in latest["steps"]}.isdisjoint(s["run_id"] for s in first["steps"])
    # --no-cache runs everything and leaves nothing for the cache.
    uncached = run_json(project, "-e", "flow", "--no-cache")
    assert statuses(uncached) == ALL_RUN
    again = run_json(project, "-e", "flow")
    assert {s["run_id"] for s in again["steps"]} == {s["run_id"] for s in latest["steps"]}


def test_cache_false_step_always_runs(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    text = (project / "MLproject").read_text()
    (project / "MLproject").write_text(
        text.replace("parameters: {name: d}", "parameters: {name: d}\n        cache: false")
    )
    run_json(project, "-e", "flow")
    result = run_json(project, "-e", "flow")
    assert statuses(result) == {**ALL_CACHED, "d": "finished"}
    assert reasons(result)["d"] == "cache: false"
