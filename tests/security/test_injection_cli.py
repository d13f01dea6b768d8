"""Hostile values through real `mlrun run` processes: no value is evaluated by the shell,
whether it comes from -P, a default, or an upstream step's outputs.json (issue 11.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import mlrun, write_project
from tests.security.conftest import Cli

HOSTILE = [
    "$(touch {canary})",
    "`touch {canary}`",
    "x; touch {canary}",
    "x' ; touch {canary} ; '",
    'x" ; touch {canary} ; "',
    "$(touch${{IFS}}{canary})",
]

PROJECT = """\
name: hostile
entry_points:
  dq:
    parameters: {a: string}
    command: 'echo "got: {a}" | cat'
  sq:
    parameters: {a: string}
    command: "echo 'got: {a}' | cat"
  heredoc:
    parameters: {a: string}
    command: |
      cat <<EOF
      got: {a}
      EOF
  backticks:
    parameters: {a: string}
    command: 'echo "got: `echo "{a}"`" | cat'
  emit:
    parameters: {a: string}
    command: "python emit.py {a}"
workflows:
  flow:
    parameters: {a: string}
    steps:
      up: {entry_point: emit, parameters: {a: "${{ params.a }}"}}
      down: {entry_point: dq, parameters: {a: "${{ steps.up.outputs.k }}"}}
"""
EMIT = """\
import json, os, sys
with open(os.path.join(os.environ["MLRUN_RUN_DIR"], "outputs.json"), "w") as fh:
    json.dump({"k": sys.argv[1]}, fh)
"""


@pytest.mark.slow  # 4 entry points x every hostile value, each a real run
def test_hostile_values_are_printed_not_run(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT, {"emit.py": EMIT})
    canary = tmp_path / "CANARY"
    for template in HOSTILE:
        value = template.format(canary=canary)
        for entry in ("dq", "sq", "heredoc", "backticks"):
            proc = mlrun("run", str(project), "-e", entry, "-P", f"a={value}", "-q")
            assert proc.returncode == 0, (entry, value, proc.stderr)
            assert not canary.exists(), (entry, value)
            assert "got:" in proc.stdout
            # The value itself is in the output (quoted MLflow's way where it is in
            # double quotes or a here-document), never its effect.
            assert "touch" in proc.stdout, (entry, value, proc.stdout)


def test_values_from_an_upstream_step_are_not_run(tmp_path: Path) -> None:
    # The upstream step writes a hostile string to outputs.json; the downstream step has
    # it in double quotes through ${{ steps.up.outputs.k }}.
    project = write_project(tmp_path / "p", PROJECT, {"emit.py": EMIT})
    canary = tmp_path / "CANARY"
    value = f"$(touch {canary})`touch {canary}`"
    proc = mlrun("run", str(project), "-e", "flow", "-P", f"a={value}", "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    assert not canary.exists()
    result = json.loads(proc.stdout)
    down = next(s for s in result["steps"] if s["name"] == "down")
    shown = json.loads(mlrun("runs", "show", down["run_id"], "--json", check=True).stdout)
    log = Path(shown["log_paths"]["stdout"]).read_text()
    assert log == f"got: '{value}'\n"


def test_dry_run_shows_the_command_and_what_bash_runs(tmp_path: Path, cli: Cli) -> None:
    project = write_project(tmp_path / "p", PROJECT, {"emit.py": EMIT})
    result = cli("run", str(project), "-e", "dq", "-P", "a=$(x)", "--dry-run", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["shell"] == "echo \"got: '\\$(x)'\" | cat"  # the values in place, escaped
    assert plan["shell_script"] == 'echo "got: ${MLRUN_P_1}" | cat'
    assert plan["shell_env"] == {"MLRUN_P_1": "'$(x)'"}
