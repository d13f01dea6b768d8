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
from urllib.parse import quote, urlencode

from mlrun.errors import PrepareError
from mlrun.util.redact import redact

INSTALL_HINT = "install the Kubernetes extra: pip install 'mlrun[kubernetes]'"
_TIMEOUT = 30.0  # seconds for one API call (a log stream is not bounded by it)
_BATCH = "/apis/batch/v1/namespaces"
_CORE = "/api/v1/namespaces"


class KubeError(PrepareError):
    """The API server (or the way to it) failed."""


class ApiError(Exception):
    """The API server answered with an error status (its Status object in `body`)."""

    def __init__(self, status: int, reason: str, body: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status
        self.reason = reason
        self.body = body


class Kube:
    """One API server (a kube config context) and the calls a run makes, as plain REST
    requests with the client's loaded settings (server, TLS, credentials, token refresh):
    the client's generated API classes take seconds to import (a model class per kind,
    validators per method), which every run would pay."""

    def __init__(self, settings: Any, context: str, namespace: str) -> None:
        self.context = context  # "" in-cluster
        self.namespace = namespace  # the context's default namespace
        self.server = str(settings.host).rstrip("/")
        self._settings = settings
        self._pool = _pool(settings)

    # -- objects ----------------------------------------------------------------------

    def create_secret(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        what = f"create the Secret {body['metadata']['name']}"
        return self._json(what, "POST", f"{_CORE}/{_q(namespace)}/secrets", body=body)

    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        what = f"create the Job {body['metadata']['name']}"
        return self._json(what, "POST", f"{_BATCH}/{_q(namespace)}/jobs", body=body)

    def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Job, or None when it no longer exists."""
        path = f"{_BATCH}/{_q(namespace)}/jobs/{_q(name)}"
        return self._maybe(f"read the Job {name}", "GET", path)

    def run_pods(self, namespace: str, run_id: str) -> list[dict[str, Any]]:
        """The run's pods, oldest first (by label: servers that ignore the selector are
        filtered here too)."""
        from mlrun.backends.kubernetes.manifest import RUN_LABEL

        found = self._json(
            f"list the pods of run {run_id}",
            "GET",
            f"{_CORE}/{_q(namespace)}/pods",
            query={"labelSelector": f"{RUN_LABEL}={run_id}"},
        )
        pods = [
            p
            for p in found.get("items") or []
            if ((p.get("metadata") or {}).get("labels") or {}).get(RUN_LABEL) == run_id
        ]
        return sorted(pods, key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))

    def delete_job(self, namespace: str, name: str) -> bool:
        """Delete the Job and, in the background, its pods; False if it was gone."""
        path = f"{_BATCH}/{_q(namespace)}/jobs/{_q(name)}"
        query = {"propagationPolicy": "Background"}
        return self._maybe(f"delete the Job {name}", "DELETE", path, query=query) is not None

    def delete_secret(self, namespace: str, name: str) -> bool:
        path = f"{_CORE}/{_q(namespace)}/secrets/{_q(name)}"
        return self._maybe(f"delete the Secret {name}", "DELETE", path) is not None

    def check_access(self, namespace: str) -> None:
        """Ask the API server something cheap that a run needs (its Jobs in
        `namespace`): an unreachable server or missing rights fail before any build."""
        what = f"list the Jobs of namespace {namespace}"
        self._json(what, "GET", f"{_BATCH}/{_q(namespace)}/jobs", query={"limit": "1"})

    def log_stream(self, namespace: str, pod: str, container: str, follow: bool) -> Any:
        """The container's log as a urllib3 response (`.stream()`, `.close()`)."""
        query = {"container": container, "follow": "true" if follow else "false"}
        path = f"{_CORE}/{_q(namespace)}/pods/{_q(pod)}/log"
        return self._request("GET", path, query=query, stream=True)

    # -- requests and errors ----------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        stream: bool = False,
    ) -> Any:
        import urllib3

        headers = {"Accept": "application/json, */*", "User-Agent": "mlrun"}
        for auth in (self._settings.auth_settings() or {}).values():  # refreshes tokens
            if auth.get("in") == "header" and auth.get("value"):
                headers[str(auth["key"])] = str(auth["value"])
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = self.server + path + (f"?{urlencode(query)}" if query else "")
        response = self._pool.request(
            method,
            url,
            body=data,
            headers=headers,
            preload_content=not stream,
            retries=False,
            timeout=urllib3.Timeout(connect=_TIMEOUT, read=None if stream else _TIMEOUT),
        )
        if response.status >= 400:
            text = response.data.decode("utf-8", "replace") if response.data else ""
            response.release_conn()
            raise ApiError(response.status, str(response.reason or ""), text)
        return response

    def _json(self, what: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        from urllib3.exceptions import HTTPError

        try:
            response = self._request(method, path, **kwargs)
        except ApiError as exc:
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

    def _maybe(self, what: str, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            return self._json(what, method, path, **kwargs)
        except KubeError as exc:
            if isinstance(exc.__cause__, ApiError) and exc.__cause__.status == 404:
                return None
            raise


def _q(name: str) -> str:
    return quote(name, safe="")


def _pool(settings: Any) -> Any:
    """A urllib3 pool with the kube config's TLS settings (CA, client certificate,
    verification, server name) and its proxy."""
    import ssl

    import urllib3

    kwargs: dict[str, Any] = {
        "cert_reqs": ssl.CERT_REQUIRED if settings.verify_ssl else ssl.CERT_NONE,
        "ca_certs": settings.ssl_ca_cert,
        "cert_file": settings.cert_file,
        "key_file": settings.key_file,
    }
    if getattr(settings, "assert_hostname", None) is not None:
        kwargs["assert_hostname"] = settings.assert_hostname
    if getattr(settings, "tls_server_name", None):
        kwargs["server_hostname"] = settings.tls_server_name
    if getattr(settings, "proxy", None):
        return urllib3.ProxyManager(
            settings.proxy, proxy_headers=getattr(settings, "proxy_headers", None), **kwargs
        )
    return urllib3.PoolManager(**kwargs)


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
        from kubernetes import config
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
            return _in_cluster(config, ConfigException)
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
    settings = _settings()
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=config_file, context=chosen["name"], client_configuration=settings
        )
    except (ConfigException, OSError, ValueError, TypeError, AttributeError) as exc:
        raise KubeError(
            f"the kube config's context {chosen['name']!r} cannot be used: {_config_reason(exc)}"
        ) from None
    namespace = (chosen.get("context") or {}).get("namespace") or "default"
    return Kube(settings, chosen["name"], namespace)


def _settings() -> Any:
    from kubernetes.client.configuration import Configuration

    return Configuration()


def _config_files(kubeconfig: Path | None) -> list[Path]:
    if kubeconfig is not None:
        return [kubeconfig]
    listed = os.environ.get("KUBECONFIG", "")
    if listed.strip():
        return [Path(p).expanduser() for p in listed.split(os.pathsep) if p.strip()]
    return [Path("~/.kube/config").expanduser()]


def _in_cluster(config: Any, config_exception: type[Exception]) -> Kube:
    settings = _settings()
    try:
        config.load_incluster_config(client_configuration=settings)
    except config_exception as exc:
        raise KubeError(
            f"no kube config was found, and the in-cluster service account cannot be used "
            f"({_config_reason(exc)})",
            hint="set KUBECONFIG to a kube config file",
        ) from None
    try:
        namespace = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read_text()
    except OSError:
        namespace = "default"
    return Kube(settings, "", namespace.strip() or "default")


def _config_reason(exc: BaseException) -> str:
    return redact(" ".join(str(exc).split()) or type(exc).__name__)
