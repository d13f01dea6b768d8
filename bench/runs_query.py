"""Benchmark: `mlrun runs list` and `mlrun runs compare` over a store of 100,000 runs.

The store is realistic: 10 experiments; 4 parameters, 3 metrics of 5 values each and 3
tags per run; every 20th run a workflow run whose next 6 runs are its steps (with a
cache key tag); 90% FINISHED, the rest FAILED or KILLED, and a few RUNNING (2 whose
supervisor is this benchmark, alive, so every read checks their liveness; 3 whose
supervisor is dead, reaped by the warm-up). Each command is a CLI process as users type
it (byte-compiled modules), timed over interleaved repetitions:

  baseline:  `python -c pass` (the interpreter) and `mlrun --version` (mlrun's start-up),
             and the same page as `runs list` read with sqlite3 from a bare `python -c`
  runs list                  the default page (20 newest runs)
  runs list --experiment E   the default page of one experiment
  runs compare --experiment E    its 20 newest runs side by side
  runs compare ID x10        10 runs by id prefix, from all over the store
  runs compare --workflow W  the 6 steps of a workflow run

Target (issue 15): every `runs` command under 150 ms (median wall time). The wall time on
a busy machine is mostly the wait for a core: CPU time is reported too, and the
store's share of a command is its median minus `mlrun --version`'s.

Populating 100,000 runs through create_run would take minutes, so the store is written
in bulk: the schema made by the store itself, then every table with executemany in one
transaction (PostgreSQL: COPY). The populated SQLite file is cached in
$MLRUN_BENCH_CACHE (default ~/.cache/mlrun-bench) under a name keyed by the schema
version, this file's POPULATE_VERSION and the run count, and copied for each bench run
(the bench's reads reap and so write). PostgreSQL (`--store postgres`, the DSN in
MLRUN_TEST_POSTGRES_DSN): a database `mlrun_bench_<key>` is made once and reused.

    python bench/runs_query.py [--runs 100000] [--repeat 15] [--store sqlite|postgres]
                               [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_ms, mlrun_exe, report, time_and_cpu_once, user_env, verdict

POPULATE_VERSION = 2  # bump when populate() writes something else: the cache key changes
TARGET_MS = 150.0
EXPERIMENTS = 10
WORKFLOW_EVERY, STEPS = 20, 6
METRICS, VALUES = ("loss", "acc", "rmse"), 5
LIVE_RUNNING, DEAD_RUNNING = 2, 3
DEAD_PID = 2**22 + 11  # above pid_max's default: never a live process


# -- the runs ------------------------------------------------------------------------


def _rows(n: int, seed: int = 15) -> Iterator[dict[str, Any]]:
    """Every run as a dict of its table rows: the same for both stores."""
    from mlrun import __version__
    from mlrun.tracking.liveness import this_host

    rng = random.Random(seed)
    host = this_host()
    start0 = time.time() - 100 * 86400
    parent: str | None = None
    for i in range(n):
        run_id = f"{rng.getrandbits(128):032x}"
        start = start0 + i * 60.0
        is_workflow = i % WORKFLOW_EVERY == 0
        step = 0 if is_workflow else i % WORKFLOW_EVERY
        in_workflow = parent is not None and 1 <= step <= STEPS
        roll = rng.random()
        status = "FINISHED" if roll < 0.9 else ("FAILED" if roll < 0.97 else "KILLED")
        params = {
            "lr": f"{rng.choice([0.1, 0.01, 0.001, 0.0001])}",
            "epochs": str(rng.choice([5, 10, 20])),
            "model": rng.choice(["linear", "tree", "forest", "boosting"]),
            "seed": str(rng.randrange(100)),
        }
        tags = {"team": rng.choice(["vision", "nlp", "tabular"]), "mlrun.source.ref": run_id[:12]}
        if in_workflow:
            tags["mlrun.cache_key"] = f"{rng.getrandbits(256):064x}"
        metrics = []
        if not is_workflow:
            base = rng.random()
            for s in range(VALUES):
                for k, key in enumerate(METRICS):
                    value = base / (s + 1) + k
                    metrics.append((key, value, s, start + s))
        yield {
            "run": {
                "run_id": run_id,
                "experiment_id": 1 + i % EXPERIMENTS,
                "run_name": f"step{step}" if in_workflow else None,
                "status": status,
                "exit_code": 0 if status == "FINISHED" else (1 if status == "FAILED" else None),
                "status_reason": None,
                "start_time": start,
                "end_time": start + 30.0,
                "heartbeat_time": start + 30.0,
                "source_uri": "/home/user/projects/demo",
                "source_type": "local",
                "source_json": json.dumps({"commit": run_id[:12], "dirty": False}),
                "entry_point": "workflow" if is_workflow else "train",
                "command_json": json.dumps(["python", "train.py", "--lr", params["lr"]]),
                "command_mode": "workflow" if is_workflow else "argv",
                "env_kind": "workflow" if is_workflow else "uv",
                "env_json": json.dumps({"key": run_id[:16]}),
                "run_dir": f"/home/user/.local/share/mlrun/runs/{run_id}/outputs",
                "log_paths_json": json.dumps({"combined": f"/runs/{run_id}/logs/combined.log"}),
                "host": host,
                "user": "user",
                "pid": 1000 + i % 30000,
                "pid_start": "1",
                "mlrun_version": __version__,
                "parent_run_id": parent if in_workflow else None,
                "reaped": 0,
            },
            "params": params,
            "tags": tags,
            "metrics": metrics,
        }
        if is_workflow:
            parent = run_id


def _running_rows(n: int) -> tuple[list[str], list[str]]:
    """(live, dead): the ids of the runs made RUNNING after the bulk insert."""
    at = {n - 1 - 7 * k for k in range(LIVE_RUNNING + DEAD_RUNNING)}  # among the newest
    picked = [r["run"]["run_id"] for i, r in enumerate(_rows(n)) if i in at]
    return picked[:LIVE_RUNNING], picked[LIVE_RUNNING:]


# -- SQLite --------------------------------------------------------------------------


def populate_sqlite(path: Path, n: int) -> None:
    import sqlite3

    from mlrun.tracking.sqlite_store import SqliteStore

    with SqliteStore(path) as store:  # the schema, as mlrun makes it
        store.list_experiments()
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO experiments (experiment_id, name, created_time) VALUES (?, ?, ?)",
        [(e + 1, f"exp-{e}", 0.0) for e in range(EXPERIMENTS)],
    )
    runs: list[tuple[Any, ...]] = []
    params: list[tuple[Any, ...]] = []
    tags: list[tuple[Any, ...]] = []
    values: list[tuple[Any, ...]] = []
    latest: list[tuple[Any, ...]] = []
    columns: list[str] = []
    for row in _rows(n):
        run = row["run"]
        columns = list(run)
        run_id = run["run_id"]
        runs.append(tuple(run.values()))
        params += [(run_id, k, v) for k, v in row["params"].items()]
        tags += [(run_id, k, v) for k, v in row["tags"].items()]
        last: dict[str, tuple[Any, ...]] = {}
        for seq, (key, value, step, stamp) in enumerate(row["metrics"], 1):
            values.append((run_id, seq, key, value, step, stamp))
            last[key] = (run_id, key, value, step, stamp, seq)
        latest += last.values()
    conn.executemany(
        f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", runs
    )
    conn.executemany("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)", params)
    conn.executemany("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", tags)
    conn.executemany(
        "INSERT INTO metric_values (run_id, seq, key, value, step, timestamp)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        values,
    )
    conn.executemany(
        "INSERT INTO latest_metrics (run_id, key, value, step, timestamp, seq)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        latest,
    )
    _, dead = _running_rows(n)
    marks = ", ".join("?" * len(dead))
    conn.execute(
        f"UPDATE runs SET status = 'RUNNING', exit_code = NULL, end_time = NULL, pid = ?,"
        f" pid_start = NULL WHERE run_id IN ({marks})",
        [DEAD_PID, *dead],
    )
    conn.execute("COMMIT")  # no ANALYZE: mlrun never runs it, so users' stores have no statistics
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def sqlite_store(n: int, home: Path) -> str:
    """A copy of the cached populated store in `home`, made first when missing."""
    from mlrun.tracking.sqlite_schema import SCHEMA_VERSION

    cache = Path(os.environ.get("MLRUN_BENCH_CACHE") or Path.home() / ".cache" / "mlrun-bench")
    cached = cache / f"runs_query-sqlite-s{SCHEMA_VERSION}-p{POPULATE_VERSION}-{n}.db"
    if not cached.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")
        started = time.perf_counter()
        populate_sqlite(partial, n)
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(cached)  # whole or not at all
        print(f"populated {n} runs in {time.perf_counter() - started:.1f} s: {cached}")
    else:
        print(f"using the cached store {cached}")
    path = home / "mlrun.db"
    shutil.copyfile(cached, path)
    _make_live(n, f"{path}")
    return str(path)


def _make_live(n: int, uri: str) -> None:
    """The live RUNNING runs are supervised by this benchmark process."""
    from mlrun.tracking.liveness import process_start_token

    live, _ = _running_rows(n)
    args = (os.getpid(), process_start_token(os.getpid()), time.time(), *live)
    marks = ", ".join("?" * len(live))
    sql = (
        "UPDATE runs SET status = 'RUNNING', exit_code = NULL, end_time = NULL, pid = ?,"
        f" pid_start = ?, heartbeat_time = ? WHERE run_id IN ({marks})"
    )
    if uri.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(uri) as pg:
            pg.execute(sql.replace("?", "%s").encode(), args)
        return
    import sqlite3

    conn = sqlite3.connect(uri)
    with conn:
        conn.execute(sql, args)
    conn.close()


# -- the measurement ------------------------------------------------------------------


def raw_page_sqlite(path: str) -> list[str]:
    """The baseline: `runs list`'s page read with sqlite3 from a bare interpreter."""
    code = f"""import sqlite3
c = sqlite3.connect({path!r})
ids = [r[0] for r in c.execute("SELECT run_id FROM runs ORDER BY start_time DESC LIMIT 20")]
marks = ", ".join("?" * len(ids))
c.execute(f"SELECT * FROM params WHERE run_id IN ({{marks}})", ids).fetchall()
c.execute(f"SELECT * FROM metric_values WHERE run_id IN ({{marks}})", ids).fetchall()
"""
    return [sys.executable, "-c", code]


