"""The workflow declaration: the top-level `workflows:` key of an MLproject.

MLflow ignores unknown top-level keys, so a project with workflows stays a valid MLflow
project. The spec loader keeps the key verbatim in `Project.extra`; here we read the file
again with line numbers (only when a workflow is used) and check everything that can be
checked before a step runs, naming file, line and key in each error.

    workflows:
      NAME:
        parameters: {alpha: {type: float, default: 0.5}}    # typed like entry points
        steps:
          STEP:
            entry_point: EP          # an entry point, or a .py/.sh file of the project
            parameters: {k: value}   # values may hold ${{ ... }} references (see refs)
            needs: [OTHER, ...]      # also implied by ${{ steps.OTHER... }} references
            matrix: {k: [v1, v2]}    # one run per combination: STEP[k=v1], STEP[k=v2]
            deps: [path, ...]        # files/dirs whose content is part of the cache key
            code: [glob, ...]        # the code it depends on (default: the whole project)
            cache: true              # false: always run, never reuse
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from mlrun.errors import SpecError, SpecErrors, UsageError
from mlrun.spec.context import did_you_mean
from mlrun.spec.model import Parameter, Project
from mlrun.spec.yamlio import YamlDoc, load_yaml_file
from mlrun.workflow import refs
from mlrun.workflow.refs import Ref, RefError, Template

T = TypeVar("T")
KEY = "workflows"
WORKFLOW_KEYS = ("parameters", "steps")
STEP_KEYS = ("entry_point", "parameters", "needs", "matrix", "deps", "code", "cache")
MAX_COMBINATIONS = 10_000  # runs one matrix step may expand to


@dataclass(frozen=True)
class Step:
    name: str
    entry_point: str
    parameters: Mapping[str, Template]
    needs: tuple[str, ...]  # declared needs plus steps referenced in parameters
    matrix: Mapping[str, tuple[str, ...]]
    deps: tuple[Template, ...]
    cache: bool
    line: int | None
    code: tuple[str, ...] = ()  # globs; () = the whole project (see workflow/code.py)


@dataclass(frozen=True)
class Workflow:
    name: str
    parameters: Mapping[str, Parameter]
    steps: Mapping[str, Step]  # in declaration order
    file: Path
    line: int | None

    def error(self, message: str, line: int | None, hint: str | None = None) -> SpecError:
        return SpecError(message, hint, file=str(self.file), line=line)


def workflow_names(project: Project) -> list[str]:
    """Names declared under `workflows:` (cheap: no re-parse, no validation)."""
    raw = project.extra.get(KEY)
    return [str(k) for k in raw] if isinstance(raw, dict) else []


def is_workflow(project: Project, name: str) -> bool:
    return name in workflow_names(project)


def wants_workflow(project: Project, name: str) -> bool:
    """Does `-e name` mean a workflow? Yes when one is declared under that name, and also
    when the `workflows` key is malformed and `name` is no entry point: loading the
    workflow then reports what is wrong with the declaration."""
    raw = project.extra.get(KEY)
    if isinstance(raw, dict):
        return name in raw
    return (
        raw is not None and name not in project.entry_points and not name.endswith((".py", ".sh"))
    )


def load_workflow(project: Project, name: str) -> Workflow:
    """The validated workflow `name` (graph checks are in graph.build); SpecErrors with
    every error of its declaration."""
    doc, section = _section(project)
    if name not in section:
        available = ", ".join(map(str, section)) or "none"
        raise UsageError(f"there is no workflow {name!r} (workflows: {available})")
    parser = _Parser(project, doc)
    workflow = parser.attempt(None, parser.workflow, name, section[name])
    if parser.errors or workflow is None:
        raise SpecErrors(parser.errors)
    return workflow


def read_workflows(project: Project) -> tuple[list[Workflow], list[SpecError]]:
    """Every workflow of the project that is valid, and every error of the others (for
    `mlrun validate`, which shows them all at once)."""
    if KEY not in project.extra:
        return [], []
    try:
        doc, section = _section(project)
    except SpecError as exc:
        return [], [exc]
    parser = _Parser(project, doc)
    valid = []
    for name, body in section.items():
        before = len(parser.errors)
        workflow = parser.attempt(None, parser.workflow, name, body)
        if workflow is not None and len(parser.errors) == before:
            valid.append(workflow)
    return valid, parser.errors


def _section(project: Project) -> tuple[YamlDoc, dict[Any, Any]]:
    assert project.file is not None, "workflows are only declared in an MLproject file"
    doc = load_yaml_file(project.file)
    section = doc.data.get(KEY) if isinstance(doc.data, dict) else None
    if not isinstance(section, dict):
        raise SpecError(
            "workflows must be a mapping of workflow names to {parameters, steps}",
            file=str(project.file),
            line=doc.line(KEY),
            key=KEY,
        )
    return doc, section


class _Scope(NamedTuple):
    """What a step's values may refer to."""

    step: str
    matrix: Mapping[str, tuple[str, ...]]
    params: Mapping[str, Parameter]
    all_steps: dict[Any, Any]


