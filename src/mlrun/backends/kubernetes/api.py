"""Talking to the API server through the official `kubernetes` client (an extra:
`pip install 'mlrun[kubernetes]'`, imported only here, only when a run uses it).

Objects travel as plain JSON (`_preload_content=False`): the client's models are not
needed to read a status, and a server that leaves out fields the models expect must not
break a run. Every failure becomes one sentence: PrepareError (exit 125) before the run's
Job exists; afterwards the caller decides."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlrun.errors import PrepareError
from mlrun.util.redact import redact

INSTALL_HINT = "install the Kubernetes extra: pip install 'mlrun[kubernetes]'"
_TIMEOUT = 30.0  # seconds for one API call (a log stream is not bounded by it)


class KubeError(PrepareError):
    """The API server (or the way to it) failed."""


class Kube:
    """One API server (a kube config context) and the calls a run makes."""

    def __init__(self, api_client: Any, context: str, namespace: str, server: str) -> None:
        from kubernetes import client

        self.context = context  # "" in-cluster
        self.namespace = namespace  # the context's default namespace
        self.server = server
        self._batch = client.BatchV1Api(api_client)
        self._core = client.CoreV1Api(api_client)

    # -- objects ----------------------------------------------------------------------

    def create_secret(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            f"create the Secret {body['metadata']['name']}",
            self._core.create_namespaced_secret,
            namespace,
            body,
        )

    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            f"create the Job {body['metadata']['name']}",
            self._batch.create_namespaced_job,
            namespace,
            body,
        )

    def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Job, or None when it no longer exists."""
        return self._maybe(f"read the Job {name}", self._batch.read_namespaced_job, name, namespace)

    def run_pods(self, namespace: str, run_id: str) -> list[dict[str, Any]]:
        """The run's pods, oldest first (by label: servers that ignore the selector are
        filtered here too)."""
        from mlrun.backends.kubernetes.manifest import RUN_LABEL

        found = self._call(
            f"list the pods of run {run_id}",
            self._core.list_namespaced_pod,
            namespace,
            label_selector=f"{RUN_LABEL}={run_id}",
        )
        pods = [
            p
            for p in found.get("items") or []
            if ((p.get("metadata") or {}).get("labels") or {}).get(RUN_LABEL) == run_id
        ]
        return sorted(pods, key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))

    def delete_job(self, namespace: str, name: str) -> bool:
        """Delete the Job and, in the background, its pods; False if it was gone."""
        return (
            self._maybe(
                f"delete the Job {name}",
                self._batch.delete_namespaced_job,
                name,
                namespace,
                propagation_policy="Background",
            )
            is not None
        )

    def delete_secret(self, namespace: str, name: str) -> bool:
        return (
            self._maybe(
                f"delete the Secret {name}", self._core.delete_namespaced_secret, name, namespace
            )
            is not None
        )

    def check_access(self, namespace: str) -> None:
        """Ask the API server something cheap that a run needs (its Jobs in
        `namespace`): an unreachable server or missing rights fail before any build."""
        self._call(
            f"list the Jobs of namespace {namespace}",
            self._batch.list_namespaced_job,
            namespace,
            limit=1,
        )

    def log_stream(self, namespace: str, pod: str, container: str, follow: bool) -> Any:
        """The container's log as a urllib3 response (`.stream()`, `.close()`)."""
        return self._core.read_namespaced_pod_log(
            pod, namespace, container=container, follow=follow, _preload_content=False
        )

    # -- errors -----------------------------------------------------------------------

    def _maybe(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        from kubernetes.client import ApiException

        try:
            return self._call(what, fn, *args, **kwargs)
        except KubeError as exc:
            if isinstance(exc.__cause__, ApiException) and exc.__cause__.status == 404:
                return None
            raise

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        try:
            response = fn(*args, _preload_content=False, _request_timeout=_TIMEOUT, **kwargs)
        except ApiException as exc:
            raise KubeError(
                f"the Kubernetes API server refused to {what}: {server_message(exc)}",
                hint=_hint(exc.status),
            ) from exc
        except (HTTPError, OSError) as exc:
            raise KubeError(
                f"the Kubernetes API server at {self.server} did not answer ({_reason(exc)})",
                hint=f"check that the cluster of context {self.context or 'in-cluster'} is up "
                "and reachable",
            ) from exc
        try:
            data = json.loads(response.data or b"{}")
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}


