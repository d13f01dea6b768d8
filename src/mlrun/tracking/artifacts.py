"""The artifact root: where run directories live, `<root>/<run_id>/{logs,outputs}`.

The one place that decides it (`choose()`):

- `--artifact-root DIR` (`mlrun.run(artifact_root=...)`), else $MLRUN_ARTIFACT_ROOT: a
  directory every machine mounts at the same path, so that runs recorded in a shared
  store (and the step cache) can be read everywhere. A relative path is taken from the
  current directory and recorded absolute; a symlink is kept as written (each machine
  may resolve it differently), not resolved.
- else next to the embedded store's SQLite file (`<dir of mlrun.db>/runs`), as before;
- else, for a store without a local file (PostgreSQL), the data dir's `runs/`
  ($MLRUN_HOME/runs), with a warning (`ArtifactRoot.warning`): other machines cannot read those
  files, so their cached steps re-run there.

Object storage is not built: a `s3://`-like URI is refused (NotAvailableError, exit 2).
The seam for it is the `ArtifactRoot` interface -- a local directory for the run to write
to (`run_dir`) and the run directories it holds (`entries`, for `mlrun runs gc`) --
chosen by URI scheme in `choose()`; and `unreadable()`, whether a recorded run's files
can be read here (the step cache asks it).
"""

from __future__ import annotations

import abc
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun.errors import NotAvailableError, StoreError, UsageError

if TYPE_CHECKING:
    from mlrun.tracking.base import RunStore

ENV = "MLRUN_ARTIFACT_ROOT"
MARKER = "mlrun-store"  # in each run directory: the (redacted) URI of the store that owns it
_HINT = "Give a directory every machine mounts at the same path, e.g. --artifact-root /mnt/mlrun."
_RUN_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
# A scheme has two characters or more: "C:" is a Windows drive, not a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")


class ArtifactRoot(abc.ABC):
    """Where run directories live. `uri` is what records and messages show."""

    uri: str
    warning: str | None = None  # said once when a run is recorded (a private default)

    @abc.abstractmethod
    def run_dir(self, run_id: str, store_uri: str) -> Path:
        """Make the run's local directory (its `outputs/` inside) and return it."""

    @abc.abstractmethod
    def entries(self) -> Iterator[Path]:
        """Every entry directly under the root (for `mlrun runs gc`), not followed."""


class LocalRoot(ArtifactRoot):
    """A directory of this machine's filesystem: a local disk, or a shared mount."""

    def __init__(self, path: Path, warning: str | None = None) -> None:
        self.path = path
        self.uri = str(path)
        self.warning = warning

    def __repr__(self) -> str:
        return f"LocalRoot({self.uri!r})"

    def run_dir(self, run_id: str, store_uri: str) -> Path:
        root = self.path / run_id
        try:
            (root / "outputs").mkdir(parents=True, exist_ok=True)
            (root / MARKER).write_text(store_uri + "\n")
        except OSError as exc:
            raise StoreError(
                f"cannot create the run directory {root}: {exc.strerror}.",
                hint=f"check that the artifact root {self.path} is mounted and writable",
            ) from None
        return root

    def entries(self) -> Iterator[Path]:
        try:
            names = sorted(os.listdir(self.path))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise UsageError(
                f"cannot list the artifact root {self.path}: {exc.strerror}.", hint=_HINT
            ) from None
        for name in names:
            yield self.path / name


def is_run_id(name: str) -> bool:
    """1 to 64 letters, digits, '_' or '-', not starting with '-': a run id, and so the
    name of a run directory (MLflow's ids are 32 hex digits)."""
    return 0 < len(name) <= 64 and set(name) <= _RUN_ID_CHARS and name[0] != "-"


def unreadable(recorded: str) -> str | None:
    """Why a recorded run directory cannot be read here; None when it can. Records hold
    local paths (on a shared root: the path every machine mounts); a root in object
    storage would record a URI, and be asked here by its scheme."""
    import stat

    path = recorded
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return f"{path} does not exist here"
    except PermissionError:
        return f"{path} is not readable here (permission denied on the way to it)"
    except OSError as exc:  # a stale NFS handle, an I/O error
        return f"{path} cannot be read here ({exc.strerror})"
    if not stat.S_ISDIR(mode):
        return f"{path} is not a directory"
    if not os.access(path, os.R_OK | os.X_OK):
        return f"{path} is not readable here"
    return None


def choose(given: str | None = None, store: RunStore | None = None) -> ArtifactRoot:
    """The artifact root in effect: `given` (--artifact-root), else $MLRUN_ARTIFACT_ROOT,
    else the default for `store` (see the module). A given root is checked and made:
    UsageError / NotAvailableError (exit 2) for one that cannot be."""
    text = given if given else os.environ.get(ENV)
    if text:
        return LocalRoot(check_root(text, "--artifact-root" if given else ENV))
    path = getattr(store, "path", None)
    if isinstance(path, Path):  # the embedded store: its files next to it
        return LocalRoot(path.parent / "runs")
    from mlrun.util.paths import data_dir

    local = data_dir() / "runs"
    uri = getattr(store, "uri", None) or "the run store"
    return LocalRoot(
        local,
        warning=(
            f"run files go to {local} on this machine, which other machines using "
            f"{uri} cannot read (their cached steps re-run there); set --artifact-root "
            f"or {ENV} to a directory every machine mounts."
        ),
    )


def check_root(text: str, what: str = "--artifact-root", create: bool = True) -> Path:
    """The absolute path an artifact root names, made if missing (its parent must
    exist) unless not `create`; UsageError naming the value when it cannot hold run
    directories."""
    value = text.strip()
    if not value:
        raise UsageError(f"{what} is empty.", hint=_HINT)
    match = _SCHEME.match(value)
    scheme = match.group(1).lower() if match else ""
    if scheme == "file":
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise UsageError(f"{what} {value!r} does not name a local directory.", hint=_HINT)
        value = unquote(parts.path)
    elif scheme:
        raise NotAvailableError(
            f"{what} {_shown(value)!r}: artifact roots in object storage ({scheme}://) "
            "are not available yet.",
            hint="mount it on every machine (e.g. s3fs, gcsfuse, blobfuse2) and give the "
            "mount point, e.g. --artifact-root /mnt/mlrun",
        )
    path = Path(value).expanduser().absolute()
    where = f"{what} {value!r}" + ("" if str(path) == value else f" ({path})")
    if os.path.islink(path) and not os.path.exists(path):
        raise UsageError(
            f"{where} is a symlink to {os.readlink(path)}, which does not exist.", hint=_HINT
        )
    if os.path.lexists(path) and not os.path.isdir(path):
        raise UsageError(f"{where} is a file, not a directory.", hint=_HINT)
    if not os.path.isdir(path):
        if not create:
            raise UsageError(f"{where} does not exist.", hint=_HINT)
        parent = path.parent
        if not os.path.isdir(parent):
            raise UsageError(
                f"{where} does not exist, nor does its parent {parent}.",
                hint="is the shared filesystem mounted? mlrun creates the root itself, "
                "not the directories above it",
            )
        try:
            path.mkdir(exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{where} cannot be created: {exc.strerror}.", hint=_HINT) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{where} is not writable by this user.", hint=_HINT)
    return path


def _shown(value: str) -> str:
    from mlrun.util.redact import redact

    return redact(value)