class _Parser:
    def __init__(self, project: Project, doc: YamlDoc) -> None:
        self.project = project
        self.doc = doc
        assert project.file is not None
        self.file = str(project.file)
        self.errors: list[SpecError] = []

    def attempt(self, default: T, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, or `default` with its error recorded: the parts of a declaration
        are checked one by one, so one pass finds every error."""
        try:
            return fn(*args)
        except SpecError as exc:
            self.errors.append(exc)
            return default

    def error(self, message: str, *path: Hashable, hint: str | None = None) -> SpecError:
        return SpecError(
            message,
            hint,
            file=self.file,
            line=self.doc.line(KEY, *path),
            key=".".join(str(p) for p in (KEY, *path)),
        )

    def workflow(self, name: object, body: object) -> Workflow:
        if not isinstance(name, str) or not refs.NAME.match(name):
            raise self.error(
                f"workflow name {name!r} is not valid: use letters, digits, "
                "'_' and '-', starting with a letter or '_'",
                str(name),
            )
        if name in self.project.entry_points:
            raise self.error(
                f"workflow {name!r} has the name of an entry point; `-e` could not tell them apart",
                name,
                hint="rename the workflow or the entry point",
            )
        if not isinstance(body, dict):
            raise self.error(f"workflow {name!r} must be a mapping with `steps`", name)
        self._unknown(body, WORKFLOW_KEYS, f"workflow {name!r}", name)
        params: dict[str, Parameter] = self.attempt(
            {}, self._parameters, name, body.get("parameters")
        )
        raw_steps = body.get("steps")
        if not isinstance(raw_steps, dict) or not raw_steps:
            raise self.error(
                f"workflow {name!r} needs a non-empty `steps` mapping",
                name,
                hint="e.g. steps: {train: {entry_point: main}}",
            )
        steps: dict[str, Step] = {}
        for sname, sbody in raw_steps.items():
            step = self.attempt(None, self._step, name, sname, sbody, params, raw_steps)
            if step is not None:
                steps[step.name] = step
        return Workflow(name, params, steps, Path(self.file), self.doc.line(KEY, name))

    def _unknown(
        self, body: dict[Any, Any], known: tuple[str, ...], what: str, *path: Hashable
    ) -> None:
        for key in body:
            if key not in known:
                self.errors.append(
                    self.error(
                        f"unknown key {key!r} in {what}{did_you_mean(str(key), known)}",
                        *path,
                        key,
                        hint=f"the keys of {what.split()[0]} are: {', '.join(known)}",
                    )
                )

    def _parameters(self, wf: str, raw: object) -> dict[str, Parameter]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.error(
                f"the parameters of workflow {wf!r} must be a mapping", wf, "parameters"
            )
        params: dict[str, Parameter] = {}
        for pname, praw in raw.items():
            param = self.attempt(None, self._parameter, wf, pname, praw)
            if param is not None:
                params[param.name] = param
        return params

    def _parameter(self, wf: str, pname: object, praw: object) -> Parameter:
        from mlrun.spec.params import canonical_type

        where = (wf, "parameters", pname)
        if not isinstance(pname, str) or not refs.NAME.match(pname):
            raise self.error(f"parameter name {pname!r} of workflow {wf!r} is not valid", *where)
        default: object = None
        if isinstance(praw, str):
            declared = praw
        elif isinstance(praw, dict):
            self._unknown(praw, ("type", "default"), f"parameter {pname!r}", *where)
            declared = str(praw.get("type") or "string")
            default = praw.get("default")
        else:
            raise self.error(
                f"parameter {pname!r} of workflow {wf!r} must be a type name or {{type, default}}",
                *where,
            )
        ptype = canonical_type(declared)
        if ptype is None:
            raise self.error(
                f"parameter {pname!r} of workflow {wf!r} has unknown type {declared!r}",
                *where,
                hint="types: string, float, int, bool, path, uri",
            )
        return Parameter(
            pname,
            ptype,
            declared,
            None if default is None else str(default),
            self.doc.line(KEY, *where),
        )

    def _step(
        self,
        wf: str,
        name: object,
        body: object,
        params: Mapping[str, Parameter],
        all_steps: dict[Any, Any],
    ) -> Step:
        where: tuple[Hashable, ...] = (wf, "steps", name)
        if not isinstance(name, str) or not refs.NAME.match(name):
            raise self.error(
                f"step name {name!r} of workflow {wf!r} is not valid: use "
                "letters, digits, '_' and '-', starting with a letter or '_'",
                *where,
            )
        if not isinstance(body, dict):
            raise self.error(
                f"step {name!r} must be a mapping with an entry_point",
                *where,
                hint=f"e.g. {name}: {{entry_point: main}}",
            )
        self._unknown(body, STEP_KEYS, f"step {name!r}", *where)
        entry_point = body.get("entry_point")
        if not isinstance(entry_point, str) or not entry_point:
            self.errors.append(
                self.error(
                    f"step {name!r} has no entry_point",
                    *where,
                    hint="name an entry point of the MLproject",
                )
            )
            entry_point = ""
        else:
            self.attempt(None, self._check_entry_point, entry_point, name, where)
        matrix: dict[str, tuple[str, ...]] = self.attempt(
            {}, self._matrix, name, body.get("matrix"), where
        )
        needs: list[str] = self.attempt([], self._names, body.get("needs"), "needs", name, where)
        for need in needs:
            self.attempt(None, self._check_step, need, name, all_steps, (*where, "needs"))
        scope = _Scope(name, matrix, params, all_steps)
        parameters: dict[str, Template] = {}
        raw_params = body.get("parameters") or {}
        if not isinstance(raw_params, dict):
            self.errors.append(
                self.error(
                    f"the parameters of step {name!r} must be a mapping", *where, "parameters"
                )
            )
            raw_params = {}
        for pname, value in raw_params.items():
            at = (*where, "parameters", pname)
            template = self.attempt(None, self._parameter_value, pname, value, scope, at)
            if template is None:
                continue
            for ref in refs.refs_of(template):
                if ref.root == "steps" and ref.name not in needs:
                    needs.append(ref.name)
            parameters[pname] = template
        deps = []
        dep_names: list[str] = self.attempt(
            [], self._names, body.get("deps"), "deps", name, where, True
        )
        for i, dep in enumerate(dep_names):
            template = self.attempt(None, self._dep, dep, scope, (*where, "deps", i))
            if template is not None:
                deps.append(template)
        cache = body.get("cache", True)
        if not isinstance(cache, bool):
            self.errors.append(
                self.error(f"cache of step {name!r} must be true or false", *where, "cache")
            )
            cache = True
        return Step(
            name,
            entry_point,
            parameters,
            tuple(needs),
            matrix,
            tuple(deps),
            cache,
            self.doc.line(KEY, *where),
            self.attempt((), self._code, name, body.get("code"), where),
        )

    def _parameter_value(
        self, pname: object, value: object, scope: _Scope, at: tuple[Hashable, ...]
    ) -> Template:
        step = scope.step
        if not isinstance(pname, str):
            raise self.error(f"parameter name {pname!r} of step {step!r} is not a string", *at)
        if value is None or isinstance(value, (dict, list)):
            raise self.error(
                f"parameter {pname!r} of step {step!r} must be a single "
                "value (a string, number or boolean)",
                *at,
            )
        return self._template(str(value), scope, at)

    def _dep(self, dep: str, scope: _Scope, at: tuple[Hashable, ...]) -> Template:
        template = self._template(dep, scope, at)
        if any(r.root == "steps" for r in refs.refs_of(template)):
            raise self.error(
                f"deps of step {scope.step!r} may only reference params and matrix", *at
            )
        return template

    def _code(self, step: str, raw: object, where: tuple[Hashable, ...]) -> tuple[str, ...]:
        from mlrun.sources.codefiles import check_pattern

        patterns = self._names(raw, "code", step, where, any_text=True)
        for i, pattern in enumerate(patterns):
            problem = check_pattern(pattern)
            if problem is None and "${{" in pattern:
                problem = "holds a reference; code patterns are plain globs"
            if problem is not None:
                raise self.error(
                    f"code pattern {pattern!r} of step {step!r} {problem}",
                    *where,
                    "code",
                    i,
                    hint="e.g. code: [evaluate.py, lib/, 'src/**/*.py']",
                )
        if raw is not None and not patterns:
            raise self.error(
                f"code of step {step!r} is empty; leave it out to mean the whole project",
                *where,
                "code",
            )
        return tuple(patterns)

    def _check_entry_point(self, ep: str, step: str, where: tuple[Hashable, ...]) -> None:
        if ep in self.project.entry_points:
            return
        if ep.endswith((".py", ".sh")) and (self.project.directory / ep).is_file():
            return
        available = ", ".join(self.project.entry_points) or "none"
        raise self.error(
            f"step {step!r} names entry point {ep!r}, which the project does "
            f"not have{did_you_mean(ep, self.project.entry_points)}",
            *where,
            "entry_point",
            hint=f"entry points: {available}",
        )

    def _check_step(
        self, other: str, step: str, all_steps: dict[Any, Any], where: tuple[Hashable, ...]
    ) -> None:
        if other not in all_steps:
            known = [str(s) for s in all_steps]
            raise self.error(
                f"step {step!r} needs unknown step {other!r}{did_you_mean(other, known)}",
                *where,
                hint=f"steps: {', '.join(known)}",
            )
        if other == step:
            raise self.error(f"step {step!r} needs itself (a cycle: {step} -> {step})", *where)

    def _names(
        self, raw: object, key: str, step: str, where: tuple[Hashable, ...], any_text: bool = False
    ) -> list[str]:
        if raw is None:
            return []
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise self.error(
                f"{key} of step {step!r} must be a list of {'paths' if any_text else 'step names'}",
                *where,
                key,
            )
        return list(items)

    def _matrix(
        self, step: str, raw: object, where: tuple[Hashable, ...]
    ) -> dict[str, tuple[str, ...]]:
        if raw is None:
            return {}
        if not isinstance(raw, dict) or not raw:
            raise self.error(
                f"matrix of step {step!r} must map names to lists of values",
                *where,
                "matrix",
                hint="e.g. matrix: {alpha: [0.1, 0.5]}",
            )
        matrix = {}
        for key, values in raw.items():
            at = (*where, "matrix", key)
            if not isinstance(key, str) or not refs.NAME.match(key):
                raise self.error(f"matrix name {key!r} of step {step!r} is not valid", *at)
            if (
                not isinstance(values, list)
                or not values
                or any(v is None or isinstance(v, (dict, list)) for v in values)
            ):
                raise self.error(
                    f"matrix {key!r} of step {step!r} must be a non-empty list of values", *at
                )
            texts = tuple(str(v) for v in values)
            if len(set(texts)) != len(texts):
                raise self.error(f"matrix {key!r} of step {step!r} lists a value twice", *at)
            matrix[key] = texts
        count = math.prod(len(v) for v in matrix.values())
        if count > MAX_COMBINATIONS:
            sizes = " x ".join(str(len(v)) for v in matrix.values())
            raise self.error(
                f"the matrix of step {step!r} makes {count:,} runs ({sizes}); a step may make "
                f"at most {MAX_COMBINATIONS:,}",
                *where,
                "matrix",
                hint="split the sweep into several steps or workflows",
            )
        return matrix

    def _template(self, value: str, scope: _Scope, where: tuple[Hashable, ...]) -> Template:
        try:
            template = refs.parse(value)
        except RefError as exc:
            raise self.error(f"step {scope.step!r}: {exc}", *where) from None
        for ref in refs.refs_of(template):
            self._check_ref(ref, scope, where)
        return template

    def _check_ref(self, ref: Ref, scope: _Scope, where: tuple[Hashable, ...]) -> None:
        step, matrix, params, all_steps = scope
        if ref.root == "params" and ref.name not in params:
            known = ", ".join(params) or "none"
            raise self.error(
                f"step {step!r} references {ref.text}, but the workflow has no "
                f"parameter {ref.name!r}{did_you_mean(ref.name, params)}",
                *where,
                hint=f"workflow parameters: {known}",
            )
        if ref.root == "matrix" and ref.name not in matrix:
            known = ", ".join(matrix) or "none"
            raise self.error(
                f"step {step!r} references {ref.text}, but its matrix has no {ref.name!r}",
                *where,
                hint=f"its matrix names: {known}",
            )
        if ref.root == "steps":
            self._check_step(ref.name, step, all_steps, where)
            other = all_steps[ref.name]
            if ref.attr == "matrix" and not (isinstance(other, dict) and other.get("matrix")):
                raise self.error(
                    f"step {step!r} references {ref.text}, but step {ref.name!r} has no matrix",
                    *where,
                )
