"""Benchmark: what mlrun adds to a container's start-up for a docker_env project whose
image is present, and what the writable copy of the code costs against the read-only
mount, on a project of 1,000 files (warm: the copy already in the cache).

Side by side, interleaved round by round so that the load of the machine hits every
case alike, in one run:
- a bare `docker run --rm IMAGE true` (the baseline: create, start, wait, remove);
- `mlrun run --mount-code PROJECT`: the project mounted read-only (the default before
  the writable copy);
- `mlrun run PROJECT`: the default, a writable overlay of the cached copy, listed after
  the run (CLI start-up, plan, engine connection, image look-up, digest of the 1,000
  files, container with mounts, supervision, run record);
- a local `mlrun run` of the same command: how much is mlrun's own start-up.

    python bench/run_docker.py [--runs 30] [--files 1000]

Needs a docker engine and the `docker` CLI; builds the busybox test image if missing.
Budgets: the mlrun run may add at most 1.5 s to the bare docker run, and the writable
copy at most 150 ms to the read-only mount (median of the per-round differences)."""

from __future__ import annotations

import argparse
import os
import resource
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
COPY_BUDGET = 0.150
BARE, MOUNT, COPY, LOCAL = (
    "docker run --rm (bare)",
    "mlrun run --mount-code",
    "mlrun run (writable copy)",
    "mlrun run (local)",
)


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall time, CPU time of the process and its children): the CPU time is what the
    command itself costs, which the machine's load barely changes (the engine's own
    work, in dockerd, is not in it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _project(folder: Path, env_section: str, files: int) -> None:
    folder.mkdir()
    (folder / "MLproject").write_text(env_section + 'entry_points:\n  main:\n    command: "true"\n')
    for i in range(files - 1):  # the MLproject is one of them
        package = folder / f"pkg{i % 25}"
        package.mkdir(exist_ok=True)
        (package / f"module{i}.py").write_text(f"VALUE = {i}\n" * 40)
    # A project as users have it: not edited in the last two seconds (files that fresh
    # are never served from mlrun's stat and parse caches).
    old = time.time() - 3600
    for path in folder.rglob("*"):
        os.utime(path, (old, old))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
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
        _project(project, f"docker_env:\n  image: {BUSYBOX}\n", args.files)
        _project(local, "", 1)
        env = dict(os.environ, MLRUN_HOME=str(home))
        # Measure what users get: byte-compiled modules (pip compiles them at install).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        mlrun = [sys.executable, "-m", "mlrun", "run", "-q"]
        commands = {
            BARE: [docker_cli, "run", "--rm", BUSYBOX, "true"],
            MOUNT: [*mlrun, str(project), "--mount-code"],
            COPY: [*mlrun, str(project)],
            LOCAL: [*mlrun, str(local), "--env-manager", "local"],
        }
        for argv in commands.values():  # warm-up: page cache, image layers, the copy
            _timed(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                wall, cpu = _timed(argv, env)
                times[name].append(wall)
                cpus[name].append(cpu)
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare = medians[BARE]
    print(f"{args.runs} rounds, interleaved; {args.files} files; load average at the end {_load()}")
    print("medians (min .. max) of wall time, ratio to the bare run, median CPU time:")
    for name, values in times.items():
        print(
            f"  {name:<26} {medians[name]:6.3f}s  ({min(values):.3f} .. {max(values):.3f})"
            f"  x{medians[name] / bare:.2f}  cpu {statistics.median(cpus[name]):.3f}s"
        )
    added = medians[COPY] - bare
    copy_cost = statistics.median(c - m for c, m in zip(times[COPY], times[MOUNT], strict=True))
    copy_cpu = statistics.median(c - m for c, m in zip(cpus[COPY], cpus[MOUNT], strict=True))
    ok = added <= BUDGET and copy_cost <= COPY_BUDGET
    print(
        f"mlrun adds {added:+.3f}s to a bare docker run "
        f"({'within' if added <= BUDGET else 'OVER'} the {BUDGET}s budget)"
    )
    print(
        f"the writable copy adds {copy_cost * 1000:+.0f} ms to the read-only mount "
        f"(median of per-round differences; difference of medians "
        f"{(medians[COPY] - medians[MOUNT]) * 1000:+.0f} ms; "
        f"{'within' if copy_cost <= COPY_BUDGET else 'OVER'} the "
        f"{COPY_BUDGET * 1000:.0f} ms budget); of it, mlrun's own CPU time "
        f"{copy_cpu * 1000:+.0f} ms"
    )
    return 0 if ok else 1


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
