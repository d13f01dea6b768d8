"""Benchmark: the second `mlrun run <git-url>` of an unchanged remote against a local run of
the same project. Target (issue 3): within 300 ms of the local run.

Starts its own servers on loopback (git http-backend behind basic auth, and git daemon),
in a temporary MLRUN_HOME with an isolated git config, and runs the CLI as a user would
(a fresh process per run). The first run of each URL (the clone) is timed apart; the
medians compare repeat runs, interleaved.

    python bench/git_run.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import interleaved, median_ms, mlrun_exe, report, time_once, verdict
from tests.sources.gitrepos import project_repo, publish
from tests.sources.gitservers import GitDaemon, GitHttpServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-git-") as tmp:
        root = Path(tmp)
        config = root / "gitconfig"
        config.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
        env = dict(
            os.environ,
            GIT_CONFIG_GLOBAL=str(config),
            GIT_CONFIG_NOSYSTEM="1",
            MLRUN_HOME=str(root / "home"),
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        os.environ.update(GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1")
        served = root / "served"
        served.mkdir()
        work = root / "work"
        sha = project_repo(work, "bench")
        publish(work, served, "app.git")
        http = GitHttpServer(served).start()
        daemon = GitDaemon(served).start()
        run = [*mlrun_exe(), "run", "-q"]
        cases = {
            "local working tree": [*run, str(work)],
            "http:// + token": [*run, http.url("app.git", credentials=True)],
            "git://": [*run, daemon.url("app.git")],
            "http:// -v <full sha>": [*run, http.url("app.git", credentials=True), "-v", sha],
        }
        try:
            first = {name: time_once(argv, env=env) for name, argv in cases.items()}
            samples = interleaved(cases, args.repeat, warmup=0, env=env)
            fetches = http.commands().count("fetch")
        finally:
            http.stop()
            daemon.stop()
        print(
            "first run (the clone): "
            + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in first.items())
        )
        report(samples)
        base = median_ms(samples["local working tree"])
        ok = True
        for name in ("http:// + token", "git://"):
            extra = median_ms(samples[name]) - base
            ok &= verdict(
                f"second run of a {name} URL vs local",
                extra <= 300,
                f"{extra:+.1f} ms (target +300 ms)",
            )
        ok &= verdict(
            "no pack fetched after the clone",
            fetches == 1,
            f"{fetches} fetch request(s) with objects over {args.repeat + 1} runs",
        )
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
