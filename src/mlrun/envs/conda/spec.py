"""conda.yaml: reading, validating and normalising it; and MLflow's conversion of a conda.yaml
into a python_env (for `--env-manager virtualenv|uv` on a conda project).

    name: my-env                 # ignored: mlrun names envs by their content
    channels: [conda-forge]
    dependencies:
      - python=3.10
      - numpy=1.26
      - pip:
          - -r requirements.txt
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrun.envs.python.requirements import normalise
from mlrun.envs.python.spec import PythonEnvSpec, open_env_file
from mlrun.errors import SpecError, UsageError

KEYS = ("name", "channels", "dependencies", "prefix", "variables")
# As in MLflow: only these conda packages can be expressed in a virtualenv.
_PYTHON_DEP = re.compile(r"^(python|pip|setuptools|wheel)\s*(<=|>=|==|=|<|>|!=)?\s*([\d.*]+)?$")


@dataclass(frozen=True)
class CondaSpec:
    file: Path
    channels: tuple[str, ...]
    dependencies: tuple[str, ...]  # conda match specs
    pip: tuple[str, ...]  # the `pip:` section, requirement lines
    variables: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()

    def canonical(self) -> dict[str, Any]:
        return {
            "channels": list(self.channels),
            "dependencies": [" ".join(d.split()) for d in self.dependencies],
            "pip": [normalise(d) for d in self.pip],
            "variables": [list(v) for v in self.variables],
        }

    def has_python(self) -> bool:
        return any(re.match(r"^python(\s|[<>=!]|$)", d) for d in self.dependencies)


def load_conda_env(path: Path) -> CondaSpec:
    """The spec of conda.yaml `path`; SpecErrors with every error in it."""
    ctx = open_env_file(path)
    spec = read_conda_env(ctx)
    ctx.raise_errors()
    assert spec is not None
    return spec


def read_conda_env(ctx: Any) -> CondaSpec | None:
    """Check conda.yaml, recording every error in `ctx` (None when it is not even a
    mapping)."""
    data = ctx.doc.data if ctx.doc.data is not None else {}
    if not isinstance(data, dict):
        ctx.fail("conda.yaml must be a mapping with `channels` and `dependencies`")
        return None
    ctx.unknown_keys(data, KEYS, "conda.yaml")
    if data.get("prefix"):
        ctx.warn("`prefix` is ignored: mlrun keeps envs in its cache", "prefix")
    channels = data.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        ctx.fail("`channels` must be a list of channel names or URLs", "channels")
        channels = []
    deps: list[str] = []
    pip: list[str] = []
    raw = data.get("dependencies") or []
    if not isinstance(raw, list):
        ctx.fail("`dependencies` must be a list", "dependencies")
        raw = []
    for index, item in enumerate(raw):
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)
        if isinstance(item, str):
            deps.append(item.strip())
        elif isinstance(item, dict) and list(item) == ["pip"]:
            section = item["pip"] or []
            if not isinstance(section, list) or not all(isinstance(p, str) for p in section):
                ctx.fail(
                    "the `pip:` section must be a list of requirement strings",
                    "dependencies",
                    index,
                )
                continue
            pip.extend(section)
        else:
            ctx.fail(
                f"dependency {index + 1} must be a package spec or a `pip:` list, not {item!r}",
                "dependencies",
                index,
            )
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        ctx.fail("`variables` must be a mapping of names to values", "variables")
        variables = {}
    return CondaSpec(
        file=Path(ctx.file),
        channels=tuple(channels),
        dependencies=tuple(deps),
        pip=tuple(pip),
        variables=tuple((str(k), str(v)) for k, v in variables.items()),
        warnings=tuple(str(w) for w in ctx.warnings),
    )


def to_python_env(spec: CondaSpec) -> PythonEnvSpec:
    """What MLflow does with a conda.yaml under virtualenv: keep the python version, pip,
    setuptools and wheel, and the pip section; any other conda package cannot be had."""
    python: str | None = None
    build: list[str] = []
    foreign: list[str] = []
    for dep in spec.dependencies:
        match = _PYTHON_DEP.match(dep)
        if not match:
            foreign.append(dep)
            continue
        name, op, version = match.groups()
        if name == "python":
            if not version or op not in (None, "=", "==", ">=", "<="):
                raise SpecError(
                    f"`{dep}` must pin a version (e.g. python=3.10) to be used without conda",
                    file=str(spec.file),
                )
            python = version.rstrip(".*")
        else:
            build.append(
                name
                + (
                    "==" + version
                    if version and op in ("=", "==")
                    else (op or "") + (version or "")
                )
            )
    if foreign:
        raise UsageError(
            f"{spec.file} needs conda packages ({', '.join(foreign)}), which a virtualenv "
            "cannot provide",
            hint="run with --env-manager conda, or move them to the `pip:` section",
        )
    return PythonEnvSpec(
        file=spec.file,
        python=python,
        build_dependencies=tuple(build),
        dependencies=spec.pip,
        warnings=spec.warnings,
    )
