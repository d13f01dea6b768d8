"""A run's Kubernetes Job as the supervisor's Child.

One thread watches the Job and its pod (often at first, then less and less, up to the
config's poll_interval), reports why the pod waits as soon as that changes, and decides
the end (states.py). Another streams the container's log into the Child's stdout pipe
from the moment the container runs: Kubernetes keeps one log per container, so the
command's stderr arrives in the run's stdout log too. A signal to the run deletes the
Job with background propagation (the cluster removes its pods); the run's Secret is
deleted when the run ends, whatever the ending."""

from __future__ import annotations

import json
import os
import signal as signals
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlrun.backends.kubernetes.api import Kube, KubeError
from mlrun.backends.kubernetes.states import Look, deleted, look
from mlrun.execution.child import Child
from mlrun.tracking.status import FAILED, KILLED

TAG_PREFIX = "mlrun.kubernetes."
FIRST_INTERVAL = 0.1
GROWTH = 1.5
SETTLE = 3.0  # seconds a pod's end waits for the Job's condition, which may say more
_READ = 65536
_MAX_OUTPUTS = 4096  # what a termination message can hold


class KubeChild(Child):
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        job: str,
        *,
        run_id: str,
        container: str,
        secret: str | None,
        image: str,
        pushed: bool,
        run_dir: Path,
        poll_interval: float,
        pending_timeout: float,
        memory_limit: str | None,
        backoff_limit: int,
        report: Callable[[str], None],
    ) -> None:
        self.label = f"Kubernetes Job {namespace}/{job}"
        self._kube = kube
        self._namespace = namespace
        self._job = job
        self._run_id = run_id
        self._container = container
        self._secret = secret
        self._run_dir = run_dir
        self._poll_interval = poll_interval
        self._pending_timeout = pending_timeout
        self._memory_limit = memory_limit
        self._backoff_limit = backoff_limit
        self._report = report
        self._details = {
            "context": kube.context,
            "namespace": namespace,
            "job": job,
            "image": image,
            "image_pushed": "true" if pushed else "false",
            "state": "Pending",
        }
        self._end: tuple[str, int, str | None] | None = None
        self._ended = threading.Event()
        self._logs_done = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()  # look at the Job now
        self._lock = threading.Lock()
        self._stream: Any = None  # the log response being read (closed by kill)
        self._log_thread: threading.Thread | None = None
        self._log_pod = ""
        self._out_closed = False
        out_r, self._out_w = os.pipe()
        err_r, err_w = os.pipe()
        os.close(err_w)  # one log per container: everything arrives on stdout
        self.stdout, self.stderr = out_r, err_r
        self._watch = threading.Thread(
            target=self._watch_loop, name=f"mlrun-kube-{job}", daemon=True
        )
        self._watch.start()

    # -- Child ----------------------------------------------------------------------

    def poll(self) -> int | None:
        if not (self._ended.is_set() and self._logs_done.is_set()):
            return None
        assert self._end is not None
        return self._end[1]

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._ended.wait(timeout)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._logs_done.wait(left)
        return self.poll()

    def signal(self, signum: int) -> None:
        """Any stop request deletes the Job: the cluster sends SIGTERM to the container
        and SIGKILL after the pod's terminationGracePeriodSeconds."""
        try:
            name = signals.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        self._delete_job()
        self._finish((KILLED, 128 + signum, f"Job {self._job} deleted ({name} sent to mlrun)"))

    def kill(self) -> None:
        self._delete_job()
        self._finish((KILLED, 128 + signals.SIGKILL, f"Job {self._job} deleted"))
        self._stop_logs()

    def cleanup(self) -> None:
        if not self._ended.is_set():  # mlrun stops before the Job ended: it goes too
            self._delete_job()
            self._finish((KILLED, 128 + signals.SIGTERM, f"Job {self._job} deleted"))
        self._stop.set()
        self._stop_logs()
        if self._secret is not None:
            try:
                self._kube.delete_secret(self._namespace, self._secret)
            except KubeError as exc:
                self._report(f"the run's Secret {self._secret} could not be deleted: {exc}")
        self._watch.join(timeout=10)
        if self._log_thread is not None:
            self._log_thread.join(timeout=10)
        for fd in (self.stdout, self.stderr):
            _close(fd)

    def details(self) -> dict[str, str]:
        found = dict(self._details)
        if self._end is not None:
            found["exit_code"] = str(self._end[1])
        return {TAG_PREFIX + k: v for k, v in found.items() if v}

    def ending(self) -> tuple[str, int, str | None] | None:
        return self._end if self._ended.is_set() else None

    # -- watching -------------------------------------------------------------------

    def _watch_loop(self) -> None:
        interval = FIRST_INTERVAL
        stuck_since: float | None = None
        unsettled_since: float | None = None
        last_waiting: str | None = None
        troubled = False
        while not self._stop.is_set() and not self._ended.is_set():
            try:
                job = self._kube.read_job(self._namespace, self._job)
                pods = self._kube.run_pods(self._namespace, self._run_id) if job else []
            except KubeError as exc:
                if not troubled:
                    troubled = True
                    self._report(f"{exc.message}; still watching Job {self._job}")
                self._stop.wait(self._poll_interval)
                continue
            if troubled:
                troubled = False
                self._report("the Kubernetes API server answers again")
            if job is None:
                self._finish(deleted(self._job))
                break
            pod = pods[-1] if pods else None
            seen = look(
                job,
                pod,
                self._container,
                memory_limit=self._memory_limit,
                backoff_limit=self._backoff_limit,
            )
            self._note(pod, seen)
            if seen.running:
                self._follow(pod)
            if seen.waiting != last_waiting:
                last_waiting = seen.waiting
                if seen.waiting:
                    self._report(f"pod {self._details.get('pod')} is waiting: {seen.waiting}")
            if seen.ended is not None:
                unsettled_since = unsettled_since or time.monotonic()
                if seen.settled or time.monotonic() - unsettled_since >= SETTLE:
                    self._outputs(pod)
                    self._finish(seen.ended)
                    break
                self._stop.wait(FIRST_INTERVAL)
                continue
            if seen.stuck:
                stuck_since = stuck_since or time.monotonic()
                if time.monotonic() - stuck_since >= self._pending_timeout:
                    self._delete_job()
                    reason = f"the pod {self._details.get('pod')} could not start: {seen.waiting}"
                    self._finish((FAILED, 125, reason))
                    break
            else:
                stuck_since = None
            if self._wake.wait(interval):  # the log ended: the container likely did too
                self._wake.clear()
                interval = FIRST_INTERVAL
            else:
                interval = min(interval * GROWTH, self._poll_interval)

    def _note(self, pod: dict[str, Any] | None, seen: Look) -> None:
        with self._lock:
            if self._ended.is_set():  # a signal ended it while we looked
                return
            self._details["state"] = seen.state
            self._details["waiting"] = seen.waiting or ""
            if pod is not None:
                self._details["pod"] = str(pod["metadata"].get("name") or "")
                node = (pod.get("spec") or {}).get("nodeName")
                if node:
                    self._details["node"] = str(node)

    def _finish(self, end: tuple[str, int, str | None]) -> None:
        with self._lock:
            if self._ended.is_set():
                return
            self._end = end
            if end[0] == KILLED:
                self._details["state"] = "Deleted"
            self._ended.set()
            if self._log_thread is None:  # no log will come: the stdout pipe ends
                self._out_closed = True
                _close(self._out_w)
                self._logs_done.set()

    def _delete_job(self) -> None:
        try:
            self._kube.delete_job(self._namespace, self._job)
        except KubeError as exc:
            self._report(f"Job {self._job} could not be deleted: {exc}")

    def _outputs(self, pod: dict[str, Any] | None) -> None:
        """The step's outputs.json, carried back as the container's termination message
        (the pod's run directory is gone with the pod)."""
        statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
        for status in statuses:
            if status.get("name") != self._container:
                continue
            message = ((status.get("state") or {}).get("terminated") or {}).get("message")
            if not message or len(message) > _MAX_OUTPUTS:
                return
            try:
                if not isinstance(json.loads(message), dict):
                    return
            except ValueError:
                return  # a message of the container's own, not outputs
            target = self._run_dir / "outputs.json"
            if not target.exists():
                target.write_text(message)

    # -- the log --------------------------------------------------------------------

    def _follow(self, pod: dict[str, Any] | None) -> None:
        with self._lock:
            if pod is None or self._log_thread is not None or self._out_closed:
                return
            self._log_pod = str(pod["metadata"]["name"])
            self._log_thread = threading.Thread(
                target=self._log_loop, name=f"mlrun-kube-log-{self._job}", daemon=True
            )
            self._log_thread.start()

    def _log_loop(self) -> None:
        """Stream the log; a stream that ends before the run did (the connection
        dropped, or the container just exited) is read again, skipping what arrived."""
        received = 0
        try:
            while not self._stop.is_set():
                ended_before = self._ended.is_set()
                received += self._read_log(received, follow=not ended_before)
                if ended_before:
                    break
                self._wake.set()
                self._ended.wait(1.0)
        except BrokenPipeError:  # the supervisor stopped reading
            pass
        finally:
            _close(self._out_w)
            self._logs_done.set()

    def _read_log(self, skip: int, follow: bool) -> int:
        try:
            stream = self._kube.log_stream(self._namespace, self._log_pod, self._container, follow)
        except Exception:  # the pod went away with the Job: nothing more to read
            self._stop.wait(0.5)
            return 0
        self._stream = stream
        got = 0
        try:
            for chunk in stream.stream(_READ):
                if self._stop.is_set():
                    break
                data = bytes(chunk)
                start = max(0, skip - got)
                got += len(data)
                view = memoryview(data)[start:]
                while view:
                    view = view[os.write(self._out_w, view) :]
        except BrokenPipeError:
            raise
        except Exception:  # the stream broke (closed by kill, connection lost)
            pass
        finally:
            self._stream = None
            stream.release_conn()
        return max(0, got - skip)

    def _stop_logs(self) -> None:
        self._stop.set()
        self._wake.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass
        if self._log_thread is None:
            self._logs_done.set()


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
