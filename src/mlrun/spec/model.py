"""The MLproject model: immutable records, built by `spec.loader` and read by the rest.

Field semantics follow MLflow's loader (mlflow/projects/_project_spec.py) so that what
mlrun reports matches what MLflow does with the same file.

The records are NamedTuples rather than frozen dataclasses on purpose: this module is
imported by every run, and a frozen dataclass costs about 1 ms to create (it compiles six
generated methods) against 0.15 ms for a NamedTuple; start-up time is a feature. Empty
mappings default to one shared read-only mapping (`EMPTY`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

# Canonical parameter types. Aliases and unknown names are mapped by spec.params.
ParamType = Literal["string", "float", "int", "bool", "path", "uri"]
EnvKind = Literal["local", "python_env", "conda_env", "docker_env"]
EMPTY: Mapping[str, Any] = MappingProxyType({})


class SpecWarning(NamedTuple):
    """A non-fatal problem in the MLproject: shown by `mlrun validate` and on each run."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None  # dotted key path, e.g. "entry_points.main.parameters.alpha"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        return f"{where}{self.message}"


class Parameter(NamedTuple):
    name: str
    type: ParamType  # canonical type used for validation
    declared_type: str  # the type exactly as MLflow keeps it ("str", "string", "double"...)
    default: str | None  # None: required. Else str() of the YAML value, as MLflow renders it
    line: int | None = None


class EntryPoint(NamedTuple):
    name: str
    command: str  # the template, `{param}` placeholders, str.format rules
    parameters: Mapping[str, Parameter] = EMPTY
    line: int | None = None
    is_script: bool = False  # synthesised from `-e train.py` / `-e run.sh`
    file: Path | None = None  # the MLproject it was declared in, for messages
    # Keys of the entry point other than command/parameters, kept verbatim for later layers.
    extra: Mapping[str, Any] = EMPTY


class DockerEnvVar(NamedTuple):
    name: str
    value: str | None  # None: copy the value from the host environment


class DockerEnv(NamedTuple):
    image: str | None  # None only with the build variant (dockerfile / context)
    dockerfile: str | None = None  # relative to the project dir
    context: str | None = None  # build context, relative to the project dir
    volumes: tuple[str, ...] = ()
    environment: tuple[DockerEnvVar, ...] = ()
    extra: Mapping[str, Any] = EMPTY  # other keys, kept verbatim


class EnvSpec(NamedTuple):
    kind: EnvKind  # "local": no env declared, run in the current environment
    file: Path | None = None  # absolute path of python_env.yaml / conda.yaml
    docker: DockerEnv | None = None
    declared: bool = False  # False when auto-detected (python_env.yaml / conda.yaml present)


class Project(NamedTuple):
    directory: Path  # absolute
    file: Path | None  # the MLproject file, or None for a directory without one
    name: str | None
    env: EnvSpec
    entry_points: Mapping[str, EntryPoint]
    warnings: tuple[SpecWarning, ...] = ()
    # Top-level keys other than the ones above, kept verbatim for later layers
    # (e.g. the workflow declaration), with their line numbers.
    extra: Mapping[str, Any] = EMPTY
    extra_lines: Mapping[str, int] = EMPTY
    # SpecErrors found by spec.loader.read_project (load_project raises them instead).
    errors: tuple[Any, ...] = ()
    # The checkout (or directory named) the project lives in: files the project names
    # (env files, docker context and volumes, deps) may not lead outside it.
    root: Path | None = None


class Command(NamedTuple):
    """A rendered command: exactly one of `argv` (no shell) or `shell` (bash -c) is set.

    In shell mode `shell` is the command with every value written in place (what is
    shown and recorded), while bash runs `script`, the same text with a reference to an
    environment variable of `env` at each value: bash never parses a value."""

    argv: tuple[str, ...] | None
    shell: str | None
    template: str
    script: str | None = None  # what `bash -c` runs; None: `shell` itself
    env: Mapping[str, str] = EMPTY  # the variables `script` refers to

    @property
    def mode(self) -> Literal["argv", "shell"]:
        return "argv" if self.argv is not None else "shell"

    def words(self) -> list[str]:
        """The words a POSIX shell would see: argv itself, or the shell string split
        (quotes removed, backslash-newline continuations joined, operators kept as words)."""
        if self.argv is not None:
            return list(self.argv)
        from mlrun.spec.shellwords import split_words

        assert self.shell is not None
        return split_words(self.shell)

    def launch_argv(self) -> list[str]:
        """How a local process starts it (with `env` added to its environment)."""
        if self.argv is not None:
            return list(self.argv)
        assert self.shell is not None
        return ["bash", "-c", self.script if self.script is not None else self.shell]

    def display(self) -> str:
        if self.shell is not None:
            return self.shell
        import shlex

        assert self.argv is not None
        return shlex.join(self.argv)


class ResolvedParameters(NamedTuple):
    """Parameters after validation, as the strings that reach the program."""

    values: Mapping[str, str]  # declared parameters (user value or default), in declaration order
    extra: Mapping[str, str]  # undeclared -P keys, appended as `--key value`

    def all(self) -> dict[str, str]:
        return {**self.values, **self.extra}
