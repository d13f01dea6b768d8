"""--storage-dir: `path` parameter values given as remote URIs (http(s)://, s3://, ...)
are downloaded before the run and the program gets the local copy, as `mlflow run`
does. The transfer goes through fsspec (the `storage` extra: `pip install
'mlrun[storage]'`), imported only here, only when there is something to download;
protocols beyond http(s) need fsspec's own package for them (s3fs, gcsfs, adlfs...).

Each run downloads into a fresh directory `<storage-dir>/mlrun-XXXX/<parameter>/`, so
runs sharing a storage dir never overwrite each other's copies."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from mlrun.errors import FetchError, UsageError
from mlrun.reporting import Reporter
from mlrun.util.redact import strip_credentials


def download(remote: Mapping[str, str], storage_dir: str, reporter: Reporter) -> dict[str, str]:
    """{parameter: local path} for each {parameter: remote URI} of `remote`."""
    try:
        import fsspec  # noqa: F401  (the check; _fetch uses it)
    except ImportError:
        raise UsageError(
            "--storage-dir downloads remote path parameters with fsspec, which is not installed",
            hint="pip install 'mlrun[storage]'",
        ) from None
    base = Path(storage_dir).expanduser().absolute()
    try:
        base.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix="mlrun-", dir=base))
    except OSError as exc:
        raise UsageError(
            f"--storage-dir {storage_dir}: cannot create a directory there ({exc.strerror})",
            hint="choose a writable directory",
        ) from None
    local: dict[str, str] = {}
    for name, uri in remote.items():
        shown = strip_credentials(uri)
        target = run_dir / name
        target.mkdir()
        with reporter.progress(f"downloading {shown} (parameter {name!r})"):
            local[name] = str(_fetch(name, uri, shown, target))
        reporter.info(f"parameter {name!r}: {shown} downloaded to {local[name]}")
    return local


def _fetch(name: str, uri: str, shown: str, target: Path) -> Path:
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(uri)
    except (ImportError, ValueError) as exc:  # a protocol whose package is missing
        raise UsageError(
            f"parameter {name!r}: cannot download {shown}: {_reason(exc)}",
            hint="install the fsspec package for that protocol (e.g. s3fs, gcsfs, adlfs)",
        ) from None
    dest = target / _basename(uri)
    try:
        if fs.isfile(path):
            fs.get_file(path, str(dest))
        elif fs.isdir(path):
            fs.get(path, str(dest), recursive=True)
        else:
            raise FileNotFoundError(uri)
    except FileNotFoundError:
        raise FetchError(
            f"parameter {name!r}: nothing to download at {shown}",
            hint="check the URI",
        ) from None
    except Exception as exc:  # fsspec and its protocols raise their own types
        raise FetchError(
            f"parameter {name!r}: downloading {shown} failed: {_reason(exc)}"
        ) from None
    return dest


def _basename(uri: str) -> str:
    name = PurePosixPath(urlsplit(uri).path).name
    return name if name not in ("", ".", "..") else "download"


def _reason(exc: BaseException) -> str:
    from mlrun.util.redact import redact

    text = str(exc).strip().splitlines()
    return redact(text[-1] if text else type(exc).__name__)
