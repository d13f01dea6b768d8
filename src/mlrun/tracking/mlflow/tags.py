"""The tags `mlflow run` puts on a project run, made from mlrun's run record, so MLflow's
UI shows a run made through mlrun as it shows one made by `mlflow run`."""

from __future__ import annotations

from mlrun.tracking.model import Run

PARENT = "mlflow.parentRunId"


def run_name(record: Run) -> str:
    return record.run_name or f"{record.entry_point}-{record.run_id[:8]}"


def mlflow_run_tags(record: Run, parent_mlflow_run_id: str | None = None) -> dict[str, str]:
    source = record.source
    remote = source.get("repo") if source.get("vcs") == "git" else None
    tags = {
        "mlflow.source.name": remote or record.source_uri,
        "mlflow.source.type": "PROJECT",
        "mlflow.project.entryPoint": record.entry_point,
        "mlflow.project.env": record.env_kind,
        "mlflow.project.backend": "local",
        "mlflow.user": record.user,
        "mlflow.runName": run_name(record),
    }
    if source.get("commit"):
        tags["mlflow.source.git.commit"] = str(source["commit"])
    if source.get("branch"):
        tags["mlflow.source.git.branch"] = str(source["branch"])
    if remote:
        tags["mlflow.source.git.repoURL"] = str(remote)
        tags["mlflow.gitRepoURL"] = str(remote)
    parent = parent_mlflow_run_id or record.parent_run_id
    if parent:
        tags[PARENT] = parent
    return {k: str(v) for k, v in tags.items()}
