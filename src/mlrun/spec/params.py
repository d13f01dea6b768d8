"""Parameter types: canonical names, validation of -P values, checks of declared defaults.

MLflow itself only acts on two types: `path` (made absolute, must exist, remote URIs are
downloaded) and `uri` (must have a scheme). Every other type name is kept as written and
never checked. mlrun checks the user's -P values against the type before anything runs,
because a typo in `-P alpha=0.S` is cheaper to catch here than after an environment
build. Defaults are the project author's business: they are passed through as written
(as MLflow does, even "None" for an int) and only reported by `mlrun validate`; the one
change is that relative path/uri defaults are anchored to the project directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from mlrun.errors import MlrunError, ParameterError
from mlrun.spec.model import EntryPoint, ParamType, ResolvedParameters, SpecWarning
from mlrun.spec.render import template_problems

# Names that are safe as `--key` words in a shell command and as str.format fields.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")

# Type names as written -> canonical type. Case-sensitive on purpose: MLflow compares
# `type == "path"`, so `Path` is an ordinary string there and must stay one here.
TYPE_ALIASES: Mapping[str, ParamType] = {
    "string": "string",
    "str": "string",
    "float": "float",
    "double": "float",
    "int": "int",
    "integer": "int",
    "bool": "bool",
    "boolean": "bool",
    "path": "path",
    "uri": "uri",
}

_ARTICLE = {
    "string": "a string",
    "float": "a float",
    "int": "an int",
    "bool": "a bool",
    "path": "a path",
    "uri": "a uri",
}
_BOOLS = frozenset({"true", "false", "1", "0", "yes", "no"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def canonical_type(declared: str) -> ParamType | None:
    """The canonical type of a declared type name, or None for an unknown name."""
    return TYPE_ALIASES.get(declared)


def resolve_parameters(
    ep: EntryPoint,
    user: Mapping[str, str],
    cwd: Path,
    problems: list[MlrunError] | None = None,
) -> ResolvedParameters:
    """Validate the user's -P values against `ep` and fill in defaults.

    `cwd` is the caller's working directory: relative `path`/`uri` values are the user's
    and mean "relative to where I typed the command", not to the project. Defaults are
    passed as written (not type-checked: MLflow passes "None" to an int), except that
    relative local path/uri defaults are resolved against the project directory.

    With a `problems` list (a dry run), every mistake is appended there instead of
    raised: a missing value stays the placeholder `{name}`, a value that does not fit
    its type is kept as given, and an invalid undeclared name is left out."""

    def problem(error: ParameterError) -> None:
        if problems is None:
            raise error
        problems.append(error)

    missing = [name for name, p in ep.parameters.items() if p.default is None and name not in user]
    if missing:
        names = ", ".join(f"{m!r}" for m in missing)
        plural = "s" if len(missing) > 1 else ""
        problem(
            ParameterError(
                f"entry point {ep.name!r} needs a value for parameter{plural} {names}",
                hint="pass " + " ".join(f"-P {m}=VALUE" for m in missing),
            )
        )
    project_dir = ep.file.parent if ep.file is not None else None
    values: dict[str, str] = {}
    for name, param in ep.parameters.items():
        if name in user:
            try:
                values[name] = check_value(name, param.type, user[name], cwd)
            except ParameterError as error:
                problem(error)
                values[name] = user[name]
        elif param.default is None:
            values[name] = "{" + name + "}"  # only with `problems`: shown unfilled
        else:
            values[name] = _default_value(param.type, param.default, project_dir)
    extra: dict[str, str] = {}
    for key, value in user.items():
        if key in ep.parameters:
            continue
        if not NAME_RE.match(key):
            problem(
                ParameterError(
                    f"parameter name {key!r} is not valid: use letters, digits, '_', '.' "
                    "and '-', starting with a letter or '_'",
                )
            )
            continue
        extra[key] = value
    return ResolvedParameters(values=values, extra=extra)


def remote_paths(ep: EntryPoint, values: Mapping[str, str]) -> dict[str, str]:
    """{name: URI} of the `path` parameters whose value is a remote URI (what MLflow
    downloads to --storage-dir before the run)."""
    return {
        name: value
        for name, value in values.items()
        if name in ep.parameters
        and ep.parameters[name].type == "path"
        and value
        and local_path(value) is None
    }


def undeclared(ep: EntryPoint, extra: Mapping[str, str]) -> list[tuple[bool, str]]:
    """(is a likely typo, sentence) for each -P name `ep` does not declare. They are
    passed on as `--name value`, as MLflow does; one close to a declared name is most
    likely a typo (`alhpa`), worth a warning with the name it resembles."""
    if ep.is_script or not extra:
        return []
    from mlrun.spec.context import did_you_mean

    notes = []
    for name, value in extra.items():
        suggestion = did_you_mean(name, ep.parameters)
        notes.append(
            (
                bool(suggestion),
                f"-P {name} is not a parameter of entry point {ep.name!r}{suggestion}; "
                f"it is passed as --{name} {value!r}, as MLflow does",
            )
        )
    return notes


def check_value(name: str, ptype: ParamType, value: str, cwd: Path) -> str:
    """The value to pass for one user-given parameter; ParameterError if it does not fit."""
    if ptype == "path":
        return _path_value(name, value, cwd)
    if ptype == "uri":
        if value and (_scheme(value) or os.path.isabs(value)):
            return value
        if value:
            return os.path.join(cwd, value)  # a local path is as good as a file URI
    elif _fits(ptype, value):
        return value
    raise ParameterError(f"parameter {name!r} expects {_ARTICLE[ptype]}, got {value!r}")


def _default_value(ptype: ParamType, default: str, project_dir: Path | None) -> str:
    """A default as the program receives it: as written, except that a relative local
    `path`/`uri` default is made absolute against the project directory.

    MLflow absolutises it against the caller's cwd (and checks that it exists), which
    only works when the caller stands in the project directory; there both rules give
    the same path. A default is the author's, and the author only knows the project."""
    if project_dir is None or not default or ptype not in ("path", "uri"):
        return default
    local = local_path(default) if ptype == "path" else (None if _scheme(default) else default)
    if local is None:
        return default
    return os.path.abspath(os.path.join(project_dir, local))