def cases(uri: str, n: int) -> dict[str, list[str]]:
    rows = list(_rows(n))
    ids = [r["run"]["run_id"][:8] for r in rows[7 :: n // 10][:10]]
    workflow = next(
        r["run"]["run_id"] for r in reversed(rows) if r["run"]["env_kind"] == "workflow"
    )
    runs = [*mlrun_exe(), "runs"]
    store = ["--tracking-uri", uri]
    out = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mlrun --version": [*mlrun_exe(), "--version"],
    }
    if not uri.startswith("postgresql://"):
        out["sqlite3 page (bare)"] = raw_page_sqlite(uri)
    out["runs list"] = [*runs, "list", *store]
    out["runs list --experiment"] = [*runs, "list", "--experiment", "exp-3", *store]
    out["runs compare --experiment"] = [*runs, "compare", "--experiment", "exp-3", *store]
    out["runs compare 10 ids"] = [*runs, "compare", *ids, *store]
    out["runs compare --workflow"] = [*runs, "compare", "--workflow", workflow, *store]
    return out


def measure(
    commands: Mapping[str, Sequence[str]], repeat: int, env: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Interleaved (wall, cpu) samples; one warm-up round (it also reaps the dead runs)."""
    for argv in commands.values():
        time_and_cpu_once(argv, env=env)
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            w, c = time_and_cpu_once(argv, env=env)
            wall[name].append(w)
            cpu[name].append(c)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", type=Path, default=None, help="Write the results here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp:
        home = Path(tmp)
        if args.store == "postgres":
            uri = postgres_store(args.runs)
        else:
            uri = sqlite_store(args.runs, home)
        env = user_env(home)
        env.pop("MLRUN_TRACKING_URI", None)
        commands = cases(uri, args.runs)
        wall, cpu = measure(commands, args.repeat, env)
    print(f"\n{args.store} store, {args.runs} runs, medians of {args.repeat}:")
    report(wall)
    startup = median_ms(wall["mlrun --version"])
    print(f"\n{'case':<28} {'cpu ms':>7} {'store share ms':>15}")
    for name in commands:
        share = median_ms(wall[name]) - startup
        print(f"{name:<28} {median_ms(cpu[name]):7.1f} {share:+15.1f}")
    ok = True
    for name in commands:
        if name.startswith("runs "):
            got = median_ms(wall[name])
            ok &= verdict(name, got < TARGET_MS, f"{got:.0f} ms (target < {TARGET_MS:.0f} ms)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "store": args.store,
                    "runs": args.runs,
                    "repeat": args.repeat,
                    "median_ms": {k: median_ms(v) for k, v in wall.items()},
                    "cpu_median_ms": {k: median_ms(v) for k, v in cpu.items()},
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "stdev_ms": {k: statistics.pstdev(v) * 1000 for k, v in wall.items()},
                },
                indent=1,
            )
        )
    return 0 if ok else 1


def postgres_store(n: int) -> str:
    raise SystemExit("--store postgres needs the PostgreSQL store (not in this checkout yet).")


if __name__ == "__main__":
    sys.exit(main())
