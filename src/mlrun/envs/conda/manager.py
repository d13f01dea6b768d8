"""`conda`: conda_env projects (conda.yaml: channels, dependencies, a `pip:` section).

Built with the executable named by MLRUN_CONDA_EXE (`rattler` there means py-rattler), else
the first of micromamba, mamba or conda on PATH, else py-rattler (the `mlrun[conda]` extra:
no conda install needed). The
`pip:` section is installed with uv into the env's Python, like a python_env.

A python_env project run with `--env-manager conda` gets a conda env with its Python
version and its dependencies in the pip section (MLflow's conversion, in reverse)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrun.envs.base import EnvOptions
from mlrun.envs.cache.managed import CachedManager, Inputs, path_with
from mlrun.envs.cache.store import BuildContext
from mlrun.envs.conda.spec import CondaSpec
from mlrun.envs.python.bytecode import compile_bytecode, install_environ
from mlrun.envs.python.venv import index_args, platform_tag, relative_files
from mlrun.errors import EnvBuildError, UsageError
from mlrun.spec.model import Project

EXECUTABLES = ("micromamba", "mamba", "conda")


def find_builder() -> tuple[str, str | None]:
    """(builder name, executable path); the path is None for py-rattler."""
    chosen = os.environ.get("MLRUN_CONDA_EXE")
    if chosen == "rattler":
        from mlrun.envs.conda import rattler as conda_rattler

        if not conda_rattler.available():
            raise EnvBuildError(
                "MLRUN_CONDA_EXE=rattler, but py-rattler is not installed",
                hint="pip install 'mlrun[conda]'",
            )
        return "rattler", None
    if chosen:
        path = shutil.which(chosen)
        if path is None:
            raise EnvBuildError(
                f"MLRUN_CONDA_EXE names {chosen!r}, which is not an executable",
                hint="point it at conda, mamba or micromamba, or unset it",
            )
        name = os.path.basename(path)
        return (name if name in EXECUTABLES else "conda"), path
    for name in EXECUTABLES:
        path = shutil.which(name)
        if path:
            return name, path
    from mlrun.envs.conda import rattler as conda_rattler

    if conda_rattler.available():
        return "rattler", None
    raise EnvBuildError(
        "no conda was found to build this conda env (looked for micromamba, mamba and conda "
        "on PATH, and for py-rattler)",
        hint="pip install 'mlrun[conda]' (no conda install needed), set MLRUN_CONDA_EXE, or "
        "build it without conda: --env-manager uv (its Python version and pip: section, as "
        "MLflow does) or --conda-to-pip (also its conda packages that have a pip name)",
    )


class CondaManager(CachedManager):
    name = "conda"

    def inputs(self, project: Project, options: EnvOptions) -> Inputs:
        from mlrun.envs.python.requirements import resolve

        spec = conda_spec(project)
        file = str(spec.file)
        inputs = Inputs(label="conda env", key_parts={}, details={"file": file})
        inputs.warnings += spec.warnings
        try:
            builder, exe = find_builder()
        except EnvBuildError as exc:
            inputs.problem = exc
            return inputs
        pip = resolve(spec.pip, project.directory, file)
        channels = [_channel(c, project.directory) for c in spec.channels]
        inputs.payload = (spec, builder, exe, pip, channels, project.directory)
        inputs.details["builder"] = builder
        inputs.key_parts = {
            "kind": "conda",
            "builder": builder,
            "platform": platform_tag(),
            "spec": {**spec.canonical(), "channels": channels},
            "files": relative_files(pip.inputs, project.directory),
        }
        return inputs

    def build(self, inputs: Inputs, ctx: BuildContext, options: EnvOptions) -> dict[str, Any]:
        from mlrun.envs.installed import conda_packages, python_packages

        spec, builder, exe, pip, channels, project_dir = inputs.payload
        tools: dict[str, str] = {}
        if exe is None:
            from mlrun.envs.conda import rattler as conda_rattler

            conda_rattler.install(
                channels or ["conda-forge"], spec.dependencies, ctx.prefix, ctx.log
            )
            tools["py-rattler"] = conda_rattler.version()
        else:
            self._with_executable(builder, exe, spec, channels, ctx)
            tools[builder] = ctx.log.run([exe, "--version"], what=f"{builder} version").strip()
        if pip.lines:
            python = ctx.prefix / "bin" / "python"
            if not python.exists():
                raise EnvBuildError(
                    f"{spec.file} has a `pip:` section, but python is not among its dependencies",
                    hint="add `- python=3.11` (or the version you need) to dependencies",
                )
            from mlrun.envs.python.uv import uv_binary

            requirements = ctx.directory / "pip-requirements.txt"
            requirements.write_text("\n".join(pip.lines) + "\n")
            ctx.log.run(
                [
                    uv_binary(),
                    "pip",
                    "install",
                    "--python",
                    str(python),
                    *index_args("uv", options),
                    "-r",
                    str(requirements),
                ],
                what="installing the pip section",
                cwd=project_dir,
                env=install_environ(),
            )
        compile_bytecode(ctx, ctx.prefix)  # the pip section's, and noarch conda packages'
        packages = conda_packages(ctx.prefix) + python_packages(ctx.prefix)
        ctx.log.note("installed: " + " ".join(packages))
        return {
            "builder": builder,
            "packages": packages,
            "tools": tools,
            "variables": dict(spec.variables),
            "unpinned": pip.unpinned,
        }

    def _with_executable(
        self, builder: str, exe: str, spec: CondaSpec, channels: list[str], ctx: BuildContext
    ) -> None:
        import yaml

        env_file = ctx.directory / "environment.yml"
        env_file.write_text(
            yaml.safe_dump(
                {"channels": channels, "dependencies": list(spec.dependencies)}, sort_keys=False
            )
        )
        if builder == "micromamba":
            argv = [exe, "create", "--yes", "--prefix", str(ctx.prefix), "--file", str(env_file)]
        else:
            argv = [exe, "env", "create", "--prefix", str(ctx.prefix), "--file", str(env_file)]
        env = {**os.environ, "CONDA_ALWAYS_YES": "true"}
        ctx.log.run(argv, what=f"creating the env with {builder}", cwd=ctx.directory, env=env)

    def healthy(self, prefix: Path, marker: Mapping[str, Any]) -> bool:
        return os.path.isfile(prefix / "conda-meta" / "history")

    def environ(self, prefix: Path, marker: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
        variables = marker.get("variables") or {}
        return (
            {
                **variables,
                "PATH": path_with(prefix),
                "CONDA_PREFIX": str(prefix),
                "CONDA_DEFAULT_ENV": str(prefix),
            },
            {"VIRTUAL_ENV"},
        )


def without_conda_summary(spec: CondaSpec) -> dict[str, Any]:
    """For `mlrun validate`: what a venv manager (uv, virtualenv) makes of this
    conda.yaml, and which conda builder this machine has (None: no conda here, so such
    a build is the only way to run it)."""
    from mlrun.envs.conda.spec import without_conda

    plan = without_conda(spec)
    try:
        builder: str | None = find_builder()[0]
    except EnvBuildError:
        builder = None
    return {
        "python": plan.python,
        "build_dependencies": list(plan.build),
        "pip": list(spec.pip),
        "not_installed": [dep for dep, _ in (*plan.convertible, *plan.not_convertible)],
        "conda_to_pip": {dep: requirement for dep, requirement in plan.convertible},
        "conda": builder,
    }


def no_conda_warning(summary: dict[str, Any]) -> str | None:
    """The warning for a machine without conda where a build without it leaves packages
    out (None when conda is here or nothing would be left out)."""
    if summary["conda"] is not None or not summary["not_installed"]:
        return None
    message = (
        "no conda on this machine (micromamba, mamba, conda or py-rattler), so it runs only "
        "with --env-manager uv or virtualenv, which install its Python version and `pip:` "
        "section, as MLflow does, and not " + ", ".join(summary["not_installed"])
    )
    if summary["conda_to_pip"]:
        names = ", ".join(summary["conda_to_pip"].values())
        message += f" (--conda-to-pip would install {names} from the package index)"
    return message


def conda_spec(project: Project) -> CondaSpec:
    from mlrun.envs.conda.spec import load_conda_env

    env = project.env
    if env.kind == "conda_env" and env.file is not None:
        return load_conda_env(env.file)
    if env.kind == "python_env" and env.file is not None:
        from mlrun.envs.python.spec import load_python_env

        python = load_python_env(env.file)
        version = python.python or ".".join(str(v) for v in sys.version_info[:3])
        return CondaSpec(
            file=env.file,
            channels=("conda-forge",),
            dependencies=(f"python={version}", "pip"),
            pip=python.build_dependencies + python.dependencies,
            warnings=python.warnings,
        )
    raise UsageError(
        "--env-manager conda needs a project with a conda.yaml (conda_env)",
        hint="add a conda.yaml, or drop --env-manager to run in the current env",
    )


def _channel(channel: str, project_dir: Path) -> str:
    """Local channel paths made absolute URLs (relative ones: to the project)."""
    if channel.startswith((".", "/", "~")):
        return Path(os.path.normpath(project_dir / os.path.expanduser(channel))).as_uri()
    return channel


MANAGER = CondaManager()
