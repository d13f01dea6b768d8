"""Content digests of files and directories: a step's `deps`, and the fallback code
identity of a source that does not provide one (Source.code_identity is None).

A directory's digest covers every file's relative path, mode (executable or not) and
content, and the target of every symlink (not followed). Directories that are tool state
rather than project code (VCS metadata, byte-code caches, virtualenvs) are skipped, so
running a step that imports a module, or a venv created inside the project, does not
change it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# Directory names never part of a project's code identity.
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".ipynb_checkpoints", ".tox", ".nox",
})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
_BLOCK = 1 << 20


def content_hash(directory: Path) -> str:
    """sha256 hex digest of the directory's files (see the module docstring)."""
    digest = hashlib.sha256()
    root = str(directory)
    for dirpath, dirnames, filenames in os.walk(root):
        # Sorted, in place: os.walk then descends in a stable order.
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            path = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(file_digest(path).encode() + b"\n")
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):  # os.walk does not descend into directory links
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
                digest.update(b"link:" + os.readlink(path).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def file_digest(path: str) -> str:
    """Digest of one file: 'x' or '-' for the executable bit, then the content hash;
    a symlink hashes its target path."""
    if os.path.islink(path):
        target = os.readlink(path).encode("utf-8", "surrogateescape")
        return "l" + hashlib.sha256(target).hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            h.update(block)
        executable = os.fstat(handle.fileno()).st_mode & 0o111
    return ("x" if executable else "-") + h.hexdigest()
