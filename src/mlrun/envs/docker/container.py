"""A run's container as a supervised `Child`, on the local docker engine.

`start(spec, reporter)` turns the env's ContainerSpec into the engine's create request
(`create_kwargs`) and returns the DockerChild the local backend hands the supervisor.

The container is created (with its environment in the API request, never on a command
line), attached to before it starts so no output is lost, and started when the
supervisor first polls it. Its working directory may be a `local` volume (the run's
writable copy of the code, workdir.py); once it ended, and before it is removed, the
finish step lists (and on request keeps) what the run left there. One thread
copies the demultiplexed output stream into two pipes, which the supervisor reads like
a local process's stdout and stderr; another waits for the exit code. Signals go to the
container (its init process passes them on), and `cleanup()` removes it."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlrun.envs.base import ContainerSpec
from mlrun.envs.docker.engine import engine_errors, short_reason
from mlrun.errors import CommandNotFoundError, EngineError, LaunchError
from mlrun.execution.child import Child
from mlrun.reporting import Reporter

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

    from mlrun.envs.base import AfterRun

_PUMP_JOIN = 5.0  # seconds to let the output thread finish once the container is gone
_LOST_ENGINE = 125  # exit code when the engine stopped answering about the container


def start(spec: ContainerSpec, reporter: Reporter) -> DockerChild:
    try:
        kwargs = create_kwargs(spec)
    except BaseException:
        if spec.leftovers is not None:
            spec.leftovers.discard(container_removed=True)
        raise
    return DockerChild(
        spec.engine, kwargs, keep=spec.keep, reporter=reporter, leftovers=spec.leftovers
    )


def create_kwargs(spec: ContainerSpec) -> dict[str, Any]:
    """What the engine is asked to create (environment values included: they travel in
    this API request and nowhere else)."""
    from docker.types import DriverConfig, Mount

    mounts = [
        Mount(target, source, type="bind", read_only=read_only)
        for source, target, read_only in spec.mounts
    ]
    if spec.workdir_volume is not None:
        # An anonymous volume: created with the container, removed with it (v=True);
        # labelled like the container, so `docker volume ls --filter label=...` finds it.
        driver = DriverConfig("local", dict(spec.workdir_volume))
        mounts.append(
            Mount(
                spec.workdir,
                None,
                type="volume",
                no_copy=True,
                driver_config=driver,
                labels={k: v for k, v in spec.labels.items() if k.startswith("org.mlrun.")},
            )
        )
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "command": list(spec.command),
        "name": spec.name,
        "working_dir": spec.workdir,
        "environment": dict(spec.environment),
        "mounts": mounts,
        "volumes": list(spec.volumes),
        # An init as PID 1 passes SIGTERM on to the command (PID 1 itself would ignore
        # it) and reaps zombies, as `docker run --init` does.
        "init": True,
        "stdin_open": False,
        "tty": False,
    }
    if spec.user is not None:
        kwargs["user"] = spec.user
    kwargs.update(spec.settings)
    # Which mlrun process supervises the container, for whoever looks at the engine.
    kwargs["labels"] = {**spec.labels, "org.mlrun.supervisor-pid": str(os.getpid())}
    return kwargs


class DockerChild(Child):
    """Created and attached to at once; started by the supervisor's first `poll()`.

    Starting late closes a race: the supervisor installs its signal handlers before it
    polls, so a SIGTERM that arrives as soon as the command runs is forwarded like any
    other, instead of interrupting mlrun between "started" and "supervised". A signal
    that comes before the start means the command never runs (exit 128+N)."""

    def __init__(
        self,
        client: DockerClient,
        create: Mapping[str, Any],
        *,
        keep: bool,
        reporter: Reporter,
        leftovers: AfterRun | None = None,
    ) -> None:
        self._keep = keep
        self._reporter = reporter
        self._leftovers = leftovers
        self._recorded: dict[str, Any] = {}
        self._code: int | None = None
        self._ended = threading.Event()
        self._started = False  # start() was called (or the start was called off)
        self._ran = False  # the container really started
        self._open_reads: list[int] = []
        self.name = str(create["name"])
        self.label = f"container {self.name}"
        try:
            with engine_errors(f"create the container {self.name}"):
                self._container: Container = client.containers.create(**create)
        except BaseException:
            self._discard_leftovers(removed=True)
            raise
        try:
            self._attach()
        except BaseException:
            self._remove()
            self._discard_leftovers(removed=True)
            raise

    def _attach(self) -> None:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            with engine_errors(f"attach to the container {self.name}"):
                stream = self._container.attach(
                    stdout=True, stderr=True, stream=True, logs=True, demux=True
                )
        except BaseException:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        self.stdout, self.stderr = out_r, err_r
        self._open_reads = [out_r, err_r]
        self._pump = threading.Thread(
            target=_pump, args=(stream, out_w, err_w), name=f"{self.name}-output", daemon=True
        )
        self._pump.start()

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            self._container.start()
        except Exception as exc:
            _raise_start_error(exc)
        self._ran = True
        threading.Thread(target=self._wait_exit, name=f"{self.name}-wait", daemon=True).start()

    def _wait_exit(self) -> None:
        try:
            result = self._container.wait()
            self._code = int(result.get("StatusCode", _LOST_ENGINE))
        except Exception as exc:  # the engine went away: end the run rather than hang
            self._reporter.warn(f"lost track of {self.label}: {short_reason(exc)}")
            self._code = _LOST_ENGINE
        self._ended.set()

    def poll(self) -> int | None:
        self._start()
        return self._code if self._ended.is_set() else None

    def wait(self, timeout: float | None = None) -> int | None:
        self._start()
        self._ended.wait(timeout)
        return self.poll()

    def signal(self, signum: int) -> None:
        self._send(signum)

    def kill(self) -> None:
        self._send(signal.SIGKILL)

    def _send(self, signum: int) -> None:
        from docker.errors import DockerException

        if not self._started:  # stopped before it began: it never runs
            self._started = True
            self._code = 128 + int(signum)
            self._ended.set()
            return
        try:
            self._container.kill(signal=int(signum))
        except DockerException:
            pass  # it has already stopped; the waiter reports how

    def cleanup(self) -> None:
        # Closing our ends first stops an output thread blocked on a full pipe.
        self._close_reads()
        if self._ran:
            self._collect_leftovers()
        kept = self._keep and self._ran
        if kept:
            self._reporter.info(
                f"kept {self.label} (remove it with `docker rm -v {self.name}`; -v removes "
                "its working directory's volume too)"
            )
        else:
            self._remove()  # also ends the attach stream (and unmounts its volumes)
        self._pump.join(_PUMP_JOIN)
        self._discard_leftovers(removed=not kept)

    def recorded(self) -> dict[str, Any]:
        return dict(self._recorded)

    def _collect_leftovers(self) -> None:
        """What the run left in its working directory, read before the container goes.
        Never fails the run: the command's own outcome is what counts."""
        if self._leftovers is None:
            return
        try:
            self._recorded, problems = self._leftovers.collect(self._container)
        except Exception as exc:
            self._reporter.warn(f"could not list the files the run left: {short_reason(exc)}")
            return
        for problem in problems:
            self._reporter.warn(f"--keep-workdir could not keep {problem}")

    def _discard_leftovers(self, *, removed: bool) -> None:
        leftovers, self._leftovers = self._leftovers, None
        if leftovers is not None:
            leftovers.discard(container_removed=removed)

    def _close_reads(self) -> None:
        # Once only: a closed descriptor number may already belong to another file.
        fds, self._open_reads = self._open_reads, []
        for fd in fds:
            os.close(fd)

    def _remove(self) -> None:
        from docker.errors import DockerException, NotFound

        try:
            self._container.remove(force=True, v=True)
        except NotFound:
            pass
        except DockerException as exc:
            self._reporter.warn(f"could not remove {self.label}: {short_reason(exc)}")


