"""python_env projects (and conda.yaml ones run without conda): what the uv and virtualenv
managers share. They differ only in how the venv is created and packages installed.

Key = hash of: the builder, the interpreter's version and implementation, the platform,
the normalised spec, and the digests of every file or local package it references."""

from __future__ import annotations

import abc
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrun.envs.base import EnvOptions
from mlrun.envs.cache.managed import CachedManager, Inputs, path_with
from mlrun.envs.cache.store import BuildContext
from mlrun.envs.python.bytecode import compile_bytecode
from mlrun.envs.python.interpreters import Interpreter
from mlrun.envs.python.spec import PythonEnvSpec
from mlrun.spec.model import Project


class PythonEnvManager(CachedManager):
    builder: str  # "uv" | "virtualenv"
    installer_compiles = False  # pip compiles what it installs; uv does not

    def inputs(self, project: Project, options: EnvOptions) -> Inputs:
        from mlrun.envs.python import interpreters
        from mlrun.envs.python.requirements import resolve

        spec = python_spec(project, options)
        file = str(spec.file) if spec.file else "the project"
        build = resolve(spec.build_dependencies, project.directory, file)
        deps = resolve(spec.dependencies, project.directory, file)
        converted = resolve(spec.converted, project.directory, file)
        found, note = interpreters.find(spec.python)
        inputs = Inputs(
            label=f"{self.builder} env",
            key_parts={},
            details={"file": file, "builder": self.builder},
        )
        inputs.warnings += spec.warnings
        if note:
            inputs.warnings.append(f"{file}: {note}")
        if found is None:
            assert spec.python is not None
            inputs.problem = interpreters.not_found(spec.python, file)
            return inputs
        inputs.payload = (spec, found, build, deps, project.directory)
        inputs.details["python"] = found.version
        if spec.left_out:
            inputs.details["conda_left_out"] = list(spec.left_out)
        if spec.converted:
            inputs.details["conda_to_pip"] = list(spec.converted)
            inputs.build_warnings.append(
                f"{file}: installing conda packages from the package index by their pip "
                f"names, best effort (--conda-to-pip): {', '.join(spec.converted)}"
            )
        files = relative_files({**build.inputs, **deps.inputs}, project.directory)
        inputs.key_parts = {
            "kind": "python",
            "builder": self.builder,
            "platform": platform_tag(),
            "python": [found.implementation, found.version],
            "spec": spec.canonical(),
            "files": files,
        }
        if any(line.startswith("-e ") for line in deps.lines):
            # an editable install points at this very checkout
            inputs.key_parts["project_dir"] = str(project.directory)
        deps.unpinned += [n for n in converted.unpinned if n not in deps.unpinned]
        if deps.unpinned:
            names = ", ".join(deps.unpinned)
            inputs.build_warnings.append(
                f"{file}: not pinned to one version: {names}; the env keeps what is resolved "
                "now (run with --rebuild-env to resolve again)"
            )
        inputs.details["unpinned"] = deps.unpinned
        return inputs

    def build(self, inputs: Inputs, ctx: BuildContext, options: EnvOptions) -> dict[str, Any]:
        from mlrun.envs.installed import python_packages

        spec, interpreter, build, deps, project_dir = inputs.payload
        self.create(ctx, interpreter, options)
        files = []
        for name, reqs in (("build-dependencies", build), ("dependencies", deps)):
            if reqs.lines:
                files.append(ctx.directory / f"{name}.txt")
                files[-1].write_text("\n".join(reqs.lines) + "\n")
        info: dict[str, Any] = {}
        if spec.converted:
            from mlrun.envs.python.besteffort import install_best_effort

            installed, skipped = install_best_effort(
                lambda paths: self.install(ctx, paths, options, project_dir),
                ctx,
                files,
                spec.converted,
            )
            info["conda_to_pip"] = {"installed": installed, "skipped": skipped}
            if skipped:
                info["warnings"] = [
                    f"{inputs.details['file']}: --conda-to-pip could not install "
                    f"{', '.join(skipped)} from the package index (the build log says why: "
                    f"{ctx.log.path})"
                ]
        elif files:
            self.install(ctx, files, options, project_dir)
        if (files or spec.converted) and not self.installer_compiles:
            compile_bytecode(ctx, ctx.prefix)
        packages = python_packages(ctx.prefix)
        ctx.log.note("installed: " + " ".join(packages))
        return {
            "builder": self.builder,
            "packages": packages,
            "unpinned": deps.unpinned,
            "python": {"version": interpreter.version, "path": interpreter.path},
            "tools": self.tools(ctx),
            **info,
        }

    @abc.abstractmethod
    def create(self, ctx: BuildContext, interpreter: Interpreter, options: EnvOptions) -> None: ...

    @abc.abstractmethod
    def install(
        self, ctx: BuildContext, requirements: list[Path], options: EnvOptions, cwd: Path
    ) -> None:
        """Install the build dependencies' file (if any), then the dependencies'."""

    @abc.abstractmethod
    def tools(self, ctx: BuildContext) -> dict[str, str]: ...

    def healthy(self, prefix: Path, marker: Mapping[str, Any]) -> bool:
        # exists() follows the symlink to the base interpreter: a removed pyenv version
        # makes the env unhealthy, and it is rebuilt.
        return os.path.isfile(prefix / "pyvenv.cfg") and os.path.exists(prefix / "bin" / "python")

    def environ(self, prefix: Path, marker: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
        return (
            {"PATH": path_with(prefix), "VIRTUAL_ENV": str(prefix)},
            {"CONDA_PREFIX", "CONDA_DEFAULT_ENV"},
        )


def python_spec(project: Project, options: EnvOptions) -> PythonEnvSpec:
    from mlrun.envs.python.spec import load_python_env

    env = project.env
    if env.kind == "python_env" and env.file is not None:
        return load_python_env(env.file)
    if env.kind == "conda_env" and env.file is not None:
        from mlrun.envs.conda.spec import load_conda_env, to_python_env

        return to_python_env(load_conda_env(env.file), options.conda_to_pip)
    # No env declared but a venv asked for: MLflow makes one with the current Python only.
    return PythonEnvSpec(file=None, python=None, build_dependencies=(), dependencies=())


def platform_tag() -> str:
    return f"{sys.platform}-{os.uname().machine}"


def index_args(tool: str, options: EnvOptions) -> list[str]:
    """Extra package sources. The user's own pip/uv configuration (pip.conf, uv.toml,
    PIP_INDEX_URL, UV_INDEX_URL...) applies as usual; MLRUN_FIND_LINKS adds local wheel
    directories for both tools, and --offline forbids the network."""
    args: list[str] = []
    for link in os.environ.get("MLRUN_FIND_LINKS", "").replace(os.pathsep, " ").split():
        args += ["--find-links", link]
    if options.offline:
        args.append("--offline" if tool == "uv" else "--no-index")
    return args


def relative_files(inputs: Mapping[str, str], base: Path) -> dict[str, str]:
    """Referenced paths inside the project keyed relative to it: a moved checkout keeps
    its envs."""
    found = {}
    for path, digest in inputs.items():
        try:
            found[str(Path(path).relative_to(base))] = digest
        except ValueError:
            found[path] = digest
    return found
