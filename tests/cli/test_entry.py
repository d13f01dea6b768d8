"""The command-line process defers the cyclic GC over start-up and turns it back on
before the long phase; importing mlrun changes nothing."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from tests.helpers import write_project


def test_gc_is_back_on_while_a_run_is_supervised(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main: {command: "python -c pass"}
        """,
    )
    code = (
        "import gc, sys\n"
        "import mlrun.execution.supervisor as s\n"
        "real = s.supervise\n"
        "def spy(*a, **k):\n"
        "    print('GC', gc.isenabled(), gc.get_freeze_count() > 1000, file=sys.stderr)\n"
        "    return real(*a, **k)\n"
        "s.supervise = spy\n"
        "sys.argv = ['mlrun', 'run', sys.argv[1]]\n"
        "from mlrun.cli.entry import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(project)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "GC True True" in proc.stderr  # enabled, start-up objects frozen


def test_importing_mlrun_leaves_the_gc_alone() -> None:
    import mlrun.cli.main
    import mlrun.runner  # noqa: F401

    assert gc.isenabled()
