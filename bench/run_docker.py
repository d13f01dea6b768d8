"""Benchmark: what mlrun adds to a container's start-up, for a docker_env project whose
code is mounted (the default) and whose image is present.

Side by side, alternating, in one run: a bare `docker run --rm IMAGE true` (the
baseline: create, start, wait, remove) and `mlrun run PROJECT` for a project whose
entry point is `true` in the same image (CLI start-up, plan, engine connection, image
look-up, container with mounts, supervision, run record). A local `mlrun run` of the
same command shows how much of the difference is mlrun's own start-up.

    python bench/run_docker.py [--runs 15]

Needs a docker engine and the `docker` CLI; builds the busybox test image if missing.
The issue's budget: the mlrun run may add at most 1.5 s to the bare docker run."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.docker_support import BUSYBOX, engine, ensure_busybox  # noqa: E402

BUDGET = 1.5


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    client, why = engine()
    if client is None:
        sys.exit(why)
    problem = ensure_busybox(client)
    docker_cli = shutil.which("docker")
    if problem or docker_cli is None:
        sys.exit(problem or "the docker CLI is not on PATH")
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp:
        home = Path(tmp) / "home"
        project = Path(tmp) / "project"
        local = Path(tmp) / "local"
        for folder, env_section in ((project, f"docker_env:\n  image: {BUSYBOX}\n"), (local, "")):
            folder.mkdir()
            (folder / "MLproject").write_text(
                env_section + 'entry_points:\n  main:\n    command: "true"\n'
            )
        env = dict(os.environ, MLRUN_HOME=str(home))
        mlrun = [sys.executable, "-m", "mlrun", "run", "-q"]
        commands = {
            "docker run --rm (bare)": [docker_cli, "run", "--rm", BUSYBOX, "true"],
            "mlrun run (docker_env)": [*mlrun, str(project)],
            "mlrun run (local)": [*mlrun, str(local), "--env-manager", "local"],
        }
        for argv in commands.values():  # warm-up: page cache, image layers, .pyc files
            _timed(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                times[name].append(_timed(argv, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare = medians["docker run --rm (bare)"]
    print(f"{runs} runs each, alternating; medians (min .. max):")
    for name, values in times.items():
        print(
            f"  {name:<26} {medians[name]:6.3f}s  ({min(values):.3f} .. {max(values):.3f})"
            f"  x{medians[name] / bare:.2f}"
        )
    added = medians["mlrun run (docker_env)"] - bare
    verdict = "within" if added <= BUDGET else "OVER"
    print(f"mlrun adds {added:+.3f}s to a bare docker run ({verdict} the {BUDGET}s budget)")
    return 0 if added <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
