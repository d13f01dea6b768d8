"""Benchmark: building and running a two-dependency python_env project.

Compares, in the same run and from the same local wheelhouse (no network):
  cold  mlrun + uv          the env does not exist yet (empty mlrun cache)
  cold  mlrun + virtualenv  the same, with virtualenv + pip
  cold  mlflow run --env-manager virtualenv  (when mlflow is installed; --mlflow PATH)
  warm  mlrun + uv with the env cached, against the same project run with --env-manager local

"Cold" is measured twice: with the tools' own caches as a user has them (uv's cache,
virtualenv's app data: warmed once, shared by every repetition) and with every cache
empty for each repetition ("fresh caches"), the worst case.

Prints medians and ratios. Targets (issue 4): uv cold >= 5x faster than virtualenv+pip,
>= 8x faster than mlflow; warm uv run within 150 ms of the local run.

Then a heavy env (scikit-learn + pandas, from PyPI: uv's cache warmed once), run with
PYTHONDONTWRITEBYTECODE=1 as in many CI images (issue 12): the first run after a cold
build against a warm run, with bytecode compiled at build time (mlrun's default) and
without it (MLRUN_COMPILE_BYTECODE=0, what mlrun did before: with bytecode writable, then
not), what compiling adds to the build, and how many modules the first run compiles
(counted with bytecode writable: exact, where wall times are noisy). Targets: the first
run compiles no module; its time within 25% of a warm run's.

    python bench/env_build.py [--reps N] [--mlflow /path/to/mlflow] [--heavy-reps N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _common import mlflow_exe  # noqa: E402
from tests.envs.wheelhouse import build_wheelhouse  # noqa: E402

PYTHON = ".".join(str(v) for v in sys.version_info[:3])
CHECK = "import importlib.util as u; print(all(u.find_spec(m) for m in ('mlt_alpha', 'mlt_beta')))"


def make_project(root: Path) -> Path:
    project = root / "project"
    project.mkdir()
    (project / "MLproject").write_text(
        textwrap.dedent("""\
        name: bench
        python_env: python_env.yaml
        entry_points:
          main:
            command: "python check.py"
        """)
    )
    (project / "python_env.yaml").write_text(
        textwrap.dedent(f"""\
        python: "{PYTHON}"
        build_dependencies: [pip]
        dependencies: [mlt-alpha==1.0, mlt-beta==1.0]
        """)
    )
    (project / "check.py").write_text(CHECK + "\n")
    return project


HEAVY = ("scikit-learn==1.6.1", "pandas==2.2.3")  # wheels for CPython 3.9-3.13
HEAVY_CHECK = "import pandas, sklearn.linear_model, sklearn.model_selection; print(True)"
# variant -> environment over the bench's: how mlrun builds, how runs may write bytecode
HEAVY_VARIANTS = {
    "compiled at build": {"PYTHONDONTWRITEBYTECODE": "1"},
    "not compiled, bytecode writable": {"MLRUN_COMPILE_BYTECODE": "0"},
    "not compiled, PYTHONDONTWRITEBYTECODE=1": {
        "MLRUN_COMPILE_BYTECODE": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    },
}


def make_heavy_project(root: Path) -> Path:
    project = root / "heavy"
    project.mkdir()
    (project / "MLproject").write_text(
        "name: heavy\npython_env: python_env.yaml\nentry_points:\n  main:\n"
        '    command: "python check.py"\n'
    )
    deps = ", ".join(HEAVY)
    (project / "python_env.yaml").write_text(f'python: "{PYTHON}"\ndependencies: [{deps}]\n')
    (project / "check.py").write_text(HEAVY_CHECK + "\n")
    return project


def heavy(env: dict[str, str], root: Path, reps: int) -> dict[str, dict[str, list[float]]]:
    """Per variant: build (cold env, warm uv cache), first run after it, warm runs."""
    project = make_heavy_project(root)
    online = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    run = [sys.executable, "-m", "mlrun", "run", str(project), "-q"]
    build = [sys.executable, "-m", "mlrun", "env", "build", str(project), "-q"]
    timed(build, fresh(online, root, "heavy-warmup", True), "")  # downloads, once
    samples: dict[str, dict[str, list[float]]] = {
        v: {"build": [], "first run": [], "warm run": [], "modules compiled by run 1": []}
        for v in HEAVY_VARIANTS
    }
    for rep in range(reps):
        for index, (variant, extra) in enumerate(HEAVY_VARIANTS.items()):
            e = {**fresh(online, root, f"heavy-{rep}-{index}", True), **extra}
            samples[variant]["build"].append(timed(build, e, ""))
            before = pyc_files(Path(e["MLRUN_HOME"]))
            samples[variant]["first run"].append(timed(run, e, "True"))
            for _ in range(3):
                samples[variant]["warm run"].append(timed(run, e, "True"))
            if "PYTHONDONTWRITEBYTECODE" in extra:  # what it compiled in memory: once more
                probe = {k: v for k, v in e.items() if k != "PYTHONDONTWRITEBYTECODE"}
                timed(run, probe, "True")  # writing it this time (after the timings)
            written = len(pyc_files(Path(e["MLRUN_HOME"])) - before)
            samples[variant]["modules compiled by run 1"].append(written)
    return samples


def pyc_files(home: Path) -> set[Path]:
    """The .pyc files in the envs under an mlrun home."""
    return set((home / "cache" / "envs").glob("*/env/lib/*/site-packages/**/*.pyc"))


def report_heavy(samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    med = {v: {k: statistics.median(x) for k, x in d.items()} for v, d in samples.items()}
    print(f"heavy env ({' + '.join(HEAVY)}), medians in seconds:")
    print(
        f"  {'':<42} {'build':>7} {'first run':>10} {'warm run':>9} {'first/warm':>11}"
        f" {'modules compiled by the first run':>34}"
    )
    for variant, m in med.items():
        ratio = m["first run"] / m["warm run"]
        print(
            f"  {variant:<42} {m['build']:7.2f} {m['first run']:10.2f} {m['warm run']:9.2f}"
            f" {ratio:10.2f}x {m['modules compiled by run 1']:34.0f}"
        )
    compiled = med["compiled at build"]
    before = med["not compiled, bytecode writable"]
    ci = med["not compiled, PYTHONDONTWRITEBYTECODE=1"]
    # Wall times are noisy on a shared machine; the module count is exact.
    ok = compiled["modules compiled by run 1"] == 0
    print(
        f"  compiling at build adds {compiled['build'] - before['build']:+.2f} s to the build;"
        f" the first run saves {before['first run'] - compiled['first run']:.2f} s,"
        f" each run under PYTHONDONTWRITEBYTECODE=1 {ci['warm run'] - compiled['warm run']:.2f} s"
    )
    print(
        f"  [{'PASS' if ok else 'FAIL'}] compiled at build: the first run compiles no module"
        f" (first/warm {compiled['first run'] / compiled['warm run']:.2f}x, target <= 1.25x)"
    )
    return med


def timed(argv: list[str], env: dict[str, str], expect: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or expect not in proc.stdout:
        raise SystemExit(f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def base_env(root: Path, wheelhouse: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "MLFLOW_"))}
    env.update(
        {
            "UV_NO_CONFIG": "1",
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse),
            "MLRUN_FIND_LINKS": str(wheelhouse),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            # `python` is this interpreter for the local runs (not a pyenv shim, which would
            # make the local baseline slower than it need be)
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
    )
    return env


def fresh(env: dict[str, str], root: Path, rep: str, tool_caches: bool) -> dict[str, str]:
    """Empty mlrun home (and mlflow env root) for one cold repetition; empty uv, pip and
    virtualenv caches too unless `tool_caches` (then they are shared by all repetitions)."""
    d = root / rep
    caches = root / "shared" if tool_caches else d
    return {
        **env,
        "MLRUN_HOME": str(d / "home"),
        "UV_CACHE_DIR": str(caches / "uv"),
        "PIP_CACHE_DIR": str(caches / "pip"),
        "VIRTUALENV_OVERRIDE_APP_DATA": str(caches / "virtualenv-app-data"),
        "MLFLOW_ENV_ROOT": str(d / "mlflow-envs"),
        "MLFLOW_TRACKING_URI": (d / "mlruns").as_uri(),
        "MLFLOW_ALLOW_FILE_STORE": "true",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--mlflow", default=mlflow_exe())
    parser.add_argument(
        "--heavy-reps", type=int, default=3, help="heavy env repetitions (0: skip; needs PyPI)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mlrun-bench-"))
    wheelhouse = build_wheelhouse(root / "wheelhouse")
    project = make_project(root)
    env = base_env(root, wheelhouse)
    mlrun = [sys.executable, "-m", "mlrun", "run", str(project), "--offline", "-q"]
    results: dict[str, list[float]] = {
        k: []
        for k in (
            "uv_cold",
            "virtualenv_cold",
            "mlflow_cold",
            "uv_cold_fresh_caches",
            "virtualenv_cold_fresh_caches",
            "mlflow_cold_fresh_caches",
            "uv_warm",
            "local",
        )
    }
    mlflow_note = None
    if args.mlflow:  # mlflow calls `virtualenv` and `pyenv` from PATH
        env["PATH"] = os.pathsep.join([str(Path(args.mlflow).parent), env["PATH"]])
    else:
        mlflow_note = "mlflow not installed: that baseline is unavailable (--mlflow PATH)"
    # warm the shared tool caches once (as a user's are), outside the measurements
    timed(mlrun, fresh(env, root, "warmup-uv", True), "True")
    timed([*mlrun, "--env-manager", "virtualenv"], fresh(env, root, "warmup-venv", True), "True")
    for rep in range(args.reps):
        for shared, suffix in ((True, ""), (False, "_fresh_caches")):
            tag = f"{rep}{suffix}"
            results["uv_cold" + suffix].append(
                timed(mlrun, fresh(env, root, f"uv{tag}", shared), "True")
            )
            results["virtualenv_cold" + suffix].append(
                timed(
                    [*mlrun, "--env-manager", "virtualenv"],
                    fresh(env, root, f"venv{tag}", shared),
                    "True",
                )
            )
            if args.mlflow:
                results["mlflow_cold" + suffix].append(
                    timed(
                        [args.mlflow, "run", str(project), "--env-manager", "virtualenv"],
                        fresh(env, root, f"mlflow{tag}", shared),
                        "True",
                    )
                )
    warm = fresh(env, root, "warm", True)
    timed(mlrun, warm, "True")  # build once
    for _ in range(max(15, args.reps * 3)):  # interleaved, so drift hits both alike
        results["uv_warm"].append(timed(mlrun, warm, "True"))
        results["local"].append(timed([*mlrun, "--env-manager", "local"], warm, "False"))
    med = {k: statistics.median(v) for k, v in results.items() if v}
    print(f"python {PYTHON}, {args.reps} cold repetitions; medians in seconds")
    for name, value in med.items():
        print(f"  {name:<30} {value:8.3f}  (n={len(results[name])})")
    for suffix, what in (
        ("", "tool caches as a user has them"),
        ("_fresh_caches", "every cache empty"),
    ):
        uv = med["uv_cold" + suffix]
        print(f"cold, {what}:")
        print(
            f"  virtualenv+pip / uv:  {med['virtualenv_cold' + suffix] / uv:5.1f}x  (target >= 5x)"
        )
        if "mlflow_cold" + suffix in med:
            print(
                f"  mlflow / mlrun uv:    {med['mlflow_cold' + suffix] / uv:5.1f}x  (target >= 8x)"
            )
        else:
            print(f"  {mlflow_note}")
    print(
        f"warm uv run - local run: {(med['uv_warm'] - med['local']) * 1000:+.0f} ms"
        "  (target <= +150 ms)"
    )
    heavy_samples = heavy(env, root, args.heavy_reps) if args.heavy_reps > 0 else {}
    heavy_med = report_heavy(heavy_samples) if heavy_samples else {}
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"env_build-{int(time.time())}.json").write_text(
        json.dumps(
            {
                "python": PYTHON,
                "samples": results,
                "medians": med,
                "heavy": {"samples": heavy_samples, "medians": heavy_med},
            },
            indent=1,
        )
    )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
