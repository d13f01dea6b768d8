"""Benchmark: a 50-step matrix workflow on Slurm -- time and jobs in flight.

Each step sleeps `--seconds` (default 2) in a one-CPU job. In one run, each round times:
  (a) 50 x sbatch: the 50 commands submitted one by one, waited for with squeue
      (the floor for "one job per step");
  (b) job array: one `sbatch --array=0-49` of the same command (what submitting a
      matrix step as an array could at best give);
  (c) mlrun -b slurm -j J: the workflow, each step a job, mlrun driving;
  (d) mlrun -b local -j J: the same workflow on this machine (for reference);
  (e) mlrun -b slurm rerun: the same workflow again, every step from the cache.
For (c) it reports the most steps in flight at once (from the run records: record
created to record finished, i.e. queued or running) and the most jobs running at once
(from sacct's Start/End, whole seconds). Medians over the rounds.

    python bench/workflow_slurm.py [--rounds 2] [--jobs 16] [--seconds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import mlrun_exe, report, user_env, verdict

STEPS = 50


def write_project(root: Path, seconds: float) -> None:
    root.mkdir(parents=True)
    (root / "work.py").write_text(f"import sys, time\ntime.sleep({seconds})\nprint(sys.argv[1])\n")
    values = ", ".join(str(i) for i in range(STEPS))
    (root / "MLproject").write_text(
        "name: matrix\n"
        "entry_points:\n"
        "  work:\n"
        "    parameters: {i: int}\n"
        '    command: "python work.py {i}"\n'
        "workflows:\n"
        "  many:\n"
        "    steps:\n"
        "      work:\n"
        "        entry_point: work\n"
        f"        matrix: {{i: [{values}]}}\n"
        '        parameters: {i: "${{ matrix.i }}"}\n'
    )


def wait_gone(job_ids: list[str]) -> None:
    ids = ",".join(job_ids)
    while subprocess.run(
        ["squeue", "-h", "-j", ids, "-o", "%i"], capture_output=True, text=True, check=False
    ).stdout.strip():
        time.sleep(0.2)


def bare(project: Path, seconds: float, array: bool) -> float:
    wrap = f"python {project / 'work.py'} 0"
    out = str(project.parent / "slurm-%j.out")
    started = time.perf_counter()
    if array:
        argv = ["sbatch", "--parsable", f"--array=0-{STEPS - 1}", "-o", out, "--wrap", wrap]
        ids = [subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()]
    else:
        argv = ["sbatch", "--parsable", "-o", out, "--wrap", wrap]
        ids = [
            subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(STEPS)
        ]
    wait_gone(ids)
    return time.perf_counter() - started


def workflow(project: Path, env: dict[str, str], backend: str, jobs: int) -> tuple[float, str]:
    argv = [*mlrun_exe(), "run", str(project), "-e", "many", "-b", backend, "-j", str(jobs)]
    started = time.perf_counter()
    proc = subprocess.run(
        [*argv, "--json", "-q"], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"workflow failed: {proc.stderr[-2000:]}")
    return elapsed, json.loads(proc.stdout)["run_id"]


def in_flight(env: dict[str, str], workflow_run: str) -> tuple[int, int]:
    """(most steps in flight at once, most jobs running at once) for a workflow run."""
    listed = subprocess.run(
        [*mlrun_exe(), "runs", "list", "--json", "--limit", "1000"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    steps = [r for r in json.loads(listed) if r["parent_run_id"] == workflow_run]
    records = [(r["start_time"], r["end_time"]) for r in steps]
    jobs = [r["run_id"] for r in steps]
    names = ",".join(f"mlrun-{run_id}" for run_id in jobs)
    sacct = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", "now-2hours", "--name", names, "-o", "Start,End"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    epoch = [
        tuple(time.mktime(time.strptime(t, "%Y-%m-%dT%H:%M:%S")) for t in line.split("|"))
        for line in sacct.splitlines()
        if "Unknown" not in line
    ]
    return _most(records), _most(epoch)


def _most(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    now = most = 0
    for _, change in events:  # an end and a start at the same time: the end first
        now += change
        most = max(most, now)
    return most


def one_round(
    root: Path, env: dict[str, str], args: argparse.Namespace, flights: list[tuple[int, int]]
) -> dict[str, float]:
    project = root / "matrix"
    write_project(project, args.seconds)
    slurm_env = {**env, "MLRUN_HOME": str(root / "home")}
    local_env = {**env, "MLRUN_HOME": str(root / "local")}

    def slurm() -> float:
        elapsed, run_id = workflow(project, slurm_env, "slurm", args.jobs)
        flights.append(in_flight(slurm_env, run_id))
        return elapsed

    cases: dict[str, Callable[[], float]] = {
        "50 x sbatch": lambda: bare(project, args.seconds, array=False),
        "job array": lambda: bare(project, args.seconds, array=True),
        f"mlrun -b slurm -j {args.jobs}": slurm,
        f"mlrun -b local -j {args.jobs}": lambda: workflow(project, local_env, "local", args.jobs)[
            0
        ],
        "mlrun -b slurm rerun (cached)": lambda: workflow(project, slurm_env, "slurm", args.jobs)[
            0
        ],
    }
    times = {}
    for name, case in cases.items():
        time.sleep(4)  # an idle controller before each case (see run_slurm.py)
        times[name] = case()
        print(f"{root.name}: {name}: {times[name]:.1f} s", flush=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    times: dict[str, list[float]] = {}
    flights: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-wfslurm-") as tmp:
        env = user_env(Path(tmp) / "home")  # each round sets its own MLRUN_HOME
        for round_no in range(args.rounds):
            for name, value in one_round(
                Path(tmp) / f"round{round_no}", env, args, flights
            ).items():
                times.setdefault(name, []).append(value)
    report(times)
    steps, running = max(f[0] for f in flights), max(f[1] for f in flights)
    print(f"most steps in flight: {steps} (cap -j {args.jobs}); most jobs running: {running}")
    slurm = statistics.median(times[f"mlrun -b slurm -j {args.jobs}"])
    singles = statistics.median(times["50 x sbatch"])
    ok = verdict("steps in flight <= -j", steps <= args.jobs, f"{steps}")
    ok &= verdict("mlrun workflow / 50 x sbatch", slurm / singles <= 1.5, f"{slurm / singles:.2f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