def server_message(exc: Any) -> str:
    """The API server's own words (the Status object's message), else the HTTP reason."""
    try:
        status = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        status = {}
    message = status.get("message") if isinstance(status, dict) else None
    text = str(message or exc.reason or f"HTTP {exc.status}")
    return redact(" ".join(text.split()))


def _hint(status: int | None) -> str | None:
    if status in (401, 403):
        return "check the credentials and RBAC permissions of the kube config's user"
    if status == 404:
        return "check that the namespace exists"
    if status == 422:
        return "fix the job template (kube-job-template-path) or the backend config"
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for needle, words in (
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("Name or service not known", "unknown host"),
        ("certificate verify failed", "its TLS certificate could not be verified"),
    ):
        if needle in text:
            return words
    return redact(text.splitlines()[-1] if text.strip() else type(exc).__name__)


def connect(kubeconfig: Path | None, context: str | None) -> Kube:
    """The API server of `context` in the kube config (KUBECONFIG or ~/.kube/config,
    or `kubeconfig`); without any kube config inside a pod, the in-cluster service
    account (as MLflow does). KubeError (exit 125) naming what is missing."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise KubeError(
            "the Kubernetes backend needs the `kubernetes` package, which is not installed",
            hint=INSTALL_HINT,
        ) from None
    files = _config_files(kubeconfig)
    existing = [f for f in files if f.is_file()]
    if not existing:
        if context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            return _in_cluster(config, client, ConfigException)
        shown = ", ".join(str(f) for f in files)
        raise KubeError(
            f"no kube config was found ({shown}), so mlrun does not know which Kubernetes "
            "cluster to run on",
            hint="set KUBECONFIG, or 'kubeconfig' in the backend config, to a kube config file",
        )
    # Always named: the client reads KUBECONFIG once, when it is imported. Several
    # files (KUBECONFIG=a:b) are merged by the client, as kubectl does.
    config_file = os.pathsep.join(str(f) for f in existing)
    try:
        contexts, active = config.list_kube_config_contexts(config_file=config_file)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError, ValueError, TypeError, AttributeError) as exc:
        raise KubeError(
            f"the kube config {existing[0]} could not be read: {_config_reason(exc)}"
        ) from None
    names = [c.get("name") for c in contexts or [] if isinstance(c, dict)]
    if context is not None and context not in names:
        raise KubeError(
            f"the kube config has no context {context!r} (kube-context); its contexts: "
            + (", ".join(repr(n) for n in names) or "none"),
            hint="choose one of them, or drop kube-context to use the current one",
        )
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    if not chosen:
        raise KubeError(
            "the kube config sets no current context, and the backend config names none",
            hint="set kube-context in the backend config, or `kubectl config use-context NAME`",
        )
    try:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=config_file, context=chosen["name"], client_configuration=_settings()
        )
    except (ConfigException, OSError, ValueError, TypeError, AttributeError) as exc:
        raise KubeError(
            f"the kube config's context {chosen['name']!r} cannot be used: {_config_reason(exc)}"
        ) from None
    namespace = (chosen.get("context") or {}).get("namespace") or "default"
    return Kube(api, chosen["name"], namespace, str(api.configuration.host))


def _settings() -> Any:
    """No retries inside the client: mlrun's watch loop retries at its own pace, and
    urllib3 would log every retry to the terminal."""
    from kubernetes import client

    settings = client.Configuration()
    settings.retries = 0
    return settings


def _config_files(kubeconfig: Path | None) -> list[Path]:
    if kubeconfig is not None:
        return [kubeconfig]
    listed = os.environ.get("KUBECONFIG", "")
    if listed.strip():
        return [Path(p).expanduser() for p in listed.split(os.pathsep) if p.strip()]
    return [Path("~/.kube/config").expanduser()]


def _in_cluster(config: Any, client: Any, config_exception: type[Exception]) -> Kube:
    try:
        settings = _settings()
        config.load_incluster_config(client_configuration=settings)
    except config_exception as exc:
        raise KubeError(
            f"no kube config was found, and the in-cluster service account cannot be used "
            f"({_config_reason(exc)})",
            hint="set KUBECONFIG to a kube config file",
        ) from None
    api = client.ApiClient(settings)
    try:
        namespace = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read_text()
    except OSError:
        namespace = "default"
    return Kube(api, "", namespace.strip() or "default", str(api.configuration.host))


def _config_reason(exc: BaseException) -> str:
    return redact(" ".join(str(exc).split()) or type(exc).__name__)
