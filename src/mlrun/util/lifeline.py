"""A lifeline: a tiny watcher process that kills a process group when mlrun dies.

When mlrun is SIGKILLed (or OOM-killed), nothing of it runs again, so what it started
must be stopped by someone else. Linux's PR_SET_PDEATHSIG would have the kernel signal
the direct child, but the child has to set it between fork and exec; Python can run code
there only through `preexec_fn`, which forces a full fork of the interpreter and runs
Python in the child (6-9 ms per spawn here, against 0.3 ms; unsafe with threads; and the
signal fires when the *thread* that forked ends). A lifeline costs one posix_spawn (vfork)
of /bin/sh, about 0.25 ms, and takes down the whole process group, not only its leader.

The watcher runs in a session of its own (killing mlrun's process group does not take it
along) and blocks reading a pipe whose only writer is mlrun. `release()` writes `done`
once the group needs no watching; if mlrun dies first, the kernel closes the pipe, the
read ends without `done`, and the watcher sends SIGKILL to the group. Best effort: where
it cannot start (no /bin/sh, no posix_spawn), the next mlrun's reaping still finds what a
dead supervisor left (execution/reaping.py, recording.settle)."""

from __future__ import annotations

import os

_SCRIPT = 'read -r w; [ "$w" = done ] || kill -9 "-$1"'
_released: list[int] = []  # watchers told to go, not yet reaped


class Lifeline:
    """Watches process group `pgid` until `release()`."""

    def __init__(self, pgid: int) -> None:
        self.pid: int | None = None
        self._fd: int | None = None
        reap_released(block=False)
        try:
            read_end, write_end = os.pipe()  # both close-on-exec
        except OSError:
            return
        try:
            self.pid = os.posix_spawn(
                "/bin/sh",
                ["sh", "-c", _SCRIPT, "mlrun-lifeline", str(pgid)],
                {},
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read_end, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
                setsid=True,
            )
            self._fd = write_end
        except (OSError, NotImplementedError, AttributeError):
            os.close(write_end)
        finally:
            os.close(read_end)

    def release(self, wait: bool = True) -> None:
        """The group is gone or no longer ours to watch: let the watcher exit quietly
        (`wait`: and collect its exit now; else `reap_released` does it later)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.write(fd, b"done\n")
        except OSError:
            pass
        os.close(fd)
        if self.pid is not None:
            _released.append(self.pid)
            if wait:
                reap_released(block=True)


def reap_released(block: bool) -> None:
    """Collect the exit of released watchers (`block`: wait for them; they exit at once)."""
    for pid in list(_released):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # reaped already (a subreaper sweep)
            done = pid
        if done and pid in _released:
            try:
                _released.remove(pid)
            except ValueError:  # another thread reaped it meanwhile
                pass
