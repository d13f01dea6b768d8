"""Benchmark: the cost of `mlrun run` on a trivial local project.

Compares, in one run, the median wall time of
  (a) the entry point's command run directly,
  (b) `mlrun run DIR` of the project with the local env (embedded store, logs,
      supervision), as a user types it,
  (c) `mlflow run --env-manager local` of the same project, when mlflow is installed.
Targets (issue 2): b - a <= 120 ms; c / b >= 15.

    python bench/run_local.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    interleaved,
    median_ms,
    mlflow_exe,
    mlrun_exe,
    report,
    verdict,
)

MLPROJECT = """\
name: trivial
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
    command: "python hello.py {alpha}"
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp:
        root = Path(tmp)
        project = root / "trivial"
        project.mkdir()
        (project / "MLproject").write_text(MLPROJECT)
        (project / "hello.py").write_text("import sys\nprint('hello', sys.argv[1:])\n")
        # A project as users have it: not edited in the last two seconds (files that
        # fresh are never served from mlrun's parse cache, see spec/parsecache.py).
        for path in project.iterdir():
            os.utime(path, (time.time() - 3600, time.time() - 3600))
        env = dict(os.environ, MLRUN_HOME=str(root / "home"))
        env.pop("MLFLOW_TRACKING_URI", None)  # mlrun: the run's own MLflow store
        # Measure what users get: byte-compiled modules (pip compiles them at install).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # `python` in the project's command resolves through PATH: make it this interpreter.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        cases = {
            "direct": ["python", "hello.py", "0.5"],
            "mlrun run": [*mlrun_exe(), "run", str(project)],
        }
        mlflow = mlflow_exe()
        if mlflow:
            cases["mlflow run"] = [mlflow, "run", str(project), "--env-manager", "local"]
            repeat = max(5, args.repeat // 3)
        else:
            print("mlflow not installed: baseline (c) unavailable")
            repeat = args.repeat
        samples = interleaved(
            {k: v for k, v in cases.items() if k != "mlflow run"}, args.repeat, cwd=project, env=env
        )
        if mlflow:
            # mlflow run needs a store of its own choosing; SQLite is its 3.x default.
            mlflow_env = dict(env, MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}")
            samples.update(
                interleaved(
                    {"mlflow run": cases["mlflow run"]}, repeat, cwd=project, env=mlflow_env
                )
            )
        report(samples)
        overhead = median_ms(samples["mlrun run"]) - median_ms(samples["direct"])
        ok = verdict("mlrun overhead over direct", overhead <= 120, f"{overhead:.1f} ms")
        if mlflow:
            ratio = median_ms(samples["mlflow run"]) / median_ms(samples["mlrun run"])
            ok &= verdict("mlflow run / mlrun run", ratio >= 15, f"{ratio:.1f}x")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
