"""Whoever opens a source closes it, once, when it is done with it: not before (a
workflow's steps all run on the one source), not never (a failed plan gives it back)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlrun
from mlrun import sources
from mlrun.cli.main import run_cli
from mlrun.errors import UsageError
from mlrun.tracking import open_store
from tests.helpers import write_project
from tests.workflow.wfhelpers import flow_project


class Releases:
    """Counts the releases of every source resolved, and how many runs were recorded
    when each release happened."""

    def __init__(self) -> None:
        self.opened = 0
        self.at: list[int] = []

    def release(self) -> None:
        self.at.append(len(open_store().search_runs()))


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch) -> Iterator[Releases]:
    seen = Releases()
    real = sources.resolve

    def resolve(uri: str, **kwargs: Any) -> sources.Source:
        source = real(uri, **kwargs)
        assert source.release is None  # a local directory holds nothing of its own
        source.release = seen.release
        seen.opened += 1
        return source

    monkeypatch.setattr(sources, "resolve", resolve)
    yield seen


def _project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {n: int}
            command: "python -c 'print({n})'"
        """,
    )


def test_a_source_is_closed_when_planning_fails(tmp_path: Path, releases: Releases) -> None:
    project = _project(tmp_path)
    with pytest.raises(UsageError):
        mlrun.run(str(project), "nope", echo=False)
    with pytest.raises(UsageError):
        mlrun.run(str(project), parameters={"n": "x"}, echo=False)  # not an int
    assert run_cli(["run", str(project), "-e", "nope"]) == 2
    assert run_cli(["run", str(project), "--jobs", "2", "-P", "n=1"]) == 2  # a workflow flag
    assert releases.opened == 4 and releases.at == [0, 0, 0, 0]


def test_a_source_is_closed_after_the_run_not_by_it(tmp_path: Path, releases: Releases) -> None:
    project = _project(tmp_path)
    assert run_cli(["run", str(project), "-P", "n=1", "-q"]) == 0
    assert run_cli(["run", str(project), "-P", "n=1", "-q", "--dry-run"]) == 0
    submitted = mlrun.run(str(project), parameters={"n": 2}, synchronous=False, echo=False)
    assert submitted.wait()
    assert releases.opened == 3 and releases.at == [1, 1, 2]


def test_every_step_of_a_workflow_runs_on_the_one_open_source(
    tmp_path: Path, releases: Releases
) -> None:
    project, _ = flow_project(tmp_path)
    mlrun.run(str(project), "flow", echo=False)
    # One release, after the workflow's record and its four steps' records.
    assert releases.opened == 1 and releases.at == [5]


def test_execute_leaves_the_source_to_whoever_opened_it(tmp_path: Path, releases: Releases) -> None:
    from mlrun import runner
    from mlrun.reporting import Reporter

    request = runner.RunRequest(uri=str(_project(tmp_path)), parameters={"n": "1"}, echo=False)
    with runner.open_project(request, Reporter()) as opened:
        the_plan = runner.plan_entry_point(opened, request, Reporter())
        for _ in range(2):
            runner.execute(the_plan, open_store(), Reporter(), forward_signals=False)
        assert releases.at == []
    assert releases.at == [2]
