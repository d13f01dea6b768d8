"""Benchmark: `mlrun runs list` and `mlrun runs compare` over a store of 100,000 runs.

The store is realistic: 10 experiments; 4 parameters, 3 metrics of 5 values each and 3
tags per run; every 20th run a workflow run whose next 6 runs are its steps (with a
cache key tag); 90% FINISHED, the rest FAILED or KILLED, and a few RUNNING (2 whose
supervisor is this benchmark, alive, so every read checks their liveness; 3 whose
supervisor is dead, reaped by the warm-up). Each command is a CLI process as users type
it (byte-compiled modules), timed over interleaved repetitions:

  baseline:  `python -c pass` (the interpreter) and `mlrun --version` (mlrun's start-up),
             and the same page as `runs list` read by the bare driver (sqlite3, psycopg)
             from a `python -c`
  runs list                  the default page (20 newest runs)
  runs list --experiment E   the default page of one experiment
  runs compare --experiment E    its 20 newest runs side by side
  runs compare ID x10        10 runs by id prefix, from all over the store
  runs compare --workflow W  the 6 steps of a workflow run
  runs list --metric acc --sort desc, runs compare --experiment E --sort -acc
                             the best page by a metric's latest value

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
from _common import REPO, median_ms, mlrun_exe, report, time_and_cpu_once, user_env, verdict

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


_CHILDREN = ("runs", "params", "tags", "metric_values", "latest_metrics")


def _table_rows(n: int) -> tuple[list[str], dict[str, list[tuple[Any, ...]]]]:
    """(the columns of `runs`, {table: rows}) for every run, as both stores take them."""
    tables: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _CHILDREN}
    columns: list[str] = []
    for row in _rows(n):
        run = row["run"]
        columns = list(run)
        run_id = run["run_id"]
        tables["runs"].append(tuple(run.values()))
        tables["params"] += [(run_id, k, v) for k, v in row["params"].items()]
        tables["tags"] += [(run_id, k, v) for k, v in row["tags"].items()]
        last: dict[str, tuple[Any, ...]] = {}
        for seq, (key, value, step, stamp) in enumerate(row["metrics"], 1):
            tables["metric_values"].append((run_id, seq, key, value, step, stamp))
            last[key] = (run_id, key, value, step, stamp, seq)
        tables["latest_metrics"] += last.values()
    return columns, tables


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
    columns, tables = _table_rows(n)
    runs, params, tags, values, latest = (tables[t] for t in _CHILDREN)
    names = ", ".join(f'"{c}"' for c in columns)
    conn.executemany(f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(columns))})", runs)
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
    _reset_running(n, str(path))
    return str(path)


def _reset_running(n: int, uri: str) -> None:
    """The RUNNING runs as every bench run starts: the live ones supervised by this
    process, the dead ones by a pid that does not exist (the warm-up reaps them)."""
    from mlrun.tracking.liveness import process_start_token

    live, dead = _running_rows(n)
    sets = "status = 'RUNNING', exit_code = NULL, status_reason = NULL, end_time = NULL, reaped = 0"
    updates = [
        (
            f"UPDATE runs SET {sets}, pid = ?, pid_start = ?, heartbeat_time = ?"
            f" WHERE run_id IN ({', '.join('?' * len(live))})",
            (os.getpid(), process_start_token(os.getpid()), time.time(), *live),
        ),
        (
            f"UPDATE runs SET {sets}, pid = ?, pid_start = NULL"
            f" WHERE run_id IN ({', '.join('?' * len(dead))})",
            (DEAD_PID, *dead),
        ),
    ]
    if uri.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(uri) as pg:
            for sql, args in updates:
                pg.execute(sql.replace("?", "%s").encode(), args)
        return
    import sqlite3

    conn = sqlite3.connect(uri)
    with conn:
        for sql, args in updates:
            conn.execute(sql, args)
    conn.close()


# -- the measurement ------------------------------------------------------------------


def raw_page(uri: str) -> list[str]:
    """The baseline: `runs list`'s page (the 20 newest runs, their params and metrics)
    read with the bare driver from a bare interpreter; the URI comes from the environment."""
    if uri.startswith("postgresql://"):
        connect = "import os, psycopg; c = psycopg.connect(os.environ['MLRUN_TRACKING_URI'])"
        where = "= ANY(%s)"
        ids = "[ids]"
    else:
        connect = "import os, sqlite3; c = sqlite3.connect(os.environ['MLRUN_TRACKING_URI'])"
        where = "IN (' + ', '.join('?' * len(ids)) + ')"
        ids = "ids"
    code = f"""{connect}
