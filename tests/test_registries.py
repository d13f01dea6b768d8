"""One registry feeds the CLI: env manager names, run statuses and workflow options are
declared once, and the command line is built from those declarations."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

import mlrun
from mlrun import envs
from mlrun.cli.env_cmd import build_cmd
from mlrun.cli.run_cmd import run as run_cmd
from mlrun.cli.runs_cmd import list_runs
from mlrun.errors import UsageError
from mlrun.tracking.model import STATUSES
from mlrun.workflow.options import DEFAULTS, FLAGS, Options, from_mapping, given
from tests.workflow.wfhelpers import flow_project


def _param(command: click.Command, name: str) -> click.Parameter:
    return next(p for p in command.params if p.name == name)


def test_env_manager_choices_come_from_the_registry() -> None:
    assert envs.CHOICES == tuple(n for n in envs.MANAGERS if n != "docker")
    for command in (run_cmd, build_cmd):
        choice = _param(command, "env_manager").type
        assert isinstance(choice, click.Choice) and tuple(choice.choices) == envs.CHOICES


def test_every_registered_manager_can_be_asked_for_by_name() -> None:
    from mlrun.spec.model import EnvSpec

    local = EnvSpec(kind="local")
    for name in envs.CHOICES:
        assert envs.choose_manager(local, name) == name
    with pytest.raises(UsageError, match="unknown environment manager 'pixi'") as info:
        envs.choose_manager(local, "pixi")
    assert info.value.hint == "choose one of: " + ", ".join(envs.MANAGERS)


def test_status_choices_are_the_models() -> None:
    choice = _param(list_runs, "status").type
    assert isinstance(choice, click.Choice) and tuple(choice.choices) == STATUSES


def test_workflow_flags_and_defaults_are_the_tables() -> None:
    parsed = run_cmd.make_context("run", [], resilient_parsing=True).params
    for name, default in DEFAULTS.items():
        param = _param(run_cmd, name)
        assert isinstance(param, click.Option)
        assert tuple(param.opts + param.secondary_opts) == FLAGS[name]
        value = parsed[name]
        assert (tuple(value) if isinstance(value, (list, tuple)) else value) == default
    assert list(FLAGS) == list(DEFAULTS) == list(Options.__annotations__)


def test_workflow_options_by_name() -> None:
    assert vars(from_mapping(None, "x")) == DEFAULTS
    opts = from_mapping({"jobs": 2, "force_steps": ["a", "b"], "only": "c"}, "x")
    assert vars(opts) == {**DEFAULTS, "jobs": 2, "force_steps": ("a", "b"), "only": ("c",)}
    assert given({"jobs": 1, "no_cache": True, "from_steps": ()}) == ["--no-cache"]
    with pytest.raises(UsageError, match="there is no workflow option 'parallel'") as info:
        from_mapping({"parallel": 2}, "x")
    assert info.value.hint == "names: " + ", ".join(DEFAULTS)
    for bad in (0, "2", True):
        with pytest.raises(UsageError, match="jobs must be a whole number of at least 1"):
            from_mapping({"jobs": bad}, "x")


def test_the_api_refuses_an_unknown_workflow_option(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    with pytest.raises(UsageError, match=r"workflow_options=...\): there is no workflow option"):
        mlrun.run(str(project), "flow", workflow_options={"keepgoing": True})
