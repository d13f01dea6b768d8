"""Real git servers on loopback for the tests: `git daemon` (git://) and `git http-backend`
behind HTTP basic auth (http://), each serving the bare repositories under one root.

The HTTP server records every request (and the protocol v2 command in it), so tests can
tell a fetch that transferred objects from one that did not; and it can hold an answer at
a point the test names until the test resumes it, so a test can act while git is still
running (look at its processes, start a second run, kill it half-way through a pack)."""

from __future__ import annotations

import base64
import gzip
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import loopback_certificate


def git_exec_path() -> Path:
    out = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=False)
    return Path(out.stdout.strip())


def daemon_available() -> bool:
    return shutil.which("git") is not None and (git_exec_path() / "git-daemon").exists()


def http_backend_available() -> bool:
    return shutil.which("git") is not None and (git_exec_path() / "git-http-backend").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"git daemon exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"git daemon did not listen on port {port}")


class GitDaemon:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> GitDaemon:
        for _attempt in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [
                    "git",
                    "daemon",
                    "--reuseaddr",
                    "--export-all",
                    "--informative-errors",
                    f"--base-path={self.root}",
                    "--listen=127.0.0.1",
                    f"--port={self.port}",
                    str(self.root),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                _wait_for_port(self.port, self.proc)
                return self
            except RuntimeError:
                self.stop()
        raise RuntimeError("could not start git daemon")

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@dataclass
class Request:
    method: str
    path: str
    command: str | None  # protocol v2 command in a POST: "ls-refs", "fetch"
    authorized: bool
    authorization: str | None  # the header as received


@dataclass
class GitHttpServer:
    root: Path
    user: str = "alice"
    password: str = "tok-9f8e7d6c5b4a-SECRET"
    requests: list[Request] = field(default_factory=list)
    # Points where an answer waits for resume(): "ls-refs" and "fetch" before answering
    # that protocol v2 command, "pack" after the first 64 KiB of a fetch's answer.
    hold: frozenset[str] = frozenset()
    held: queue.SimpleQueue[str] = field(default_factory=queue.SimpleQueue)  # reached points
    _go: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    port: int = 0
    tls_dir: Path | None = None  # serve https with a self-signed certificate made here

    def start(self) -> GitHttpServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if self.tls_dir is not None:
            import ssl

            cert, key = loopback_certificate(self.tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def ca_file(self) -> Path | None:
        """The certificate a client must trust (GIT_SSL_CAINFO) when serving https."""
        return None if self.tls_dir is None else self.tls_dir / "cert.pem"

    def url(self, name: str, credentials: bool = False) -> str:
        auth = f"{self.user}:{self.password}@" if credentials else ""
        scheme = "http" if self.tls_dir is None else "https"
        return f"{scheme}://{auth}127.0.0.1:{self.port}/{name}"

    def commands(self) -> list[str]:
        return [r.command for r in self.requests if r.command]

    def wait_held(self, timeout: float = 60) -> str:
        """The next hold point an answer reached (it waits there until resume())."""
        try:
            return self.held.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer reached a hold point {set(self.hold)}") from None

    def resume(self) -> None:
        """Let one held answer go on."""
        self._go.release()

    def checkpoint(self, point: str) -> None:
        if point in self.hold:
            self.held.put(point)
            self._go.acquire(timeout=120)


class _Handler(BaseHTTPRequestHandler):
    owner: GitHttpServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._serve(body)

    def _serve(self, body: bytes) -> None:
        owner = self.owner
        path, _, query = self.path.partition("?")
        expected = "Basic " + base64.b64encode(f"{owner.user}:{owner.password}".encode()).decode()
        authorized = self.headers.get("Authorization") == expected
        plain = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
        command = None
        for name in (b"ls-refs", b"fetch"):
            if b"command=" + name in plain:
                command = name.decode()
        owner.requests.append(
            Request(self.command, path, command, authorized, self.headers.get("Authorization"))
        )
        if not authorized:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if command is not None:
            owner.checkpoint(command)
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "REMOTE_USER": owner.user,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(owner.root),
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for start in range(0, len(payload), 16384):
                if command == "fetch" and start == 4 * 16384:
                    owner.checkpoint("pack")
                self.wfile.write(payload[start : start + 16384])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed mid-transfer: what some tests do on purpose


def sshd_available() -> bool:
    return (
        Path("/usr/sbin/sshd").exists()
        and shutil.which("ssh") is not None
        and shutil.which("ssh-keygen") is not None
    )


class SshServer:
    """OpenSSH's sshd on a loopback port, letting the current user in with a key made for
    the test; `ssh_command` is what a user's GIT_SSH_COMMAND would be."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> SshServer:
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in ("host_key", "client_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.dir / name)],
                check=True,
            )
        (self.dir / "authorized_keys").write_bytes((self.dir / "client_key.pub").read_bytes())
        (self.dir / "authorized_keys").chmod(0o600)
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privsep directory
        for _attempt in range(5):
            self.port = free_port()
            config = self.dir / "sshd_config"
            config.write_text(
                f"Port {self.port}\nListenAddress 127.0.0.1\n"
                f"HostKey {self.dir / 'host_key'}\nPidFile {self.dir / 'sshd.pid'}\n"
                f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\n"
                "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            )
            self.proc = subprocess.Popen(
                ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                _wait_for_port(self.port, self.proc)
                return self
            except RuntimeError:
                self.stop()
        raise RuntimeError("could not start sshd")

    @property
    def ssh_command(self) -> str:
        return (
            f"ssh -F /dev/null -i {self.dir / 'client_key'} -o IdentitiesOnly=yes "
            "-o BatchMode=yes -o StrictHostKeyChecking=no "
            f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p {self.port}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
