"""The MLproject model: frozen dataclasses, built by `spec.loader` and read by the rest.

Field semantics follow MLflow's loader (mlflow/projects/_project_spec.py) so that what
mlrun reports matches what MLflow does with the same file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Canonical parameter types. Aliases and unknown names are mapped by spec.params.
ParamType = Literal["string", "float", "int", "bool", "path", "uri"]
EnvKind = Literal["local", "python_env", "conda_env", "docker_env"]


@dataclass(frozen=True)
class SpecWarning:
    """A non-fatal problem in the MLproject: shown by `mlrun validate` and on each run."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None  # dotted key path, e.g. "entry_points.main.parameters.alpha"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        return f"{where}{self.message}"


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParamType  # canonical type used for validation
    declared_type: str  # the type exactly as MLflow keeps it ("str", "string", "double"...)
    default: str | None  # None: required. Else str() of the YAML value, as MLflow renders it
    line: int | None = None


@dataclass(frozen=True)
class EntryPoint:
    name: str
    command: str  # the template, `{param}` placeholders, str.format rules
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    line: int | None = None
    is_script: bool = False  # synthesised from `-e train.py` / `-e run.sh`
    file: Path | None = None  # the MLproject it was declared in, for messages
    # Keys of the entry point other than command/parameters, kept verbatim for later layers.
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DockerEnvVar:
    name: str
    value: str | None  # None: copy the value from the host environment


@dataclass(frozen=True)
class DockerEnv:
    image: str | None  # None only with the build variant (dockerfile / context)
    dockerfile: str | None = None  # relative to the project dir
    context: str | None = None  # build context, relative to the project dir
    volumes: tuple[str, ...] = ()
    environment: tuple[DockerEnvVar, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # other keys, kept verbatim


@dataclass(frozen=True)
class EnvSpec:
    kind: EnvKind  # "local": no env declared, run in the current environment
    file: Path | None = None  # absolute path of python_env.yaml / conda.yaml
    docker: DockerEnv | None = None
    declared: bool = False  # False when auto-detected (python_env.yaml / conda.yaml present)


@dataclass(frozen=True)
class Project:
    directory: Path  # absolute
    file: Path | None  # the MLproject file, or None for a directory without one
    name: str | None
    env: EnvSpec
    entry_points: Mapping[str, EntryPoint]
    warnings: tuple[SpecWarning, ...] = ()
    # Top-level keys other than the ones above, kept verbatim for later layers
    # (e.g. the workflow declaration), with their line numbers.
    extra: Mapping[str, Any] = field(default_factory=dict)
    extra_lines: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    """A rendered command: exactly one of `argv` (no shell) or `shell` (bash -c) is set."""

    argv: tuple[str, ...] | None
    shell: str | None
    template: str

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

    def display(self) -> str:
        if self.shell is not None:
            return self.shell
        import shlex

        assert self.argv is not None
        return shlex.join(self.argv)


@dataclass(frozen=True)
class ResolvedParameters:
    """Parameters after validation, as the strings that reach the program."""

    values: Mapping[str, str]  # declared parameters (user value or default), in declaration order
    extra: Mapping[str, str]  # undeclared -P keys, appended as `--key value`

    def all(self) -> dict[str, str]:
        return {**self.values, **self.extra}
