"""Benchmark: a rerun of an unchanged project with `mlrun run -b kubernetes`, and the
image step MLflow's kubernetes backend takes on every run, side by side.

`mlflow run -b kubernetes` builds the project's image (`FROM` the docker_env image, the
code copied in) and pushes it before every run, changed or not. mlrun tags the image by
the content digest and pushes only what the registry lacks, so a rerun of unchanged code
builds and pushes nothing. Timed, alternating, medians of --runs:

  (a) MLflow's image step alone, as bare docker CLI commands: `docker build` of the code
      image (the engine's layer cache warm) + `docker push` of it to the loopback
      registry (every layer already there);
  (b) the whole `mlrun run -b kubernetes` of the same project: start-up, plan, image
      check, Secret, Job, watching it to its end and recording it. The cluster is kmock's
      emulator with a test controller that completes each Job at once
      (tests/kube/kubetools.py), so (b) is mlrun's own cost, not a cluster's scheduling.

(a) is not a whole MLflow run (the CI's MLflow venv has no `kubernetes` package, so
`mlflow run -b kubernetes` cannot run here); it shows what skipping the image step saves
on a warm, local registry: little. Needs the docker engine, the CI registry
(tests/services.py) and kmock.

    python bench/run_kubernetes.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _common import time_once  # noqa: E402
from tests import services  # noqa: E402
from tests.docker_support import BUSYBOX, engine, ensure_busybox  # noqa: E402
from tests.kube.kubetools import Controller, Script  # noqa: E402
from tests.kube_emulator import NO_KMOCK, KubeEmulator, kmock_available  # noqa: E402

DOCKERFILE = "FROM {image}\nCOPY . /mlflow/projects/code/\nWORKDIR /mlflow/projects/code\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    client, why = engine()
    registry = services.registry_address()
    docker_cli = shutil.which("docker")
    if client is None or registry is None or docker_cli is None or not kmock_available():
        sys.exit(why or (services.NO_REGISTRY if registry is None else NO_KMOCK))
    problem = ensure_busybox(client)
    if problem:
        sys.exit(problem)
    repository = f"{registry}/mlrun-bench/kube-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="mlrun-bench-") as tmp, KubeEmulator() as kube:
        root = Path(tmp)
        project = root / "project"
        project.mkdir()
        (project / "MLproject").write_text(
            f"name: bench\ndocker_env:\n  image: {BUSYBOX}\n"
            'entry_points:\n  main:\n    command: "true"\n'
        )
        (project / "Dockerfile.mlflow").write_text(DOCKERFILE.format(image=BUSYBOX))
        config = root / "kube.json"
        config.write_text(json.dumps({"repository-uri": repository}))
        env = dict(os.environ, MLRUN_HOME=str(root / "home"))
        env["KUBECONFIG"] = str(kube.write_kubeconfig(root / "kubeconfig"))
        mlflow_tag = f"{repository}-mlflow:abc1234"
        build = [docker_cli, "build", "-q", "-t", mlflow_tag, "-f", "Dockerfile.mlflow", "."]
        push = [docker_cli, "push", "-q", mlflow_tag]
        mlrun = [sys.executable, "-m", "mlrun", "run", "-q", str(project)]
        mlrun += ["-b", "kubernetes", "-c", str(config)]
        times: dict[str, list[float]] = {"mlflow image step": [], "mlrun rerun": []}
        with Controller(kube, lambda job: Script(log="")):
            first = time_once(mlrun, env=env)  # builds and pushes once
            time_once(build, env=env, cwd=project)
            time_once(push, env=env)
            for _ in range(runs):
                times["mlflow image step"].append(
                    time_once(build, env=env, cwd=project) + time_once(push, env=env)
                )
                times["mlrun rerun"].append(time_once(mlrun, env=env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{runs} runs each, alternating; first mlrun run (build + push): {first:.2f}s")
    for name, values in times.items():
        print(f"  {name:<18} {medians[name]:6.3f}s  ({min(values):.3f} .. {max(values):.3f})")
    print(
        f"mlrun's whole rerun: {medians['mlrun rerun']:.2f}s; MLflow's image step alone: "
        f"{medians['mlflow image step']:.2f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
