"""A run on an MLflow tracking server (MLFLOW_TRACKING_URI=http(s)://...).

Before the command starts: the experiment (created when missing), the run with the tags
`mlflow run` sets and the `-P` parameters, through the REST API; a server that cannot be
reached or refuses is one error (exit 125) and nothing runs. The command logs into that
run (MLFLOW_RUN_ID). At the end: what the outputs protocol collected (params.json,
tags.json, metrics.jsonl, artifacts/ through the server's artifact proxy) is sent; what
the code logged on the server (params, tags, metric histories) joins mlrun's record; the
run ends FINISHED / FAILED / KILLED with its end time. mlrun's record keeps the server
URL (no credentials) and the MLflow run id, in `mlrun.mlflow.*` tags.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mlrun.reporting import Reporter
from mlrun.tracking.base import RunStore
from mlrun.tracking.mlflow import TAG_EXPERIMENT_ID, TAG_RUN_ID, TAG_URI, Tracker
from mlrun.tracking.mlflow.filestore import valid_key
from mlrun.tracking.mlflow.rest import RestClient, ServerError, auth_environment
from mlrun.tracking.mlflow.tags import mlflow_run_tags, run_name
from mlrun.tracking.model import Metric, Model, Run

# Limits of runs/log-batch (MLflow's REST API).
_BATCH = {"metrics": 1000, "params": 100, "tags": 100}
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "ip6-localhost")
_MAX_VALUE = 6000  # the longest param value MLflow accepts (tags: 8000)


class ServerTracker(Tracker):
    def __init__(
        self,
        client: RestClient,
        record: Run,
        run_id: str,
        experiment_id: str,
        experiment: str,
        params: dict[str, str],
        tags: dict[str, str],
    ) -> None:
        super().__init__()
        self.client = client
        self.record = record
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.params = params
        self.tags = tags
        self.env = {
            **auth_environment(),
            "MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"].strip(),
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
            "MLFLOW_EXPERIMENT_NAME": experiment,
        }
        host = (_host(client.url) or "").lower()
        # A container reaches a server on this host's loopback only through the host's
        # network (see Launch.host_network).
        self.host_network = host in _LOOPBACK or host.startswith("127.")

    @classmethod
    def start(cls, uri: str, record: Run, store: RunStore, reporter: Reporter) -> ServerTracker:
        client = RestClient(uri)
        experiment_id, experiment = _experiment(client, record)
        if experiment != record.experiment:
            store.update_run(record.run_id, experiment=experiment)
        tags = mlflow_run_tags(record, _parent(store, record))
        params = {k: v for k, v in record.params.items() if valid_key(k)}
        created = client.post(
            "runs/create",
            {
                "experiment_id": experiment_id,
                "user_id": record.user,
                "run_name": run_name(record),
                "start_time": int(record.start_time * 1000),
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            },
        )
        run_id = str(created.get("run", {}).get("info", {}).get("run_id", ""))
        if not run_id:
            raise ServerError(f"the MLflow tracking server at {client.url} created no run.")
        tracker = cls(client, record, run_id, experiment_id, experiment, params, tags)
        try:
            tracker._log_batch(params=params)
            store.update_run(
                record.run_id,
                tags={TAG_URI: client.url, TAG_RUN_ID: run_id, TAG_EXPERIMENT_ID: experiment_id},
            )
        except BaseException:
            tracker._end("FAILED", reporter)  # no run left RUNNING on the server
            raise
        reporter.info(f"MLflow run {run_id} on {client.url} (experiment {experiment!r})")
        return tracker

    def _finish(self, store: RunStore, status: str, reporter: Reporter) -> None:
        """Each exchange on its own: one that fails (a server gone, a value it refuses)
        is a warning and the others still happen; the run always ends, on both sides."""
        record = store.get_run(self.record.run_id)
        exchanges: list[tuple[str, Callable[[], None]]] = [
            ("sending the run's outputs", lambda: self._send_outputs(record, reporter)),
            ("reading what the code logged", lambda: self._import(store, record)),
            ("reading the runs it started", lambda: self._import_children(store, record, status)),
        ]
        for what, exchange in exchanges:
            try:
                exchange()
            except Exception as exc:
                shown = str(exc) if isinstance(exc, ServerError) else repr(exc)
                reporter.warn(f"MLflow run {self.run_id}: {what} failed: {shown}")
        self._end(status, reporter)

    def _end(self, status: str, reporter: Reporter | None, run_id: str | None = None) -> None:
        run_id = run_id or self.run_id
        try:
            self.client.post(
                "runs/update",
                {"run_id": run_id, "status": status, "end_time": int(time.time() * 1000)},
            )
        except ServerError as exc:
            if reporter is not None:
                reporter.warn(f"MLflow run {run_id} could not be set {status}: {exc}")

    # -- what mlrun collected goes to the server ----------------------------------------

    def _send_outputs(self, record: Run, reporter: Reporter) -> None:
        params = {
            k: v
            for k, v in record.params.items()
            if k not in self.params and valid_key(k) and len(v) <= _MAX_VALUE
        }
        # mlrun's own tags too (workflow, step...), unless too long for the server.
        tags = {
            k: v
            for k, v in record.tags.items()
            if valid_key(k) and k not in _OURS and len(v) <= _MAX_VALUE
        }
        self._log_batch(
            params=params,
            tags=tags,
            metrics=[m for m in record.metrics if valid_key(m.key)],
        )
        self._upload(record, reporter)

    def _upload(self, record: Run, reporter: Reporter) -> None:
        if not record.artifacts:
            return
        info = self.client.get("runs/get", run_id=self.run_id).get("run", {}).get("info", {})
        uri = str(info.get("artifact_uri") or "")
        if not uri.startswith("mlflow-artifacts:"):
            reporter.warn(
                f"the MLflow tracking server keeps artifacts at {uri or '?'}, which mlrun "
                "cannot write to; they stay in the mlrun run only (serve artifacts with "
                "`mlflow server --artifacts-destination ...`)"
            )
            return
        base = _artifact_root(uri)
        root = Path(record.run_dir) / "artifacts"
        for artifact in record.artifacts:
            if artifact.path.startswith("mlrun/"):
                continue  # mlrun's provenance files (uncommitted diff...) stay with mlrun
            path = root / artifact.path
            if path.is_file():
                self.client.upload(f"{base}/{artifact.path}", path.read_bytes())

    def _log_batch(
        self,
        *,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        metrics: Sequence[Metric] = (),
    ) -> None:
        entries: dict[str, list[dict[str, Any]]] = {
            "params": [{"key": k, "value": v} for k, v in (params or {}).items()],
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
            "metrics": [
                {
                    "key": m.key,
                    "value": m.value,
                    "step": m.step,
                    "timestamp": int((m.timestamp or time.time()) * 1000),
                }
                for m in metrics
            ],
        }
        for kind, items in entries.items():
            for chunk in _chunks(items, _BATCH[kind]):
                self.client.post("runs/log-batch", {"run_id": self.run_id, kind: chunk})

    # -- what the code logged on the server joins mlrun's record ------------------------

    def _import(self, store: RunStore, record: Run) -> None:
        data = self.client.get("runs/get", run_id=self.run_id).get("run", {}).get("data", {})
        params = {
            p["key"]: p["value"]
            for p in data.get("params", [])
            if record.params.get(p["key"]) != p["value"]
        }
        tags = {
            t["key"]: t["value"]
            for t in data.get("tags", [])
            if self.tags.get(t["key"]) != t["value"] and record.tags.get(t["key"]) != t["value"]
        }
        known = {m.key for m in record.metrics}
        metrics = [
            metric
            for key in sorted({m["key"] for m in data.get("metrics", [])} - known)
            for metric in self._history(key)
        ]
        if params:
            store.log_params(record.run_id, params)
        if tags:
            store.set_tags(record.run_id, tags)
        if metrics:
            store.log_metrics(record.run_id, metrics)
        info = self.client.get("runs/get", run_id=self.run_id).get("run", {}).get("info", {})
        all_tags = {t["key"]: t["value"] for t in data.get("tags", [])}
        models = self._models(self.run_id, all_tags, str(info.get("artifact_uri") or ""))
        if models:
            store.log_models(record.run_id, models)

    def _import_children(self, store: RunStore, record: Run, status: str) -> None:
        """Runs the code started on the server (nested at any depth) become child runs;
        one it left open ends as its parent did (KILLED when the parent succeeded)."""
        from mlrun.tracking.mlflow.importer import Child, record_child

        found: list[dict[str, Any]] = []
        parents = [self.run_id]
        while parents:
            parent = parents.pop(0)
            runs = self._search_runs(f"tags.mlflow.parentRunId = '{parent}'")
            found += runs
            parents += [r["info"]["run_id"] for r in runs]
        known = {r["info"]["run_id"] for r in found}
        for run in found:
            info, data = run["info"], run.get("data", {})
            run_id = str(info["run_id"])
            tags = {t["key"]: t["value"] for t in data.get("tags", [])}
            child = Child(
                run_id=run_id,
                name=info.get("run_name") or tags.get("mlflow.runName"),
                parent_id=tags.get("mlflow.parentRunId"),
                status=str(info.get("status", "RUNNING")),
                start_time=int(info.get("start_time") or 0) / 1000 or None,
                end_time=int(info.get("end_time") or 0) / 1000 or None,
                params={p["key"]: p["value"] for p in data.get("params", [])},
                tags=tags,
                metrics=[
                    m
                    for key in sorted({m["key"] for m in data.get("metrics", [])})
                    for m in self._history(key, run_id)
                ],
                run_dir=record.run_dir,
                models=self._models(run_id, tags, str(info.get("artifact_uri") or "")),
            )
            final = record_child(store, record, child, known, status)
            if final is not None and final != child.status:
                self._end(final, None, run_id)

    def _search_runs(self, filter_string: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        token = ""
        while True:
            body: dict[str, Any] = {
                "experiment_ids": [self.experiment_id],
                "filter": filter_string,
                "max_results": 1000,
            }
            if token:
                body["page_token"] = token
            page = self.client.post("runs/search", body)
            runs += page.get("runs", [])
            token = str(page.get("next_page_token") or "")
            if not token:
                return runs

    def _models(self, run_id: str, tags: dict[str, str], artifact_uri: str) -> list[Model]:
        """Models of a run on the server: MLflow 2's log-model history tag, MLflow 3's
        logged models (flavors from their MLmodel file, through the artifact proxy)."""
        import json

        models: list[Model] = []
        try:
            history = json.loads(tags.get("mlflow.log-model.history", "[]"))
        except ValueError:
            history = []
        for entry in history if isinstance(history, list) else []:
            path = str(entry.get("artifact_path", ""))
            models.append(
                Model(
                    f"{artifact_uri.rstrip('/')}/{path}" if artifact_uri else path,
                    path,
                    sorted(entry.get("flavors") or {}),
                    entry.get("model_uuid"),
                    None,
                )
            )
        try:
            logged = self.client.post(
                "logged-models/search",
                {
                    "experiment_ids": [self.experiment_id],
                    "filter": f"source_run_id = '{run_id}'",
                    "max_results": 100,
                },
            ).get("models", [])
        except ServerError:
            logged = []  # an MLflow 2 server has no logged models
        for model in logged:
            info = model.get("info", {})
            uri = str(info.get("artifact_uri", ""))
            flavors, version = self._mlmodel(uri)
            models.append(
                Model(uri, str(info.get("name", "")), flavors, info.get("model_id"), version)
            )
        return models

    def _mlmodel(self, uri: str) -> tuple[list[str], str | None]:
        if not uri.startswith("mlflow-artifacts:"):
            return [], None
        import yaml

        try:
            data = yaml.safe_load(self.client.download(_artifact_root(uri) + "/MLmodel"))
        except (ServerError, yaml.YAMLError):
            return [], None
        if not isinstance(data, dict):
            return [], None
        flavors = data.get("flavors")
        version = data.get("mlflow_version")
        return sorted(flavors) if isinstance(flavors, dict) else [], str(
            version
        ) if version else None

    def _history(self, key: str, run_id: str | None = None) -> Iterator[Metric]:
        token = ""
        while True:
            query = {"run_id": run_id or self.run_id, "metric_key": key, "max_results": "25000"}
            if token:
                query["page_token"] = token
            page = self.client.get("metrics/get-history", **query)
            for m in page.get("metrics", []):
                yield Metric(key, float(m["value"]), int(m.get("step", 0)), m["timestamp"] / 1000)
            token = str(page.get("next_page_token") or "")
            if not token:
                return


_OURS = (TAG_URI, TAG_RUN_ID, TAG_EXPERIMENT_ID)


def _experiment(client: RestClient, record: Run) -> tuple[str, str]:
    """(id, name) of the run's experiment on the server, created when missing. Without
    an experiment name anywhere, MLFLOW_EXPERIMENT_ID chooses it, as for mlflow run."""
    by_id = os.environ.get("MLFLOW_EXPERIMENT_ID", "").strip()
    named = record.experiment != "Default" or any(
        os.environ.get(v) for v in ("MLRUN_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
    )
    if by_id and not named:
        found = client.get("experiments/get", experiment_id=by_id).get("experiment", {})
        return _active(client, found, by_id)
    name = record.experiment
    for attempt in range(2):
        try:
            found = client.get("experiments/get-by-name", experiment_name=name)
            return _active(client, found.get("experiment", {}), name)
        except ServerError as exc:
            if exc.code != "RESOURCE_DOES_NOT_EXIST" or attempt:
                raise
        try:
            created = client.post("experiments/create", {"name": name})
            return str(created["experiment_id"]), name
        except ServerError as exc:
            if exc.code != "RESOURCE_ALREADY_EXISTS":  # made meanwhile: look again
                raise
    raise AssertionError("unreachable")


def _active(client: RestClient, experiment: dict[str, Any], which: str) -> tuple[str, str]:
    if experiment.get("lifecycle_stage", "active") != "active":
        raise ServerError(
            f"the experiment {which!r} on the MLflow tracking server at {client.url} is deleted.",
            hint="restore it in the MLflow UI, or choose another with --experiment-name",
        )
    return str(experiment["experiment_id"]), str(experiment["name"])


def _parent(store: RunStore, record: Run) -> str | None:
    """The MLflow run of the parent mlrun run (a workflow's), when it has one here."""
    if not record.parent_run_id:
        return None
    from mlrun.errors import RunNotFoundError

    try:
        parent = store.get_run(record.parent_run_id)
    except RunNotFoundError:
        return None
    return parent.tags.get(TAG_RUN_ID)


def _artifact_root(uri: str) -> str:
    """`mlflow-artifacts:/0/<run>/artifacts` (or with //host:port) -> the proxy path."""
    from urllib.parse import urlsplit

    return urlsplit(uri).path.strip("/")


def _host(url: str) -> str | None:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname


def _chunks(items: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
