"""Env tests build real envs, offline, from a wheelhouse made here. uv, pip, virtualenv
and rattler are pointed at temporary directories: no test reads the user's configuration
(this machine has a pip.conf and PIP_* variables pointing at a local mirror) or writes into
their caches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.envs.wheelhouse import build_wheelhouse


@pytest.fixture(scope="session")
def tool_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tools")
    build_wheelhouse(root / "wheelhouse")
    return root


@pytest.fixture(autouse=True)
def isolated_tools(tool_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_", "VIRTUALENV_", "CONDA", "MAMBA", "MLRUN_CONDA")):
            monkeypatch.delenv(name)
    settings = {
        "UV_CACHE_DIR": tool_dirs / "uv-cache",
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_CACHE_DIR": tool_dirs / "pip-cache",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "VIRTUALENV_OVERRIDE_APP_DATA": tool_dirs / "virtualenv-app-data",
        "RATTLER_CACHE_DIR": tool_dirs / "rattler-cache",
        "MLRUN_FIND_LINKS": tool_dirs / "wheelhouse",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, str(value))
    yield tool_dirs / "wheelhouse"
