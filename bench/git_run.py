"""Benchmark: the second `mlrun run <git-url>` of an unchanged remote against a local run of
the same project (the acceptance bar: within 300 ms).

Starts its own servers on loopback (git http-backend behind basic auth, and git daemon),
in a temporary MLRUN_HOME with an isolated git config, and runs the CLI as a user would
(a fresh `python -m mlrun` process per run). Prints medians and differences.

    python bench/git_run.py [--runs 15]
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.sources.gitrepos import project_repo, publish  # noqa: E402
from tests.sources.gitservers import GitDaemon, GitHttpServer  # noqa: E402


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mlrun-bench-git-"))
    config = tmp / "gitconfig"
    config.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
    os.environ.update(GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1",
                      MLRUN_HOME=str(tmp / "home"))
    served = tmp / "served"
    served.mkdir()
    work = tmp / "work"
    project_repo(work, "bench")
    publish(work, served, "app.git")
    http = GitHttpServer(served).start()
    daemon = GitDaemon(served).start()
    mlrun = [sys.executable, "-m", "mlrun", "run", "-q"]
    targets = {
        "local working tree": [*mlrun, str(work)],
        "http:// (token, 2nd+ run)": [*mlrun, http.url("app.git", credentials=True)],
        "git:// (2nd+ run)": [*mlrun, daemon.url("app.git")],
        "http:// -v <full sha>": [*mlrun, http.url("app.git", credentials=True), "-v",
                                  subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"],
                                                 capture_output=True, text=True,
                                                 check=True).stdout.strip()],
    }
    try:
        first = {name: timed(argv) for name, argv in targets.items()}  # clones, warm-up
        times: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.runs):  # interleaved, so machine noise hits all alike
            for name, argv in targets.items():
                times[name].append(timed(argv))
    finally:
        http.stop()
        daemon.stop()
    base = statistics.median(times["local working tree"])
    print(f"{'':28} {'first':>8} {'median':>8} {'vs local':>9} {'ratio':>6}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:28} {first[name] * 1000:7.0f}ms {med * 1000:7.0f}ms "
              f"{(med - base) * 1000:+8.0f}ms {med / base:6.2f}")
    http_med = statistics.median(times["http:// (token, 2nd+ run)"])
    verdict = "PASS" if http_med - base <= 0.300 else "FAIL"
    print(f"\nsecond run of a git URL over HTTP: {(http_med - base) * 1000:+.0f} ms vs a local "
          f"run (bar: +300 ms) -> {verdict}  [{args.runs} runs each, medians]")


if __name__ == "__main__":
    main()
