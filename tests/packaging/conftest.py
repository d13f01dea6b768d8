"""Packaging and reproducing tests build real envs offline (the env tests' wheelhouse and
tool isolation) from real git repositories (the source tests' git isolation)."""

from __future__ import annotations

from tests.envs.conftest import isolated_tools, tool_dirs
from tests.sources.conftest import git_isolation

__all__ = ["git_isolation", "isolated_tools", "tool_dirs"]
