from __future__ import annotations

from pathlib import Path

import pytest

from mlrun.errors import UsageError
from mlrun.spec.entrypoints import get_entry_point
from mlrun.spec.loader import load_project
from mlrun.spec.params import resolve_parameters
from mlrun.spec.render import render_command
from tests.spec.conftest import MakeProject

PROJECT = """
    entry_points:
      main:
        command: python main.py
      train.py:
        command: python other.py
"""


def test_declared_entry_point_wins(make_project: MakeProject) -> None:
    project = load_project(make_project(PROJECT, {"train.py": ""}))
    assert get_entry_point(project, "main").command == "python main.py"
    # a declared name wins over a file of the same name, as in MLflow
    assert get_entry_point(project, "train.py").command == "python other.py"


def test_python_script(make_project: MakeProject, tmp_path: Path) -> None:
    project = load_project(make_project(PROJECT, {"scripts/fit.py": ""}))
    ep = get_entry_point(project, "scripts/fit.py")
    assert ep.is_script
    assert ep.parameters == {}
    command = render_command(ep, resolve_parameters(ep, {"alpha": "0.5", "n": "a b"}, tmp_path))
    assert command.argv == ("python", "scripts/fit.py", "--alpha", "0.5", "--n", "a b")


def test_shell_script_uses_shell_env(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = load_project(make_project(None, {"run it {x}.sh": ""}))
    monkeypatch.setenv("SHELL", "/bin/zsh")
    ep = get_entry_point(project, "run it {x}.sh")
    command = render_command(ep, resolve_parameters(ep, {}, tmp_path))
    assert command.argv == ("/bin/zsh", "run it {x}.sh")
    monkeypatch.delenv("SHELL")
    ep = get_entry_point(project, "run it {x}.sh")
    assert render_command(ep, resolve_parameters(ep, {}, tmp_path)).argv == (
        "bash",
        "run it {x}.sh",
    )


def test_unknown_entry_point_lists_the_available_ones(make_project: MakeProject) -> None:
    project = load_project(make_project(PROJECT))
    with pytest.raises(UsageError) as caught:
        get_entry_point(project, "trian")
    assert "'trian'" in str(caught.value)
    assert "main, train.py" in str(caught.value)
    assert caught.value.hint is not None
    assert "-e train.py" in caught.value.hint


def test_missing_script_file(make_project: MakeProject) -> None:
    project = load_project(make_project(PROJECT))
    with pytest.raises(UsageError, match=r"no file nope\.py"):
        get_entry_point(project, "nope.py")


def test_other_extensions_are_not_scripts(make_project: MakeProject) -> None:
    project = load_project(make_project(None, {"x.R": "", "x.txt": ""}))
    for name in ("x.R", "x.txt"):
        with pytest.raises(UsageError):
            get_entry_point(project, name)
