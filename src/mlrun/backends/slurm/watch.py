"""Watching jobs without hammering the controller: one thread per mlrun process asks
about every job it watches in one `squeue` call, each job on its own backoff (often
right after submission, then less and less, up to the config's `poll_interval`).

A job's normal end does not wait for the next question: the job script writes its exit
code to a file the moment the command exits, the tail thread (child.py) sees it and
`poke`s the job, which is asked about at once. Endings that leave no such file (a
cancel, the time or memory limit, a lost node) are found by the questions.

Measured here (bench/run_slurm.py): `sbatch --wait` checks after 2 s and then every
10 s, so a one-second job returns after about 10 s; this loop returns within about
0.1 s of the job's end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mlrun.backends.slurm import ctl
from mlrun.backends.slurm.ctl import JobInfo
from mlrun.backends.slurm.states import is_active

FIRST_INTERVAL = 0.2
AFTER_POKE = 0.05
GROWTH = 1.5
LOST_AFTER = 3  # questions neither squeue nor sacct could answer: the job is gone

Listener = Callable[[JobInfo], None]


class _Watched:
    def __init__(self, job_id: str, max_interval: float, listener: Listener) -> None:
        self.job_id = job_id
        self.max_interval = max_interval
        self.listener = listener
        self.interval = FIRST_INTERVAL
        self.due = time.monotonic() + FIRST_INTERVAL
        self.unknown = 0


class Watcher:
    """The process's one watching thread (started on first use, a daemon)."""

    def __init__(self, on_trouble: Callable[[str], None] | None = None) -> None:
        self._jobs: dict[str, _Watched] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._on_trouble = on_trouble
        self._troubled = False
        self.queries = 0  # squeue calls made (the benchmark reports them)

    def watch(self, job_id: str, max_interval: float, listener: Listener) -> None:
        """Call `listener(info)` on every answer about the job until it has ended."""
        with self._cond:
            self._jobs[job_id] = _Watched(job_id, max_interval, listener)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="mlrun-slurm-watch", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def poke(self, job_id: str) -> None:
        """The job looks finished (its exit file appeared): ask about it now."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is not None:
                job.interval = AFTER_POKE
                job.due = time.monotonic()
                self._cond.notify()

    def forget(self, job_id: str) -> None:
        with self._cond:
            self._jobs.pop(job_id, None)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    due = [j for j in self._jobs.values() if j.due <= now]
                    if due:
                        break
                    nearest = min((j.due for j in self._jobs.values()), default=None)
                    self._cond.wait(None if nearest is None else nearest - now)
            self._ask(due)

    def _ask(self, due: list[_Watched]) -> None:
        self.queries += 1
        answers = ctl.query(j.job_id for j in due)
        if answers is None:
            self._trouble(due)
            return
        missing = [j.job_id for j in due if j.job_id not in answers]
        if missing:  # the controller forgot them (MinJobAge, a restart): ask accounting
            answers.update(ctl.accounting(missing) or {})
        now = time.monotonic()
        for job in due:
            info = answers.get(job.job_id)
            if info is None:
                job.unknown += 1
                if job.unknown < LOST_AFTER:
                    self._reschedule(job, now)
                    continue
                info = JobInfo(job.job_id, "LOST", "0:0", "", "", "Slurm no longer knows it")
            ended = not is_active(info.state)
            if ended:
                self.forget(job.job_id)
            else:
                self._reschedule(job, now)
            job.listener(info)
        if self._troubled:
            self._troubled = False
            self._say("the Slurm controller answers again")

    def _reschedule(self, job: _Watched, now: float) -> None:
        with self._cond:
            job.due = now + job.interval
            job.interval = min(job.interval * GROWTH, job.max_interval)

    def _trouble(self, due: list[_Watched]) -> None:
        now = time.monotonic()
        for job in due:  # keep asking, at the slowest pace: the jobs may well run on
            job.interval = job.max_interval
            self._reschedule(job, now)
        if not self._troubled:
            self._troubled = True
            self._say("the Slurm controller does not answer (squeue failed); still watching")

    def _say(self, text: str) -> None:
        if self._on_trouble is not None:
            self._on_trouble(text)


_WATCHER: Watcher | None = None
_WATCHER_LOCK = threading.Lock()


def watcher(on_trouble: Callable[[str], None] | None = None) -> Watcher:
    """The process's watcher (a workflow's steps share it: one squeue for all)."""
    global _WATCHER
    with _WATCHER_LOCK:
        if _WATCHER is None:
            _WATCHER = Watcher(on_trouble)
        return _WATCHER
