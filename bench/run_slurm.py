"""Benchmark: what `mlrun run -b slurm` adds to a Slurm job, on the CI's cluster.

Times, interleaved in one run, the same short command (a Python print, after `--sleep`
seconds) as
  (a) `sbatch --wait` of it (how a user waits for a job without a tool),
  (b) `sbatch` and then `squeue -j` every 0.1 s until the job left the queue (the
      floor: how soon anyone can know a job ended by asking the controller),
  (c) `mlrun run DIR -b slurm` (record, logs, live output, status from Slurm).
Reports medians, mlrun / sbatch --wait, mlrun - floor, and the controller's job queries
per run of each (from `sdiag`: the controller's own counts, so other users' queries in
the same seconds are counted too). Targets: mlrun no slower than sbatch --wait (10 %
noise allowed: `sbatch --wait` looks after 2 s and then every 10 s, so it ties with a job
that ends within 2 s and loses by up to 10 s otherwise); mlrun - floor <= 1 s.

    python bench/run_slurm.py [--repeat 9] [--sleep 0]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_ms, mlrun_exe, report, time_once, user_env, verdict

MLPROJECT = 'name: hello\nentry_points:\n  main:\n    command: "python hello.py"\n'
SETTLE = 4.0  # seconds of an idle controller before each timed case
_JOB_QUERIES = re.compile(r"^\s*(REQUEST_JOB_INFO(?:_SINGLE)?)\s+\(\s*\d+\)\s+count:(\d+)", re.M)


def job_queries() -> int:
    """The controller's count of job-information requests so far (sdiag)."""
    out = subprocess.run(["sdiag"], capture_output=True, text=True, check=False).stdout
    return sum(int(count) for _, count in _JOB_QUERIES.findall(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds the command sleeps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-slurm-") as tmp:
        root = Path(tmp)
        project = root / "hello"
        project.mkdir()
        (project / "MLproject").write_text(MLPROJECT)
        (project / "hello.py").write_text(
            f"import time\ntime.sleep({args.sleep})\nprint('hello')\n"
        )
        env = user_env(root / "home")
        out = str(root / "slurm-%j.out")
        wrap = f"cd {project} && python hello.py"
        floor = (
            f"j=$(sbatch --parsable -o {out} --wrap '{wrap}') || exit 1; "
            'while squeue -h -j "$j" 2>/dev/null | grep -q .; do sleep 0.1; done'
        )
        cases = {
            "sbatch --wait": ["sbatch", "--wait", "-o", out, "--wrap", wrap],
            "sbatch + squeue 0.1 s": ["bash", "-c", floor],
            "mlrun run -b slurm": [*mlrun_exe(), "run", str(project), "-b", "slurm"],
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        queries: dict[str, list[int]] = {name: [] for name in cases}
        for argv in cases.values():  # warm-up: caches, the first job of a fresh node
            time_once(argv, cwd=project, env=env)
        names = list(cases)
        for round_no in range(args.repeat):
            # Each round in another order, and each case from an idle controller: Slurm
            # schedules a new job at once only when its last scheduling pass is a few
            # seconds old (batch_sched_delay), so a case that follows another would wait
            # for the next pass.
            for name in names[round_no % len(names) :] + names[: round_no % len(names)]:
                time.sleep(SETTLE)
                before = job_queries()
                samples[name].append(time_once(cases[name], cwd=project, env=env))
                queries[name].append(job_queries() - before)
        report(samples)
        for name, counts in queries.items():
            print(
                f"{name}: controller job queries per run, median {sorted(counts)[len(counts) // 2]}"
            )
        mlrun_ms = median_ms(samples["mlrun run -b slurm"])
        ratio = mlrun_ms / median_ms(samples["sbatch --wait"])
        over = mlrun_ms - median_ms(samples["sbatch + squeue 0.1 s"])
        ok = verdict("mlrun run -b slurm / sbatch --wait", ratio <= 1.1, f"{ratio:.2f}x")
        ok &= verdict("mlrun run -b slurm - floor", over <= 1000, f"{over:.0f} ms")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
