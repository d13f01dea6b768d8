"""`mlrun run`: run an entry point of a project and exit with its exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlrun.backends import BACKENDS
from mlrun.backends import DEFAULT as DEFAULT_BACKEND
from mlrun.cli.entry import owns_process, startup_done
from mlrun.cli.options import seconds
from mlrun.cli.output import TerminalReporter, dump_json
from mlrun.cli.workflow_options import given_flags, options_from, stream_output, workflow_options
from mlrun.envs import CHOICES as ENV_MANAGERS


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("uri", default=".", required=False)
@click.option(
    "-e",
    "--entry-point",
    default="main",
    show_default=True,
    help="Entry point (or workflow) name, or a .py/.sh script in the project.",
)
@click.option(
    "-v",
    "--version",
    "version",
    default=None,
    help="Git branch, tag or commit to run (git projects).",
)
@click.option(
    "-P",
    "--param-list",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter, repeatable. Undeclared ones are passed as --NAME VALUE.",
)
@click.option(
    "-A",
    "--docker-args",
    "docker_args",
    multiple=True,
    metavar="NAME[=VALUE]",
    help="Extra `docker run` settings for docker projects, e.g. -A gpus=all.",
)
@click.option(
    "--env-manager",
    default=None,
    type=click.Choice(ENV_MANAGERS),
    help="How to build the project's environment (default: uv for python_env, "
    "conda for conda_env, local when none is declared).",
)
@click.option(
    "--experiment-name",
    default=None,
    envvar="MLRUN_EXPERIMENT_NAME",
    help="Experiment to record the run under, created when missing [default: Default].",
)
@click.option(
    "--experiment-id",
    default=None,
    metavar="ID",
    help="Experiment to record the run under, by the id the run store gave it "
    "(`mlrun runs list --json`: experiment_id), or the tracking server's when "
    "MLFLOW_TRACKING_URI names one; it must exist.",
)
@click.option("--run-name", default=None, help="A name for the run.")
@click.option(
    "--run-id",
    default=None,
    metavar="RUN_ID",
    help="Record the run under this id instead of a new one: an id no run of the store "
    "has yet, or an existing run of the MLflow tracking server to attach to (README).",
)
@click.option(
    "-b",
    "--backend",
    default=DEFAULT_BACKEND,
    show_default=True,
    metavar="NAME",
    help=f"Where the command starts: {', '.join(BACKENDS)}, or a backend a plugin "
    "registers (mlrun.backends entry points).",
)
@click.option(
    "-c",
    "--backend-config",
    default=None,
    metavar="JSON",
    help="Settings for the backend: a .json file or a JSON string.",
)
@click.option(
    "--storage-dir",
    default=None,
    metavar="DIR",
    help="Download `path` parameters given as remote URIs (http(s)://, s3://, ...) "
    "under DIR before the run and pass the local copy (needs mlrun[storage]).",
)
@click.option(
    "--docker-auth",
    default=None,
    metavar="JSON",
    help="docker: registry login for pulling the image, as MLflow's docker_auth: "
    'a .json file or a JSON string, e.g. \'{"registry": "...", "username": "...", '
    '"password": "..."}\'.',
)
@click.option(
    "--build-image",
    is_flag=True,
    help="docker: build an image with the code copied in, instead of a per-run copy.",
)
@click.option(
    "--mount-code",
    is_flag=True,
    help="docker: mount the project read-only instead of giving the run a writable copy.",
)
@click.option(
    "--tracking-uri",
    default=None,
    envvar="MLRUN_TRACKING_URI",
    help="Run store: a SQLite file path [default: the embedded store].",
)
@click.option(
    "--artifact-root",
    default=None,
    metavar="DIR",
    help="Where run directories (logs, outputs, artifacts) go: a directory every machine "
    "mounts, to share runs and the step cache [default: $MLRUN_ARTIFACT_ROOT, else next "
    "to the SQLite store].",
)
@click.option("--offline", is_flag=True, help="git: use the mirror cache only.")
@click.option("--require-clean", is_flag=True, help="Refuse to run a dirty git working tree.")
@click.option("--rebuild-env", is_flag=True, help="Rebuild the environment even if cached.")
@click.option(
    "--no-lock", is_flag=True, help="Build the env from its spec, ignoring its lock file."
)
@click.option(
    "--conda-to-pip",
    is_flag=True,
    help="conda.yaml without conda: also install its conda packages by pip name (best effort).",
)
@click.option("--keep-container", is_flag=True, help="docker: keep the container afterwards.")
@click.option(
    "--keep-workdir",
    is_flag=True,
    help="docker: keep the files the run left in its working directory as artifacts.",
)
@click.option(
    "--grace-period",
    default=10.0,
    show_default=True,
    type=float,
    callback=seconds,
    metavar="SECONDS",
    help="After SIGINT/SIGTERM, how long the command may take to stop before it is killed.",
)
@click.option("--dry-run", is_flag=True, help="Print what would run; run nothing.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Machine-readable output (the plan with --dry-run, else a final summary).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only the command's own output and errors.")
@workflow_options
@click.pass_context
def run(
    ctx: click.Context,
    /,
    uri: str,
    entry_point: str,
    version: str | None,
    params: tuple[str, ...],
    docker_args: tuple[str, ...],
    env_manager: str | None,
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    run_id: str | None,
    backend: str,
    backend_config: str | None,
    storage_dir: str | None,
    docker_auth: str | None,
    build_image: bool,
    mount_code: bool,
    tracking_uri: str | None,
    artifact_root: str | None,
    offline: bool,
    require_clean: bool,
    rebuild_env: bool,
    no_lock: bool,
    conda_to_pip: bool,
    keep_container: bool,
    keep_workdir: bool,
    grace_period: float,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    **workflow: Any,
) -> int:
    """Run an entry point of the project at URI (a directory; default: the current one).

    The exit code is the entry point's own (128+N if a signal stopped it).
    """
    from mlrun import runner
    from mlrun.backends import get_backend
    from mlrun.cli.options import parse_docker_args, parse_params
    from mlrun.envs.base import EnvOptions
    from mlrun.errors import EXIT_USAGE
    from mlrun.execution.reaping import become_subreaper
    from mlrun.recording import check_run_id, settle

    get_backend(backend)  # an unknown name fails here, naming the known ones
    reporter = TerminalReporter(
        quiet=quiet or (as_json and dry_run), debug=bool(ctx.obj and ctx.obj.get("debug"))
    )
    if owns_process():  # everything this run starts stays below mlrun (reaping.py)
        become_subreaper()
    settle(reporter)  # what mlrun processes that died left running, before it clashes
    request = runner.RunRequest(
        uri=uri,
        entry_point=entry_point,
        parameters=parse_params(params),
        version=version,
        env_manager=env_manager,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        run_id=check_run_id(run_id),
        storage_dir=storage_dir,
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        env_options=EnvOptions(
            rebuild=rebuild_env,
            build_image=build_image,
            docker_args=parse_docker_args(docker_args),
            keep_container=keep_container,
            offline=offline,
            no_lock=no_lock,
            conda_to_pip=conda_to_pip,
            mount_code=mount_code,
            keep_workdir=keep_workdir,
            docker_auth=_docker_auth(docker_auth),
        ),
        offline=offline,
        require_clean=require_clean,
        grace_period=grace_period,
        cwd=Path.cwd(),
        backend=backend,
        backend_config=_backend_config(backend_config),
    )
    request = runner.check_store_options(request)
    with runner.open_project(request, reporter) as opened:
        the_plan = runner.plan_unless_workflow(
            opened, request, reporter, workflow_flags=given_flags(workflow), dry_run=dry_run
        )
        if the_plan is None:
            from mlrun.cli.workflow_run import run_workflow

            runner.refuse_run_id_for_workflow(request)
            return run_workflow(
                opened,
                request._replace(echo=stream_output(workflow)),
                options_from(workflow),
                dry_run=dry_run,
                as_json=as_json,
                quiet=quiet,
                debug=reporter.debug_enabled,
                tracking_uri=tracking_uri,
            )
        if dry_run:
            if as_json:
                dump_json(the_plan.to_json())
            else:
                _print_plan(the_plan)
            # A plan that could not run here is not a success: CI reads the exit code,
            # and each problem is an error line, as the run would have printed it.
            _print_problems(the_plan.problems)
            return EXIT_USAGE if the_plan.problems else 0
        return _execute(the_plan, reporter, tracking_uri=tracking_uri, as_json=as_json)


def _execute(the_plan: Any, reporter: Any, *, tracking_uri: str | None, as_json: bool) -> int:
    from mlrun import runner
    from mlrun.tracking import open_store

    store = open_store(tracking_uri)
    reporter.info(
        f"running {the_plan.entry_point.name!r} of {the_plan.source.uri} "
        f"in {the_plan.env_plan.description}: {the_plan.command.display()}"
    )
    startup_done()
    result = runner.execute(the_plan, store, reporter)
    reporter.info(
        f"run {result.run_id} {result.status}" + (f" ({result.reason})" if result.reason else "")
    )
    if as_json:
        dump_json(
            {
                "run_id": result.run_id,
                "status": result.status,
                "exit_code": result.exit_code,
                "tracking_uri": store.uri,
            }
        )
    return result.exit_code


def _docker_auth(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    from mlrun.backends.config import parse_config
    from mlrun.envs.docker.auth import check_auth

    return check_auth(parse_config(value, "--docker-auth"))


def _backend_config(value: str | None) -> dict[str, Any]:
    if value is None:  # the usual case: no parsing module, no json on the start-up path
        return {}
    from mlrun.backends.config import parse_config

    return parse_config(value)


def _print_plan(the_plan: object) -> None:
    from mlrun.runner import Plan

    assert isinstance(the_plan, Plan)
    data = the_plan.to_json()
    click.echo(f"project:      {data['project_dir']}")
    click.echo(f"entry point:  {data['entry_point']}")
    for name, value in data["parameters"].items():
        click.echo(f"  -P {name}={value}")
    click.echo(f"environment:  {data['env']['description']}")
    for key, value in data["env"].items():
        if key not in ("kind", "key", "cached", "description") and value not in (
            None,
            [],
            {},
            False,
        ):
            click.echo(f"  {key}: {value}")
    click.echo(f"working dir:  {data['cwd']}")
    if data["backend"]["name"] != DEFAULT_BACKEND:
        click.echo(f"backend:      {data['backend']['name']}")
        for key, value in data["backend"].items():
            if key == "name":
                continue
            if isinstance(value, str) and "\n" in value:  # a script: as it would be written
                click.echo(f"  {key}:")
                click.echo("".join(f"    {line}\n" for line in value.splitlines()), nl=False)
            else:
                click.echo(f"  {key}: {value}")
    if "argv" in data:
        click.echo("argv:         " + " ".join(repr(a) for a in data["argv"]))
    else:
        click.echo(f"bash -c:      {data['shell']}")
    for name, uri in data.get("downloads", {}).items():
        click.echo(f"download:     {name}: {uri} -> under {data['storage_dir']}")
    if the_plan.problems:
        count = len(the_plan.problems)
        click.echo(f"problems:     {count} (the run would stop; the errors follow on stderr)")


def _print_problems(problems: list[Any]) -> None:
    from mlrun.util.redact import redact

    for problem in problems:
        click.echo(f"mlrun: error: {redact(problem.message)}", err=True)
        if problem.hint:
            click.echo(f"  hint: {redact(problem.hint)}", err=True)
