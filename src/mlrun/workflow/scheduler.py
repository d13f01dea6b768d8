"""Running a DAG of nodes with up to N at a time, in threads.

The scheduler knows nothing about runs: `work(name, cancel) -> bool` does one node (True
when it succeeded or was cached). What it owns is order, parallelism and stopping:

- fail-fast (default): after a failure no new node starts; running ones finish.
- keep-going: only nodes that (transitively) need a failed node are left out.
- SIGINT/SIGTERM/SIGHUP (main thread only) or `cancel`: every running node's Cancel is
  requested with that signal, no new node starts, and `run()` returns the signal. A
  signal to the command-line process also interrupts its helpers (an env build, a git
  fetch) at once, in whichever thread waits for them.

Signals are caught here, in the main thread, because the supervisor of each step runs
in a worker thread where Python cannot install handlers. In the command-line process
they are the ones util/signals.py records (the engine runs deferred), so one that came
before the scheduler started is acted on at once."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping

from mlrun.execution.supervisor import Cancel
from mlrun.util import signals
from mlrun.util.proc import interrupt_helpers

Work = Callable[[str, Cancel], bool]
Blocked = Callable[[str, str], None]


class Scheduler:
    def __init__(
        self,
        needs: Mapping[str, tuple[str, ...]],  # node -> nodes it needs, topological order
        work: Work,
        *,
        jobs: int = 1,
        keep_going: bool = False,
        done: set[str] | None = None,  # already satisfied (e.g. resolved from the cache)
        on_blocked: Blocked | None = None,  # (node, why it will not run)
        cancel: Cancel | None = None,  # external stop request (the Python API)
        tick: Callable[[], None] | None = None,
        tick_every: float = 30.0,
    ) -> None:
        self.needs = needs
        self.work = work
        self.jobs = max(1, jobs)
        self.keep_going = keep_going
        self.ok: set[str] = set(done or ())
        self.failed: list[str] = []
        self.blocked: set[str] = set()
        self.on_blocked = on_blocked or (lambda name, why: None)
        self.cancel = cancel
        self.tick = tick
        self.tick_every = tick_every
        self._results: queue.SimpleQueue[tuple[str, bool]] = queue.SimpleQueue()
        self._running: dict[str, Cancel] = {}
        self._signals: list[int] = []

    def run(self) -> int | None:
        """Run every node that can run; returns the signal that stopped it, else None."""
        restore: Callable[[], None] | None = None
        if threading.current_thread() is threading.main_thread():
            if signals.installed():
                self._signals = signals.received
            else:  # acted on in the loop, never in the handler
                restore = signals.watch(self._signals.append)
        try:
            return self._loop()
        finally:
            if restore is not None:
                restore()

    def _loop(self) -> int | None:
        stopped_by: int | None = None
        requests = 0  # stop requests passed on so far (signals + external cancels)
        pending = [n for n in self.needs if n not in self.ok]
        next_tick = time.monotonic() + self.tick_every
        while True:
            outside = self.cancel.count if self.cancel is not None else 0
            if len(self._signals) + outside > requests:
                if stopped_by is None:
                    first = self._signals[0] if self._signals else None
                    stopped_by = first or (self.cancel.signum if self.cancel else 15)
                    signals.acted()
                    if first is not None and signals.installed():
                        interrupt_helpers()  # the process is stopping: its helpers too
                # The first request stops steps gracefully; another one kills them now.
                for _ in range(len(self._signals) + outside - requests):
                    for node_cancel in self._running.values():
                        node_cancel.request(stopped_by)
                requests = len(self._signals) + outside
            stopping = stopped_by is not None or (self.failed and not self.keep_going)
            if not stopping:
                for name in list(pending):
                    if len(self._running) >= self.jobs:
                        break
                    if all(n in self.ok for n in self.needs[name]):
                        pending.remove(name)
                        self._start(name)
            if not self._running:
                break
            try:
                name, ok = self._results.get(timeout=0.1)
            except queue.Empty:
                if self.tick is not None and time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self.tick_every
                    self.tick()
                continue
            del self._running[name]
            if ok:
                self.ok.add(name)
            else:
                self.failed.append(name)
                pending = self._block_dependents(name, pending)
        why = (
            "interrupted"
            if stopped_by is not None
            else f"stopped after {self.failed[0]} failed"
            if self.failed
            else "not reached"
        )
        for name in pending:
            self.on_blocked(name, why)
        return stopped_by

    def _block_dependents(self, failed: str, pending: list[str]) -> list[str]:
        lost = {failed}
        for name in self.needs:  # topological order: one pass finds them all
            if name in pending and any(n in lost for n in self.needs[name]):
                lost.add(name)
                self.blocked.add(name)
                self.on_blocked(name, f"needs {failed}, which failed")
        return [n for n in pending if n not in lost]

    def _start(self, name: str) -> None:
        node_cancel = Cancel()
        self._running[name] = node_cancel

        def _target() -> None:
            ok = False
            try:
                ok = self.work(name, node_cancel)
            finally:
                self._results.put((name, ok))

        threading.Thread(target=_target, name=f"mlrun-step-{name}", daemon=True).start()
