"""The Kubernetes backend's pieces that need no cluster: how a Job's and pod's states
read in the run's words, and what --dry-run shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mlrun.backends.kubernetes.states import look
from tests.helpers import cli, write_project

JOB = {"metadata": {"name": "p-1"}, "spec": {"activeDeadlineSeconds": 60}, "status": {}}


def _pod(phase: str, state: dict[str, Any], **status: Any) -> dict[str, Any]:
    containers = [{"name": "p", "state": state}] if state else []
    return {
        "metadata": {"name": "p-1-x"},
        "status": {"phase": phase, "containerStatuses": containers, **status},
    }


def test_waiting_reasons_are_reported_and_only_pull_errors_are_stuck() -> None:
    pulling = look(
        JOB,
        _pod("Pending", {"waiting": {"reason": "ImagePullBackOff", "message": "back-off"}}),
        "p",
    )
    assert (pulling.waiting, pulling.stuck, pulling.ended) == (
        "ImagePullBackOff: back-off",
        True,
        None,
    )
    unschedulable = _pod(
        "Pending",
        {},
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory.",
            }
        ],
    )
    seen = look(JOB, unschedulable, "p")
    assert seen.waiting == "Unschedulable: 0/3 nodes are available: 3 Insufficient memory."
    assert not seen.stuck and seen.ended is None  # a node may come: keep waiting
    assert look(JOB, None, "p").state == "Pending"


def test_kubernetes_endings_in_the_runs_words() -> None:
    running = look(JOB, _pod("Running", {"running": {}}), "p")
    assert running.running and running.ended is None
    evicted = _pod("Failed", {}, reason="Evicted", message="The node was low on resource: memory.")
    assert look(JOB, evicted, "p").ended == (
        "FAILED",
        137,
        "the pod was evicted: The node was low on resource: memory.",
    )
    killed = _pod("Failed", {"terminated": {"exitCode": 0, "signal": 15, "reason": "Error"}})
    assert look(JOB, killed, "p").ended == ("FAILED", 143, "the command was ended by SIGTERM")
    failed_job = {
        **JOB,
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ]
        },
    }
    assert look(failed_job, None, "p").ended == (
        "FAILED",
        1,
        "Job p-1 failed before its command ran: Job has reached the specified backoff limit",
    )
    # With retries allowed, a failed pod is not the end: the Job's condition is.
    retried = look(JOB, _pod("Failed", {"terminated": {"exitCode": 1}}), "p", backoff_limit=2)
    assert retried.ended is None


def test_dry_run_shows_the_job_with_secrets_by_reference(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        name: docker-example
        docker_env:
          image: busybox
          environment: [["TOKEN", "s3cret-token-value"]]
        entry_points:
          main:
            parameters: {alpha: float}
            command: "python train.py --alpha {alpha}"
        """,
    )
    config = {
        "repository-uri": "registry.example.com/team/p",
        "namespace": "ml",
        "resources": {"cpu": 1, "memory": "2Gi", "gpu": 1},
        "backoff_limit": 2,
        "node_selector": {"pool": "gpu"},
        "service_account": "trainer",
        "image_pull_secrets": ["regcred"],
        "ttl_seconds_after_finished": 600,
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    result = cli(
        "run",
        str(project),
        "-b",
        "kubernetes",
        "-c",
        json.dumps(config),
        "-P",
        "alpha=0.5",
        "--dry-run",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert "s3cret-token-value" not in result.stdout
    job = yaml.safe_load(plan["backend"]["job"])
    assert job["metadata"]["namespace"] == "ml"
    assert job["spec"]["backoffLimit"] == 2 and job["spec"]["ttlSecondsAfterFinished"] == 600
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "trainer"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["nodeSelector"] == {"pool": "gpu"}
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "train.py", "--alpha", "0.5"]
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"memory": "2Gi", "nvidia.com/gpu": "1"},
    }
    token = next(e for e in container["env"] if e["name"] == "TOKEN")
    assert token["valueFrom"]["secretKeyRef"]["key"] == "TOKEN"
    assert plan["env"]["description"].endswith("with the code copied in (--build-image)")


def test_a_pods_end_waits_for_the_jobs_condition_which_may_say_more() -> None:
    ended = _pod("Failed", {"terminated": {"exitCode": 143, "reason": "Error"}})
    early = look(JOB, ended, "p")
    assert early.ended == ("FAILED", 143, "the command exited with 143") and not early.settled
    deadline = {
        **JOB,
        "status": {
            "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]
        },
    }
    late = look(deadline, ended, "p")
    assert late.settled
    assert late.ended == ("FAILED", 143, "Job p-1 reached its activeDeadlineSeconds (60 s)")
