"""The Slurm cluster is shared (CI, other test sessions): a test that fails half-way, or
whose mlrun dies before it cancels, must not leave its jobs queued or running. After each
Slurm test, every job whose batch script lies in that test's directories is cancelled --
found by the script's path, so jobs whose run was never tagged with them count too, and
nobody else's job is touched."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _cancel_jobs_left_behind(
    request: pytest.FixtureRequest, mlrun_home: Path, tmp_path: Path
) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("slurm") is None:
        return
    left = jobs_under(mlrun_home, tmp_path)
    if left:
        subprocess.run(["scancel", *left], capture_output=True, check=False, timeout=60)


def jobs_under(*roots: Path) -> list[str]:
    """Ids of the queued or running jobs whose batch script lies under one of `roots`."""
    try:
        listed = subprocess.run(
            ["squeue", "-h", "-o", "%i|%o"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):  # no Slurm here: nothing was submitted
        return []
    prefixes = tuple(str(root.resolve()) + "/" for root in roots)
    found = []
    for line in listed.splitlines():
        job_id, _, script = line.partition("|")
        if script.startswith(prefixes) or str(Path(script).resolve()).startswith(prefixes):
            found.append(job_id.strip())
    return found