def default_warnings(ep: EntryPoint) -> list[SpecWarning]:
    """Problems with an entry point that only bite when it runs: defaults that do not fit
    their type, and command templates that cannot be rendered. For `mlrun validate`."""
    file = str(ep.file) if ep.file else None
    directory = ep.file.parent if ep.file else None
    warnings: list[SpecWarning] = []
    for name, p in ep.parameters.items():
        if p.default is None:
            continue
        problem = None
        if p.type == "path":
            local = local_path(p.default)
            if local == "":
                problem = "it is empty"
            elif local is not None and directory and not os.path.exists(directory / local):
                problem = (
                    "there is no such file or directory in the project; mlrun passes it "
                    "anyway (MLflow refuses to run)"
                )
        elif p.type == "uri":
            problem = None if p.default else "it is empty"
        elif not _fits(p.type, p.default):
            problem = f"it is not {_ARTICLE[p.type]}; it is passed unchanged, as MLflow does"
        if problem:
            warnings.append(
                SpecWarning(
                    f"default {p.default!r} of parameter {name!r} ({p.declared_type}): {problem}",
                    file=file,
                    line=p.line,
                    key=f"entry_points.{ep.name}.parameters.{name}",
                )
            )
    for message in template_problems(ep):
        warnings.append(
            SpecWarning(message, file=file, line=ep.line, key=f"entry_points.{ep.name}")
        )
    return warnings


def _fits(ptype: ParamType, value: str) -> bool:
    if ptype == "float":
        try:
            float(value)
        except ValueError:
            return False
    elif ptype == "int":
        try:
            int(value)
        except ValueError:
            return False
    elif ptype == "bool":
        return value.lower() in _BOOLS
    return True


def _scheme(value: str) -> str | None:
    match = _SCHEME.match(value)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if os.name == "nt" and len(scheme) == 1:
        return None  # C:\data is a drive letter, not a URI scheme
    return scheme


def local_path(value: str) -> str | None:
    """The local file system path a path-typed value names, None for a remote URI
    (MLflow's rule: no scheme, or file: without a host)."""
    scheme = _scheme(value)
    if scheme is None:
        return value
    if scheme != "file":
        return None
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(value)
    if parts.netloc not in ("", "localhost"):
        return None
    return unquote(parts.path)


def _path_value(name: str, value: str, cwd: Path) -> str:
    local = local_path(value)
    if local is None:
        # A remote URI. MLflow downloads it to a temporary directory and passes the local
        # copy; mlrun passes the URI on and lets the program read it.
        return value
    full = os.path.join(cwd, local) if local else ""
    if not full or not os.path.exists(full):
        raise ParameterError(
            f"parameter {name!r} expects a path, got {value!r}, "
            f"but no such file or directory exists in {cwd}",
        )
    return os.path.abspath(full)
