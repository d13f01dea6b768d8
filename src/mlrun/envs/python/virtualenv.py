"""`virtualenv`: python_env projects built with virtualenv + pip, as MLflow does
(`--env-manager virtualenv`). Slower than uv; kept for compatibility and for setups where
pip's configuration is the one that works (pip.conf, PIP_INDEX_URL...).

virtualenv runs in a subprocess of mlrun's own interpreter, never imported in-process.

virtualenv seeds pip and setuptools from wheels it bundles, and recent releases bundle
none for older Pythons (virtualenv 21 stopped at 3.9, while 3.8 is the version projects
pin most). For those, the env is created without a seed and pip comes from the
interpreter's own `ensurepip` (offline, and the pip that Python release was made with);
where a distribution stripped ensurepip, pip is installed from the package index with uv.
Nothing downloads or compiles a Python."""

from __future__ import annotations

import sys
from pathlib import Path

from mlrun.envs.base import EnvOptions
from mlrun.envs.cache.store import BuildContext
from mlrun.envs.python.bytecode import install_environ
from mlrun.envs.python.interpreters import Interpreter
from mlrun.envs.python.venv import PythonEnvManager, index_args
from mlrun.errors import EnvBuildError

_BUNDLED = "from virtualenv.seed.wheels.embed import BUNDLE_SUPPORT; print(*BUNDLE_SUPPORT)"


class VirtualenvManager(PythonEnvManager):
    name = "virtualenv"
    builder = "virtualenv"
    installer_compiles = True  # pip's default, as MLflow's envs have it

    def create(self, ctx: BuildContext, interpreter: Interpreter, options: EnvOptions) -> None:
        seeds = bundle_seeds(ctx, interpreter)
        ctx.log.run(
            [
                sys.executable,
                "-m",
                "virtualenv",
                "--no-periodic-update",
                *([] if seeds else ["--no-seed"]),
                "--python",
                interpreter.path,
                str(ctx.prefix),
            ],
            what="creating the virtualenv",
            cwd=ctx.directory,
        )
        if not seeds:
            seed_pip(ctx, interpreter, options)

    def install(
        self, ctx: BuildContext, requirements: list[Path], options: EnvOptions, cwd: Path
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
                    "-r",
                    str(path),
                ],
                what=f"installing {what}",
                cwd=cwd,
                env=install_environ(),
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


def bundle_seeds(ctx: BuildContext, interpreter: Interpreter) -> bool:
    """Whether the virtualenv installed with mlrun bundles pip for this Python (it uses
    its newest wheels for Pythons newer than it knows). True when it cannot tell."""
    try:
        out = ctx.log.run([sys.executable, "-c", _BUNDLED], what="asking virtualenv its seeds")
        known = sorted(tuple(int(p) for p in v.split(".")) for v in out.split())
    except (EnvBuildError, ValueError):
        return True
    wanted = tuple(int(p) for p in interpreter.minor.split("."))
    return not known or wanted >= known[0]


def seed_pip(ctx: BuildContext, interpreter: Interpreter, options: EnvOptions) -> None:
    python = str(ctx.prefix / "bin" / "python")
    ctx.log.note(f"virtualenv bundles no pip for Python {interpreter.minor}")
    try:
        ctx.log.run(
            [python, "-m", "ensurepip", "--default-pip"],
            what=f"installing the pip of Python {interpreter.version} (ensurepip)",
            cwd=ctx.directory,
            env=install_environ(),
        )
        return
    except EnvBuildError:
        ctx.log.note("ensurepip failed (a distribution may have removed it); trying uv")
    from mlrun.envs.python.uv import uv_binary

    try:
        ctx.log.run(
            [uv_binary(), "pip", "install", "--python", python, *index_args("uv", options), "pip"],
            what="installing pip from the package index",
            cwd=ctx.directory,
            env=install_environ(),
        )
    except EnvBuildError as exc:
        raise EnvBuildError(
            f"cannot put pip into a virtualenv for Python {interpreter.version} "
            f"({interpreter.path}): virtualenv bundles none for it, the interpreter has no "
            f"ensurepip, and the package index did not provide one\n{exc.message}",
            hint=f"install your distribution's venv package for Python {interpreter.minor} "
            "(e.g. python3.8-venv), put pip wheels in MLRUN_FIND_LINKS, "
            "or run with --env-manager uv",
        ) from None


MANAGER = VirtualenvManager()
