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

KEYS = ("name", "channels", "dependencies", "prefix", "variables")


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


# MLflow's build dependencies: conda packages a venv gets from pip, as build dependencies.
BUILD_PACKAGES = ("pip", "setuptools", "wheel")


@dataclass(frozen=True)
class WithoutConda:
    """What a conda.yaml is made of for a venv (uv, virtualenv) when conda is not used."""

    python: str | None  # the version to find; None: the Python running mlrun
    build: tuple[str, ...]  # pip, setuptools, wheel as pip requirements
    convertible: tuple[tuple[str, str], ...]  # (conda spec, pip requirement)
    not_convertible: tuple[tuple[str, str], ...]  # (conda spec, why not)
    notes: tuple[str, ...]  # about the Python version chosen


def without_conda(spec: CondaSpec) -> WithoutConda:
    """MLflow's reading (`_PythonEnv.from_conda_yaml`): the Python version, pip,
    setuptools and wheel, and the `pip:` section; the other conda packages are either
    installable by pip name (`--conda-to-pip`) or not at all."""
    from mlrun.envs.conda import topip

    python: str | None = None
    notes: list[str] = []
    build: list[str] = []
    convertible: list[tuple[str, str]] = []
    not_convertible: list[tuple[str, str]] = []
    for dep in spec.dependencies:
        parsed = topip.parse(dep)
        if parsed is not None and parsed.name == "python" and python is None:
            python, note = _python_version(dep, parsed.version)
            notes += [f"{spec.file}: {note}"] if note else []
        elif parsed is not None and parsed.name in BUILD_PACKAGES:
            build.append(parsed.name + (topip.pip_version(parsed.version) or ""))
        else:
            requirement, why = topip.to_pip(dep)
            if requirement is None:
                not_convertible.append((dep, why))
            else:
                convertible.append((dep, requirement))
    if python is None and not notes:
        notes.append(f"{spec.file} names no Python version: the Python running mlrun is used")
    return WithoutConda(
        python, tuple(build), tuple(convertible), tuple(not_convertible), tuple(notes)
    )


def _python_version(dep: str, conda_version: str) -> tuple[str | None, str]:
    """MLflow's choice: `python=3.10`, `==3.10.4`, `>=3.10`, `<=3.10` give that version;
    where it refuses (no version, `<`, `>`, `!=`, a range) the Python running mlrun is
    used, with a note, as conda would accept them."""
    from mlrun.envs.conda.topip import pip_version
    from mlrun.envs.python.interpreters import check_request

    pip = pip_version(conda_version) or ""
    for op in ("==", ">=", "<="):
        version = pip.removeprefix(op).removesuffix(".*")
        if pip.startswith(op) and "," not in pip and check_request(version) is None:
            return version, ""
    return None, (
        f"`{dep}` does not name one Python version: the Python running mlrun is used "
        "(write python=3.10 to choose)"
    )


def to_python_env(spec: CondaSpec, conda_to_pip: bool = False) -> PythonEnvSpec:
    """The python_env a venv manager builds for a conda.yaml (see without_conda), with the
    warnings naming what it leaves out. `conda_to_pip` adds the conda packages that have
    a pip name, installed best effort (PythonEnvSpec.converted)."""
    plan = without_conda(spec)
    left_out = [dep for dep, _ in plan.not_convertible]
    if not conda_to_pip:
        left_out = [dep for dep, _ in plan.convertible] + left_out
    warnings = [*spec.warnings, *plan.notes]
    if left_out:
        message = (
            f"{spec.file}: without conda, these conda packages are not installed: "
            f"{', '.join(left_out)}; only its Python version and `pip:` section are used, "
            "as MLflow does"
        )
        if conda_to_pip:
            why = "; ".join(f"{dep}: {reason}" for dep, reason in plan.not_convertible)
            message += f" (--conda-to-pip cannot install them: {why})"
        elif plan.convertible:
            names = ", ".join(requirement for _, requirement in plan.convertible)
            message += f" (--conda-to-pip would install {names} from the package index)"
        warnings.append(message)
    return PythonEnvSpec(
        file=spec.file,
        python=plan.python,
        build_dependencies=plan.build,
        dependencies=spec.pip,
        warnings=tuple(warnings),
        converted=tuple(req for _, req in plan.convertible) if conda_to_pip else (),
        left_out=tuple(left_out),
    )
