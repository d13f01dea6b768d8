"""Benchmark: a fully cached re-run of a 20-step workflow vs the same workflow's first run.

Both are timed end to end as a user sees them (`mlrun run DIR -e flow`, a new process
each time, embedded store in a temporary MLRUN_HOME), medians over several rounds. The
target is a cached re-run under 1 s.

    python bench/workflow_cache.py [--rounds 5] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 20
TARGET = 1.0  # seconds, for the cached re-run


def write_project(root: Path) -> None:
    """20 steps: a source, then 3 fan-out branches of 6 chained steps, then a join."""
    root.mkdir(parents=True)
    (root / "step.py").write_text(
        "import json, os, sys\n"
        "with open(os.path.join(os.environ['MLRUN_RUN_DIR'], 'outputs.json'), 'w') as f:\n"
        "    json.dump({'value': sys.argv[1] + '+' + sys.argv[2]}, f)\n"
    )
    lines = [
        "entry_points:",
        "  step:",
        "    parameters: {name: string, input: string}",
        '    command: "python step.py {name} {input}"',
        "workflows:",
        "  flow:",
        "    steps:",
        "      source: {entry_point: step, parameters: {name: source, input: none}}",
    ]
    last = []
    for branch in range(3):
        previous = "source"
        for i in range(6):
            name = f"b{branch}_{i}"
            lines.append(
                f"      {name}: {{entry_point: step, parameters: {{name: {name}, "
                f"input: '${{{{ steps.{previous}.outputs.value }}}}'}}}}"
            )
            previous = name
        last.append(previous)
    join_input = " ".join(f"${{{{ steps.{n}.run_id }}}}" for n in last)
    lines.append(
        f"      join: {{entry_point: step, parameters: {{name: join, input: '{join_input}'}}}}"
    )
    (root / "MLproject").write_text("\n".join(lines) + "\n")
    assert sum(1 for line in lines if "entry_point: step" in line) == STEPS


def timed_run(project: Path, home: Path, jobs: int) -> float:
    env = dict(os.environ, MLRUN_HOME=str(home))
    env.pop("MLRUN_TRACKING_URI", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mlrun", "run", str(project), "-e", "flow", "-q", "-j", str(jobs)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"mlrun failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    first, cached = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            project = Path(tmp) / f"project{r}"
            home = Path(tmp) / f"home{r}"
            write_project(project)
            first.append(timed_run(project, home, args.jobs))
            cached.append(timed_run(project, home, args.jobs))
            cached.append(timed_run(project, home, args.jobs))
    f, c = statistics.median(first), statistics.median(cached)
    print(f"20-step workflow, -j {args.jobs}, {args.rounds} rounds (new process each run)")
    print(
        f"  first run (every step executes): median {f:.3f} s  "
        f"(min {min(first):.3f}, max {max(first):.3f})"
    )
    print(
        f"  fully cached re-run:             median {c:.3f} s  "
        f"(min {min(cached):.3f}, max {max(cached):.3f})"
    )
    print(
        f"  ratio first/cached: {f / c:.1f}x; target cached < {TARGET:.1f} s: "
        f"{'met' if c < TARGET else 'NOT met'}"
    )
    if c >= TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