ids = [r[0] for r in c.execute("SELECT run_id FROM runs ORDER BY start_time DESC LIMIT 20")]
c.execute('SELECT * FROM params WHERE run_id {where}', {ids}).fetchall()
c.execute('SELECT * FROM metric_values WHERE run_id {where}', {ids}).fetchall()
"""
    return [sys.executable, "-c", code]


def cases(uri: str, n: int) -> dict[str, list[str]]:
    # The store is in MLRUN_TRACKING_URI, never in an argv (a PostgreSQL password).
    rows = list(_rows(n))
    ids = [r["run"]["run_id"][:8] for r in rows[7 :: n // 10][:10]]
    workflow = next(
        r["run"]["run_id"] for r in reversed(rows) if r["run"]["env_kind"] == "workflow"
    )
    runs = [*mlrun_exe(), "runs"]
    out = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mlrun --version": [*mlrun_exe(), "--version"],
    }
    out["bare driver page"] = raw_page(uri)
    out["runs list"] = [*runs, "list"]
    out["runs list --experiment"] = [*runs, "list", "--experiment", "exp-3"]
    out["runs compare --experiment"] = [*runs, "compare", "--experiment", "exp-3"]
    out["runs compare 10 ids"] = [*runs, "compare", *ids]
    out["runs compare --workflow"] = [*runs, "compare", "--workflow", workflow]
    out["runs list --metric --sort"] = [*runs, "list", "--metric", "acc", "--sort", "desc"]
    out["runs compare --experiment --sort"] = [
        *runs, "compare", "--experiment", "exp-3", "--sort", "-acc",
    ]  # fmt: skip
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
        env = dict(user_env(home), MLRUN_TRACKING_URI=uri)
        commands = cases(uri, args.runs)
        load = os.getloadavg()[0]
        wall, cpu = measure(commands, args.repeat, env)
        load = max(load, os.getloadavg()[0])
    cores = os.cpu_count() or 1
    print(f"\n{args.store} store, {args.runs} runs, medians of {args.repeat}")
    print(f"(load average up to {load:.1f} on {cores} cores: above {cores}, wall times wait)")
    report(wall)
    startup = median_ms(wall["mlrun --version"])
    width = max(len(name) for name in commands)
    print(f"\n{'case':<{width}}  {'cpu ms':>7} {'store share ms':>15}")
    for name in commands:
        share = median_ms(wall[name]) - startup
        print(f"{name:<{width}}  {median_ms(cpu[name]):7.1f} {share:+15.1f}")
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
                    "load_average": load,
                    "cores": cores,
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


# -- PostgreSQL ----------------------------------------------------------------------


def postgres_store(n: int) -> str:
    """The URI of a schema of the test PostgreSQL (MLRUN_TEST_POSTGRES_DSN, or what
    .ci/start-services published) holding the populated store, made first when missing."""
    import psycopg

    from mlrun.tracking.postgres_schema import SCHEMA_VERSION

    dsn = os.environ.get("MLRUN_TEST_POSTGRES_DSN")
    if not dsn:
        sys.path.insert(0, str(REPO))
        from tests.services import setting

        dsn = setting("MLRUN_TEST_POSTGRES_DSN")
    if not dsn:
        raise SystemExit("--store postgres needs MLRUN_TEST_POSTGRES_DSN (.ci/start-services).")
    schema = f"mlrun_bench_s{SCHEMA_VERSION}_p{POPULATE_VERSION}_{n}"
    uri = f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        done = admin.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s"
            " AND table_name = 'bench_populated'",
            (schema,),
        ).fetchone()
        if done:
            print(f"using the populated schema {schema}")
        else:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE".encode())
            admin.execute(f"CREATE SCHEMA {schema}".encode())
            started = time.perf_counter()
            populate_postgres(uri, n)
            print(f"populated {n} runs in {time.perf_counter() - started:.1f} s: {schema}")
    _reset_running(n, uri)
    return uri


def populate_postgres(uri: str, n: int) -> None:
    import psycopg

    from mlrun.tracking import open_store

    with open_store(uri) as store:  # the schema, as mlrun makes it
        store.list_experiments()
    columns, tables = _table_rows(n)
    copies = {
        "runs": ", ".join(f'"{c}"' for c in columns),
        "params": "run_id, key, value",
        "tags": "run_id, key, value",
        "metric_values": "run_id, seq, key, value, step, timestamp",
        "latest_metrics": "run_id, key, value, step, timestamp, seq",
    }
    with psycopg.connect(uri) as conn:  # one transaction
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO experiments (experiment_id, name, created_time) VALUES (%s, %s, %s)",
                [(e + 1, f"exp-{e}", 0.0) for e in range(EXPERIMENTS)],
            )
            for table, names in copies.items():
                with cur.copy(f"COPY {table} ({names}) FROM STDIN".encode()) as copy:
                    for row in tables[table]:
                        copy.write_row(row)
            cur.execute("CREATE TABLE bench_populated ()")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("ANALYZE")  # what autovacuum does soon after on a real server


if __name__ == "__main__":
    sys.exit(main())
