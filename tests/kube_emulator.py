"""A Kubernetes API server for tests: PyPI `kmock`'s KubernetesEmulator (an in-memory
object store speaking the Kubernetes REST API) served on a loopback port from a
background thread, so that synchronous code -- mlrun, the official `kubernetes` client
-- talks to it over real HTTP. No Kubernetes API server can run on the CI machines;
nothing here runs pods. The test plays the controllers: it creates the Job's pod, sets
pod and Job statuses and serves container logs (docs/services.md has an example)::

    with KubeEmulator() as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        batch = kubernetes.client.BatchV1Api(kube.api_client())
        ...
        kube.serve_log("default", "train-pod", "epoch 1\\n")

What the emulator does not do (check these in the backend's own tests): it runs no
controllers (no pods from Jobs, no cascading deletes, no status changes of its own),
ignores label and field selectors on lists and watches, and merges PATCH bodies as plain
JSON (lists are replaced, not merged by key)."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DECLARED = ("v1/pods", "v1/secrets", "v1/events", "batch/v1/jobs")
NO_KMOCK = "kmock and kubernetes are not installed (pip install -e '.[test]' on Python >= 3.11)"


def kmock_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("kmock", "kubernetes"))


class KubeEmulator:
    """Start with `with KubeEmulator() as kube:`; `kube.url` is the API server's URL."""

    def __init__(self) -> None:
        self.url = ""
        self.emulator: Any = None  # kmock.KubernetesEmulator, touched only via in_loop()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="kmock", daemon=True)

    def __enter__(self) -> KubeEmulator:
        self._thread.start()
        self._ready.wait(timeout=60)
        if self._failure is not None or not self.url:
            raise RuntimeError(f"kmock did not start: {self._failure!r}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by __enter__
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        import kmock

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            # Lists of a kind no object was created of yet answer 404 unless declared
            # (a real API server knows every built-in kind).
            for resource in DECLARED:
                emulator.resources[resource] = {}
            self.emulator = emulator
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def in_loop(self, fn: Callable[[], T]) -> T:
        """Run fn in the emulator's thread (for kmock's own API: reactions, objects)."""
        assert self._loop is not None
        done: Future[T] = Future()

        def call() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(call)
        return done.result(timeout=30)

    def serve_log(self, namespace: str, pod: str, text: str) -> None:
        """Make GET .../pods/POD/log answer text (as text/plain, as the API server does)."""
        import kmock

        def add() -> None:
            (
                self.emulator[
                    "get",
                    kmock.resource("v1", "pods"),
                    kmock.subresource("log"),
                    kmock.name(pod),
                    kmock.namespace(namespace),
                ]
                << {"Content-Type": "text/plain"}
                << text.encode()
            )

        self.in_loop(add)

    def api_client(self) -> Any:
        """A kubernetes.client.ApiClient talking to the emulator."""
        from kubernetes import client

        config = client.Configuration()
        config.host = self.url
        return client.ApiClient(config)

    def write_kubeconfig(
        self, path: Path, context: str = "kmock", namespace: str = "default"
    ) -> Path:
        """A kubeconfig whose `context` points at the emulator (a dummy bearer token)."""
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"current-context: {context}\n"
            f"clusters:\n- name: {context}\n  cluster:\n    server: {self.url}\n"
            f"users:\n- name: {context}\n  user:\n    token: kmock-token\n"
            f"contexts:\n- name: {context}\n  context:\n    cluster: {context}\n"
            f"    user: {context}\n    namespace: {namespace}\n"
        )
        return path
