"""python_env.yaml: reading, validating and normalising it (MLflow's `_PythonEnv` format).

    python: "3.10.13"              # optional; default: the Python running mlrun
    build_dependencies: [pip]      # installed first
    dependencies: [-r requirements.txt, numpy==1.26.4, ./local_pkg]

The normalised form (`canonical()`) is what the env key hashes, so comments, quoting,
flow vs block style and key order never change the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrun.envs.python.requirements import normalise

KEYS = ("python", "build_dependencies", "dependencies")


@dataclass(frozen=True)
class PythonEnvSpec:
    file: Path | None  # None: no spec (a bare env, as MLflow makes for a project without one)
    python: str | None
    build_dependencies: tuple[str, ...]
    dependencies: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    # A conda.yaml built without conda: its conda packages installed by pip name, best
    # effort (--conda-to-pip), and those not installed.
    converted: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()

    def canonical(self) -> dict[str, Any]:
        data = {
            "build_dependencies": [normalise(d) for d in self.build_dependencies],
            "dependencies": [normalise(d) for d in self.dependencies],
        }
        if self.converted:  # absent otherwise: the keys of every other env stay as they were
            data["converted"] = [normalise(d) for d in self.converted]
        return data


def load_python_env(path: Path) -> PythonEnvSpec:
    """The spec of python_env.yaml `path`; SpecErrors with every error in it."""
    ctx = open_env_file(path)
    spec = read_python_env(ctx)
    ctx.raise_errors()
    assert spec is not None
    return spec


def open_env_file(path: Path) -> Any:
    """A LoadContext for an env file (SpecError when it cannot be read or parsed)."""
    from mlrun.spec.context import LoadContext
    from mlrun.spec.yamlio import load_yaml_file

    doc = load_yaml_file(path)
    return LoadContext(str(path), doc, list(doc.warnings))


def read_python_env(ctx: Any) -> PythonEnvSpec | None:
    """Check python_env.yaml, recording every error in `ctx` (None when it is not even
    a mapping); `mlrun validate` reads the errors and warnings from `ctx`."""
    path = Path(ctx.file)
    data = ctx.doc.data if ctx.doc.data is not None else {}
    if not isinstance(data, dict):
        ctx.fail(
            "python_env.yaml must be a mapping with `python`, "
            "`build_dependencies` and `dependencies`"
        )
        return None
    ctx.unknown_keys(data, KEYS, "python_env.yaml")
    python = data.get("python")
    if python is not None:
        if not isinstance(python, str):
            ctx.fail(
                f"`python` must be a quoted version string, not {python!r}",
                "python",
                hint='write python: "3.10" (unquoted, YAML reads 3.10 as the number 3.1)',
            )
            python = None
        else:
            from mlrun.envs.python.interpreters import check_request

            python = python.strip()
            problem = check_request(python)
            if problem:
                ctx.fail(f"`python: {python}` {problem}", "python")
    return PythonEnvSpec(
        file=path,
        python=python or None,
        build_dependencies=_strings(ctx, data, "build_dependencies"),
        dependencies=_strings(ctx, data, "dependencies"),
        warnings=tuple(str(w) for w in ctx.warnings),
    )


def _strings(ctx: Any, data: dict[Any, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        ctx.fail(
            f"`{key}` must be a list of requirement strings, not {type(value).__name__} {value!r}",
            key,
            hint=f"write {key}: [numpy==1.26.4, -r requirements.txt]",
        )
        return ()
    items = []
    for index, item in enumerate(value):
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            ctx.fail(f"`{key}` item {index + 1} must be a string, not {item!r}", key, index)
            continue
        items.append(item)
    return tuple(items)
