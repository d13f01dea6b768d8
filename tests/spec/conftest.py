"""Helpers for spec tests: real project directories written into tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

MakeProject = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """make_project(mlproject_text, {relative path: text}) -> project dir. The MLproject
    text is dedented; None writes no MLproject at all."""
    counter = iter(range(1_000_000))

    def make(mlproject: str | bytes | None, files: dict[str, str] | None = None) -> Path:
        root = tmp_path / f"project{next(counter)}"
        root.mkdir()
        if isinstance(mlproject, bytes):
            (root / "MLproject").write_bytes(mlproject)
        elif mlproject is not None:
            (root / "MLproject").write_text(textwrap.dedent(mlproject).lstrip("\n"))
        for name, text in (files or {}).items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    return make
