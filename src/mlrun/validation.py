"""`mlrun validate`: everything wrong with a project, found in one pass -- the MLproject
(every error, not the first), its workflows, its environment files and settings -- and
listed in line order, errors and warnings together.

Nothing here prints: the CLI shows the report (validate_cmd.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from mlrun.errors import SpecError, SpecErrors
from mlrun.spec.model import Project, SpecWarning


class Diagnostic(NamedTuple):
    severity: str  # "error" | "warning"
    message: str  # the sentence, without file and line
    file: str | None = None
    line: int | None = None
    key: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        if self.file and not self.line:
            where = f"{self.file}: "
        return where + self.message

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class Report(NamedTuple):
    project: Project | None  # None when the MLproject could not even be read
    summary: dict[str, Any] | None  # the validate JSON, when there is no error
    diagnostics: list[Diagnostic]  # in line order, the MLproject's first

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def validate_project(directory: Path, root: Path | None = None) -> Report:
    """`root`: the checkout the project lives in (see spec.loader.load_project)."""
    from mlrun.spec.loader import read_project

    try:
        project = read_project(directory, root)
    except SpecError as exc:  # unreadable, not YAML, not a mapping: nothing more to see
        return Report(None, None, _ordered(None, _errors(exc), []))
    from mlrun.spec.params import default_warnings

    errors: list[SpecError] = list(project.errors)
    warnings: list[SpecWarning] = list(project.warnings)
    for ep in project.entry_points.values():
        warnings += default_warnings(ep)
    workflows: dict[str, Any] = {}
    if "workflows" in project.extra and project.file is not None:
        from mlrun.workflow.summary import workflow_findings

        workflows, found = workflow_findings(project)
        errors += found
    from mlrun.envs.check import env_findings

    env_errors, env_warnings = env_findings(project)
    errors += env_errors
    warnings += env_warnings
    diagnostics = _ordered(project, errors, warnings)
    summary = None
    if not errors:
        from mlrun.spec.summary import project_summary

        summary = project_summary(project)
        summary["warnings"] = [str(d) for d in diagnostics]  # all of them, in line order
        if project.env.kind == "conda_env" and project.env.file is not None:
            from mlrun.envs.conda.manager import without_conda_summary
            from mlrun.envs.conda.spec import load_conda_env

            without = without_conda_summary(load_conda_env(project.env.file))
            summary["env"]["without_conda"] = without
        if workflows:
            summary["workflows"] = workflows
    return Report(project, summary, diagnostics)


def _errors(exc: SpecError) -> list[SpecError]:
    return list(exc.errors) if isinstance(exc, SpecErrors) else [exc]


def _ordered(
    project: Project | None, errors: list[SpecError], warnings: list[SpecWarning]
) -> list[Diagnostic]:
    found = [
        Diagnostic("error", e.text, e.file, e.line, e.key, e.hint)
        for exc in errors
        for e in _errors(exc)
    ]
    found += [Diagnostic("warning", w.message, w.file, w.line, w.key) for w in warnings]
    main = str(project.file) if project is not None and project.file else None
    # The MLproject first, then the env files; by line within each (a stable sort keeps
    # the order found for one line).
    return sorted(found, key=lambda d: (d.file != main, d.file or "", d.line or 0))
