"""A token in a malformed URL never reaches an error (issue 11.4), and a store path that is
not a usable file is refused before anything is created beside it (issues 11.4, 11.9)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mlrun.util.redact import redact
from tests.helpers import write_project
from tests.security.conftest import Cli

SECRET = "tok-5ecret-77"
MALFORMED = [
    f"file://user:{SECRET}@/path",
    f"file://user:{SECRET}@host/x",
    f"file://:{SECRET}@",
    f"https://user:{SECRET}@/repo",
    f"https://user:{SECRET}@[::1/repo",
    f"https://user:{SECRET}@host:99999/r",
    f"https://user:{SECRET}@host:abc/r",
    f"https://user:pre@{SECRET}@host/r",  # an unencoded @ in the password
    f"https://user:pre/{SECRET}@host/r",  # an unencoded / in the password
    f"ssh://u:{SECRET}@/x",
    f"sqlite://user:{SECRET}@x",
    f"postgresql://u:{SECRET}@h/db",
    f"git+https://u:{SECRET}@h?q=1",
    f"user:{SECRET}@:repo",
    f"user:{SECRET}@host:repo",
]


@pytest.mark.parametrize("uri", MALFORMED)
def test_tokens_in_malformed_urls_are_never_shown(uri: str, cli: Cli, tmp_path: Path) -> None:
    for args in (
        ("run", uri, "--dry-run"),
        ("validate", uri),
        ("runs", "list", "--tracking-uri", uri),
        ("run", str(write_project(tmp_path / "p", "name: p\n")), "--tracking-uri", uri),
    ):
        result = cli(*args)
        assert result.code in (2, 125), (args, result)
        assert SECRET not in result.err + result.out, (args, result.err)
        assert "Traceback" not in result.err


def test_redaction_keeps_what_is_not_a_secret() -> None:
    from mlrun.util.redact import redact_uri

    assert redact("ssh://git@host/repo") == "ssh://git@host/repo"
    assert redact("https://host/pkg/@scope/name") == "https://host/pkg/@scope/name"
    assert redact("'https://u:t@h/r' and 'https://h2/x'") == "'https://***@h/r' and 'https://h2/x'"
    assert redact_uri("git@github.com:org/repo.git") == "git@github.com:org/repo.git"
    assert redact("image python:3.11@sha256:abc") == "image python:3.11@sha256:abc"


def _special_paths(tmp_path: Path) -> dict[str, Path]:
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    sock.close()
    (tmp_path / "dir").mkdir()
    return {
        "a text file": text,
        "a named pipe": fifo,
        "a socket": sock_path,
        "a directory": tmp_path / "dir",
        "below a file": text / "mlrun.db",
        "a character device": Path("/dev/null"),
    }


def test_unusable_store_paths_are_refused_and_nothing_is_created(tmp_path: Path, cli: Cli) -> None:
    where = tmp_path / "stores"
    where.mkdir()
    paths = _special_paths(where)
    project = write_project(tmp_path / "p", "entry_points: {main: {command: 'echo ran'}}\n")
    before = sorted(os.listdir(where))
    dev_before = sorted(n for n in os.listdir("/dev") if n.startswith("null"))
    for what, path in paths.items():
        for uri in (str(path), f"sqlite:///{path}"):
            for args in (("runs", "list"), ("run", str(project))):
                result = cli(*args, "--tracking-uri", uri)
                assert result.code == 2, (what, args, result.err)
                assert str(path) in result.err, (what, result.err)
                assert "ran" not in result.out  # refused before the command started
    assert sorted(os.listdir(where)) == before  # no -wal, -shm, -journal or runs/
    assert sorted(n for n in os.listdir("/dev") if n.startswith("null")) == dev_before


def test_usable_store_paths_still_work(tmp_path: Path, cli: Cli) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    project = write_project(tmp_path / "p", "entry_points: {main: {command: 'echo ran'}}\n")
    for uri in (str(empty), str(tmp_path / "new" / "deeper" / "mlrun.db")):
        assert cli("run", str(project), "-q", "--tracking-uri", uri).code == 0
        listed = cli("runs", "list", "--tracking-uri", uri)
        assert listed.code == 0 and "FINISHED" in listed.out
