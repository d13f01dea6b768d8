"""Compatibility with what MLflow's own loader made of 28 real MLproject files.

mlflow-expected.json was produced by MLflow 3.17 (see tests/data/mlproject/README.md). Where MLflow
loaded a project we must report the same entry points, parameters, declared types,
defaults and command templates, and render the same command words from the defaults.
Where MLflow failed we must fail with a one-line SpecError, except for the `dockerfile:`
build variant, which mlrun loads on purpose and flags as MLflow-incompatible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlrun.errors import SpecError
from mlrun.spec.loader import load_project
from mlrun.spec.params import resolve_parameters
from mlrun.spec.render import render_command
from tests.conftest import CORPUS

EXPECTED_FILE = CORPUS / "mlflow-expected.json"
DOCKERFILE_VARIANT = "MLproject_dockerfile"


EXPECTED: dict[str, Any] = json.loads(EXPECTED_FILE.read_text())
LOADED = sorted(k for k, v in EXPECTED.items() if "entry_points" in v)
FAILED = sorted(k for k, v in EXPECTED.items() if "error" in v)


def test_corpus_is_what_we_think() -> None:
    assert len(EXPECTED) == 28
    assert len(FAILED) == 2


@pytest.mark.parametrize("folder", LOADED)
def test_same_project_as_mlflow(folder: str) -> None:
    expected = EXPECTED[folder]
    project = load_project(CORPUS / folder)

    assert project.name == expected["name"]
    assert project.env.kind == _expected_env_kind(CORPUS / folder, expected["env_type"])
    assert set(project.entry_points) == set(expected["entry_points"])
    for name, exp_ep in expected["entry_points"].items():
        ep = project.entry_points[name]
        assert ep.command == exp_ep["command_template"]
        assert set(ep.parameters) == set(exp_ep["parameters"])
        for pname, exp_param in exp_ep["parameters"].items():
            param = ep.parameters[pname]
            assert param.declared_type == exp_param["type"], (name, pname)
            default = exp_param["default"]
            assert param.default == (None if default is None else str(default)), (name, pname)


def _expected_env_kind(directory: Path, mlflow_kind: str) -> str:
    # MLflow's fallback when nothing is declared or found is "python_env with no file" (a
    # fresh virtualenv holding only the current Python). mlrun names that case "local".
    declares = any(
        line.split(":")[0] in ("python_env", "conda_env", "docker_env")
        for line in (directory / "MLproject").read_text().splitlines()
    )
    found = (directory / "python_env.yaml").exists() or (directory / "conda.yaml").exists()
    if mlflow_kind == "python_env" and not declares and not found:
        return "local"
    return mlflow_kind


RENDERED = sorted(
    (folder, ep)
    for folder in LOADED
    for ep, exp in EXPECTED[folder]["entry_points"].items()
    if "words" in exp
)


@pytest.mark.parametrize(("folder", "entry_point"), RENDERED)
def test_same_words_as_mlflow(folder: str, entry_point: str, tmp_path: Path) -> None:
    # Defaults reach the command as written, except relative local path/uri defaults,
    # which mlrun anchors to the project directory (MLflow: to the caller's cwd, and a
    # path must exist). The corpus has no local path default (asserted below) and its only
    # uri default is an https URL, unchanged by either rule, so the words compare as is.
    ep = load_project(CORPUS / folder).entry_points[entry_point]
    local_defaults = [
        p
        for p in ep.parameters.values()
        if p.type in ("path", "uri") and p.default is not None and "://" not in p.default
    ]
    assert local_defaults == []

    command = render_command(ep, resolve_parameters(ep, {}, tmp_path))

    assert command.words() == EXPECTED[folder]["entry_points"][entry_point]["words"]


def test_corpus_commands_run_without_a_shell(tmp_path: Path) -> None:
    # Every rendered corpus command is a simple command: none needs bash -c.
    modes = set()
    for folder, entry_point in RENDERED:
        ep = load_project(CORPUS / folder).entry_points[entry_point]
        modes.add(render_command(ep, resolve_parameters(ep, {}, tmp_path)).mode)
    assert modes == {"argv"}


@pytest.mark.parametrize("folder", [f for f in FAILED if not f.endswith(DOCKERFILE_VARIANT)])
def test_mlflow_failures_are_one_line_spec_errors(folder: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_project(CORPUS / folder)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(CORPUS / folder / "MLproject"))
    assert caught.value.line is not None


def test_missing_conda_file_names_file_and_key() -> None:
    folder = "mlflow__mlflow__tests__resources__example_yarn_project"
    with pytest.raises(SpecError) as caught:
        load_project(CORPUS / folder)
    assert caught.value.key == "conda_env"
    assert caught.value.line == 3
    assert "conda.yaml" in str(caught.value)


def test_dockerfile_variant_loads_with_incompatibility_warning() -> None:
    (folder,) = [f for f in FAILED if f.endswith(DOCKERFILE_VARIANT)]
    assert "no image" in EXPECTED[folder]["error"]

    project = load_project(CORPUS / folder)

    assert project.env.kind == "docker_env"
    assert project.env.docker is not None
    assert project.env.docker.image is None
    assert project.env.docker.dockerfile == "tests/resources/example_docker_project/Dockerfile"
    messages = [w.message for w in project.warnings]
    assert (
        "docker_env.dockerfile is an mlrun extension; MLflow rejects this file (no image)"
        in messages
    )
    assert set(project.entry_points) == {"main", "test_tracking"}


def test_yaml_typos_in_corpus_are_warned_with_lines() -> None:
    project = load_project(CORPUS / "mlflow__mlflow-torchserve__examples__E2EBert")
    found = {(w.line, w.key) for w in project.warnings}
    assert (12, "entry_points.main.parameters.strategy.type str") in found
    assert (13, "entry_points.main.parameters.accelerator.type str") in found
    assert project.entry_points["main"].parameters["strategy"].type == "string"
