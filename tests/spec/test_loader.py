from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun.errors import SpecError
from mlrun.spec.loader import find_mlproject, load_project
from mlrun.spec.model import DockerEnvVar
from tests.conftest import REPO
from tests.spec.conftest import MakeProject

BASIC = """
    name: demo
    entry_points:
      main:
        parameters:
          alpha: float
          l1: {type: float, default: 0.1}
          flag: {type: bool, default: true}
          rate: {type: float, default: 1e-1}
          zero: {default: .0}
          none: {type: int, default: None}
          req: {type: string, default: null}
          empty: {type: string, default: ""}
        command: "python train.py {alpha} {l1}"
"""


def test_basic_project(make_project: MakeProject) -> None:
    root = make_project(BASIC)
    project = load_project(root)
    assert project.name == "demo"
    assert project.file == root / "MLproject"
    assert project.directory == root
    assert project.env.kind == "local"
    ep = project.entry_points["main"]
    assert ep.line == 3
    assert ep.file == root / "MLproject"
    params = ep.parameters
    assert list(params) == ["alpha", "l1", "flag", "rate", "zero", "none", "req", "empty"]
    assert (params["alpha"].type, params["alpha"].default) == ("float", None)
    assert params["l1"].default == "0.1"
    assert params["flag"].default == "True"
    assert params["rate"].default == "1e-1"
    assert (params["zero"].declared_type, params["zero"].default) == ("string", "0.0")
    assert (params["none"].type, params["none"].default) == ("int", "None")
    assert params["req"].default is None
    assert params["empty"].default == ""
    assert params["l1"].line == 6
    assert project.warnings == ()


