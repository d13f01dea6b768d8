"""Docker images with the real MLflow client, made here from the locally built test
python image (Docker Hub is not reachable): the client and its dependencies are
installed on the host by uv (from its cache, for the image's Python 3.11 on glibc
2.28+), copied in, and put on PYTHONPATH. Built once per engine and client version."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.docker_support import PYTHON, has_image
from tests.mlflowinterop.conftest import EXTRAS

DOCKERFILE = f"""\
FROM {PYTHON}
COPY site /opt/mlflow-site
ENV PYTHONPATH=/opt/mlflow-site
"""


def image_name(version: str) -> str:
    return f"mlrun-test/mlflow-skinny:{version}"


def ensure_mlflow_image(client: Any, version: str) -> str:
    name = image_name(version)
    if has_image(client, name):
        return name
    from uv import find_uv_bin

    with tempfile.TemporaryDirectory(prefix="mlrun-mlflow-image-") as tmp:
        context = Path(tmp)
        subprocess.run(
            [
                str(find_uv_bin()),
                "pip",
                "install",
                "--quiet",
                "--target",
                str(context / "site"),
                "--python-version",
                "3.11",
                "--python-platform",
                "x86_64-manylinux_2_28",
                f"mlflow-skinny=={version}",
                *EXTRAS,
            ],
            check=True,
        )
        (context / "Dockerfile").write_text(DOCKERFILE)
        client.images.build(path=str(context), tag=name, rm=True)
    return name
