"""A small client for MLflow's tracking REST API, on urllib (mlrun does not depend on
the mlflow package).

Authentication as MLflow's own client does it, from the environment:
MLFLOW_TRACKING_TOKEN (bearer), MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD
(basic; also user:password in the URL), MLFLOW_TRACKING_INSECURE_TLS=true,
MLFLOW_TRACKING_SERVER_CERT_PATH (a CA bundle) and MLFLOW_TRACKING_CLIENT_CERT_PATH.
Secrets go into request headers only: they are registered with util.redact, so no
message mlrun writes can show them, and the URL kept or shown has no credentials.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
from typing import Any
from urllib import error, parse, request

from mlrun.errors import PrepareError
from mlrun.util.redact import redact, register_secret, strip_credentials

API = "/api/2.0/mlflow/"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts/"
TIMEOUT = 30.0  # seconds per request
# The variables the command needs to reach the server as mlrun does.
AUTH_VARS = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
)


class ServerError(PrepareError):
    """The tracking server could not be reached, or refused a request."""

    def __init__(self, message: str, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code  # MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST


class RestClient:
    def __init__(self, uri: str) -> None:
        parts = parse.urlsplit(uri.strip())
        self.url = strip_credentials(uri.strip()).rstrip("/")  # shown and recorded
        self._headers = {"User-Agent": "mlrun"}
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user = os.environ.get("MLFLOW_TRACKING_USERNAME") or parse.unquote(parts.username or "")
        password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or parse.unquote(parts.password or "")
        if token:
            register_secret(token)
            self._headers["Authorization"] = f"Bearer {token}"
        elif user or password:
            register_secret(password)
            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            register_secret(basic)
            self._headers["Authorization"] = f"Basic {basic}"
        self._context = _tls_context() if parts.scheme == "https" else None

    # -- requests ----------------------------------------------------------------------

    def get(self, endpoint: str, **query: str) -> dict[str, Any]:
        return self._json("GET", API + endpoint + "?" + parse.urlencode(query), None)

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", API + endpoint, json.dumps(body).encode())

    def download(self, artifact_path: str) -> bytes:
        """GET one file through the server's artifact proxy."""
        return self._send("GET", ARTIFACTS + parse.quote(artifact_path), None, "")

    def upload(self, artifact_path: str, data: bytes) -> None:
        """PUT one file through the server's artifact proxy."""
        self._send("PUT", ARTIFACTS + parse.quote(artifact_path), data, "application/octet-stream")

    def _json(self, method: str, path: str, body: bytes | None) -> dict[str, Any]:
        raw = self._send(method, path, body, "application/json")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise ServerError(
                f"the MLflow tracking server at {self.url} answered {path.split('?')[0]} "
                "with something that is not JSON.",
                hint="check that MLFLOW_TRACKING_URI is the server's base URL",
            ) from None
        return data if isinstance(data, dict) else {}

    def _send(self, method: str, path: str, body: bytes | None, content_type: str) -> bytes:
        req = request.Request(self.url + path, data=body, method=method)
        for name, value in self._headers.items():
            req.add_header(name, value)
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with request.urlopen(req, timeout=TIMEOUT, context=self._context) as response:
                data: bytes = response.read()
                return data
        except error.HTTPError as exc:
            raise self._refused(exc, path) from None
        except (error.URLError, OSError) as exc:  # TimeoutError is an OSError
            reason = getattr(exc, "reason", exc)
            raise ServerError(
                f"cannot reach the MLflow tracking server at {self.url}: {_reason(reason)}.",
                hint="start the server, or check MLFLOW_TRACKING_URI (unset it and each run "
                "gets its own MLflow store in its run directory)",
            ) from None

    def _refused(self, exc: error.HTTPError, path: str) -> ServerError:
        try:
            detail = json.loads(exc.read() or b"{}")
        except ValueError:
            detail = {}
        code = detail.get("error_code") if isinstance(detail, dict) else None
        message = detail.get("message") if isinstance(detail, dict) else None
        what = path.split("?")[0].replace(API, "").replace(ARTIFACTS, "artifacts/")
        text = f"{exc.code} {exc.reason}" + (f": {redact(str(message))[:300]}" if message else "")
        hint = None
        if exc.code in (401, 403):
            hint = (
                "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD, to credentials the server accepts"
            )
        return ServerError(
            f"the MLflow tracking server at {self.url} refused {what}: {text}.",
            hint=hint,
            code=str(code) if code else None,
        )


def _reason(reason: object) -> str:
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({reason.reason or reason})"
    if isinstance(reason, TimeoutError):
        return f"no answer within {TIMEOUT:.0f} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return redact(str(reason))


def _tls_context() -> ssl.SSLContext:
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or None
    try:
        context = ssl.create_default_context(cafile=cafile)
        client_cert = os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH")
        if client_cert:
            context.load_cert_chain(client_cert)
    except (OSError, ssl.SSLError) as exc:
        raise ServerError(
            f"cannot load the TLS certificate for the MLflow tracking server: {exc}.",
            hint="check MLFLOW_TRACKING_SERVER_CERT_PATH / MLFLOW_TRACKING_CLIENT_CERT_PATH",
        ) from None
    return context


def auth_environment() -> dict[str, str]:
    """The MLFLOW_TRACKING_* variables set here, for a command that does not inherit
    this environment (a container)."""
    return {name: os.environ[name] for name in AUTH_VARS if os.environ.get(name)}
