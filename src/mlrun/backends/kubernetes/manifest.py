"""The Job (and the Secret beside it) that runs one run, from the user's template.

MLflow's template rules, as its docs ("Run an MLflow Project on Kubernetes") state them:
`metadata.name` is replaced (the project's name and something unique), and of the
*first* container the name (the project's), the image (the pushed image, by digest) and
the command (the entry point's words) are replaced, and `MLFLOW_TRACKING_URI`,
`MLFLOW_RUN_ID` and `MLFLOW_EXPERIMENT_ID` are appended to its env, in MLflow's order
(run id, tracking URI, experiment id); `KUBE_MLFLOW_TRACKING_URI` wins over
`MLFLOW_TRACKING_URI`. Everything else in the template is kept.

What mlrun adds: the run id as a label of the Job and its pods; mlrun's own variables
after MLflow's; values that are secrets (docker_env.environment, MLflow tracking
credentials) only by reference to the run's Secret, never as literal values in the
spec; an emptyDir at $MLRUN_RUN_DIR whose outputs.json comes back as the container's
termination message; and the settings of the backend config (namespace, service
account, pull secrets, resources, node selector, tolerations, deadlines, retries)."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mlrun.backends.kubernetes.config import KubeConfig

RUN_LABEL = "mlrun/run-id"
MANAGED_BY = ("app.kubernetes.io/managed-by", "mlrun")
POD_RUN_DIR = "/mlrun/run"  # $MLRUN_RUN_DIR in the pod: an emptyDir
RUN_VOLUME = "mlrun-run"
OUTPUTS_MESSAGE = f"{POD_RUN_DIR}/outputs.json"  # read back as the termination message
MLFLOW_VARS = ("MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")
CREDENTIALS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
# Variables of the local run that mean nothing in a pod: the store, the artifact root
# and run directory are on this machine (the pod gets its own run directory).
NOT_SENT = frozenset({"MLRUN_TRACKING_URI", "MLRUN_ARTIFACT_ROOT"})
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+\Z")
_NETWORK_SCHEMES = ("http://", "https://", "databricks")


def slug(name: str, limit: int) -> str:
    """A DNS-1123 label part: `My_Project` -> `my-project`."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:limit].strip("-")
    return text or "project"


def job_name(project: str, run_id: str) -> str:
    """The project's name and the run id: unique, and at most 63 characters (a label)."""
    return f"{slug(project, 30)}-{run_id[:32]}"


def secret_name(job: str) -> str:
    return f"{job}-env"


def tracking_uri(environ: Mapping[str, str]) -> str | None:
    """What MLflow sends as MLFLOW_TRACKING_URI: KUBE_MLFLOW_TRACKING_URI first. A local
    store (a path, file:, sqlite:) is of no use in a pod and is not sent."""
    for name in ("KUBE_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        value = (environ.get(name) or "").strip()
        if value:
            return value if value.startswith(_NETWORK_SCHEMES) else None
    return None


class PodEnv:
    """The container's environment split in two: literal values (ordered, as they go
    into the spec) and secrets (only their names appear in the spec)."""

    def __init__(self, literal: list[tuple[str, str]], secret: dict[str, str]) -> None:
        self.literal = literal
        self.secret = secret


def pod_env(
    environment: Mapping[str, str],
    secret_names: Sequence[str],
    run_id: str,
    host_environ: Mapping[str, str] | None = None,
) -> PodEnv:
    """Split a run's container environment (ContainerSpec.environment) for the pod.
    MLflow's three variables come first: from the run's environment when mlrun's
    MLflow tracking set them, else as `mlflow run` would take them from this one."""
    from mlrun.util.redact import strip_credentials

    host = os.environ if host_environ is None else host_environ
    env = {k: v for k, v in environment.items() if k not in NOT_SENT}
    env["MLRUN_RUN_DIR"] = POD_RUN_DIR
    uri = tracking_uri(host) or tracking_uri(env)
    mlflow = {
        "MLFLOW_RUN_ID": env.get("MLFLOW_RUN_ID") or run_id,
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_EXPERIMENT_ID": env.get("MLFLOW_EXPERIMENT_ID") or host.get("MLFLOW_EXPERIMENT_ID"),
    }
    secret = {name: env[name] for name in secret_names if name in env}
    if uri is not None:
        for name in CREDENTIALS:
            value = env.get(name) or host.get(name)
            if value:
                secret[name] = value
        if strip_credentials(uri) != uri:  # https://user:token@host: the URI is a secret
            secret["MLFLOW_TRACKING_URI"] = uri
            mlflow["MLFLOW_TRACKING_URI"] = None
    literal = [(k, v) for k, v in mlflow.items() if v is not None]
    literal += [
        (k, v) for k, v in env.items() if k not in secret and k not in mlflow and v is not None
    ]
    return PodEnv(literal, secret)


def secret_manifest(
    name: str, namespace: str, run_id: str, values: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(run_id)},
        "stringData": dict(values),
    }


