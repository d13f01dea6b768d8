"""`uv`: python_env projects built with uv (the default: a cold build takes a fraction of a
second from a warm uv cache). uv comes with mlrun as a Python dependency.

uv keeps its own cache (UV_CACHE_DIR, else its default), shared with the user's other uv
work: that is what makes cold builds fast, so mlrun does not isolate it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mlrun.envs.base import EnvOptions
from mlrun.envs.cache.store import BuildContext
from mlrun.envs.python.bytecode import install_environ
from mlrun.envs.python.interpreters import Interpreter
from mlrun.envs.python.venv import PythonEnvManager, index_args
from mlrun.errors import EnvBuildError


def uv_binary() -> str:
    explicit = os.environ.get("MLRUN_UV")
    if explicit:
        return explicit
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvBuildError(
        "uv was not found",
        hint="reinstall mlrun (uv is one of its dependencies), or use --env-manager virtualenv",
    )


class UvManager(PythonEnvManager):
    name = "uv"
    builder = "uv"

    def create(self, ctx: BuildContext, interpreter: Interpreter, options: EnvOptions) -> None:
        ctx.log.run(
            [uv_binary(), "venv", "--no-project", "--python", interpreter.path, str(ctx.prefix)],
            what="creating the venv",
            cwd=ctx.directory,
        )

    def install(
        self, ctx: BuildContext, requirements: list[Path], options: EnvOptions, cwd: Path
    ) -> None:
        # One resolution for build dependencies and dependencies together: uv isolates
        # sdist builds itself, so nothing needs the build dependencies installed first.
        files = [arg for path in requirements for arg in ("-r", str(path))]
        ctx.log.run(
            [
                uv_binary(),
                "pip",
                "install",
                "--python",
                str(ctx.prefix / "bin" / "python"),
                *index_args("uv", options),
                *files,
            ],
            what="installing dependencies",
            cwd=cwd,
            env=install_environ(),
        )

    def tools(self, ctx: BuildContext) -> dict[str, str]:
        if not os.environ.get("MLRUN_UV"):
            import importlib.metadata

            try:
                return {"uv": importlib.metadata.version("uv")}
            except importlib.metadata.PackageNotFoundError:
                pass
        out = ctx.log.run([uv_binary(), "--version"], what="uv version")
        return {"uv": out.strip().split()[1] if out.strip() else "unknown"}


MANAGER = UvManager()