def test_relative_directory_is_made_absolute(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(BASIC)
    monkeypatch.chdir(root.parent)
    project = load_project(Path(root.name))
    assert project.directory.is_absolute()
    assert project.directory == root


@pytest.mark.parametrize(
    ("declared", "canonical"),
    [
        ("string", "string"),
        ("str", "string"),
        ("float", "float"),
        ("double", "float"),
        ("int", "int"),
        ("integer", "int"),
        ("bool", "bool"),
        ("boolean", "bool"),
        ("path", "path"),
        ("uri", "uri"),
    ],
)
def test_type_aliases(make_project: MakeProject, declared: str, canonical: str) -> None:
    root = make_project(f"entry_points:\n  m:\n    parameters: {{p: {declared}}}\n    command: x")
    param = load_project(root).entry_points["m"].parameters["p"]
    assert (param.declared_type, param.type) == (declared, canonical)


def test_unknown_type_warns_and_is_string(make_project: MakeProject) -> None:
    root = make_project(
        """
        entry_points:
          m:
            parameters:
              a: Path
              b: {type: flaot}
            command: x {a} {b}
        """
    )
    project = load_project(root)
    a, b = project.entry_points["m"].parameters.values()
    # MLflow compares `type == "path"`: `Path` is an ordinary string there.
    assert (a.declared_type, a.type) == ("Path", "string")
    assert (b.declared_type, b.type) == ("flaot", "string")
    lines = {w.line: w.message for w in project.warnings}
    assert "did you mean `path`?" in lines[4]
    assert "did you mean `float`?" in lines[5]


def test_no_mlproject(make_project: MakeProject) -> None:
    project = load_project(make_project(None, {"train.py": ""}))
    assert project.file is None
    assert project.entry_points == {}
    assert project.env.kind == "local"


@pytest.mark.parametrize("name", ["mlproject", "MLProject", "MLPROJECT"])
def test_find_mlproject_any_case(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("entry_points: {}\n")
    assert find_mlproject(tmp_path) == tmp_path / name


def test_find_mlproject_ignores_directories(tmp_path: Path) -> None:
    (tmp_path / "mlproject").mkdir()
    assert find_mlproject(tmp_path) is None


def test_several_mlproject_files_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text("")
    try:
        (tmp_path / "mlproject").write_text("")
    except OSError:
        pytest.skip("case-insensitive file system")
    if len(os.listdir(tmp_path)) < 2:
        pytest.skip("case-insensitive file system")
    with pytest.raises(SpecError, match="MLproject, mlproject"):
        find_mlproject(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_project(tmp_path / "nope")


# --- environments ---------------------------------------------------------------------


def test_env_autodetect_prefers_python_env(make_project: MakeProject) -> None:
    root = make_project("entry_points: {}", {"python_env.yaml": "", "conda.yaml": ""})
    env = load_project(root).env
    assert (env.kind, env.file, env.declared) == ("python_env", root / "python_env.yaml", False)


def test_env_autodetect_conda(make_project: MakeProject) -> None:
    root = make_project(None, {"conda.yaml": ""})
    env = load_project(root).env
    assert (env.kind, env.file, env.declared) == ("conda_env", root / "conda.yaml", False)


def test_declared_env_file(make_project: MakeProject) -> None:
    root = make_project("python_env: envs/py.yaml\n", {"envs/py.yaml": "", "conda.yaml": ""})
    env = load_project(root).env
    assert (env.kind, env.file, env.declared) == ("python_env", root / "envs/py.yaml", True)


def test_empty_env_key_is_ignored_with_warning(make_project: MakeProject) -> None:
    root = make_project("conda_env:\n", {"python_env.yaml": ""})
    project = load_project(root)
    assert project.env.kind == "python_env"
    assert project.warnings[0].line == 1


DOCKER = """
    docker_env:
      image: repo/img:1
      volumes: ["/a:/a", "/b:/b"]
      environment: [HOME, [MODE, test], [N, 3]]
      run_args: {gpus: all}
    entry_points: {}
"""


def test_docker_env(make_project: MakeProject) -> None:
    env = load_project(make_project(DOCKER)).env
    assert env.kind == "docker_env"
    assert env.declared
    assert env.docker is not None
    assert env.docker.image == "repo/img:1"
    assert env.docker.volumes == ("/a:/a", "/b:/b")
    assert env.docker.environment == (
        DockerEnvVar("HOME", None),
        DockerEnvVar("MODE", "test"),
        DockerEnvVar("N", "3"),
    )
    assert env.docker.extra == {"run_args": {"gpus": "all"}}


def test_docker_build_variant(make_project: MakeProject) -> None:
    root = make_project(
        "docker_env:\n  dockerfile: docker/Dockerfile\n  context: .\n",
        {"docker/Dockerfile": "FROM python\n"},
    )
    project = load_project(root)
    assert project.env.docker is not None
    assert project.env.docker.image is None
    assert project.env.docker.dockerfile == "docker/Dockerfile"
    assert project.env.docker.context == "."
    assert [(w.line, w.message) for w in project.warnings] == [
        (2, "docker_env.dockerfile is an mlrun extension; MLflow rejects this file (no image)"),
        (3, "docker_env.context is an mlrun extension; MLflow rejects this file (no image)"),
    ]


BAD_FILES = [
    # (MLproject text, extra files, expected line, expected text in the message)
    ("name: x\npython_env: p.yaml\nconda_env: c.yaml\n", {}, 3, "python_env and conda_env"),
    ("docker_env: {image: x}\npython_env: p.yaml\n", {}, 2, "docker_env"),
    ("name: x\npython_env: p.yaml\n", {}, 2, "python_env names the file 'p.yaml'"),
    ("conda_env: sub\n", {"sub/x": ""}, 1, "is not a file"),
    ("conda_env: [a]\n", {}, 1, "must name a file"),
    ("docker_env:\n  namespace: x\n", {}, 1, "docker_env has no image"),
    ("docker_env: img\n", {}, 1, "docker_env must be a mapping"),
    ("docker_env:\n  image: x\n  volumes: /a:/a\n", {}, 3, "volumes must be a list of strings"),
    ("docker_env:\n  image: x\n  environment: [[A]]\n", {}, 3, "environment must be a list"),
    ("docker_env:\n  image: x\n  environment: {A: 1}\n", {}, 3, "environment must be a list"),
    ("docker_env:\n  dockerfile: nope/Dockerfile\n", {}, 2, "no such file"),
    ("- a\n- b\n", {}, 1, "must be a YAML mapping"),
    ("entry_points: [main]\n", {}, 1, "entry_points must be a mapping"),
    ("entry_points:\n  main: python x.py\n", {}, 2, "must be a mapping with a command"),
    ("entry_points:\n  main:\n    parameters: {}\n", {}, 2, "entry point 'main' has no command"),
    ("entry_points:\n  main:\n    command:\n", {}, 2, "has no command"),
    ("entry_points:\n  main:\n    command: '  '\n", {}, 2, "has no command"),
    ("entry_points:\n  main:\n    command: [a, b]\n", {}, 3, "must be a string"),
    ("entry_points:\n  m:\n    command: x\n    parameters: [a]\n", {}, 4, "must be a mapping"),
    ("entry_points:\n  m:\n    command: x\n    parameters:\n      a: 3\n", {}, 5, "type name"),
    ("entry_points:\n  m:\n    command: x\n    parameters:\n      a:\n", {}, 5, "type name"),
    ("entry_points:\n  1:\n    command: x\n", {}, 2, "not a string"),
    ("entry_points:\n  m:\n    command: x\n    parameters: {on: int}\n", {}, 4, "True"),
    ("name: [a]\n", {}, 1, "name must be a string"),
    ("entry_points:\n  main: {command: x\n", {}, 3, "not valid YAML"),
]


@pytest.mark.parametrize(("text", "files", "line", "fragment"), BAD_FILES)
def test_invalid_files_are_spec_errors_with_file_and_line(
    make_project: MakeProject, text: str, files: dict[str, str], line: int, fragment: str
) -> None:
    root = make_project(text, files)
    with pytest.raises(SpecError) as caught:
        load_project(root)
    error = caught.value
    assert (error.file, error.line) == (str(root / "MLproject"), line)
    assert fragment in error.message
    assert "\n" not in str(error)


@pytest.mark.parametrize("name", ["a;b", "$(x)", "a b", "-a", "a'b", "1a", "ü"])
def test_parameter_names_with_metacharacters_are_rejected(
    make_project: MakeProject, name: str
) -> None:
    root = make_project(
        f"entry_points:\n  m:\n    command: x\n    parameters:\n      {name!r}: string\n"
    )
    with pytest.raises(SpecError) as caught:
        load_project(root)
    assert repr(name) in caught.value.message
    assert caught.value.line == 5


def test_missing_command_hints_at_typo(make_project: MakeProject) -> None:
    root = make_project("entry_points:\n  main:\n    comand: python x.py\n")
    with pytest.raises(SpecError) as caught:
        load_project(root)
    assert caught.value.hint is not None
    assert "`comand`" in caught.value.hint


def test_null_parameters_and_entry_points(make_project: MakeProject) -> None:
    project = load_project(make_project("entry_points:\n  m:\n    command: x\n    parameters:\n"))
    assert project.entry_points["m"].parameters == {}
    assert load_project(make_project("entry_points:\n")).entry_points == {}
    assert load_project(make_project("")).entry_points == {}


# --- typos and unknown keys ------------------------------------------------------------

TYPOS = """
    name: t
    entry_point:
      main:
        command: x
    conda: env.yaml
    kubernetes_env: {job_namespace: ml}
    workflows: {steps: []}
    databricks_spark_job: {python_file: x.py}
    author: me
    entry_points:
      main:
        parameters:
          a: {type:int, default: 2000}
          b: {type str, default: None}
          c: {type: int, default:5}
          d: {type: float, defualt: 1.0}
          e: {type: int, default: 1, help: "the e"}
        commnd: nope
        command: python x.py {a} {b} {c} {d} {e}
"""


def test_typos_are_warned_with_lines(make_project: MakeProject) -> None:
    project = load_project(make_project(TYPOS))
    by_line = {w.line: w.message for w in project.warnings}
    assert "did you mean `entry_points`?" in by_line[2]
    assert "did you mean `conda_env`?" in by_line[5]
    assert "did you mean `type: int`?" in by_line[13]
    assert "uses type string" in by_line[13]
    assert "did you mean `type: str`?" in by_line[14]
    assert "did you mean `default: 5`?" in by_line[15]
    assert "required" in by_line[15]
    assert "did you mean `default`?" in by_line[16]
    assert "'help'" in by_line[17]
    assert "did you mean `command`?" in by_line[18]
    # legitimate extension keys and unrelated keys are silent
    assert set(by_line) == {2, 5, 13, 14, 15, 16, 17, 18}
    assert all(str(w).startswith(f"{project.file}:{w.line}: ") for w in project.warnings)


def test_typos_behave_as_mlflow(make_project: MakeProject) -> None:
    project = load_project(make_project(TYPOS))
    params = project.entry_points["main"].parameters
    assert (params["a"].declared_type, params["a"].default) == ("string", "2000")
    assert (params["b"].declared_type, params["b"].default) == ("string", "None")
    assert (params["c"].type, params["c"].default) == ("int", None)
    assert params["d"].default is None
    assert project.entry_points["main"].extra == {"commnd": "nope"}


def test_unknown_top_level_keys_are_kept(make_project: MakeProject) -> None:
    project = load_project(make_project(TYPOS))
    assert project.extra["kubernetes_env"] == {"job_namespace": "ml"}
    assert project.extra["workflows"] == {"steps": []}
    assert set(project.extra) == {
        "entry_point",
        "conda",
        "kubernetes_env",
        "workflows",
        "databricks_spark_job",
        "author",
    }
    assert project.extra_lines["workflows"] == 7


def test_loading_does_not_import_difflib_for_a_clean_file(make_project: MakeProject) -> None:
    # Loading is on every run's hot path; suggestions are computed only when needed.
    root = make_project(BASIC)
    code = (
        "import sys; from pathlib import Path; from mlrun.spec.loader import load_project; "
        f"load_project(Path({str(root)!r})); print('difflib' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert out.stdout.strip() == "False", out.stderr
