"""`kubernetes`: each run is a Kubernetes Job (issue 14), configured as for
`mlflow run -b kubernetes --backend-config kubernetes_config.json`.

The project's docker_env image gets the code copied in (the docker env's `--build-image`
path, always on here), is pushed to `repository-uri` unless the registry already holds
it, and runs as the first container of a Job made from the user's template (MLflow's
rules, manifest.py). mlrun watches the Job from here as it would a local process: the
container's log streams into the run's logs, why the pod waits is reported as it
happens, the exit code and Kubernetes' endings (OOMKilled, DeadlineExceeded, eviction)
become the run's, and Ctrl-C / SIGTERM delete the Job. Secrets go through a Secret
created for the run and deleted with it. What the Job is goes into the record as
`mlrun.kubernetes.*` tags.

Modules: config.py (the settings and the template), manifest.py (the Job and the
Secret), api.py (the API server, through the `kubernetes` client, imported lazily),
image.py (the registry), states.py (a Job's state in the run's words), child.py (the Job
as the supervisor's Child)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrun.backends.kubernetes import config as kube_config
from mlrun.envs.base import EnvOptions, EnvPlan, Launch, PreparedEnv
from mlrun.execution.child import Child
from mlrun.reporting import Reporter
from mlrun.spec.model import Command, Project

DRY_RUN_IMAGE = "{repository-uri}:{content digest}@sha256:{pushed digest}"


class KubernetesBackend:
    name = "kubernetes"

    def check(self, env_plan: EnvPlan, config: Mapping[str, Any]) -> None:
        cfg = kube_config.parse(config)
        kube_config.load_template(cfg.template_path)

    def env_options(
        self, project: Project, options: EnvOptions, config: Mapping[str, Any]
    ) -> EnvOptions:
        """The cluster cannot see this machine's files: the code goes into the image
        (other projects are refused by admit(), once the run is recorded)."""
        return options._replace(build_image=project.env.docker is not None)

    def admit(self, env_plan: EnvPlan, config: Mapping[str, Any]) -> None:
        """Before any image is built: a docker_env project and a usable kube context."""
        from mlrun.backends.kubernetes.api import KubeError, connect

        if env_plan.starts != "container":
            raise KubeError(
                "the Kubernetes backend runs docker_env projects, and this project has "
                f"no docker_env (its environment is {env_plan.manager})",
                hint="add a docker_env with the image to run in (the code is copied into "
                "it), or run with -b local",
            )
        cfg = kube_config.parse(config)
        kube = connect(cfg.kubeconfig, cfg.context)
        kube.check_access(namespace(cfg, kube.namespace))

    def describe(
        self, env_plan: EnvPlan, command: Command, cwd: Path, config: Mapping[str, Any]
    ) -> dict[str, Any]:
        from mlrun.backends.kubernetes.manifest import job_manifest, job_name, pod_env
        from mlrun.envs.docker.manager import container_command

        cfg = kube_config.parse(config)
        project = env_plan.project.name or env_plan.project.directory.name
        secrets = [str(n) for n in env_plan.details.get("environment") or []]
        placeholders = {name: "(secret)" for name in secrets}
        placeholders.update({"MLRUN_RUN_ID": "RUN_ID", "MLRUN_EXPERIMENT_NAME": "EXPERIMENT"})
        env = pod_env({**placeholders, **command.env}, secrets, "RUN_ID")
        job = job_manifest(
            kube_config.load_template(cfg.template_path),
            name=job_name(project, "RUN_ID"),
            namespace=namespace(cfg, "{the context's namespace}"),
            project=project,
            run_id="RUN_ID",
            image=DRY_RUN_IMAGE.replace("{repository-uri}", cfg.require_repository()),
            command=container_command(command),
            env=env,
            secret=f"{job_name(project, 'RUN_ID')}-env" if env.secret else None,
            config=cfg,
        )
        import yaml

        return {
            "name": self.name,
            "context": cfg.context or "(the kube config's current context)",
            "repository": cfg.repository,
            "job": yaml.safe_dump(job, sort_keys=False),  # as kubectl would be given it
        }

    def start(
        self, env: PreparedEnv, launch: Launch, config: Mapping[str, Any], reporter: Reporter
    ) -> Child:
        from mlrun.backends.kubernetes.start import start

        return start(env, launch, kube_config.parse(config), reporter)


def namespace(cfg: kube_config.KubeConfig, context_namespace: str) -> str:
    """Where the run's Job goes: the config's namespace, else the template's, else the
    kube context's."""
    template = kube_config.load_template(cfg.template_path)
    return cfg.namespace or str(template["metadata"].get("namespace") or context_namespace)


BACKEND = KubernetesBackend()
