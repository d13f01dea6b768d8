"""ssh remotes (`ssh://` and scp-like `user@host:path`) through a real sshd on loopback,
with the user's own ssh setup (here GIT_SSH_COMMAND and a key) doing the authentication."""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

import pytest

from tests.helpers import mlrun
from tests.sources.gitrepos import output_fields, project_repo, publish, run_recorded
from tests.sources.gitservers import SshServer

pytestmark = pytest.mark.gitserver


def test_ssh_and_scp_like_urls(
    sshd: SshServer, served: Path, tmp_path: Path, mlrun_home: Path
) -> None:
    work = tmp_path / "app"
    sha = project_repo(work, "over-ssh")
    bare = publish(work, served, "app.git")
    user = getpass.getuser()
    for url in (f"ssh://{user}@127.0.0.1{bare}", f"{user}@127.0.0.1:{bare}"):
        out, record = run_recorded(url)
        assert output_fields(out)["version"] == "over-ssh"
        assert record["source"]["repo"] == url and record["source"]["commit"] == sha
    # Two spellings, two remotes as far as git is concerned (scp-like paths are relative
    # to the login's home): one mirror each.
    assert len(list((mlrun_home / "cache" / "git").glob("*/mirror.git"))) == 2


def test_ssh_auth_failure_is_one_sentence(
    sshd: SshServer, served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "app"
    project_repo(work, "v1")
    bare = publish(work, served, "app.git")
    other_key = tmp_path / "not-authorized"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True
    )
    monkeypatch.setenv(
        "GIT_SSH_COMMAND", sshd.ssh_command.replace(str(sshd.dir / "client_key"), str(other_key))
    )
    proc = mlrun("run", f"ssh://{getpass.getuser()}@127.0.0.1{bare}")
    assert proc.returncode == 125
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("mlrun: error:")]
    assert errors == [
        f"mlrun: error: cannot clone ssh://{getpass.getuser()}@127.0.0.1{bare}"
        ": authentication failed"
    ]
