"""Keeping project files inside the project: where a path really leads.

A project's files are the checkout (a git source) or the directory the user named. A
path written in the project (a `#subdir`, an env file, a docker context or volume, a
path default, a workflow dep) may point anywhere inside it, also through symlinks, but a
committed symlink to `/` (or a `../..`) must not make mlrun read, hash or mount what
lies outside. Absolute paths the user or the author wrote are their explicit choice and
are not checked here."""

from __future__ import annotations

import os
from pathlib import Path


def escapes(root: str | Path, path: str | Path) -> str | None:
    """Where `path` really is when that is outside `root` (through symlinks or `..`);
    None when it is inside. Paths that do not exist yet are resolved as far as they go."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    return real


def inside(root: str | Path, path: str | Path) -> bool:
    """Whether `path` is under `root` as written (no symlink resolved)."""
    top = os.path.normpath(os.path.abspath(root))
    here = os.path.normpath(os.path.abspath(path))
    return here == top or here.startswith(top.rstrip(os.sep) + os.sep)


def leads_outside(what: str, real: str) -> str:
    """The sentence for an error: `what` is the path as the user or author wrote it."""
    return f"{what} leads outside the project (to {real})"
