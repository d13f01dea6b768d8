"""Loading an MLproject into the frozen model, with MLflow's semantics and line numbers.

What MLflow accepts, we accept and read the same way (see mlflow/projects/_project_spec.py);
what MLflow would crash on with an AttributeError halfway through a run, we reject up front
with a SpecError naming file, line and key. Typos that MLflow silently tolerates (a
`{type:int}` read as one key, `entry_point:` instead of `entry_points:`) become warnings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlrun.errors import SpecError, SpecErrors
from mlrun.spec.context import LoadContext, did_you_mean
from mlrun.spec.environment import ENV_KEYS, detect_env, parse_env
from mlrun.spec.model import EntryPoint, EnvSpec, Parameter, Project
from mlrun.spec.params import NAME_RE, TYPE_ALIASES, canonical_type
from mlrun.spec.yamlio import load_yaml_file

MLPROJECT = "mlproject"  # matched case-insensitively, as MLflow does
TOP_LEVEL_KEYS = ("name", "entry_points", *ENV_KEYS)
# Top-level keys with a meaning elsewhere (MLflow backends, mlrun workflows): kept in
# Project.extra without a word. Listed so that near misses of them are caught as typos.
KNOWN_EXTENSIONS = ("kubernetes_env", "databricks_spark_job", "workflows")
ENTRY_POINT_KEYS = ("command", "parameters")
PARAMETER_KEYS = ("type", "default")
_QUOTE_HINT = "put it in quotes: YAML reads on/off/yes/no as booleans and digits as numbers"


def find_mlproject(directory: Path) -> Path | None:
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise SpecError(
            f"cannot list the project directory: {exc.strerror or exc}", file=str(directory)
        ) from None
    found = sorted(n for n in names if n.lower() == MLPROJECT and os.path.isfile(directory / n))
    if len(found) > 1:
        # MLflow takes whichever os.listdir returns first; which one that is depends on
        # the file system, so refuse to guess.
        raise SpecError(
            f"the project has several MLproject files ({', '.join(found)}); keep one",
            file=str(directory),
        )
    return directory / found[0] if found else None


def load_project(directory: Path, root: Path | None = None) -> Project:
    """The project in `directory`; SpecErrors (all of them, the first in line order
    leading) when the MLproject has errors. `root` is the checkout it lives in (default:
    the directory itself): the MLproject, its env files and docker build paths must not
    lead outside it, through symlinks or `..`."""
    project = read_project(directory, root)
    if project.errors:
        raise SpecErrors(list(project.errors), list(project.warnings))
    return project


def read_project(directory: Path, root: Path | None = None) -> Project:
    """The project with the errors found in one pass in `errors` (what is broken is left
    out of the model), for `mlrun validate`. Only an unreadable file raises (an
    MLproject that leads outside `root` is not read)."""
    directory = directory.absolute()
    root = directory if root is None else root.absolute()
    if not os.path.isdir(directory):
        raise SpecError(
            "the project directory does not exist or is not a directory", file=str(directory)
        )
    path = find_mlproject(directory)
    if path is None:
        env = _confine_env(detect_env(directory), directory, root, None)
        return Project(
            directory=directory, file=None, name=None, env=env, entry_points={}, root=root
        )
    file = str(path)
    _confine(root, path, "the MLproject file", file, None)
    doc = load_yaml_file(path)
    ctx = LoadContext(file=file, doc=doc, warnings=list(doc.warnings))
    data = {} if doc.data is None else doc.data  # an empty file is an empty project
    if not isinstance(data, dict):
        raise SpecError(
            f"the file must be a YAML mapping (name, entry_points, ...), "
            f"not a {type(data).__name__}",
            file=file,
            line=1,
        )
    for key in data:
        if not isinstance(key, str):
            ctx.fail(f"the top-level key {key!r} is not a string", key, hint=_QUOTE_HINT)
    data = {k: v for k, v in data.items() if isinstance(k, str)}
    name = data.get("name")
    if isinstance(name, (list, dict)):
        ctx.fail("name must be a string", "name")
        name = None
    env = _confine_env(parse_env(ctx, data, directory), directory, root, ctx)
    entry_points = _entry_points(ctx, data.get("entry_points"), path)
    extra = {k: v for k, v in data.items() if k not in TOP_LEVEL_KEYS}
    for key in extra:
        if key not in KNOWN_EXTENSIONS:
            suggestion = did_you_mean(key, TOP_LEVEL_KEYS + KNOWN_EXTENSIONS)
            if suggestion:
                ctx.warn(f"unknown top-level key {key!r}{suggestion}; it is ignored", key)
    return Project(
        directory=directory,
        file=path,
        name=None if name is None else str(name),
        env=env,
        entry_points=entry_points,
        warnings=tuple(ctx.warnings),
        extra=extra,
        extra_lines={k: line for k in extra if (line := ctx.line(k)) is not None},
        errors=tuple(ctx.errors),
        root=root,
    )


def _confine_env(env: EnvSpec, directory: Path, root: Path, ctx: LoadContext | None) -> EnvSpec:
    """`env`, or a local one (nothing read) when its file or docker build paths lead
    outside `root`: an error recorded in `ctx` (raised without one)."""
    file = ctx.file if ctx is not None else str(directory)
    ok = True
    if env.file is not None:
        what = f"{env.kind} file {env.file.name!r}" if env.declared else f"{env.file.name}"
        ok = _confine(root, env.file, what, file, ctx, env.kind)
    if env.docker is not None:
        for key in ("dockerfile", "context"):
            value = getattr(env.docker, key)
            if value is not None:
                what = f"docker_env.{key} {value!r}"
                ok = _confine(root, directory / value, what, file, ctx, "docker_env", key) and ok
    return env if ok else EnvSpec(kind="local")


def _confine(
    root: Path, path: Path, what: str, file: str, ctx: LoadContext | None, *key: str
) -> bool:
    """Whether `path` is inside `root`; if not, the error goes to `ctx` (raised without)."""
    from mlrun.util.confine import escapes, leads_outside

    real = escapes(root, path)
    if real is None:
        return True
    hint = f"project files must be inside {root}; copy the file into the project"
    if ctx is None:
        raise SpecError(leads_outside(what, real), hint, file=file)
    ctx.fail(leads_outside(what, real), *key, hint=hint)
    return False


def _entry_points(ctx: LoadContext, raw: object, path: Path) -> dict[str, EntryPoint]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        ctx.fail(
            "entry_points must be a mapping of entry point names to {command, parameters}",
            "entry_points",
        )
        return {}
    result: dict[str, EntryPoint] = {}
    for name, body in raw.items():
        where = ("entry_points", name)
        if not isinstance(name, str):
            ctx.fail(f"the entry point name {name!r} is not a string", *where, hint=_QUOTE_HINT)
            continue
        if not isinstance(body, dict):
            ctx.fail(
                f"entry point {name!r} must be a mapping with a command",
                *where,
                hint=f'e.g. {name}: {{command: "python {name}.py"}}',
            )
            continue
        unknown = ctx.unknown_keys(body, ENTRY_POINT_KEYS, f"entry point {name!r}", *where)
        command = body.get("command")
        if command is None or (isinstance(command, str) and not command.strip()):
            typo = next((k for k in unknown if did_you_mean(k, ENTRY_POINT_KEYS)), None)
            hint = (
                f"`{typo}` looks like a misspelt `command`"
                if typo
                else f'add e.g. `command: "python {name}.py"`'
            )
            ctx.fail(f"entry point {name!r} has no command", *where, hint=hint)
            command = ""
        elif not isinstance(command, str):
            ctx.fail(f"the command of entry point {name!r} must be a string", *where, "command")
            command = ""
        raw_params = body.get("parameters")
        if raw_params is None:
            raw_params = {}  # MLflow crashes on `parameters:` left empty; we read it as none
        if not isinstance(raw_params, dict):
            ctx.fail(
                f"the parameters of entry point {name!r} must be a mapping of names to types",
                *where,
                "parameters",
            )
            raw_params = {}
        params = {}
        for pname, praw in raw_params.items():
            param = _parameter(ctx, name, pname, praw)
            if param is not None:
                params[param.name] = param
        if not command:
            continue  # reported above; its parameters were still checked
        result[name] = EntryPoint(
            name=name,
            command=command,
            parameters=params,
            line=ctx.line(*where),
            file=path,
            extra={k: body[k] for k in body if k not in ENTRY_POINT_KEYS},
        )
    return result


def _parameter(ctx: LoadContext, ep: str, name: object, raw: object) -> Parameter | None:
    """The parameter, or None (an error recorded) when it cannot be one."""
    where = ("entry_points", ep, "parameters", name)
    if not isinstance(name, str):
        ctx.fail(
            f"parameter name {name!r} of entry point {ep!r} is not a string",
            *where,
            hint=_QUOTE_HINT,
        )
        return None
    if not NAME_RE.match(name):
        ctx.fail(
            f"parameter name {name!r} of entry point {ep!r} is not valid: use letters, "
            "digits, '_', '.' and '-', starting with a letter or '_'",
            *where,
        )
        return None
    label = f"parameter {name!r} of entry point {ep!r}"
    default: object = None
    if isinstance(raw, str):  # short form `alpha: float`: a type, no default
        declared: object = raw
    elif isinstance(raw, dict):
        for key in raw:
            if key not in PARAMETER_KEYS:
                _unknown_parameter_key(ctx, label, key, raw, where)
        declared = raw.get("type", "string")  # MLflow's default type
        default = raw.get("default")
    else:
        ctx.fail(
            f"{label} must be a type name (`{name}: float`) or a mapping "
            f"(`{name}: {{type: float, default: 0.5}}`)",
            *where,
        )
        return None
    if declared is None:
        ctx.warn(f"{label} has an empty type; it is treated as a string", *where, "type")
        declared = "string"
    declared = str(declared)
    ptype = canonical_type(declared)
    if ptype is None:
        suggestion = did_you_mean(declared, TYPE_ALIASES)
        ctx.warn(
            f"{label} has unknown type {declared!r}{suggestion}; MLflow treats it as "
            "a string, and so does mlrun",
            *where,
        )
        ptype = "string"
    return Parameter(
        name=name,
        type=ptype,
        declared_type=declared,
        default=None if default is None else str(default),
        line=ctx.line(*where),
    )


def _unknown_parameter_key(
    ctx: LoadContext, label: str, key: object, mapping: dict[Any, Any], where: tuple[object, ...]
) -> None:
    # `{type:int, default: 2}`: without a space after the colon YAML reads `type:int` as a
    # key with no value, so MLflow sees no type at all and uses "string".
    text = str(key)
    for known in PARAMETER_KEYS:
        rest = text[len(known) :].lstrip(" :=")
        if text.startswith(known) and rest and mapping[key] is None and known not in mapping:
            why = "no space after the colon" if ":" in text else "no colon"
            outcome = "uses type string" if known == "type" else "makes the parameter required"
            ctx.warn(
                f"{label}: YAML reads {text!r} as one key ({why}), so MLflow ignores it and "
                f"{outcome}; did you mean `{known}: {rest}`?",
                *where,
                key,
            )
            return
    ctx.warn(
        f"unknown key {text!r} in {label}{did_you_mean(text, PARAMETER_KEYS)}; "
        "it is ignored, as MLflow does",
        *where,
        key,
    )
