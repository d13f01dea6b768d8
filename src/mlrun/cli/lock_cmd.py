"""`mlrun lock`: resolve the project's environment and write its lock beside the spec."""

from __future__ import annotations

from pathlib import Path

import click

from mlrun.cli.output import TerminalReporter, dump_json


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("uri", default=".", required=False)
@click.option("--offline", is_flag=True, help="No network: local wheels and caches only.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def lock(ctx: click.Context, uri: str, offline: bool, as_json: bool, quiet: bool) -> int:
    """Resolve the environment of the project at URI (a local directory) and write its
    lock file beside the spec: python_env.yaml -> python_env.lock (exact versions with
    hashes), conda.yaml -> conda.lock (an explicit package list), docker_env ->
    docker_env.lock (the image digest). Runs then build exactly the lock."""
    from mlrun import sources
    from mlrun.envs.base import EnvOptions
    from mlrun.envs.locking import write_lock
    from mlrun.errors import UsageError
    from mlrun.spec.loader import load_project

    reporter = TerminalReporter(
        quiet=quiet or as_json, debug=bool(ctx.obj and ctx.obj.get("debug"))
    )
    with sources.resolve(uri, cwd=Path.cwd(), offline=offline, reporter=reporter) as source:
        if source.kind != "local":
            raise UsageError(
                f"mlrun lock writes the lock beside the environment spec, and {source.where()} "
                "is not a local directory",
                hint="run it in a working tree of the project, then commit the lock",
            )
        project = load_project(source.project_dir, source.root)
        before = _digest(project)
        written = write_lock(project, EnvOptions(offline=offline), reporter)
    shown = written.describe(project.directory)
    packages = _packages(written)
    changed = before != written.sha256
    if as_json:
        dump_json(
            {
                **shown,
                "spec": written.header.get("spec"),
                "changed": changed,
                "packages": packages,
                "header": dict(written.header),
            }
        )
        return 0
    click.echo(
        f"{shown['file']} {'written' if changed else 'unchanged'}: {len(packages)} "
        f"package(s) from {written.header.get('spec')} (sha256 {written.sha256[:12]})"
    )
    return 0


def _digest(project: object) -> str | None:
    from mlrun.envs.lockfile import lock_path
    from mlrun.spec.model import Project
    from mlrun.util.sha import file_sha256

    assert isinstance(project, Project)
    path = lock_path(project)
    return file_sha256(path) if path is not None and path.is_file() else None


def _packages(written: object) -> list[str]:
    """What the lock pins, one line each: name==version, a conda URL, an image."""
    from mlrun.envs.lockfile import Lock

    assert isinstance(written, Lock)
    if written.kind == "python":
        from mlrun.envs.python.lock import requirements

        return [line.split(" --hash")[0] for group in requirements(written.body) for line in group]
    if written.kind == "conda":
        return [
            line.split("#")[0]
            for line in written.body.splitlines()
            if line.strip() and not line.startswith(("#", "@"))
        ]
    return [line for line in written.body.splitlines() if line.startswith(("id:", "digest:"))]
