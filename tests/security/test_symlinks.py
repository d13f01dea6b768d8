"""`URI#subdir` and the files a project names stay inside the checkout: a symlink (or a
`..`) that leads outside is refused, never followed, and the content hash records a
symlink instead of following it (issue 11.2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrun.sources.contenthash import tree_hash
from tests.helpers import write_project
from tests.security.conftest import Cli, workflow_project
from tests.sources.gitrepos import git

CANARY_PROJECT = """\
name: outside
entry_points:
  main:
    command: "touch {canary}"
"""


def _outside_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project outside the one under test whose command leaves a canary if it runs."""
    canary = tmp_path / "CANARY"
    outside = write_project(tmp_path / "outside", CANARY_PROJECT.replace("{canary}", str(canary)))
    return outside, canary


def test_subdir_symlink_to_outside_is_refused(tmp_path: Path, cli: Cli) -> None:
    outside, canary = _outside_project(tmp_path)
    project = write_project(tmp_path / "p", "name: p\n")
    (project / "sub").symlink_to(outside)
    (project / "root").symlink_to("/")
    for subdir in ("sub", "root", "root/tmp"):
        result = cli("run", f"{project}#{subdir}")
        assert result.code == 2, (subdir, result.err)
        assert f"the subdirectory '{subdir}' of {project} leads outside the project" in result.err
    assert not canary.exists()


def test_subdir_symlink_inside_the_project_is_fine(tmp_path: Path, cli: Cli) -> None:
    canary = tmp_path / "CANARY"
    project = write_project(tmp_path / "p", "name: p\n")
    write_project(project / "real" / "sub", CANARY_PROJECT.replace("{canary}", str(canary)))
    (project / "link").symlink_to("real/sub")
    result = cli("run", f"{project}#link", "-q")
    assert result.code == 0, result.err
    assert canary.exists()


def test_committed_symlink_in_a_git_repository_is_refused(tmp_path: Path, cli: Cli) -> None:
    outside, canary = _outside_project(tmp_path)
    work = write_project(tmp_path / "repo", "name: repo\n")
    (work / "sub").symlink_to(outside)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "a symlink to elsewhere")
    for uri in (f"file://{work}#sub", f"{work}#sub"):
        result = cli("run", uri)
        assert result.code == 2, (uri, result.err)
        assert "leads outside the project" in result.err
    result = cli("run", f"{work}#sub", "--version", "main")
    assert result.code == 2, result.err
    assert not canary.exists()


@pytest.mark.parametrize(
    "mlproject,link",
    [
        ("python_env: python_env.yaml\n", "python_env.yaml"),
        ("conda_env: env/conda.yaml\n", "env"),
        ("", "python_env.yaml"),  # auto-detected
        ("docker_env: {context: ctx, dockerfile: ctx/Dockerfile}\n", "ctx"),
        ("docker_env: {image: x, dockerfile: ../elsewhere/Dockerfile}\n", None),
    ],
)
def test_project_files_must_not_lead_outside(
    tmp_path: Path, cli: Cli, mlproject: str, link: str | None
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("python_env.yaml", "conda.yaml", "Dockerfile"):
        (elsewhere / name).write_text("python: '3.11'\n" if "yaml" in name else "FROM x\n")
    project = write_project(
        tmp_path / "p", "name: p\n" + mlproject + "entry_points: {main: {command: echo}}\n"
    )
    if link is not None:
        target = elsewhere / link if link.endswith(".yaml") else elsewhere
        (project / link).symlink_to(target)
    for command in (("validate",), ("run", "--dry-run")):
        result = cli(*command, str(project))
        assert result.code == 2, (command, result.err)
        assert f"leads outside the project (to {elsewhere}" in result.err


def test_mlproject_symlink_to_outside_is_refused(tmp_path: Path, cli: Cli) -> None:
    outside, canary = _outside_project(tmp_path)
    project = tmp_path / "p"
    project.mkdir()
    (project / "MLproject").symlink_to(outside / "MLproject")
    result = cli("run", str(project))
    assert result.code == 2, result.err
    assert "the MLproject file leads outside the project" in result.err
    assert not canary.exists()


@pytest.mark.parametrize("volume", ["./data:/data", "data/inner:/data", "../elsewhere:/x"])
def test_relative_docker_volumes_stay_inside(tmp_path: Path, cli: Cli, volume: str) -> None:
    (tmp_path / "elsewhere" / "inner").mkdir(parents=True)
    project = write_project(
        tmp_path / "p",
        f"name: p\ndocker_env:\n  image: busybox\n  volumes: [{volume!r}]\n"
        "entry_points: {main: {command: echo}}\n",
    )
    (project / "data").symlink_to(tmp_path / "elsewhere")
    result = cli("run", str(project), "--dry-run")
    assert result.code == 2, result.err
    assert "docker_env.volumes[0]" in result.err
    assert f"leads outside the project (to {tmp_path / 'elsewhere'}" in result.err
    # The same mount through -A is refused too; an absolute path is the user's choice.
    result = cli("run", str(project), "--dry-run", "-A", "volume=data:/x")
    assert result.code == 2
    ok = write_project(
        tmp_path / "ok",
        f"name: ok\ndocker_env:\n  image: busybox\n  volumes: ['{tmp_path}/elsewhere:/x']\n"
        "entry_points: {main: {command: echo}}\n",
    )
    assert cli("run", str(ok), "--dry-run").code == 0


def test_workflow_deps_stay_inside(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "elsewhere").mkdir()
    project = workflow_project(tmp_path / "p", {"s": "entry_point: main, deps: [data]"})
    (project / "data").symlink_to(tmp_path / "elsewhere")
    result = cli("run", str(project), "-e", "flow")
    assert result.code == 2
    assert f"dep 'data' leads outside the project (to {tmp_path / 'elsewhere'})" in result.err


def test_content_hash_records_symlinks_without_following_them(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("one")
    project = write_project(tmp_path / "p", "name: p\n")
    (project / "data").symlink_to(elsewhere)
    (project / "file").symlink_to(elsewhere / "secret.txt")
    before = tree_hash(project)
    (elsewhere / "secret.txt").write_text("two: the hash does not read it")
    (elsewhere / "new.txt").write_text("nor list it")
    assert tree_hash(project) == before
    os.unlink(project / "data")
    (project / "data").symlink_to(tmp_path)  # the link itself is part of the content
    assert tree_hash(project) != before
