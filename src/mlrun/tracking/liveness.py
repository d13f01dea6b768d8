"""Is the mlrun process that supervises a run still alive?

A run stays RUNNING in the store until its supervisor calls `finish_run`. When that
process is SIGKILLed, OOM-killed or loses its machine, nobody ever will, so readers of the
store decide for it (see `death_reason`):

- same host: ask the OS. A pid alone is not enough because pids are reused, so the run
  also records a start-time token of the process; a live pid with another token is a
  different process.
- other host (or an OS we cannot ask): trust the heartbeat the supervisor writes
  periodically; none for `STALE_AFTER` seconds means it is gone.

Pure functions, no store access: every store implementation can share them.

A backend whose command outlives its mlrun process (a cluster's batch job runs on when
the mlrun that submitted it dies) claims its runs: the run's `mlrun.backend` tag names
it, and the store asks that backend (`mlrun.backends.reconcile`) instead of judging from
the pid alone -- the job's own state decides whether the run still runs and how it ended.
"""

from __future__ import annotations

import functools
import os
import sys

# How long without a heartbeat before a run on another host is declared dead. Supervisors
# should heartbeat every minute or so; ten missed beats rules out a slow disk or a busy
# store, while a laptop suspended for longer is reported KILLED (and comes back to RUNNING
# with its next heartbeat, see SqliteStore.heartbeat).
STALE_AFTER = 600.0
BACKEND_TAG = "mlrun.backend"  # set on runs of any backend but the default, local


def claimed_by(backend_tag: str | None) -> str | None:
    """The backend that answers for a run whose mlrun process is gone, or None (the
    run ended with its mlrun process)."""
    return backend_tag if backend_tag and backend_tag != "local" else None


@functools.lru_cache(maxsize=1)
def this_host() -> str:
    """The host name runs record in `NewRun.host` (and that liveness checks compare):
    socket.gethostname(), without importing socket where uname gives the same answer."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start token) from /proc/<pid>/stat, or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # Field 2 (comm) is in parentheses and may itself contain spaces or ")", so split
    # after the last ")". fields[0] is then field 3 (state) and field 22 (starttime, in
    # clock ticks since boot) is fields[19].
    fields = data[data.rfind(b")") + 1 :].split()
    if len(fields) < 20:
        return None
    return fields[0].decode("ascii", "replace"), fields[19].decode("ascii", "replace")


def process_start_token(pid: int) -> str | None:
    """A token that differs between two processes that had the same pid, or None when
    the platform offers none (non-Linux) or the process does not exist."""
    if pid <= 0:
        return None
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def is_alive(host: str, pid: int, pid_start: str | None) -> bool | None:
    """True/False when this machine can tell; None when it cannot (another host, Windows,
    a nonsensical pid), in which case the caller falls back to the heartbeat."""
    if host != this_host() or pid <= 0 or sys.platform == "win32":
        # On Windows os.kill(pid, 0) would send CTRL_C_EVENT, not probe the pid.
        return None
    stat = _proc_stat(pid)
    if stat is not None:
        state, token = stat
        if state in ("Z", "X"):
            # A zombie has exited; only its parent has not collected the status yet.
            return False
        return pid_start is None or token == pid_start
    # No /proc entry: not Linux, the process is gone, or /proc is mounted with hidepid
    # for other users' processes. Signal 0 tells the last two apart without a /proc.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists but belongs to another user; its token is unreadable
    except OSError:
        return None
    return True


def death_reason(
    host: str,
    pid: int,
    pid_start: str | None,
    last_seen: float,
    now: float,
    stale_after: float = STALE_AFTER,
) -> str | None:
    """Why a RUNNING run's supervisor must be dead, or None if it may be alive.

    `last_seen` is the run's heartbeat time (its start time when it never sent one)."""
    alive = is_alive(host, pid, pid_start)
    if alive is False:
        return f"mlrun process {pid} on {host} died"
    if alive is None and now - last_seen > stale_after:
        return (
            f"the heartbeat of mlrun process {pid} on {host} stopped "
            f"({_duration(now - last_seen)} without one)"
        )
    return None


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
