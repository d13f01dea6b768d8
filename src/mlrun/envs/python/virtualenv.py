"""`virtualenv`: python_env projects built with virtualenv + pip, as MLflow does
(`--env-manager virtualenv`). Slower than uv; kept for compatibility and for setups where
pip's configuration is the one that works (pip.conf, PIP_INDEX_URL...).

virtualenv runs in a subprocess of mlrun's own interpreter, never imported in-process."""

from __future__ import annotations

import sys
from pathlib import Path

from mlrun.envs.base import EnvOptions
from mlrun.envs.cache.store import BuildContext
from mlrun.envs.python.interpreters import Interpreter
from mlrun.envs.python.venv import PythonEnvManager, index_args


class VirtualenvManager(PythonEnvManager):
    name = "virtualenv"
    builder = "virtualenv"

    def create(self, ctx: BuildContext, interpreter: Interpreter) -> None:
        ctx.log.run(
            [
                sys.executable,
                "-m",
                "virtualenv",
                "--no-periodic-update",
                "--python",
                interpreter.path,
                str(ctx.prefix),
            ],
            what="creating the virtualenv",
            cwd=ctx.directory,
        )

    def install(
        self,
        ctx: BuildContext,
        requirements: list[Path],
        options: EnvOptions,
        cwd: Path,
        flags: tuple[str, ...] = (),
    ) -> None:
        for path in requirements:  # as MLflow: build dependencies first, then the rest
            what = "build dependencies" if path.stem.startswith("build") else "dependencies"
            ctx.log.run(
                [
                    str(ctx.prefix / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    *index_args("pip", options),
                    *flags,
                    "-r",
                    str(path),
                ],
                what=f"installing {what}",
                cwd=cwd,
            )

    def tools(self, ctx: BuildContext) -> dict[str, str]:
        import importlib.metadata

        from mlrun.envs.installed import python_packages

        found = {"virtualenv": importlib.metadata.version("virtualenv")}
        for package in python_packages(ctx.prefix):
            name, _, version = package.partition("==")
            if name.lower() == "pip":
                found["pip"] = version
        return found


MANAGER = VirtualenvManager()
