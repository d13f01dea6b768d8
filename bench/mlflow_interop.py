"""Benchmark: the cost of the MLflow tracking interop (issue 10).

(1) What the embedded interop adds to `mlrun run` of a local project whose code logs
    nothing: the same run with the interop on (the default: a run-private MLflow store
    written before the command and read after it) and off (MLRUN_MLFLOW=off), medians
    over many interleaved runs. Target: at most 20 ms.
(2) Importing 100,000 metric values the code logged (one MLflow file store run, as the
    client writes it: 10 metrics of 10,000 steps) into mlrun's SQLite store, through
    the same code the runner calls when a command ends. Target: under 2 s.

    python bench/mlflow_interop.py [--repeat 60] [--values 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_ms, mlrun_exe, report, time_and_cpu_once, verdict

MLPROJECT = """\
name: quiet
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
    command: "python quiet.py {alpha}"
"""


def overhead(repeat: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp:
        root = Path(tmp)
        project = root / "quiet"
        project.mkdir()
        (project / "MLproject").write_text(MLPROJECT)
        (project / "quiet.py").write_text("import sys\n")
        for path in project.iterdir():  # not freshly edited: the parse cache serves it
            os.utime(path, (time.time() - 3600, time.time() - 3600))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(MLRUN_HOME=str(root / "home"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte-compiled, as users have it
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        run = [*mlrun_exe(), "run", str(project), "-q"]
        # Both sides start through env(1), so that neither pays an exec the other does not.
        on, off = (["env", f"MLRUN_MLFLOW={value}", *run] for value in ("on", "off"))
        samples: dict[str, list[float]] = {"interop off": [], "interop on": []}
        cpu: dict[str, list[float]] = {"interop off": [], "interop on": []}
        for i in range(repeat + 2):  # the first two pairs warm the caches up
            for name, argv in (("interop off", off), ("interop on", on)):
                wall, used = time_and_cpu_once(argv, cwd=project, env=env)
                if i >= 2:
                    samples[name].append(wall)
                    cpu[name].append(used)
        report(samples)
        # Paired differences: each "on" run against the "off" run just before it, so that
        # load from elsewhere on the machine hits both sides of a pair alike.
        diffs = [
            (on - off) * 1000
            for on, off in zip(samples["interop on"], samples["interop off"], strict=True)
        ]
        median_diff = statistics.median(diffs)
        added = median_ms(samples["interop on"]) - median_ms(samples["interop off"])
        best = (min(samples["interop on"]) - min(samples["interop off"])) * 1000
        cpu_added = median_ms(cpu["interop on"]) - median_ms(cpu["interop off"])
        print(
            f"median of paired differences: {median_diff:.1f} ms; best on - best off: "
            f"{best:.1f} ms; CPU (user+sys) medians: off {median_ms(cpu['interop off']):.1f} "
            f"ms, on {median_ms(cpu['interop on']):.1f} ms, added {cpu_added:.1f} ms; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        ratio = median_ms(samples["interop on"]) / median_ms(samples["interop off"])
        return verdict(
            "interop added to a run that logs nothing",
            median_diff <= 20,
            f"{median_diff:.1f} ms paired ({added:.1f} ms between medians, ratio {ratio:.3f})",
        )


def new_record(store: Any, root: Path) -> Any:
    from mlrun.tracking.model import NewRun

    return store.create_run(
        NewRun(
            experiment="bench", run_name=None, source_uri="/p", source_type="local",
            entry_point="main", params={"alpha": "0.5", "l1_ratio": "0.1"}, command=["true"],
            command_mode="argv", env_kind="local", run_dir=str(root / "outputs"),
            log_paths={}, host="h", user="u", pid=os.getpid(), pid_start=None,
            mlrun_version="bench",
        )
    )  # fmt: skip


def in_process(repeat: int) -> None:
    """The interop's own work for a run that logs nothing (writing the store before the
    command, reading it after), timed inside one process: no process start-up noise."""
    from mlrun.reporting import Reporter
    from mlrun.tracking.mlflow import prepare
    from mlrun.tracking.model import FINISHED
    from mlrun.tracking.sqlite_store import SqliteStore

    times = []
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp:
        store = SqliteStore(Path(tmp) / "mlrun.db")
        for i in range(repeat):
            record = new_record(store, Path(tmp) / str(i))
            started = time.perf_counter()
            tracker = prepare(record, store, Reporter())
            tracker.finish(store, FINISHED, Reporter())
            times.append(time.perf_counter() - started)
        store.close()
    print(
        f"in process, prepare + finish of a run that logs nothing: median "
        f"{statistics.median(times) * 1000:.2f} ms over {repeat}"
    )


def import_values(values: int, repeat: int) -> bool:
    from mlrun.reporting import Reporter
    from mlrun.tracking.mlflow.embedded import embedded
    from mlrun.tracking.model import FINISHED
    from mlrun.tracking.sqlite_store import SqliteStore

    times, cpu = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp:
            root = Path(tmp)
            store = SqliteStore(root / "mlrun.db")
            record = new_record(store, root)
            tracker = embedded(record)
            metrics = Path(tracker.env["MLFLOW_TRACKING_URI"][len("file://") :])
            metrics = metrics / "0" / record.run_id / "metrics"
            keys = 10
            now = int(time.time() * 1000)
            for k in range(keys):
                lines = (f"{now + s} {1.0 / (s + 1)} {s}\n" for s in range(values // keys))
                (metrics / f"metric_{k}").write_text("".join(lines))
            started, started_cpu = time.perf_counter(), time.process_time()
            tracker.finish(store, FINISHED, Reporter())
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            got = len(store.get_run(record.run_id).metrics)
            store.close()
            assert got == values, f"imported {got} of {values} values"
    median = statistics.median(times)
    print(
        f"import of {values} metric values: median {median * 1000:.0f} ms over {repeat} "
        f"(CPU {statistics.median(cpu) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f})"
    )
    return verdict(f"importing {values} metric values", median < 2.0, f"{median:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--values", type=int, default=100_000)
    args = parser.parse_args()
    ok = overhead(args.repeat)
    in_process(200)
    ok &= import_values(args.values, 5)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
