"""Bytecode compiled when an env is built, so that the first run imports as fast as the
next ones (and every run does, under PYTHONDONTWRITEBYTECODE=1, common in CI images).

The .pyc files are written by the env's own interpreter (the ones it loads), next to the
sources, timestamp-checked (what an import checks cheapest). They are not part of the env
key: they derive from the installed sources and the interpreter's exact version, both in
the key already. MLRUN_COMPILE_BYTECODE=0 leaves them to the runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlrun.envs.cache.store import BuildContext
from mlrun.errors import EnvBuildError

# In mlrun's environment, these would stop the compiling, make hash-checked .pyc files or
# put them outside the env: the build's commands run without them.
_NO_COMPILE = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "SOURCE_DATE_EPOCH")


def install_environ() -> dict[str, str]:
    """The environment of the commands that install packages into an env or compile
    them (pip compiles as it installs, unless PIP_NO_COMPILE)."""
    return {k: v for k, v in os.environ.items() if k not in _NO_COMPILE}


def compile_bytecode(ctx: BuildContext, prefix: Path) -> None:
    """Compile the env's installed Python files with the env's own interpreter (so the
    .pyc files are the ones it loads), leaving out what runs do not import: the
    packages' own test suites (often half of the files) and pip (a tool; most envs carry
    it as a build dependency). MLRUN_COMPILE_BYTECODE=0 skips it."""
    if os.environ.get("MLRUN_COMPILE_BYTECODE", "1").lower() in ("0", "false", "no"):
        ctx.log.note("MLRUN_COMPILE_BYTECODE=0: bytecode is left to the runs")
        return
    python = str(prefix / "bin" / "python")
    for site in sorted(prefix.glob("lib/*/site-packages")):
        skip = re.escape(str(site)) + r"/(pip/|(.*/)?tests?/)"
        # worker processes pay off for big envs only (starting them costs ~0.2 s)
        jobs = ["-j", "0"] if _more_sources_than(site, 300) else []
        try:
            ctx.log.run(
                [python, "-m", "compileall", "-q", *jobs, "-x", skip, str(site)],
                what="compiling bytecode",
                cwd=ctx.directory,
                env=install_environ(),
            )
        except EnvBuildError:  # a file that is not valid for this Python: left as source
            ctx.log.note("some files did not compile; runs that import them compile them")


def _more_sources_than(site: Path, limit: int) -> bool:
    """Whether more than `limit` files will be compiled (tests and pip left out)."""
    count = 0
    for folder, dirs, files in os.walk(site):
        dirs[:] = [
            d
            for d in dirs
            if d not in ("tests", "test") and not (folder == str(site) and d == "pip")
        ]
        count += sum(name.endswith(".py") for name in files)
        if count > limit:
            return True
    return False
