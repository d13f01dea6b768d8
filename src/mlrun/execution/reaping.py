"""Every process a run started, found and stopped -- whatever session it moved to.

A command can leave its process group: `setsid`, a daemon's double fork, `nohup cmd &`
in a subshell. Such an orphan is normally adopted by init, out of mlrun's sight. So the
command-line process makes itself a *child subreaper* (`become_subreaper()`, Linux's
prctl(PR_SET_CHILD_SUBREAPER), called by `mlrun run`): orphans of its descendants are
adopted by mlrun instead, and every process a run starts stays below mlrun in the
process tree until mlrun ends it. That is robust as root and as a user, on cgroup v1 or
v2, in containers and in CI, and costs one prctl (through `_ctypes`, not the `ctypes`
package: 0.6 ms instead of 3.5). A cgroup per run would also catch processes that
escape the tree some other way, but needs a delegated, writable cgroup v2 hierarchy,
which neither an ordinary user nor this machine's containers have.

As a subreaper mlrun must collect what it adopts: `reap_orphans(keep)` collects exited
orphans while a run goes on (never a child whose owner waits for it), and `sweep()` kills
and collects every descendant still there when a run is over.

A library caller's process (`mlrun.run()`) is never made a subreaper: that would change
how all of its own orphans behave. There `kill_marked(run_id)` finds what a run left
outside its process group by the run's id, which every process of the run inherits in
its environment (MLRUN_RUN_ID): one look over /proc, done when the run ends. The next
mlrun does the same for a supervisor that died (recording.settle). Zombies count as
gone: their owner collects them."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Collection

PR_SET_CHILD_SUBREAPER = 36
_SWEEP_TIMEOUT = 5.0  # seconds to keep killing what a run left (a process stuck in D)
_ROUNDS = 1000  # at most this many orphans collected in one call

_subreaper = False


def become_subreaper() -> bool:
    """Make this process the subreaper of everything it starts from now on (Linux)."""
    global _subreaper
    if _subreaper or not sys.platform.startswith("linux"):
        return _subreaper
    try:
        import _ctypes  # the C core of ctypes: dlopen/dlsym/call, without its classes

        prctl = _ctypes.dlsym(_ctypes.dlopen(None, os.RTLD_NOW), "prctl")  # type: ignore[arg-type]
        _subreaper = _ctypes.call_function(prctl, (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (ImportError, AttributeError, OSError, TypeError):
        _subreaper = False
    return _subreaper


def is_subreaper() -> bool:
    return _subreaper


def reap_orphans(keep: Collection[int]) -> None:
    """Collect adopted orphans that exited. A child in `keep` (one that mlrun started and
    waits for itself) or a helper (util/proc.py, in any thread) is never collected here,
    which would steal its exit status."""
    if not _subreaper:
        return
    from mlrun.util.proc import helpers_held

    with helpers_held() as helpers:  # another thread's git, squeue...: its owner waits
        for _ in range(_ROUNDS):
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid in keep or info.si_pid in helpers:
                return
            _collect(info.si_pid)


def sweep() -> int:
    """Kill every descendant still running and collect them all (as subreaper, once the
    run is over). Returns how many processes were killed."""
    if not _subreaper:
        return 0
    from mlrun.util.lifeline import reap_released

    reap_released(block=True)
    killed = 0
    deadline = time.monotonic() + _SWEEP_TIMEOUT
    pause = 0.0005
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return killed  # no child at all: the usual case, one system call
        if info is not None:
            _collect(info.si_pid)
            continue
        if time.monotonic() > deadline:
            return killed
        victims = [pid for pid, proc in descendants(os.getpid()).items() if proc.alive]
        killed += kill_all(victims)
        time.sleep(pause)  # let the kernel turn them into zombies
        pause = min(pause * 2, 0.05)


def _collect(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


class Proc:
    """What /proc/<pid>/stat says about a process."""

    __slots__ = ("alive", "ppid", "session", "start")

    def __init__(self, ppid: int, session: int, start: int, alive: bool) -> None:
        self.ppid = ppid
        self.session = session
        self.start = start  # clock ticks after boot (the token liveness.py records)
        self.alive = alive  # not a zombie


def processes() -> dict[int, Proc]:
    """Every process this user can see, by pid (empty where there is no /proc)."""
    table: dict[int, Proc] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # The name (field 2) is in parentheses and may hold anything: split after it.
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) < 20:
            continue
        state = fields[0]
        table[int(name)] = Proc(int(fields[1]), int(fields[3]), int(fields[19]), state not in b"ZX")
    return table


def descendants(root: int, table: dict[int, Proc] | None = None) -> dict[int, Proc]:
    """The processes below `root` in the process tree."""
    table = processes() if table is None else table
    return _below(root, _children(table), table)


def _children(table: dict[int, Proc]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, proc in table.items():
        children.setdefault(proc.ppid, []).append(pid)
    return children


def _below(root: int, children: dict[int, list[int]], table: dict[int, Proc]) -> dict[int, Proc]:
    found: dict[int, Proc] = {}
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found[pid] = table[pid]
            todo.extend(children.get(pid, ()))
    return found


def kill_all(pids: Collection[int]) -> int:
    count = 0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            count += 1
        except (ProcessLookupError, PermissionError):
            pass
    return count


def kill_marked(run_id: str, *, since: int | None = None, within: int | None = None) -> int:
    """Kill every process whose environment says it belongs to run `run_id` (the
    MLRUN_RUN_ID every process of a run inherits), and everything below them, until none
    is left. `since`: only processes started at or after that start token; `within`:
    only processes below that pid (a subreaper's own tree). Returns how many it killed."""
    marker = f"MLRUN_RUN_ID={run_id}".encode()
    me = os.getpid()
    killed = 0
    deadline = time.monotonic() + _SWEEP_TIMEOUT
    while time.monotonic() < deadline:
        table = processes()
        children = _children(table)
        candidates = table if within is None else _below(within, children, table)
        victims: set[int] = set()
        for pid, proc in candidates.items():
            if pid == me or not proc.alive or (since is not None and proc.start < since):
                continue
            if pid not in victims and _has_entry(pid, marker):
                victims.add(pid)
                victims.update(p for p, d in _below(pid, children, table).items() if d.alive)
        if not victims:
            break
        killed += kill_all(victims)
        time.sleep(0.01)
    return killed


def _has_entry(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
    except OSError:  # gone, or another user's
        return False
    return entry in environ.split(b"\0")
