"""What the wheel ships: the package with its `py.typed` marker (PEP 561), so that users'
type checkers read mlrun's annotations (`mlrun.run()`, `SubmittedRun`, the step helpers)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO


@pytest.mark.slow  # builds a wheel (~4 s)
def test_the_wheel_ships_py_typed_and_the_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlrun-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mlrun/py.typed" in names
    assert {"mlrun/__init__.py", "mlrun/api.py", "mlrun/steplog.py", "mlrun/cli/main.py"} <= names
    assert not any(n.startswith("tests/") for n in names)  # test data stays out