def bad_secret_names(names: Sequence[str]) -> list[str]:
    """Names a Secret cannot hold as keys (letters, digits, '-', '_', '.')."""
    return [name for name in names if not _SECRET_KEY.match(name)]


def job_manifest(
    template: dict[str, Any],
    *,
    name: str,
    namespace: str,
    project: str,
    run_id: str,
    image: str,
    command: Sequence[str],
    env: PodEnv,
    secret: str | None,
    config: KubeConfig,
) -> dict[str, Any]:
    """The Job to create: `template` (not modified) filled in for this run."""
    job = copy.deepcopy(template)
    job.setdefault("apiVersion", "batch/v1")
    job.setdefault("kind", "Job")
    meta = job.setdefault("metadata", {})
    meta["name"] = name
    meta["namespace"] = namespace
    meta["labels"] = {**(meta.get("labels") or {}), **_labels(run_id)}
    spec = job["spec"]
    pod_template = spec["template"]
    pod_meta = pod_template.setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **_labels(run_id)}
    pod = pod_template["spec"]
    pod.setdefault("restartPolicy", "Never")
    container = pod["containers"][0]
    container["name"] = slug(project, 63)
    container["image"] = image
    container["command"] = list(command)
    container.pop("args", None)  # the command is the entry point's, whole
    container["env"] = [
        *(container.get("env") or []),
        *({"name": k, "value": v} for k, v in env.literal),
        *(
            {"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}}
            for k in sorted(env.secret)
        ),
    ]
    container.setdefault("terminationMessagePath", OUTPUTS_MESSAGE)
    mounts = container.setdefault("volumeMounts", [])
    mounts.append({"name": RUN_VOLUME, "mountPath": POD_RUN_DIR})
    pod.setdefault("volumes", []).append({"name": RUN_VOLUME, "emptyDir": {}})
    _apply(job, config)
    return job


def _apply(job: dict[str, Any], config: KubeConfig) -> None:
    """The backend config's settings over the template's."""
    spec = job["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    # A run runs once unless asked otherwise (Kubernetes' default would retry 6 times).
    spec.setdefault("backoffLimit", 0)
    for key, field in (
        ("backoff_limit", "backoffLimit"),
        ("ttl_seconds_after_finished", "ttlSecondsAfterFinished"),
        ("active_deadline_seconds", "activeDeadlineSeconds"),
    ):
        value = getattr(config, key)
        if value is not None:
            spec[field] = value
    if config.service_account:
        pod["serviceAccountName"] = config.service_account
    if config.image_pull_secrets:
        known = pod.setdefault("imagePullSecrets", [])
        known += [{"name": n} for n in config.image_pull_secrets if {"name": n} not in known]
    if config.node_selector:
        pod["nodeSelector"] = {**(pod.get("nodeSelector") or {}), **config.node_selector}
    if config.tolerations:
        pod.setdefault("tolerations", []).extend(config.tolerations)
    wanted = config.resources
    if any(k in wanted for k in ("cpu", "memory", "gpu")):
        resources = container.setdefault("resources", {})
        requests = resources.setdefault("requests", {})
        limits = resources.setdefault("limits", {})
        if "cpu" in wanted:
            requests["cpu"] = wanted["cpu"]
        if "memory" in wanted:  # what the pod may use is what it is given
            requests["memory"] = limits["memory"] = wanted["memory"]
        if "gpu" in wanted:  # extended resources are limits (requests follow)
            limits[wanted.get("gpu_resource", "nvidia.com/gpu")] = wanted["gpu"]


def _labels(run_id: str) -> dict[str, str]:
    return {RUN_LABEL: run_id, MANAGED_BY[0]: MANAGED_BY[1]}


def memory_limit(job: Mapping[str, Any]) -> str | None:
    """The first container's memory limit, named when it runs out of memory."""
    try:
        container = job["spec"]["template"]["spec"]["containers"][0]
        return str(container["resources"]["limits"]["memory"])
    except (KeyError, IndexError, TypeError):
        return None
