"""The REST client's authentication and errors, against a loopback HTTP listener that
records what it was sent (the real server is in test_server.py)."""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mlrun.tracking.mlflow.rest import RestClient, ServerError
from mlrun.util.redact import redact
from tests.conftest import require_service
from tests.helpers import loopback_certificate
from tests.services import free_port


class Listener(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Listener.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(Listener.status)
        self.end_headers()
        answer = {"ok": True} if Listener.status == 200 else {"error_code": "UNAUTHENTICATED"}
        self.wfile.write(json.dumps(answer).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)
    Listener.seen, Listener.status = [], 200
    server = http.server.HTTPServer(("127.0.0.1", free_port()), Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_token_is_a_bearer_header_and_is_masked_everywhere(
    listener: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-secret-123")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ignored")
    client = RestClient(f"http://{listener}")
    assert client.post("runs/create", {"a": 1}) == {"ok": True}
    (request,) = Listener.seen
    assert request["path"] == "/api/2.0/mlflow/runs/create"
    assert request["headers"]["Authorization"] == "Bearer tok-secret-123"
    assert request["headers"]["Content-Type"] == "application/json"
    assert redact("a message with tok-secret-123 in it") == "a message with *** in it"


def test_credentials_in_the_url_are_basic_auth_and_never_shown(listener: str) -> None:
    client = RestClient(f"http://alice:pa%40ss@{listener}/")
    assert client.url == f"http://{listener}"  # what is recorded and shown
    client.post("runs/update", {})
    expected = base64.b64encode(b"alice:pa@ss").decode()
    assert Listener.seen[0]["headers"]["Authorization"] == f"Basic {expected}"


def test_a_refusal_names_the_server_and_the_variables_to_set(
    listener: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter2-long")
    Listener.status = 401
    with pytest.raises(ServerError) as info:
        RestClient(f"http://{listener}").post("runs/create", {})
    error = info.value
    assert error.exit_code == 125 and error.code == "UNAUTHENTICATED"
    assert f"the MLflow tracking server at http://{listener} refused runs/create: 401" in str(error)
    assert error.hint is not None and "MLFLOW_TRACKING_PASSWORD" in error.hint
    assert "hunter2-long" not in str(error) + error.hint


def test_an_unreachable_server_is_one_sentence() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerError) as info:
        RestClient(url).get("experiments/get-by-name", experiment_name="x")
    assert (
        str(info.value) == f"cannot reach the MLflow tracking server at {url}: connection refused."
    )


@pytest.mark.slow  # an RSA key made by openssl
def test_https_verifies_the_server_as_mlflow_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service(shutil.which("openssl") is not None, "openssl is not installed")
    for name in ("TOKEN", "USERNAME", "PASSWORD", "INSECURE_TLS", "SERVER_CERT_PATH"):
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)
    cert, key = loopback_certificate(tmp_path / "tls")
    Listener.seen, Listener.status = [], 200
    server = http.server.HTTPServer(("127.0.0.1", free_port()), Listener)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        # A certificate nobody vouches for is refused, in one sentence with the way out.
        with pytest.raises(ServerError) as info:
            RestClient(url).post("runs/create", {})
        assert str(info.value).startswith(f"cannot reach the MLflow tracking server at {url}: ")
        assert "TLS error" in str(info.value) and not Listener.seen
        # MLFLOW_TRACKING_SERVER_CERT_PATH: the CA bundle that vouches for it.
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))
        assert RestClient(url).post("runs/create", {}) == {"ok": True}
        # MLFLOW_TRACKING_INSECURE_TLS=true: no verification at all.
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(tmp_path / "missing.pem"))
        with pytest.raises(ServerError, match="cannot load the TLS certificate"):
            RestClient(url)
        monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
        assert RestClient(url).post("runs/create", {}) == {"ok": True}
        assert len(Listener.seen) == 2
    finally:
        server.shutdown()
        server.server_close()
