"""SHA-256: of small inputs without loading OpenSSL (`sha256`), and of files
(`file_sha256`, the one file hasher: source files, step artifacts, docker contexts).

`import hashlib` initialises OpenSSL, about 4 ms of every run's start-up, for digests of
a few kilobytes (a file listing, a path). CPython's own C implementation gives the same
digests from a built-in module. For file contents hashlib is used: OpenSSL is several
times faster per byte, which matters once the data is large."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import _Hash

# The built-in module's name: _sha2 from CPython 3.12, _sha256 before.
_BUILTIN = ("_sha2", "_sha256")


def sha256(data: bytes = b"") -> _Hash:
    """A sha256 object (update/hexdigest), from the built-in module when there is one."""
    for name in _BUILTIN:
        try:
            hash_object: _Hash = importlib.import_module(name).sha256(data)
        except (ImportError, AttributeError):
            continue
        return hash_object
    import hashlib  # another interpreter

    return hashlib.sha256(data)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file's contents, read in blocks of 1 MiB."""
    import hashlib  # file contents: OpenSSL is faster per byte

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()
