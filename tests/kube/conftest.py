"""Fixtures of the Kubernetes tests (tests/kube/kubetools.py has the helpers)."""

from tests.dockerenv.conftest import busybox_image, docker_client
from tests.kube.kubetools import kube

__all__ = ["busybox_image", "docker_client", "kube"]
