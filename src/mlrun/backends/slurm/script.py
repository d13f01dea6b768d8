"""The batch job of one run: its script, its sbatch options, the file that carries its
environment, and the environment sbatch itself runs with.

Secrets stay off the controller: sbatch sends the environment it runs in to the
controller, which keeps it (and the script) in its state directory for the job's
lifetime. So sbatch runs with a few harmless variables (PATH, HOME, the locale, Slurm's
own settings), and the run's complete environment -- tokens included -- goes into a file
that only the user can read (mode 0600, in a 0700 directory of the run), which the job
sources and then deletes. The job's own SLURM_* variables and what describes the node
(HOSTNAME, TMPDIR) are the job's, not copied from the submitting machine."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlrun.backends.slurm.config import SHADOWED_ENV, SlurmConfig

JOB_DIR = "slurm"  # in the run's directory: runs/<run id>/slurm/
SCRIPT, ENVIRON, STDOUT, STDERR, EXIT = "job.sh", "environ", "stdout", "stderr", "exit"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Never copied into the job: Slurm's own (the job has its own), bash's read-only and
# internal variables, and what describes the submitting machine rather than the node.
_NOT_COPIED_PREFIXES = ("SLURM_", "SBATCH_", "SRUN_", "SALLOC_", "BASH_")
_NOT_COPIED = frozenset(
    {"_", "PWD", "OLDPWD", "SHLVL", "HOSTNAME", "TMPDIR", "SHELLOPTS", "EUID", "UID", "PPID"}
)
# What sbatch itself may see (and so the controller stores).
_SBATCH_ENV = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ"})
_SBATCH_ENV_PREFIXES = ("LC_", "SBATCH_", "BASH_FUNC_")  # BASH_FUNC_*: `module` & co
_SBATCH_SLURM = frozenset({"SLURM_CONF", "SLURM_CLUSTERS"})
# sbatch input variables that would change how mlrun submits or watches.
_SBATCH_REFUSED = frozenset(
    {"SBATCH_WAIT", "SBATCH_ARRAY_INX", "SBATCH_EXPORT", "SBATCH_OUTPUT", "SBATCH_ERROR",
     "SBATCH_JOB_NAME", "SBATCH_OPEN_MODE", "SBATCH_REQUEUE", "SBATCH_NO_REQUEUE",
     "SBATCH_GET_USER_ENV"}
)  # fmt: skip


class JobFiles:
    """Where one run's job keeps its files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.script = directory / SCRIPT
        self.environ = directory / ENVIRON
        self.stdout = directory / STDOUT
        self.stderr = directory / STDERR
        self.exit = directory / EXIT


def job_name(run_id: str) -> str:
    return f"mlrun-{run_id}"


def sbatch_options(
    run_id: str, files: JobFiles, cwd: Path, config: SlurmConfig, what: str
) -> list[str]:
    """mlrun's own options, on sbatch's command line: there, unlike in #SBATCH lines, a
    path with spaces is one value. `%` in a path is doubled (sbatch expands %j & co)."""
    return [
        f"--job-name={job_name(run_id)}",
        f"--comment=mlrun run {run_id}: {what}",
        f"--output={_pattern_safe(files.stdout)}",
        f"--error={_pattern_safe(files.stderr)}",
        "--open-mode=append",
        f"--chdir={cwd}",
        "--export=ALL",  # of sbatch's own, reduced environment (sbatch_environ)
        "--requeue" if config.requeue else "--no-requeue",
    ]


def _pattern_safe(path: Path) -> str:
    return str(path).replace("%", "%%")


def script(argv: Sequence[str], cwd: Path, files: JobFiles, config: SlurmConfig, title: str) -> str:
    """The batch script: #SBATCH lines from the config, the run's environment, the setup
    lines, the command, and the exit code written where mlrun looks for it."""
    q = shlex.quote
    env_file, exit_file = q(str(files.environ)), q(str(files.exit))
    lines = ["#!/bin/bash", f"# {_one_line(title)}", *config.directives()]
    lines += [
        "",
        "# The run's environment, from a file only its user can read (never sent to the",
        "# controller).",
        f". {env_file} || {{ echo 'mlrun: the run environment file cannot be read' >&2;"
        " exit 125; }",
    ]
    if not config.requeue:  # a requeued job reads it again; mlrun deletes it at the end
        lines.append(f"rm -f {env_file}")
    if config.setup:
        lines += ["", "# setup (a failing line ends the job)", "set -e", *config.setup, "set +e"]
    lines += [
        "",
        f"cd {q(str(cwd))} || exit 126",
        " ".join(q(arg) for arg in argv),
        "code=$?",
        f"printf '%s\\n' \"$code\" > {exit_file}.tmp && mv -f {exit_file}.tmp {exit_file}",
        'exit "$code"',
        "",
    ]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def environ_file(environ: Mapping[str, str]) -> str:
    """`export NAME='value'` lines for the variables a job may take over."""
    lines = []
    for name in sorted(environ):
        if name in _NOT_COPIED or name.startswith(_NOT_COPIED_PREFIXES):
            continue
        if not _NAME.match(name):  # bash cannot export it; env(1) could, but nothing reads it
            continue
        lines.append(f"export {name}={shlex.quote(environ[name])}")
    return "\n".join(lines) + "\n"


def sbatch_environ(environ: Mapping[str, str], config: SlurmConfig) -> dict[str, str]:
    """The environment sbatch runs with: harmless variables only (see the module)."""
    shadowed = {name for key in config.options for name in SHADOWED_ENV.get(key, ())}
    kept = {}
    for name, value in environ.items():
        if name in _SBATCH_REFUSED or name in shadowed:
            continue
        if name in _SBATCH_ENV or name in _SBATCH_SLURM or name.startswith(_SBATCH_ENV_PREFIXES):
            kept[name] = value
    kept.setdefault("PATH", os.defpath)
    return kept


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only (0600 from the first byte)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = text.encode("utf-8", "surrogateescape")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
