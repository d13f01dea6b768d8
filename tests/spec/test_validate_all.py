"""`mlrun validate` tells everything at once (issue 18, item 3): every error and warning
of the MLproject, its workflows, its env file and docker settings, in one pass and in
line order; exit 2 with any error; no "OK" when --strict fails. And a -P name the entry
point does not declare is warned about with the name it resembles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import cli, mlrun, write_project

BROKEN = """\
name: many-problems
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: flaot, default: 0.1}
      bad name: float
    command: "python train.py {alpha}"
  nocommand:
    parameters: {x: int}
  numeric: {command: 5}
workflows:
  w:
    steps:
      a: {entry_point: main, colour: red}
      b: {entry_point: mian}
      c: {entry_point: main, needs: [zz]}
"""
PYTHON_ENV = """\
python: "3"
dependencies: tabulate
build_dependencies: [pip, {x: 1}]
extra: 1
"""


def _lines(stderr: str, kind: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith(f"mlrun: {kind}: ")]


def test_every_error_and_warning_at_once_in_line_order(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", BROKEN, {"python_env.yaml": PYTHON_ENV})
    proc = cli("validate", str(project))
    assert proc.returncode == 2
    assert "OK" not in proc.stdout and "Traceback" not in proc.stderr
    mlproject, env_file = str(project / "MLproject"), str(project / "python_env.yaml")
    expected = [
        ("warning", mlproject, 6, "unknown type 'flaot' (did you mean `float`?)"),
        ("error", mlproject, 7, "parameter name 'bad name' of entry point 'main' is not valid"),
        ("error", mlproject, 9, "entry point 'nocommand' has no command"),
        ("error", mlproject, 11, "the command of entry point 'numeric' must be a string"),
        ("error", mlproject, 15, "unknown key 'colour' in step 'a'"),
        ("error", mlproject, 16, "names entry point 'mian', which the project does not have"),
        ("error", mlproject, 17, "step 'c' needs unknown step 'zz'"),
        ("error", env_file, 2, "`dependencies` must be a list of requirement strings"),
        ("error", env_file, 3, "`build_dependencies` item 2 must be a string"),
        ("warning", env_file, 4, "unknown key 'extra' in python_env.yaml"),
    ]
    shown = [
        ln
        for ln in proc.stderr.splitlines()
        if ln.startswith(("mlrun: error: /", "mlrun: warning: /"))
    ]
    assert len(shown) == len(expected), proc.stderr
    for line, (kind, file, number, words) in zip(shown, expected, strict=True):
        assert line.startswith(f"mlrun: {kind}: {file}:{number}: "), (line, kind, number)
        assert words in line, (line, words)
    assert proc.stderr.rstrip().endswith(
        f"mlrun: error: 8 errors and 2 warnings in the project at {project}"
    )
    # The same as JSON, with the first error as the error object.
    data = json.loads(cli("validate", str(project), "--json").stdout)
    assert data["error"]["exit_code"] == 2 and data["error"]["kind"] == "SpecError"
    assert [(d["severity"], d["file"], d["line"]) for d in data["diagnostics"]] == [
        (kind, file, number) for kind, file, number, _ in expected
    ]
    # A run stops at the first error, and says there are more.
    run = cli("run", str(project))
    assert run.returncode == 2
    assert run.stderr.startswith(f"mlrun: error: {mlproject}:7: parameter name 'bad name'")
    assert "(and 2 more errors; `mlrun validate` lists them)" in run.stderr


def test_python_env_file_is_checked_as_a_run_would(tmp_path: Path) -> None:
    """`dependencies: tabulate` (a string, not a list) used to pass validate and fail run."""
    project = write_project(
        tmp_path / "p",
        'entry_points:\n  main: {command: "python -c pass"}\n',
        {"python_env.yaml": "dependencies: tabulate\n"},
    )
    proc = cli("validate", str(project))
    assert proc.returncode == 2 and "OK" not in proc.stdout
    message = f"{project / 'python_env.yaml'}:1: `dependencies` must be a list"
    assert proc.stderr.startswith(f"mlrun: error: {message}")
    run = cli("run", str(project), "--env-manager", "virtualenv")
    assert run.returncode == 2 and message in run.stderr


def test_requirement_files_and_python_version(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        'entry_points:\n  main: {command: "python -c pass"}\n',
        {
            "python_env.yaml": (
                'python: "2.1"\n'
                "dependencies:\n"
                "  - -r requirements.txt\n"
                "  - -r missing.txt\n"
                "  - ~/nowhere-on-this-machine\n"
            ),
            "requirements.txt": "numpy==1.26.4\n",
        },
    )
    proc = cli("validate", str(project))
    assert proc.returncode == 2
    env_file = project / "python_env.yaml"
    errors, warnings = _lines(proc.stderr, "error"), _lines(proc.stderr, "warning")
    assert errors[0].startswith(f"mlrun: error: {env_file}:4: the requirement '-r missing.txt'")
    assert warnings[0].startswith(f"mlrun: warning: {env_file}:1: {env_file} asks for Python 2.1")
    assert "a run on this machine fails" in warnings[0]
    assert warnings[1].startswith(f"mlrun: warning: {env_file}:5: the requirement '~/nowhere")


def test_conda_file_is_checked(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        'entry_points:\n  main: {command: "python -c pass"}\n',
        {"conda.yaml": "channels: conda-forge\ndependencies:\n  - python=3.11\n  - [nested]\n"},
    )
    proc = cli("validate", str(project), "--json")
    assert proc.returncode == 2
    lines = [(d["line"], d["message"]) for d in json.loads(proc.stdout)["diagnostics"]]
    assert lines[0] == (1, "`channels` must be a list of channel names or URLs")
    assert lines[1][0] == 4 and lines[1][1].startswith("dependency 2 must be a package spec")


def test_docker_settings_are_checked(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        docker_env:
          image: busybox
          volumes: ["nonsense", "${MLRUN_TEST_UNSET_VAR}/data:/data", "/no/such/dir:/ok:ro"]
          environment: ["A=B", GOOD, [TRIM, "${HOME%/}"], [LATER, "$MLRUN_TEST_UNSET_VAR/x"]]
        entry_points:
          main: {command: "true"}
        """,
    )
    env = dict(os.environ)
    env.pop("MLRUN_TEST_UNSET_VAR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "mlrun", "validate", str(project)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    file = project / "MLproject"
    errors, warnings = _lines(proc.stderr, "error"), _lines(proc.stderr, "warning")
    assert errors[0].startswith(f"mlrun: error: {file}:3: docker_env.volumes[0] is 'nonsense'")
    assert errors[1].startswith(f"mlrun: error: {file}:4: docker_env.environment has the invalid")
    assert errors[2].startswith(
        f"mlrun: error: {file}:4: docker_env.environment[2] uses ${{HOME%/}} in '${{HOME%/}}', "
        "which mlrun does not expand"
    )
    assert warnings[0].startswith(
        f"mlrun: warning: {file}:3: docker_env.volumes[1] uses $MLRUN_TEST_UNSET_VAR"
    )
    assert warnings[1].startswith(
        f"mlrun: warning: {file}:3: docker_env.volumes[2] mounts /no/such/dir, which does not "
        "exist here"
    )
    assert warnings[2].startswith(
        f"mlrun: warning: {file}:4: docker_env.environment[3] (LATER) uses "
        "$MLRUN_TEST_UNSET_VAR, which is not set here"
    )


def test_strict_fails_without_ok(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {alpha: {type: flaot, default: 1}}
            command: "python -c pass {alpha}"
        """,
    )
    relaxed = cli("validate", str(project))
    assert relaxed.returncode == 0 and f"{project / 'MLproject'}: OK" in relaxed.stdout
    strict = cli("validate", str(project), "--strict")
    assert strict.returncode == 2
    assert "OK" not in strict.stdout
    assert "FAILED (1 warning, and --strict was given)" in strict.stdout
    assert strict.stderr.rstrip().endswith("mlrun: error: 1 warning, and --strict was given")
    data = json.loads(cli("validate", str(project), "--strict", "--json").stdout)
    assert data["error"]["message"] == "1 warning, and --strict was given"
    assert data["entry_points"]["main"]["parameters"]["alpha"]["type"] == "flaot"


def test_undeclared_param_warns_with_the_closest_name_and_is_still_passed(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {alpha: float}
            command: "python -c 'import sys; print(sys.argv[1:])' {alpha}"
        """,
    )
    proc = mlrun("run", str(project), "-P", "alpha=1", "-P", "alhpa=0.3", "-P", "other=x", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['1', '--alhpa', '0.3', '--other', 'x']"  # as MLflow
    assert (
        "mlrun: warning: -P alhpa is not a parameter of entry point 'main' "
        "(did you mean `alpha`?); it is passed as --alhpa '0.3', as MLflow does"
    ) in proc.stderr
    assert "other" not in proc.stderr  # no likely typo: said only without -q
    loud = mlrun("run", str(project), "-P", "alpha=1", "-P", "other=x")
    assert "mlrun: -P other is not a parameter of entry point 'main';" in loud.stderr


def test_validate_lists_each_steps_code(tmp_path: Path) -> None:
    from tests.conftest import REPO

    proc = cli("validate", str(REPO / "example_projects" / "wine-pipeline"))
    assert proc.returncode == 0, proc.stderr
    assert "  evaluate: code evaluate.py, steputil.py" in proc.stdout
    data = json.loads(
        cli("validate", str(REPO / "example_projects" / "wine-pipeline"), "--json").stdout
    )
    assert data["workflows"]["pipeline"]["steps"]["train"]["code"] == ["train.py", "steputil.py"]
    broken = write_project(
        tmp_path / "p",
        'entry_points:\n  main: {command: "true"}\n'
        "workflows:\n  w:\n    steps:\n      a: {entry_point: main, code: [nothing.py]}\n",
    )
    proc = cli("validate", str(broken))
    assert proc.returncode == 2
    assert "code pattern 'nothing.py' of step 'a' matches no file in the project" in proc.stderr
