"""The parse cache: an unchanged file is not parsed again (PyYAML is not even imported),
and any change to the file is seen."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mlrun.spec.loader import load_project

MLPROJECT = """\
name: cached
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 1e-1}
      typo: {type:int, default: 3}
    command: "python train.py {alpha}"
"""


def _age(path: Path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _load_in_subprocess(project: Path) -> tuple[str, bool]:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mlrun.spec.loader import load_project\n"
        f"p = load_project(Path({str(project)!r}))\n"
        "ep = p.entry_points['main']\n"
        "print(ep.parameters['alpha'].default, [str(w) for w in p.warnings], "
        "'yaml' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    *rest, imported = proc.stdout.rsplit(" ", 1)
    return rest[0], imported.strip() == "True"


def test_unchanged_file_is_served_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text(MLPROJECT)
    _age(tmp_path / "MLproject")
    first, imported_first = _load_in_subprocess(tmp_path)
    second, imported_second = _load_in_subprocess(tmp_path)
    assert imported_first and not imported_second
    assert first == second  # same default, same warning with its line
    assert "1e-1" in second and "MLproject:6" in second


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "MLproject"
    path.write_text(MLPROJECT)
    _age(path, 120)
    assert load_project(tmp_path).entry_points["main"].parameters["alpha"].default == "1e-1"
    path.write_text(MLPROJECT.replace("1e-1", "2e-1"))  # same size, new content
    _age(path, 60)
    assert load_project(tmp_path).entry_points["main"].parameters["alpha"].default == "2e-1"


def test_a_file_written_just_now_is_not_cached(tmp_path: Path, mlrun_home: Path) -> None:
    (tmp_path / "MLproject").write_text(MLPROJECT)
    load_project(tmp_path)
    assert not (mlrun_home / "cache" / "parsed").exists()


def test_values_marshal_cannot_hold_are_parsed_every_time(tmp_path: Path, mlrun_home: Path) -> None:
    (tmp_path / "MLproject").write_text(MLPROJECT + "released: 2024-01-02\n")
    _age(tmp_path / "MLproject")
    project = load_project(tmp_path)
    assert project.extra["released"].isoformat() == "2024-01-02"
    assert not list((mlrun_home / "cache" / "parsed").glob("*.marshal"))
