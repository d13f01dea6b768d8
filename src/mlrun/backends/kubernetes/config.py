"""The Kubernetes backend's settings (`-c/--backend-config`), checked before anything runs.

MLflow's keys are taken as MLflow documents them: `kube-context` (optional: the current
context), `repository-uri` (where the project's image is pushed) and
`kube-job-template-path` (a Job spec in YAML; mlrun's default when absent). mlrun's own
keys set what users otherwise edit the template for. Errors are one sentence naming the
key and the value (exit 2)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrun.backends.config import bad_setting, path_setting, refuse_unknown, seconds_setting
from mlrun.errors import UsageError

DEFAULT_POLL_INTERVAL = 5.0  # the longest wait between two looks at the Job
DEFAULT_PENDING_TIMEOUT = 120.0  # how long an image that cannot be pulled is waited for
MAX_TEMPLATE_BYTES = 1 << 20

MLFLOW_KEYS = ("kube-context", "repository-uri", "kube-job-template-path")
OWN_KEYS = (
    "kubeconfig",
    "namespace",
    "service_account",
    "image_pull_secrets",
    "resources",
    "node_selector",
    "tolerations",
    "ttl_seconds_after_finished",
    "active_deadline_seconds",
    "backoff_limit",
    "poll_interval",
    "pending_timeout",
)
KNOWN = (*MLFLOW_KEYS, *OWN_KEYS)
LABEL = "Kubernetes"  # in errors: "Kubernetes setting 'x' must be ..."
RESOURCE_KEYS = ("cpu", "memory", "gpu", "gpu_resource")

# Kubernetes names: a DNS-1123 label (namespaces, secrets we refer to) and quantities.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\Z")
_QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?\Z")
_LABEL_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?\Z")
_REPOSITORY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)*\Z")


class KubeConfig:
    """The checked settings. A plain class: built once per run."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.context: str | None = _text(config, "kube-context")
        self.repository: str | None = _repository(config.get("repository-uri"))
        self.template_path: Path | None = _path(config, "kube-job-template-path")
        self.kubeconfig: Path | None = _path(config, "kubeconfig")
        self.namespace: str | None = _name(config, "namespace", _LABEL, "a namespace name")
        self.service_account = _name(config, "service_account", _SUBDOMAIN, "an account name")
        self.image_pull_secrets: list[str] = _names(config, "image_pull_secrets")
        self.resources: dict[str, str] = _resources(config.get("resources"))
        self.node_selector: dict[str, str] = _labels(config.get("node_selector"))
        self.tolerations: list[dict[str, Any]] = _tolerations(config.get("tolerations"))
        self.ttl_seconds_after_finished = _count(config, "ttl_seconds_after_finished", 0)
        self.active_deadline_seconds = _count(config, "active_deadline_seconds", 1)
        self.backoff_limit = _count(config, "backoff_limit", 0)
        self.poll_interval = _seconds(config, "poll_interval", DEFAULT_POLL_INTERVAL, 0.05)
        self.pending_timeout = _seconds(config, "pending_timeout", DEFAULT_PENDING_TIMEOUT, 0)

    def require_repository(self) -> str:
        if self.repository is None:
            raise UsageError(
                "the Kubernetes backend needs 'repository-uri' in its config: the registry "
                "repository the project's image is pushed to, which the cluster pulls from",
                hint='e.g. -c \'{"repository-uri": "registry.example.com/team/project"}\'',
            )
        return self.repository


def parse(config: Mapping[str, Any]) -> KubeConfig:
    refuse_unknown(LABEL, config, KNOWN)
    parsed = KubeConfig(config)
    parsed.require_repository()
    return parsed


def load_template(path: Path | None) -> dict[str, Any]:
    """The Job template as a dict (a fresh copy every time: it is filled in per run).
    None: mlrun's default, a Job of one container that runs once."""
    if path is None:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {},
            "spec": {"template": {"spec": {"containers": [{}], "restartPolicy": "Never"}}},
        }
    where = f"the Kubernetes job template {path} (kube-job-template-path)"
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TEMPLATE_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{where} does not exist") from None
    except OSError as exc:
        raise UsageError(f"{where} could not be read: {exc.strerror}") from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise UsageError(f"{where} is larger than {MAX_TEMPLATE_BYTES // 1024} KiB")
    from mlrun.spec.yamlio import load_yaml  # its limits: no alias bombs, no huge files

    return check_template(load_yaml(data, str(path)).data, where)


