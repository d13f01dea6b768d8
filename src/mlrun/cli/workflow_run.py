"""`mlrun run -e WORKFLOW`: the terminal side of a workflow run (live view, summary,
--dry-run listing, --json). The engine is mlrun.workflow.engine."""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from mlrun.cli.output import TerminalReporter, dump_json, table
from mlrun.reporting import Progress
from mlrun.workflow.view import ANNOUNCED, Board, live_lines, summary_rows, transition_line


class WorkflowReporter(TerminalReporter):
    """Shows step states: a redrawn block on a terminal, else one line per change.
    Other messages are printed above the block."""

    def __init__(self, quiet: bool = False, debug: bool = False, live: bool | None = None) -> None:
        super().__init__(quiet=quiet, debug=debug)
        self.board = Board()
        self.live = self.tty and not quiet if live is None else live
        self._drawn = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # Messages go above the live block.
    def _above(self, text: str) -> None:
        with self._lock:
            self._clear()
            click.echo(text, err=True)
            self._draw()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._above(f"mlrun: {message}")

    def warn(self, message: str) -> None:
        self._above(f"mlrun: warning: {message}")

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._above(f"mlrun: debug: {message}")

    @contextlib.contextmanager
    def progress(self, label: str) -> Iterator[Progress]:
        """Long tasks (an env build) as two lines above the board, not a live status
        line that would fight with it."""
        if not self.live:
            with super().progress(label) as progress:
                yield progress
            return
        started = time.monotonic()
        self._above(f"mlrun: {label}...")
        try:
            yield Progress()
        except BaseException:
            self._above(f"mlrun: {label} failed after {time.monotonic() - started:.1f}s")
            raise
        self._above(f"mlrun: {label} done in {time.monotonic() - started:.1f}s")

    def event(self, kind: str, **fields: object) -> None:
        changed = self.board.apply(kind, dict(fields))
        if kind == "workflow.start" and self.live:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        elif kind == "workflow.end":
            self.stop()
        if changed is not None and changed.status in ANNOUNCED and not self.live and not self.quiet:
            click.echo(f"mlrun: {transition_line(changed)}", err=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self._clear()

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                self._clear()
                self._draw()

    def _draw(self) -> None:
        if not self.live or self._stop.is_set() or not self.board.states:
            return
        size = shutil.get_terminal_size((100, 30))
        lines = live_lines(self.board, width=size.columns - 1, height=max(5, size.lines - 4))
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
        self._drawn = len(lines)

    def _clear(self) -> None:
        if self._drawn:
            sys.stderr.write(f"\x1b[{self._drawn}F\x1b[J")  # up N lines, erase below
            sys.stderr.flush()
            self._drawn = 0


def run_workflow(
    opened: Any,
    request: Any,
    options: Any,
    *,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    debug: bool,
    tracking_uri: str | None,
) -> int:
    from mlrun.cli.entry import startup_done
    from mlrun.tracking import open_store
    from mlrun.workflow.engine import WorkflowRun

    # `opened` belongs to the caller, who closes it.
    reporter = WorkflowReporter(quiet=quiet or (as_json and dry_run), debug=debug)
    store = open_store(tracking_uri)
    wf = WorkflowRun(request, opened, options, reporter, store)
    if dry_run:
        rows = wf.dry_run()
        if as_json:
            dump_json(
                {
                    "workflow": wf.workflow.name,
                    "project_dir": str(opened.source.project_dir),
                    "parameters": wf.params,
                    "steps": rows,
                }
            )
        else:
            _print_dry_run(wf.workflow.name, rows)
        return 0
    startup_done()
    try:
        result = wf.execute()
    finally:
        reporter.stop()
    if not quiet:
        click.echo(
            table(["STEP", "STATUS", "TIME", "RUN", "NOTE"], summary_rows(result.steps)), err=True
        )
        _show_results(result)
        reporter.info(
            f"workflow run {result.run_id} {result.status}"
            + (f" (exit code {result.exit_code})" if result.exit_code else "")
        )
        _show_failed_logs(store, result.steps)
    if as_json:
        dump_json(
            {
                "run_id": result.run_id,
                "workflow": wf.workflow.name,
                "status": result.status,
                "exit_code": result.exit_code,
                "tracking_uri": store.uri,
                "outputs": result.results,
                "steps": [s.to_json() for s in result.steps],
            }
        )
    return result.exit_code


def _print_dry_run(name: str, rows: list[dict[str, Any]]) -> None:
    click.echo(f"workflow {name}:")
    shown = [r for r in rows if r["action"] != "skip"]
    click.echo(
        table(
            ["STEP", "ACTION", "WHY"], [[r["name"], r["action"], r["reason"] or ""] for r in shown]
        )
    )
    for r in shown:
        params = " ".join(f"-P {k}={v}" for k, v in r["parameters"].items())
        click.echo(f"  {r['name']}: -e {r['entry_point']} {params}".rstrip())


def _show_results(result: Any, width: int = 100) -> None:
    """The final steps' outputs under the table: the result the workflow computed."""
    import json

    runs = {s.name: s.run_id for s in result.steps}
    for name, outputs in result.results.items():
        click.echo(f"outputs of {name} (run {(runs.get(name) or '-')[:12]}):", err=True)
        for key, value in outputs.items():
            text = value if isinstance(value, str) else json.dumps(value)
            text = text if len(text) <= width else text[: width - 3] + "..."
            click.echo(f"  {key}: {text}", err=True)


def _show_failed_logs(store: Any, steps: list[Any], lines: int = 15) -> None:
    """The last lines of each failed step's output: what a user looks at first."""
    for s in steps:
        if s.status != "failed" or not s.run_id:
            continue
        try:
            path = Path(store.get_run(s.run_id).log_paths["combined"])
            tail = path.read_text(errors="replace").splitlines()[-lines:]
        except Exception:
            continue
        if tail:
            click.echo(f"mlrun: last lines of {s.name} ({path}):", err=True)
            for line in tail:
                click.echo(f"  | {line}", err=True)
