"""MLflow tracking interop: what a project's code logs with the MLflow client lands in
mlrun's run, with no change to the code.

The runner calls two things, at the two points where it creates and finishes the run
record (nothing in envs/ or execution/ knows about MLflow):

    tracker = prepare(record, store, reporter)   # before the env is built; may raise
    launch env += tracker.env                    # MLFLOW_TRACKING_URI, MLFLOW_RUN_ID, ...
    ... the command runs ...
    tracker.finish(store, status, reporter)      # whatever the ending; never raises

Where the run goes follows `MLFLOW_TRACKING_URI` in mlrun's own environment, as for
`mlflow run`: unset, a run-private file store inside the run directory (embedded.py);
an `http(s)://` URL, a tracking server (server.py); a `file:` URI or path, that file
store. Other stores are refused with a hint. `MLRUN_MLFLOW=off` turns the interop off.
Importing this package is cheap: the modules behind each mode load on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mlrun.errors import NotAvailableError

if TYPE_CHECKING:
    from mlrun.reporting import Reporter
    from mlrun.tracking.base import RunStore
    from mlrun.tracking.model import Run

SWITCH = "MLRUN_MLFLOW"  # "off" disables the interop
# Tags of mlrun's record that say where the MLflow run is.
TAG_URI = "mlrun.mlflow.tracking_uri"
TAG_RUN_ID = "mlrun.mlflow.run_id"
TAG_EXPERIMENT_ID = "mlrun.mlflow.experiment_id"
_OFF = ("0", "off", "false", "no", "none")
_SQL = ("sqlite", "postgresql", "mysql", "mssql")
_NAMED = ("databricks", "databricks-uc", "uc")  # MLflow's scheme-less remote stores


class Tracker:
    """The MLflow side of one run. The base class does nothing (interop off)."""

    env: dict[str, str]  # for the command
    host_network: bool  # the command must reach a service on this host's loopback

    def __init__(self) -> None:
        self.env = {}
        self.host_network = False

    def finish(self, store: RunStore, status: str, reporter: Reporter) -> None:
        """Bring what the code logged into mlrun's record and close the MLflow run.
        Never raises: the run must still be finished, and what failed is a warning."""
        try:
            self._finish(store, status, reporter)
        except Exception as exc:
            from mlrun.util.redact import redact

            reporter.warn(
                f"what the code logged to MLflow was not all recorded: {redact(str(exc))}"
            )

    def _finish(self, store: RunStore, status: str, reporter: Reporter) -> None:
        """What `finish` does (nothing when the interop is off)."""


def enabled() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() not in _OFF


def mode() -> tuple[str, str]:
    """(mode, tracking URI) for this process's environment: ("off", ""), ("embedded",
    ""), ("server", URL) or ("file", URI). Other stores raise NotAvailableError (exit 2):
    the runner asks while planning, before anything is recorded or built."""
    if not enabled():
        return "off", ""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if not uri:
        return "embedded", ""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme in ("http", "https"):
        return "server", uri
    if scheme == "file" or (not scheme and "://" not in uri and uri not in _NAMED):
        return "file", uri
    raise unsupported(uri)


def prepare(record: Run, store: RunStore, reporter: Reporter) -> Tracker:
    """Create the MLflow run for `record` and say how the command reaches it."""
    kind, uri = mode()
    if kind == "embedded":
        from mlrun.tracking.mlflow.embedded import embedded

        return embedded(record, reporter)
    if kind == "server":
        from mlrun.tracking.mlflow.server import ServerTracker

        return ServerTracker.start(uri, record, store, reporter)
    if kind == "file":
        from mlrun.tracking.mlflow.embedded import shared_file_store

        return shared_file_store(uri, record)
    return Tracker()


def unsupported(uri: str) -> NotAvailableError:
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    kind = "a database" if scheme in _SQL else f"a {scheme!r}"
    return NotAvailableError(
        f"MLFLOW_TRACKING_URI is {kind} store ({_shown(uri)}), which mlrun cannot give "
        "to a run's code; it supports an MLflow tracking server (http:// or https://) "
        "and file: stores.",
        hint="Unset MLFLOW_TRACKING_URI (each run then gets its own MLflow store in its "
        "run directory), or serve the store with `mlflow server --backend-store-uri "
        f"{_shown(uri)}` and set MLFLOW_TRACKING_URI=http://127.0.0.1:5000.",
    )


def _shown(uri: str) -> str:
    from mlrun.util.redact import strip_credentials

    return strip_credentials(uri)
