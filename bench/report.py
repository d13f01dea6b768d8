"""Benchmark: `mlrun report` of 50 runs x 5 metrics x 1000 steps (250,000 metric values).

Measures, in one run, the median wall time of
  (a) `mlrun runs list --experiment bench --limit 50 --json` (reading the same runs and
      printing them: the floor any report of them pays),
  (b) `mlrun report --experiment bench` (the page written, every value drawn),
  (c) the same with 10,000 steps per metric (2.5 M values: every line thinned to 1,000
      points by the page),
and the page's size, the phases of (b) and (c) in-process, and (when Chromium is installed) the
time a headless browser takes from opening the page to every chart drawn.
Target: (b) under 10 s on the (shared, 2-core) bench machine.

    python bench/report.py [--repeat 5] [--runs 50] [--metrics 5] [--steps 1000]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import interleaved, median_ms, mlrun_exe, report, user_env, verdict


def fill(db: Path, runs: int, metrics: int, steps: int, experiment: str) -> None:
    from mlrun.tracking.liveness import this_host
    from mlrun.tracking.model import FINISHED, Metric, NewRun
    from mlrun.tracking.sqlite_store import SqliteStore

    db.parent.mkdir(parents=True, exist_ok=True)
    with SqliteStore(db) as store:
        for i in range(runs):
            run = store.create_run(
                NewRun(
                    experiment=experiment, run_name=f"run-{i:02d}", source_uri="/bench",
                    source_type="local", entry_point="train",
                    params={"lr": f"{0.001 * (i + 1):.3f}", "seed": str(i % 7)},
                    command=["python", "train.py"], command_mode="argv", env_kind="local",
                    run_dir=str(db.parent / "runs" / str(i)), log_paths={}, host=this_host(),
                    user="bench", pid=os.getpid(), pid_start=None, mlrun_version="bench",
                    status=FINISHED, start_time=time.time() - 60, end_time=time.time(),
                )
            )  # fmt: skip
            values = [
                Metric(
                    f"metric_{k}", math.exp(-step / (100 + 10 * i)) + 0.01 * math.sin(step), step
                )
                for k in range(metrics)
                for step in range(steps)
            ]
            store.log_metrics(run.run_id, values)


def phases(db: Path, out: Path, experiment: str) -> dict[str, float]:
    """Seconds of each phase of one report, in this process (plotly already imported)."""
    from mlrun.comparing.table import build_comparison
    from mlrun.report import select
    from mlrun.report.charts import charts, colour, plotly_js
    from mlrun.report.page import Page, render
    from mlrun.report.series import series_of
    from mlrun.tracking.sqlite_store import SqliteStore

    took: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        took[name] = now - mark
        mark = now

    with SqliteStore(db) as store:
        chosen = select(store, (), experiment, limit=50)
        lap("read runs")
        comparison = build_comparison(chosen.runs)
        lap("comparison")
        series = series_of(comparison.runs)
        lap("series")
        colours = {r.run_id: colour(i) for i, r in enumerate(chosen.runs)}
        drawn = charts(series, chosen.labels, colours)
        lap("figures")
        page = Page(chosen.title, comparison.runs, chosen.labels, colours, comparison, drawn,
                    chosen.flows, store.uri)  # fmt: skip
        out.write_text(render(page, out, plotly_js()))
        lap("page written")
    return took


def browser_seconds(page: Path, repeat: int) -> list[float] | None:
    from tests.chromium import ChromiumPage
    from tests.services import chromium_executable

    exe = chromium_executable()
    if exe is None:
        return None
    samples = []
    for n in range(repeat):
        with ChromiumPage(exe, page.parent / f"profile-{n}") as browser:
            started = time.perf_counter()
            browser.open(page.as_uri())
            if browser.wait_for("document.body.dataset.charts", timeout=300) != "drawn":
                raise SystemExit("the page's charts were not drawn")
            samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--metrics", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp:
        root = Path(tmp)
        db = root / "home" / "mlrun.db"
        started = time.perf_counter()
        fill(db, args.runs, args.metrics, args.steps, "bench")
        fill(db, args.runs, args.metrics, args.steps * 10, "long")
        print(f"store filled in {time.perf_counter() - started:.1f} s")
        env = user_env(root / "home")
        out = root / "report.html"
        long_out = root / "long.html"
        uri = ["--tracking-uri", str(db)]
        cases = {
            "runs list --json (a)": [*mlrun_exe(), "runs", "list", "--experiment", "bench",
                                     "--limit", str(args.runs), "--json", *uri],
            "report (b)": [*mlrun_exe(), "report", "--experiment", "bench", "--limit",
                           str(args.runs), "-o", str(out), *uri],
            "report, 10x steps (c)": [*mlrun_exe(), "report", "--experiment", "long",
                                      "--limit", str(args.runs), "-o", str(long_out), *uri],
        }  # fmt: skip
        samples = interleaved(cases, args.repeat, warmup=1, env=env)
        report(samples)
        size, long_size = out.stat().st_size, long_out.stat().st_size
        print(f"page size: {size / 1e6:.1f} MB ({long_size / 1e6:.1f} MB with 10x steps)")
        for name, experiment in (("(b)", "bench"), ("(c)", "long")):
            took = phases(db, root / "phases.html", experiment)
            shown = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in took.items())
            print(f"phases of {name} in-process: {shown}")
        drawn = browser_seconds(out, 3)
        if drawn is not None:
            median = statistics.median(drawn)
            print(f"headless Chromium, open to every chart drawn: median {median:.2f} s")
        b, a = median_ms(samples["report (b)"]), median_ms(samples["runs list --json (a)"])
        print(f"report / runs list --json: {b / a:.2f}x")
        ok = verdict("report time", b < 10_000, f"{b / 1000:.2f} s (target < 10 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
