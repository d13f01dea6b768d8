"""Shared bits for the benchmarks: timing commands, medians, reporting ratios."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mlrun_exe() -> list[str]:
    """The installed console script next to this interpreter, else `python -m mlrun`."""
    script = Path(sys.executable).parent / "mlrun"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlrun"]


def mlflow_exe() -> str | None:
    """mlflow from $MLFLOW_BIN, PATH, a venv at ../mlflow-venv, or CI's tool venv
    (bench baseline only)."""
    candidates = [
        os.environ.get("MLFLOW_BIN"),
        shutil.which("mlflow"),
        str(REPO.parent / "mlflow-venv" / "bin" / "mlflow"),
        "/opt/mlrun-ci/mlflow/bin/mlflow",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    return None


def user_env(home: Path) -> dict[str, str]:
    """The environment of a timed command as users have it: mlrun's data in `home`,
    byte-compiled modules (pip compiles them at install), and `python` resolving to this
    interpreter."""
    env = dict(os.environ, MLRUN_HOME=str(home))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def time_once(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> float:
    return time_and_cpu_once(argv, cwd=cwd, env=env)[0]


def time_and_cpu_once(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children). On a loaded machine
    the wall time mostly measures the wait for a core; the CPU time is the work done."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {argv}\n"
            f"{proc.stderr.decode(errors='replace')[-2000:]}"
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def interleaved(
    cases: Mapping[str, Sequence[str]],
    repeat: int,
    *,
    warmup: int = 1,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, list[float]]:
    """Time each case `repeat` times, interleaving cases so drift hits all equally."""
    for _ in range(warmup):
        for argv in cases.values():
            time_once(argv, cwd=cwd, env=env)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, argv in cases.items():
            samples[name].append(time_once(argv, cwd=cwd, env=env))
    return samples


def median_ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000


def report(samples: Mapping[str, Sequence[float]]) -> None:
    width = max(len(n) for n in samples)
    print(f"{'case'.ljust(width)}  median ms   min ms   max ms   n")
    for name, values in samples.items():
        print(
            f"{name.ljust(width)}  {median_ms(values):9.1f}  {min(values) * 1000:7.1f}  "
            f"{max(values) * 1000:7.1f}  {len(values)}"
        )


def verdict(label: str, ok: bool, detail: str) -> bool:
    print(f"[{'PASS' if ok else 'FAIL'}] {label}: {detail}")
    return ok
