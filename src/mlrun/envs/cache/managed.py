"""What every cached env manager shares: plan() computes the key and looks at the cache
(cheap, no subprocess, no lock), prepare() gets a ready env through the cache (building it
under the lock when needed) and returns a PreparedEnv that runs commands inside it.

A manager supplies `inputs()` (the key's ingredients), `build()`, `healthy()` and
`environ()`; see python/uv.py, python/virtualenv.py and conda/manager.py."""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrun.envs.base import EnvOptions, EnvPlan, Launch, PreparedEnv
from mlrun.envs.cache.store import BuildContext, EnvCache, make_key
from mlrun.errors import MlrunError
from mlrun.reporting import Reporter
from mlrun.spec.model import Project


@dataclass
class Inputs:
    label: str  # "uv env", "conda env"
    key_parts: dict[str, Any]
    payload: Any = None  # the manager's own parsed spec, interpreter, requirements...
    details: dict[str, Any] = field(default_factory=dict)  # for --dry-run and the record
    warnings: list[str] = field(default_factory=list)  # shown on every run
    build_warnings: list[str] = field(default_factory=list)  # shown when building
    problem: MlrunError | None = None  # raised by prepare() (so the run is recorded)
    lock: Any = None  # the lock file the build follows (envs.lockfile.Lock), if any


class CachedManager(abc.ABC):
    name: str

    @abc.abstractmethod
    def inputs(self, project: Project, options: EnvOptions) -> Inputs: ...

    @abc.abstractmethod
    def build(self, inputs: Inputs, ctx: BuildContext, options: EnvOptions) -> dict[str, Any]:
        """Create the env at ctx.prefix; return what the marker records about it."""

    @abc.abstractmethod
    def healthy(self, prefix: Path, marker: Mapping[str, Any]) -> bool:
        """Cheap (no subprocess): is the env still usable?"""

    @abc.abstractmethod
    def environ(self, prefix: Path, marker: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
        """Variables to set, and variables to remove, for commands run in the env."""

    def plan(self, project: Project, options: EnvOptions) -> EnvPlan:
        from mlrun.envs import refuse_docker_options

        refuse_docker_options(options, self.name)
        inputs = self.inputs(project, options)
        if inputs.problem is not None:
            return EnvPlan(
                self.name,
                project,
                options,
                key=None,
                cached=False,
                description=f"{inputs.label} ({inputs.problem.message})",
                details={"inputs": inputs, **inputs.details},
                problem=inputs.problem,
            )
        key = make_key(inputs.key_parts)
        cached = not options.rebuild and EnvCache(options.cache_root).ready(key, self.healthy)
        state = "cached" if cached else ("to rebuild" if options.rebuild else "to build")
        return EnvPlan(
            self.name,
            project,
            options,
            key=key,
            cached=cached,
            description=f"{inputs.label} {key[:12]} ({state})",
            details={"inputs": inputs, **inputs.details},
        )

    def prepare(self, plan: EnvPlan, reporter: Reporter) -> PreparedEnv:
        inputs: Inputs = plan.details["inputs"]
        for warning in inputs.warnings:
            reporter.warn(warning)
        if inputs.problem is not None:
            raise inputs.problem
        assert plan.key is not None
        label = f"{inputs.label} {plan.key[:12]}"

        if not plan.cached:  # before the live progress line, not across it
            for warning in inputs.build_warnings:
                reporter.warn(warning)

        def _build(ctx: BuildContext) -> dict[str, Any]:
            for warning in inputs.build_warnings:
                ctx.log.note(f"warning: {warning}")
            return {
                "kind": self.name,
                "spec_file": str(inputs.details.get("file", "")),
                "inputs": inputs.key_parts,
                **self.build(inputs, ctx, plan.options),
            }

        lease = EnvCache(plan.options.cache_root).acquire(
            plan.key,
            _build,
            self.healthy,
            reporter,
            label,
            rebuild=plan.options.rebuild,
            user=plan.project.directory,
        )
        marker = lease.marker
        for warning in marker.get("warnings", ()):  # what the build found out, every run
            reporter.warn(warning)
        reporter.debug(f"{label}: {'built' if lease.built else 'from the cache'} at {lease.prefix}")
        record = {
            "path": str(lease.prefix),
            "built": lease.built,
            **{
                k: marker[k]
                for k in (
                    "builder",
                    "python",
                    "packages",
                    "tools",
                    "build_log",
                    "unpinned",
                    "conda_to_pip",
                )
                if k in marker
            },
        }
        if inputs.lock is not None:  # every run says which lock its env came from
            record["lock"] = inputs.lock.describe(plan.project.directory)
        overrides, drop = self.environ(lease.prefix, marker)
        return PrefixEnv(plan, lease, record, overrides, drop)


class PrefixEnv(PreparedEnv):
    """An env that lives in a directory: its bin/ first on PATH, no activate script."""

    def __init__(
        self,
        plan: EnvPlan,
        lease: Any,
        record: dict[str, Any],
        overrides: dict[str, str],
        drop: set[str],
    ) -> None:
        super().__init__(plan, path=lease.prefix, record=record)
        self._lease = lease
        self._overrides = overrides
        self._drop = drop | {"PYTHONHOME", "__PYVENV_LAUNCHER__"}

    def environ_overrides(self) -> dict[str, str]:
        return dict(self._overrides)

    def child_environ(self, launch: Launch) -> dict[str, str]:
        env = super().child_environ(launch)
        for name in self._drop:
            env.pop(name, None)
        return env

    def release(self) -> None:
        self._lease.release()


def path_with(prefix: Path) -> str:
    """PATH with the env's bin directory first."""
    current = os.environ.get("PATH", os.defpath)
    return os.pathsep.join([str(prefix / "bin"), current])