def _pump(stream: Any, out_w: int, err_w: int) -> None:
    """Copy the attach stream's (stdout, stderr) frames into the pipes until it ends."""
    try:
        for out, err in stream:
            if out:
                _write_all(out_w, out)
            if err:
                _write_all(err_w, err)
    except Exception:
        pass  # the engine closed the stream (the container was removed or the engine died)
    finally:
        os.close(out_w)
        os.close(err_w)
        # CancellableStream.close() shuts the socket down, but the HTTP response still
        # holds the socket's file object (and so its descriptor): close that too.
        for resource in (stream, getattr(stream, "_response", stream)):
            with contextlib.suppress(Exception):
                resource.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _raise_start_error(exc: Exception) -> None:
    """`docker run`'s own mapping: 127 for a command not found, 126 for one that cannot
    be executed, 125 for everything else the engine refused."""
    from docker.errors import APIError

    text = short_reason(exc) if isinstance(exc, APIError) else str(exc)
    lowered = text.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        raise CommandNotFoundError(
            f"the command was not found in the container: {text}",
            hint="check the entry point's command and that the image provides the program",
        ) from None
    if "permission denied" in lowered:
        raise LaunchError(f"the command could not be executed in the container: {text}") from None
    raise EngineError(f"the docker engine could not start the container: {text}") from None
