"""python_env locks: made with uv's resolver (`uv pip compile --generate-hashes`) for the
interpreter the env uses, and installed hash-checked.

The body is a requirements file: one `name==version` per package with its `--hash`
lines, then the project's local packages (`./pkg`, `-e ./pkg`) as written. Local
packages cannot carry a hash, so an install is two steps: every locked package with
`--require-hashes --no-deps` (nothing unlocked can slip in), then the local ones with
`--no-deps` (their dependencies are in the first step)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun.envs.base import EnvOptions
from mlrun.envs.python.interpreters import Interpreter
from mlrun.errors import EnvBuildError
from mlrun.reporting import Reporter
from mlrun.spec.model import Project

if TYPE_CHECKING:
    from mlrun.envs.cache.managed import Inputs
    from mlrun.envs.cache.store import BuildContext
    from mlrun.envs.lockfile import Lock
    from mlrun.envs.python.venv import PythonEnvManager


def make(
    project: Project, options: EnvOptions, reporter: Reporter, pins: Sequence[str] | None = None
) -> tuple[str, dict[str, str]]:
    """(body, header facts) of a lock of the project's python_env: its requirements
    resolved afresh, or, given `pins` (`name==version` lines, e.g. what a recorded run
    had installed), exactly those versions plus the spec's local packages."""
    from mlrun.envs.python import interpreters
    from mlrun.envs.python.venv import platform_tag, python_spec

    spec = python_spec(project, options)
    file = str(spec.file) if spec.file else "the project"
    found, note = interpreters.find(spec.python)
    if found is None:
        assert spec.python is not None
        raise interpreters.not_found(spec.python, file)
    if note:
        reporter.warn(f"{file}: {note}")
    entries = [e.strip() for e in spec.build_dependencies + spec.dependencies]
    entries = [e for e in entries if e and not e.startswith("#")]
    if pins is not None:
        entries = [*pins, *(e for e in entries if is_local(e))]
    body = _compile(entries, found, project.directory, options, reporter, file)
    facts = {
        "python": found.version,
        "implementation": found.implementation,
        "platform": platform_tag(),
        "resolver": f"uv {_uv_version()}",
    }
    if pins is not None:
        facts["from"] = "the packages a recorded run had installed"
    return body, facts


def _compile(
    entries: list[str],
    interpreter: Interpreter,
    directory: Path,
    options: EnvOptions,
    reporter: Reporter,
    file: str,
) -> str:
    from mlrun.envs.python.uv import uv_binary
    from mlrun.envs.python.venv import index_args
    from mlrun.util.proc import run

    if not entries:
        return ""
    argv = [
        uv_binary(),
        "pip",
        "compile",
        "-",  # from stdin, so relative paths are the project's, as for a build
        "--generate-hashes",
        "--no-header",
        "--no-annotate",
        "--quiet",
        "--python",
        interpreter.path,
        *index_args("uv", options),
    ]
    with reporter.progress(f"resolving {Path(file).name} with uv"):
        result = run(argv, cwd=directory, input="\n".join(entries) + "\n", check=False)
    if not result.ok:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        detail = " ".join(" ".join(lines[-6:]).split()) or f"exit code {result.returncode}"
        raise EnvBuildError(
            f"resolving {file} failed: {detail}",
            hint="check the requirements and the package index (--offline uses only local "
            "wheels: MLRUN_FIND_LINKS)",
        )
    return result.stdout


def _uv_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("uv")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_CONTINUED = re.compile(r"\\\s*\n")


def requirements(body: str) -> tuple[list[str], list[str]]:
    """(hashed requirement lines, local package lines) of a lock's body, one logical
    line each (continuations joined)."""
    hashed: list[str] = []
    local: list[str] = []
    for line in _CONTINUED.sub(" ", body).splitlines():
        line = " ".join(line.split(" #")[0].split()) if not line.startswith("#") else ""
        if line:
            (local if is_local(line) else hashed).append(line)
    return hashed, local


def is_local(line: str) -> bool:
    """A requirement naming a package in the project or on this machine (`./pkg`,
    `-e ./pkg`, `/abs/wheel.whl`): installed from there, never from an index."""
    from mlrun.envs.python.requirements import looks_local, split_option

    option, value = split_option(line)
    return option in (None, "-e") and looks_local(value)


def pinned(body: str) -> dict[str, str]:
    """{name: version} of the locked packages (for messages and tests)."""
    found = {}
    for line in requirements(body)[0]:
        name, sep, rest = line.partition("==")
        if sep:
            found[name.strip()] = rest.split()[0]
    return found


def follow_lock(inputs: Inputs, project: Project, options: EnvOptions, found: Interpreter) -> bool:
    """Make the env follow the project's lock, when it has one (True): its key comes from
    the lock, and the build installs exactly what it lists. A stale lock is a SpecError."""
    from mlrun.envs import lockfile
    from mlrun.envs.python.venv import platform_tag

    lock = lockfile.find(project, options)
    if lock is None:
        return False
    inputs.lock = lock
    inputs.key_parts["spec"] = {"lock": lock.sha256}
    inputs.details["lock"] = lock.describe(project.directory)
    made_for = lock.header.get("python", "")
    if made_for and made_for.split(".")[:2] != found.version.split(".")[:2]:
        inputs.warnings.append(
            f"{lock.path.name} was made for Python {made_for} and this env has Python "
            f"{found.version}: its wheels may not fit (run `mlrun lock` again)"
        )
    platform = lock.header.get("platform")
    if platform and platform != platform_tag():
        inputs.warnings.append(
            f"{lock.path.name} was made on {platform} and this is {platform_tag()}: its "
            "wheels may not fit (run `mlrun lock` again on this platform)"
        )
    return True


def install_lock(
    manager: PythonEnvManager, ctx: BuildContext, lock: Lock, options: EnvOptions, cwd: Path
) -> None:
    """Install exactly the lock: the locked packages hash-checked and without their
    dependencies (the lock holds them all), then the project's local packages."""
    from mlrun.envs.python.requirements import resolve

    hashed, local = requirements(lock.body)
    if hashed:
        path = ctx.directory / "locked.txt"
        path.write_text("\n".join(hashed) + "\n")
        manager.install(ctx, [path], options, cwd, ("--require-hashes", "--no-deps"))
    if local:
        path = ctx.directory / "locked-local.txt"
        path.write_text("\n".join(resolve(local, cwd, str(lock.path)).lines) + "\n")
        manager.install(ctx, [path], options, cwd, ("--no-deps",))
