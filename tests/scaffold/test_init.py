"""`mlrun init`: an MLproject and a python_env.yaml for existing scripts, their parameters
read from the source (never run), checked by `mlrun validate`, no file overwritten
without --force."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import cli, mlrun

TRAIN = """\
import argparse, json

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=0.5, help="regularisation")
    parser.add_argument("--l1-ratio", type=float, default=0.1)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--data", default="data/train.csv")
    parser.add_argument("--model", choices=["linear", "tree"], default="linear")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--no-cache", dest="cache", action="store_false")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(json.dumps(vars(args), sort_keys=True))

if __name__ == "__main__":
    main()
"""

EVALUATE = """\
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("run")
parser.add_argument("--threshold", type=float, default=1e-3)
parser.add_argument("--name", default="eval run")
parser.add_argument("--tags", nargs="+", default=["a", "b"])
parser.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "7")))
args = parser.parse_args()
print(json.dumps(vars(args), sort_keys=True))
"""


def _two_scripts(root: Path) -> Path:
    root.mkdir()
    (root / "train.py").write_text(TRAIN)
    (root / "evaluate.py").write_text(EVALUATE)
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("x,y\n1,2\n")
    (root / "notes.txt").write_text("not a script\n")
    (root / "test_train.py").write_text("def test_x():\n    pass\n")
    return root


def _direct(project: Path, script: str, *args: str) -> dict[str, object]:
    """What the script sees run by hand, as its author runs it."""
    proc = subprocess.run(
        [sys.executable, script, *args], cwd=project, capture_output=True, text=True, check=True
    )
    seen: dict[str, object] = json.loads(proc.stdout)
    return seen


def _through_mlrun(project: Path, entry_point: str, *params: str) -> dict[str, object]:
    proc = mlrun(
        "run", str(project), "-e", entry_point, "--env-manager", "local", "--json", *params
    )
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(cli("runs", "show", json.loads(proc.stdout)["run_id"], "--json").stdout)
    seen: dict[str, object] = json.loads(Path(shown["log_paths"]["stdout"]).read_text())
    return seen


@pytest.mark.slow  # runs the scripts through mlrun (~2 s)
def test_init_on_two_argparse_scripts_gives_a_valid_project_with_the_scripts_defaults(
    tmp_path: Path,
) -> None:
    project = _two_scripts(tmp_path / "p")
    proc = cli("init", str(project))
    assert proc.returncode == 0, proc.stderr
    assert "mlrun validate: OK" in proc.stdout
    assert sorted(p.name for p in project.iterdir()) == [
        "MLproject",
        "data",
        "evaluate.py",
        "notes.txt",
        "python_env.yaml",
        "test_train.py",
        "train.py",
    ]
    report = cli("validate", str(project), "--json", "--strict")
    assert report.returncode == 0, report.stdout + report.stderr
    summary = json.loads(report.stdout)
    assert summary["env"] == {"kind": "python_env", "file": "python_env.yaml"}
    train = summary["entry_points"]["train"]["parameters"]
    assert train == {
        "alpha": {"type": "float", "default": "0.5"},
        "l1_ratio": {"type": "float", "default": "0.1"},
        "iterations": {"type": "int", "default": "200"},
        "data": {"type": "path", "default": "data/train.csv"},
        "model": {"type": "string", "default": "linear"},
        "verbose": {"type": "bool", "default": "False"},
        "cache": {"type": "bool", "default": "True"},
        "out": {"type": "string", "default": None},
    }
    evaluate = summary["entry_points"]["evaluate"]["parameters"]
    assert evaluate == {
        "run": {"type": "string", "default": None},
        "threshold": {"type": "float", "default": "0.001"},
        "name": {"type": "string", "default": "eval run"},
    }
    text = (project / "MLproject").read_text()
    assert "--tags: nargs='+'" in text and "--seed: its default is computed" in text
    assert "# one of: linear, tree" in text and "# regularisation" in text

    # The defaults are the scripts' own: run through mlrun with only the required values,
    # each script sees what it sees when its author runs it by hand.
    by_hand = _direct(
        project, "train.py", "--out", "m.pkl", "--data", str(project / "data/train.csv")
    )
    assert _through_mlrun(project, "train", "-P", "out=m.pkl") == by_hand
    assert _through_mlrun(project, "evaluate", "-P", "run=r1") == _direct(
        project, "evaluate.py", "r1"
    )
    flags = _through_mlrun(project, "train", "-P", "out=m", "-P", "verbose=true", "-P", "cache=NO")
    assert flags["verbose"] is True and flags["cache"] is False
    spaced = _through_mlrun(project, "evaluate", "-P", "run=a b; echo x", "-P", "name=$(id)")
    assert spaced["run"] == "a b; echo x" and spaced["name"] == "$(id)"


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    project = _two_scripts(tmp_path / "p")
    (project / "MLproject").write_text("name: mine\nentry_points: {main: {command: 'true'}}\n")
    proc = cli("init", str(project))
    assert proc.returncode == 0, proc.stderr
    assert (project / "MLproject").read_text().startswith("name: mine")
    assert "kept" in proc.stdout and "--force replaces it" in proc.stdout
    assert (project / "python_env.yaml").is_file()  # what was missing is written
    env_before = (project / "python_env.yaml").read_text()
    (project / "python_env.yaml").write_text(env_before + "# my edit\n")
    again = cli("init", str(project), "--json")
    assert json.loads(again.stdout)["written"] == []
    assert (project / "python_env.yaml").read_text().endswith("# my edit\n")
    forced = cli("init", str(project), "--force", "--json")
    assert json.loads(forced.stdout)["written"] == ["MLproject", "python_env.yaml"]
    assert "entry_points:\n  evaluate:" in (project / "MLproject").read_text()
    dry = cli("init", str(tmp_path / "p"), "--dry-run", "--force")
    assert dry.returncode == 0 and "--- MLproject (would be written)" in dry.stdout


def test_dependencies_from_requirements_pyproject_or_imports(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "lib").mkdir()
    (project / "lib" / "__init__.py").write_text("")
    (project / "helpers.py").write_text("import numpy\n")
    (project / "run.py").write_text(
        textwrap.dedent("""\
        import os, json, argparse
        from collections import OrderedDict
        import numpy as np
        import sklearn.linear_model
        from PIL import Image
        import cv2, yaml
        import torch.nn
        from lib import x
        import helpers
        import mlrun
        from . import sibling
        from google.protobuf import message

        if __name__ == "__main__":
            pass
        """)
    )
    result = json.loads(cli("init", str(project), "--json").stdout)
    assert result["entry_points"] == {"main": "run.py"}  # a lone script is `main`
    assert result["dependencies_from"] == "imports"
    assert result["dependencies"] == [
        "numpy",
        "opencv-python",
        "pillow",
        "protobuf",
        "pyyaml",
        "scikit-learn",
        "torch",
    ]
    assert any("imports mlrun" in note for note in result["notes"])
    assert result["valid"] is True

    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["numpy>=1.26", "pandas"]\n'
    )
    if sys.version_info >= (3, 11):
        forced = json.loads(cli("init", str(project), "--force", "--json").stdout)
        assert forced["dependencies"] == ["numpy>=1.26", "pandas"]
    (project / "requirements.txt").write_text("numpy==1.26.4\n")
    forced = json.loads(cli("init", str(project), "--force", "--json").stdout)
    assert forced["dependencies"] == ["-r requirements.txt"]
    assert cli("validate", str(project)).returncode == 0
    (project / ".python-version").write_text("3.10.13\n")
    cli("init", str(project), "--force")
    assert 'python: "3.10"' in (project / "python_env.yaml").read_text()


def test_click_scripts_and_an_existing_conda_file(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    (project / "cli.py").write_text(
        textwrap.dedent("""\
        import click

        @click.command()
        @click.option("--threshold", "-t", type=float, default=0.7)
        @click.option("--count", "-n", "n", type=click.IntRange(1, 9), default=3)
        @click.option("--fast/--slow", default=False)
        @click.option("--debug", is_flag=True)
        @click.option("--mode", type=click.Choice(["a", "b"]), default="a")
        @click.option("--files", multiple=True)
        @click.argument("name")
        def main(threshold, n, fast, debug, mode, files, name):
            print(threshold, n, fast, debug, mode, name)

        if __name__ == "__main__":
            main()
        """)
    )
    result = json.loads(cli("init", str(project), "--json").stdout)
    assert result["written"] == ["MLproject"] and result["dependencies"] is None
    summary = json.loads(cli("validate", str(project), "--json").stdout)
    assert (summary["env"]["kind"], summary["env"]["file"]) == ("conda_env", "conda.yaml")
    assert summary["entry_points"]["main"]["parameters"] == {
        "threshold": {"type": "float", "default": "0.7"},
        "n": {"type": "int", "default": "3"},
        "fast": {"type": "bool", "default": "False"},
        "debug": {"type": "bool", "default": "False"},
        "mode": {"type": "string", "default": "a"},
        "name": {"type": "string", "default": None},
    }
    command = summary["entry_points"]["main"]["command"]
    assert "echo --fast;; *) echo --slow" in command and "--count {n}" in command


def test_init_refuses_a_directory_without_scripts(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text("def f():\n    return 1\n")
    proc = cli("init", str(tmp_path))
    assert proc.returncode == 2 and "has no Python script" in proc.stderr
    assert not (tmp_path / "MLproject").exists()
    assert cli("init", str(tmp_path / "missing")).returncode == 2


@pytest.mark.slow  # parses a 5 MiB file and a deep one (~1 s)
def test_scripts_that_cannot_be_read_are_passed_over(tmp_path: Path) -> None:
    script = 'import argparse\nargparse.ArgumentParser().add_argument("--n", type=int, default=1)\n'
    (tmp_path / "train.py").write_text(script)
    (tmp_path / "deep.py").write_text("x = " + "(" * 200_000 + ")" * 200_000 + "\n")
    (tmp_path / "big.py").write_text(script + "#" * (5 << 20) + "\n")
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00import argparse\n")
    (tmp_path / "broken.py").write_text(script + "def (:\n")
    proc = cli("init", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["entry_points"] == {"main": "train.py"}
