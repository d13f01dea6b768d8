"""Starting one run on the cluster: the image into the registry, the Secret, the Job."""

from __future__ import annotations

from mlrun.backends.kubernetes import namespace as job_namespace
from mlrun.backends.kubernetes.api import KubeError, connect
from mlrun.backends.kubernetes.child import KubeChild
from mlrun.backends.kubernetes.config import KubeConfig, load_template
from mlrun.backends.kubernetes.image import publish
from mlrun.backends.kubernetes.manifest import (
    bad_secret_names,
    job_manifest,
    job_name,
    memory_limit,
    pod_env,
    secret_manifest,
    secret_name,
    slug,
)
from mlrun.envs.base import ContainerSpec, Launch, PreparedEnv
from mlrun.reporting import Reporter


def start(env: PreparedEnv, launch: Launch, cfg: KubeConfig, reporter: Reporter) -> KubeChild:
    from mlrun.envs.docker.manager import DockerEnv

    assert isinstance(env, DockerEnv), "admit() refuses other environments"
    what = env.what_to_start(launch)
    assert isinstance(what, ContainerSpec)
    template = load_template(cfg.template_path)
    kube = connect(cfg.kubeconfig, cfg.context)
    settings = env.settings
    _warn_unused(settings.binds, sorted(settings.args.kwargs), reporter)
    secret_names = list(settings.env)
    bad = bad_secret_names(secret_names)
    if bad:
        raise KubeError(
            f"docker_env.environment names {bad[0]!r}, which a Kubernetes Secret cannot "
            "hold (letters, digits, '-', '_' and '.' only)",
            hint="rename the variable",
        )
    tag = str(env.record.get("code_image") or "").rpartition(":")[2]
    published = publish(env.client, env.image, tag, cfg.require_repository(), reporter)
    project = env.plan.project.name or env.plan.project.directory.name
    name = job_name(project, launch.run_id)
    namespace = job_namespace(cfg, kube.namespace)
    pod = pod_env(what.environment, secret_names, launch.run_id)
    secret = secret_name(name) if pod.secret else None
    job = job_manifest(
        template,
        name=name,
        namespace=namespace,
        project=project,
        run_id=launch.run_id,
        image=published.reference,
        command=what.command,
        env=pod,
        secret=secret,
        config=cfg,
    )
    if secret is not None:
        kube.create_secret(namespace, secret_manifest(secret, namespace, launch.run_id, pod.secret))
    try:
        kube.create_job(namespace, job)
    except BaseException:
        if secret is not None:
            try:
                kube.delete_secret(namespace, secret)
            except KubeError:
                pass
        raise
    where = f" (context {kube.context})" if kube.context else ""
    reporter.info(f"created Kubernetes Job {namespace}/{name}{where}")
    return KubeChild(
        kube,
        namespace,
        name,
        run_id=launch.run_id,
        container=slug(project, 63),
        secret=secret,
        image=published.reference,
        pushed=published.pushed,
        run_dir=launch.run_dir,
        poll_interval=cfg.poll_interval,
        pending_timeout=cfg.pending_timeout,
        memory_limit=memory_limit(job),
        backoff_limit=int(job["spec"].get("backoffLimit") or 0),
        report=reporter.warn,
    )


def _warn_unused(binds: tuple[str, ...], docker_args: list[str], reporter: Reporter) -> None:
    if binds:
        reporter.warn(
            "docker_env.volumes are not mounted on Kubernetes (the pod runs on another "
            f"machine): {', '.join(binds)}"
        )
    if docker_args:
        reporter.warn(
            "docker run options (-A) do not apply on Kubernetes; use the job template: "
            + ", ".join(docker_args)
        )