def check_template(doc: Any, where: str) -> dict[str, Any]:
    """MLflow's rules: a Job whose spec.template.spec has at least one container."""
    if not isinstance(doc, dict) or doc.get("kind", "Job") != "Job":
        raise UsageError(f"{where} must be a Kubernetes Job (kind: Job)")
    spec = doc.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    containers = pod.get("containers") if isinstance(pod, dict) else None
    if not isinstance(containers, list) or not containers or not isinstance(containers[0], dict):
        raise UsageError(
            f"{where} has no container under spec.template.spec.containers",
            hint="the first container is the one whose image, command and env are filled in",
        )
    if not isinstance(doc.setdefault("metadata", {}), dict):
        raise UsageError(f"{where}: metadata must be a mapping")
    env = containers[0].get("env") or []
    if not isinstance(env, list):
        raise UsageError(f"{where}: the first container's env must be a list")
    kept = []
    for entry in env:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            kept.append(entry)
        elif not _placeholder(entry):
            raise UsageError(
                f"{where}: the first container's env holds {entry!r}, which is not a "
                "{name: ..., value: ...} entry"
            )
    # MLflow's documented template writes `env: ["{appended with MLFLOW_TRACKING_URI,
    # ...}"]`: a placeholder, not a variable (an API server would refuse it).
    containers[0]["env"] = kept
    return doc


def _placeholder(entry: Any) -> bool:
    return isinstance(entry, str) and entry.startswith("{") and entry.endswith("}")


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\0" in value or "\n" in value:
        raise _bad(key, value, "a non-empty string")
    return value.strip()


def _repository(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _REPOSITORY.match(value.strip()):
        raise _bad(
            "repository-uri",
            value,
            "a registry repository without tag or digest (registry.example.com/team/project)",
        )
    return value.strip()


def _path(config: Mapping[str, Any], key: str) -> Path | None:
    return path_setting(LABEL, key, config.get(key), "a path to a file")


def _name(config: Mapping[str, Any], key: str, pattern: re.Pattern[str], looks: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise _bad(key, value, f"{looks} (lower-case letters, digits and '-')")
    return value


def _names(config: Mapping[str, Any], key: str) -> list[str]:
    value = config.get(key)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(
        isinstance(i, str) and _SUBDOMAIN.match(i) for i in items
    ):
        raise _bad(key, value, "a Secret name or a list of them")
    return list(items)


def _resources(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("resources", value, 'an object such as {"cpu": "2", "memory": "4Gi", "gpu": 1}')
    found: dict[str, str] = {}
    for key, item in value.items():
        if key not in RESOURCE_KEYS:
            raise UsageError(
                f"Kubernetes setting 'resources' has no key {key!r}",
                hint=f"known keys: {', '.join(RESOURCE_KEYS)}",
            )
        if key == "gpu_resource":
            if not isinstance(item, str) or not _LABEL_KEY.match(item):
                raise _bad("resources.gpu_resource", item, "a resource name (nvidia.com/gpu)")
            found[key] = item
            continue
        text = str(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else item
        if not isinstance(text, str) or not _QUANTITY.match(text):
            raise _bad(f"resources.{key}", item, "a Kubernetes quantity (500m, 2, 4Gi)")
        if key == "gpu" and not text.isdigit():
            raise _bad("resources.gpu", item, "a whole number of GPUs")
        found[key] = text
    return found


def _labels(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and _LABEL_KEY.match(k) and isinstance(v, str) and _LABEL_VALUE.match(v)
        for k, v in value.items()
    ):
        raise _bad("node_selector", value, 'node labels and values: {"disktype": "ssd"}')
    return dict(value)


def _tolerations(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    allowed = {"key", "operator", "value", "effect", "tolerationSeconds"}
    if not isinstance(value, list) or not all(
        isinstance(t, dict) and t and set(t) <= allowed for t in value
    ):
        raise _bad(
            "tolerations",
            value,
            "a list of tolerations ({key, operator, value, effect, tolerationSeconds})",
        )
    return [dict(t) for t in value]


def _count(config: Mapping[str, Any], key: str, least: int) -> int | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise _bad(key, value, f"a whole number of at least {least}")
    return value


def _seconds(config: Mapping[str, Any], key: str, default: float, least: float) -> float:
    return seconds_setting(LABEL, key, config.get(key), default, least, 86400)


def _bad(key: str, value: Any, looks: str) -> UsageError:
    return bad_setting(LABEL, key, value, looks)
