"""JSON that pipes (issue 18, item 2): for every command that has `--json`, stdout holds
exactly one JSON document, on success and on error; the entry point's own output goes to
stderr. Each case pipes mlrun's stdout through `python -m json.tool`, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import pytest

from tests.conftest import mlrun_cmd
from tests.helpers import write_project

PRINTING = """\
entry_points:
  main:
    command: "python -c \\"print('hello from the entry point'); print('{{not json')\\""
  fails:
    command: "python -c \\"import sys; print('partial'); sys.exit(3)\\""
workflows:
  flow:
    steps:
      one: {entry_point: main}
"""


def json_commands() -> set[str]:
    """Every command of the CLI that declares a --json option."""
    from mlrun.cli.main import cli

    found: set[str] = set()

    def walk(group: click.Group, prefix: str) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")
            elif any("--json" in p.opts for p in command.params if isinstance(p, click.Option)):
                found.add(prefix + name)

    walk(cli, "")
    return found


def piped(*args: str, cwd: Path) -> tuple[int, int, Any, str]:
    """`mlrun ARGS | python -m json.tool`: (mlrun's exit code, json.tool's, the
    document, mlrun's stderr)."""
    with tempfile.TemporaryFile() as err_file:
        with subprocess.Popen(
            [*mlrun_cmd(), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=err_file
        ) as mlrun:
            tool = subprocess.run(
                [sys.executable, "-m", "json.tool"],
                stdin=mlrun.stdout,
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
            code = mlrun.wait(timeout=120)
        err_file.seek(0)
        err = err_file.read().decode()
    document = json.loads(tool.stdout) if tool.returncode == 0 else tool.stderr
    return code, tool.returncode, document, err


@pytest.fixture
def projects(tmp_path: Path) -> dict[str, Path]:
    good = write_project(tmp_path / "good", PRINTING)
    broken = write_project(tmp_path / "broken", "entry_points:\n  main: {parameters: {}}\n")
    with_env = write_project(
        tmp_path / "with-env",
        "python_env: python_env.yaml\nentry_points: {main: {command: 'true'}}\n",
        {"python_env.yaml": "dependencies: []\n"},
    )
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "train.py").write_text("if __name__ == '__main__':\n    print('hi')\n")
    return {
        "scripts": scripts,
        "good": good,
        "broken": broken,
        "with_env": with_env,
        "missing": tmp_path / "absent",
        "cwd": tmp_path,
    }


@pytest.mark.slow  # 26 commands through real pipes (~5 s of CPU)
def test_every_json_command_pipes_on_success_and_on_error(projects: dict[str, Path]) -> None:
    good, broken, missing = (str(projects[k]) for k in ("good", "broken", "missing"))
    # (command, args, exit code, what the document must hold)
    cases: list[tuple[str, list[str], int, str]] = [
        ("run", [good], 0, "FINISHED"),
        ("run", [good, "-e", "fails"], 3, "FAILED"),  # the entry point's failure
        ("run", [good, "-e", "flow"], 0, "FINISHED"),
        ("run", [good, "-e", "flow", "--stream", "--force"], 0, "FINISHED"),
        ("run", [good, "--dry-run"], 0, "argv"),
        ("run", [good, "-e", "flow", "--dry-run"], 0, "steps"),
        ("run", [missing], 2, "error"),
        ("run", [good, "-e", "flow", "-P", "nope=1"], 2, "error"),
        ("run", [good, "--grace-period", "soon"], 2, "error"),  # click's own usage error
        ("validate", [good], 0, "entry_points"),
        ("validate", [broken], 2, "error"),
        ("runs list", [], 0, "run_id"),
        ("runs list", ["--status", "BOGUS"], 2, "error"),
        ("runs show", ["<run>"], 0, "run_id"),
        ("runs show", ["ffffffff"], 2, "error"),
        ("runs compare", ["<run>"], 0, "columns"),
        ("runs compare", ["<run>", "--sort", "nope"], 2, "error"),
        ("env list", [], 0, "[]"),
        ("env list", ["--bogus"], 2, "error"),
        ("env prune", ["--dry-run"], 0, "[]"),
        ("env prune", ["--older-than", "soon"], 2, "error"),
        ("env build", [good], 0, "kind"),
        ("env build", [missing], 2, "error"),
        ("lock", [str(projects["with_env"])], 0, "python_env.lock"),
        ("lock", [good], 2, "error"),  # no environment: nothing to lock
        ("package", [good, "-o", str(projects["cwd"] / "good.tar.gz")], 0, "sha256"),
        ("package", ["ffffffff", "-o", str(projects["cwd"] / "x.tar.gz")], 2, "error"),
        ("reproduce", ["<run>", "--check"], 0, "reproduces"),
        ("reproduce", ["ffffffff"], 2, "error"),
        ("init", [str(projects["scripts"])], 0, "entry_points"),
        ("init", [missing], 2, "error"),
        ("runs delete", ["ffffffff"], 2, "error"),
        ("runs delete", ["<run>"], 0, "deleted"),  # after every case that reads the run
        ("runs gc", ["--older-than", "0s"], 0, "removed"),  # the deleted run's directory
        ("runs gc", ["--older-than", "soon"], 2, "error"),
    ]
    assert {c[0] for c in cases} == json_commands()  # a new --json command needs cases here
    run_id = None
    for command, args, expected, holds in cases:
        args = [run_id or "" if a == "<run>" else a for a in args]
        code, tool, doc, err = piped(*command.split(), *args, "--json", cwd=projects["cwd"])
        where = f"mlrun {command} {args} --json"
        assert tool == 0, f"{where}: stdout is not one JSON document: {doc}"
        assert code == expected, (where, doc, err)
        assert "Traceback" not in err, where
        text = json.dumps(doc)
        assert holds in text, (where, doc)
        if holds == "error":
            error = doc["error"]
            assert error["exit_code"] == expected and error["message"] and error["kind"], where
            assert error["message"] in err  # still said on stderr too
        if command == "run" and args == [good]:
            run_id = doc["run_id"]
        if command == "run" and args in ([good], [good, "-e", "flow", "--stream", "--force"]):
            # The entry point's own output went to stderr, even text that is not JSON.
            assert "hello from the entry point" in err and "{not json" in err


def test_error_document_shape(projects: dict[str, Path]) -> None:
    code, _, doc, _ = piped("validate", str(projects["broken"]), "--json", cwd=projects["cwd"])
    assert code == 2
    error = doc["error"]
    assert error["kind"] == "SpecError"
    assert error["file"] == str(projects["broken"] / "MLproject") and error["line"] == 2
    assert set(error) >= {"kind", "message", "hint", "exit_code", "file", "line"}


def test_without_json_the_output_stays_on_stdout(projects: dict[str, Path]) -> None:
    proc = subprocess.run(
        [*mlrun_cmd(), "run", str(projects["good"]), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout == "hello from the entry point\n{not json\n"
