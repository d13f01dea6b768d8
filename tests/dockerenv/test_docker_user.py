"""Which user the container runs as (the e2e tests run as root, where the image's own
user is kept; this checks the rule for other callers)."""

from __future__ import annotations

import pytest

from mlrun.envs.docker.args import parse
from mlrun.envs.docker.manager import _user
from mlrun.envs.docker.settings import Settings


def _settings(**args: str | None) -> Settings:
    from pathlib import Path

    return Settings(
        project_dir=Path("/p"),
        image="x",
        dockerfile=None,
        context=None,
        build_image=False,
        binds=(),
        env={},
        args=parse(args),
    )


def test_non_root_callers_run_as_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.getuid", lambda: 1000)
    monkeypatch.setattr("os.getgid", lambda: 1001)
    assert _user(_settings()) == "1000:1001"
    assert _user(_settings(user="root")) == "root"


def test_root_keeps_the_image_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.getuid", lambda: 0)
    assert _user(_settings()) is None
    assert _user(_settings(u="2000")) == "2000"
