"""Git isolation and loopback git servers for the source tests.

Every test gets its own global git config (no user settings leak in, nothing is written
to the user's ~/.gitconfig), and servers it starts itself on free loopback ports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.sources.gitservers import (
    GitDaemon,
    GitHttpServer,
    SshServer,
    daemon_available,
    http_backend_available,
    sshd_available,
)


@pytest.fixture(autouse=True)
def git_isolation(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("git-home")
    config = home / "gitconfig"
    config.write_text(
        "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_ASKPASS", "SSH_ASKPASS"):
        monkeypatch.delenv(var, raising=False)
    return config


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The directory of bare repositories the servers publish."""
    root = tmp_path / "served"
    root.mkdir()
    return root


@pytest.fixture
def daemon(served: Path) -> Iterator[GitDaemon]:
    require_service(daemon_available(), "git daemon is not installed (Debian package git)")
    server = GitDaemon(served).start()
    yield server
    server.stop()


@pytest.fixture
def http_server(served: Path) -> Iterator[GitHttpServer]:
    require_service(http_backend_available(), "git http-backend is not installed")
    server = GitHttpServer(served).start()
    yield server
    server.stop()


@pytest.fixture
def sshd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SshServer]:
    require_service(sshd_available(), "sshd is not installed (Debian package openssh-server)")
    server = SshServer(tmp_path / "sshd").start()
    monkeypatch.setenv("GIT_SSH_COMMAND", server.ssh_command)  # the user's own ssh setup
    yield server
    server.stop()


@pytest.fixture
def https_server(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GitHttpServer]:
    require_service(
        http_backend_available() and shutil.which("openssl") is not None,
        "git http-backend or openssl is not installed",
    )
    server = GitHttpServer(served, tls_dir=tmp_path / "tls").start()
    monkeypatch.setenv("GIT_SSL_CAINFO", str(server.ca_file))  # as a user would trust it
    yield server
    server.stop()
