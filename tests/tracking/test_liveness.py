"""Process liveness on this host, and the reaping rule built on it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlrun.tracking.liveness import death_reason, is_alive, process_start_token, this_host

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")


@linux_only
def test_start_token_is_stable_and_differs_between_processes() -> None:
    token = process_start_token(os.getpid())
    assert token is not None and token.isdigit()
    assert process_start_token(os.getpid()) == token
    assert process_start_token(1) != token or os.getpid() == 1


def test_start_token_of_nothing() -> None:
    assert process_start_token(0) is None
    assert process_start_token(-5) is None


@pytest.mark.skipif(sys.platform == "win32", reason="no signal 0 probe")
def test_is_alive_on_this_host() -> None:
    me = os.getpid()
    assert is_alive(this_host(), me, process_start_token(me)) is True
    assert is_alive(this_host(), me, None) is True
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert is_alive(this_host(), int(done.stdout), None) is False


@linux_only
def test_a_different_start_token_means_another_process() -> None:
    assert is_alive(this_host(), os.getpid(), "not-the-token") is False


def test_other_hosts_and_bogus_pids_cannot_be_told() -> None:
    assert is_alive(this_host() + "-elsewhere", os.getpid(), None) is None
    assert is_alive(this_host(), 0, None) is None


def test_death_reason_rules() -> None:
    elsewhere = this_host() + "-elsewhere"
    assert death_reason(elsewhere, 7, None, last_seen=0.0, now=599.0) is None
    reason = death_reason(elsewhere, 7, None, last_seen=0.0, now=700.0)
    assert reason == f"the heartbeat of mlrun process 7 on {elsewhere} stopped (12 min without one)"
    # A live process on this host is alive however old its heartbeat.
    assert death_reason(this_host(), os.getpid(), None, last_seen=0.0, now=1e9) is None


def test_this_host_is_what_socket_reports() -> None:
    # The runner records socket.gethostname(); the reaper must compare like with like.
    import socket

    assert this_host() == socket.gethostname()
