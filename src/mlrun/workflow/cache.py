"""Step cache keys, lookups in the run store, and the per-key lock.

A step's key hashes everything that decides what it computes:

    command    the entry point's command template
    parameters the resolved parameters, as the strings passed to the program; a path
               inside the project is written relative to it (`${project}/data.csv`), so
               the same project checked out elsewhere (another machine, another git
               checkout slot) has the same key
    code       the project's code identity (git commit + diff hash, or a content hash),
               or the content of the step's `code:` files (workflow/code.py)
    env        the environment's key (see env_identity)
    deps       the content of each declared dep
    upstream   the keys of the steps it needs

A FINISHED run tagged with the same `mlrun.cache_key` is reused. The inputs themselves are
kept in the `mlrun.cache_inputs` tag, so that a miss can say what changed since the last
run of the same step."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlrun.tracking.base import RunStore
from mlrun.tracking.model import FINISHED, Run

TAG_KIND = "mlrun.kind"  # "workflow" on a workflow's own run
TAG_KEY = "mlrun.cache_key"
TAG_INPUTS = "mlrun.cache_inputs"
TAG_WORKFLOW = "mlrun.workflow"
TAG_STEP = "mlrun.step"
TAG_PROJECT = "mlrun.project"
KEY_VERSION = "1"  # bump when the key's recipe changes: old entries then simply miss
MANIFEST_LIMIT = 5000  # a directory dep with more files is not listed file by file


@dataclass(frozen=True)
class KeyInputs:
    command: str
    parameters: Mapping[str, str]
    code: str
    env: str
    deps: Mapping[str, str] = field(default_factory=dict)
    upstream: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> str:
        data = {"v": KEY_VERSION, **self.to_json()}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_tag(cls, text: str | None) -> KeyInputs | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                str(data["command"]),
                dict(data["parameters"]),
                str(data["code"]),
                str(data["env"]),
                dict(data.get("deps", {})),
                dict(data.get("upstream", {})),
            )
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: no diff, just "inputs changed"


def what_changed(
    old: KeyInputs,
    new: KeyInputs,
    files: Callable[[str, str], str] | None = None,
    limit: int = 4,
) -> list[str]:
    """Human words for each input that differs, most specific first. `files(old, new)`
    names the files that differ between two code identities or directory digests (''
    when it cannot tell: workflow/code.py keeps what it needs)."""
    from mlrun.workflow.code import short_diff

    def named(before: str, after: str) -> str:
        return files(before, after) if files is not None else ""

    changes = []
    for name in sorted(set(old.parameters) | set(new.parameters)):
        before, after = old.parameters.get(name), new.parameters.get(name)
        if before != after:
            changes.append(f"parameter {name}: {_pair(before, after)}")
    if old.command != new.command:
        changes.append("the entry point's command changed")
    if old.code != new.code:
        names = named(old.code, new.code)
        changes.append(
            f"code changed: {names}"
            if names
            else f"code changed ({short_diff(old.code, new.code)})"
        )
    if old.env != new.env:
        changes.append(f"environment changed ({short_diff(old.env, new.env)})")
    for dep in sorted(set(old.deps) | set(new.deps)):
        if dep not in old.deps:
            changes.append(f"new dep {dep}")
        elif dep not in new.deps:
            changes.append(f"dep {dep} no longer declared")
        elif old.deps[dep] != new.deps[dep]:
            names = named(old.deps[dep], new.deps[dep])
            changes.append(f"dep {dep} changed" + (f": {names}" if names else ""))
    for up in sorted(set(old.upstream) | set(new.upstream)):
        if old.upstream.get(up) != new.upstream.get(up):
            changes.append(f"upstream {up} changed")
    if len(changes) > limit:
        changes = [*changes[:limit], f"and {len(changes) - limit} more"]
    return changes


def _pair(before: str | None, after: str | None, width: int = 40) -> str:
    """`'a' -> 'b'`; long values are cut around where they first differ, so the two
    never look the same."""
    if before is None or after is None or max(len(before), len(after)) <= width:
        return f"{_show(before)} -> {_show(after)}"
    same = 0
    while same < min(len(before), len(after)) and before[same] == after[same]:
        same += 1
    start = same - 12 if same > width - 12 else 0

    def cut(value: str) -> str:
        piece = value[start : start + width]
        return repr(
            ("..." if start else "") + piece + ("..." if start + width < len(value) else "")
        )

    return f"{cut(before)} -> {cut(after)}"


def _show(value: str | None) -> str:
    if value is None:
        return "(none)"
    return repr(value) if len(value) <= 40 else repr(value[:37] + "...")


PROJECT = "${project}"  # the project directory, in the key's parameter values


def portable_parameters(values: Mapping[str, str], project_dir: Path) -> dict[str, str]:
    """Parameter values as the key holds them: the project directory (a path default
    resolved into it, a path the user gave inside it) replaced by `${project}`."""
    top = str(project_dir).rstrip("/")
    found = {}
    for name, value in values.items():
        if value == top or value.startswith(top + "/"):
            value = PROJECT + value[len(top) :]
        found[name] = value
    return found


def env_identity(env_key: str | None, manager: str) -> str:
    """The env part of a step key.

    Managed envs (uv, virtualenv, conda, docker) have a content key. The `local` env is
    whatever the user's shell has; we take the `python` it puts first on PATH (by path,
    not by content): switching to another venv or interpreter is a different
    environment, but `pip install` into the same one is not seen (use --force, or
    declare a python_env to have package changes tracked)."""
    if env_key:
        return f"{manager}:{env_key}"
    return f"{manager}:{shutil.which('python') or shutil.which('python3') or '-'}"


def deps_digests(
    paths: list[str],
    project_dir: Path,
    manifests: dict[str, dict[str, str]] | None = None,
    root: Path | None = None,
) -> dict[str, str]:
    """{path as declared: digest}; a missing dep is an error worth stopping for. The
    per-file digests of each directory dep go to `manifests` (by its digest), so that a
    change can be named (not for huge directories: they would bloat what is kept). A
    relative dep must stay inside `root` (the checkout): a symlink or `..` leading out
    is refused rather than followed."""
    from mlrun.errors import UsageError
    from mlrun.sources.contenthash import combine, file_digests, files_hash, walk
    from mlrun.util.confine import escapes, leads_outside

    digests = {}
    for declared in paths:
        full = Path(declared).expanduser()
        if not full.is_absolute():
            full = project_dir / full
            real = escapes(root or project_dir, full)
            if real is not None:
                raise UsageError(
                    leads_outside(f"dep {declared!r}", real),
                    hint="write its absolute path to make the step depend on it",
                )
        if full.is_dir():
            found = file_digests(full, (rel for rel, _ in walk(full)))
            digests[declared] = "d" + combine(found)
            if manifests is not None and len(found) <= MANIFEST_LIMIT:
                manifests[digests[declared]] = found
        elif full.exists():
            digests[declared] = files_hash(full.parent, [full.name])
        else:
            raise UsageError(
                f"dep {declared!r} does not exist ({full})",
                hint="deps are files or directories, relative to the project",
            )
    return digests


class StepCache:
    """Lookups by key in the run store, and a file lock per key (cache/workflow-locks/)."""

    def __init__(self, store: RunStore, lock_dir: Path) -> None:
        self.store = store
        self.lock_dir = lock_dir

    def lookup(self, key: str) -> Run | None:
        """The newest FINISHED run with this key whose files can be read here."""
        return self.find(key)[0]

    def find(self, key: str) -> tuple[Run | None, str | None]:
        """(the newest FINISHED run with this key whose files can be read here, None when
        there is none; why the newest run with the key could not be used, or None). With
        a shared store, a run made on another machine has its files there only when its
        run directory is on the shared artifact root."""
        from mlrun.tracking.artifacts import unreadable

        why = None
        for run in self.store.search_runs(tags={TAG_KEY: key}, status=FINISHED, limit=5):
            problem = unreadable(run.run_dir)
            if problem is None:
                return run, None
            if why is None:
                on = f" (recorded on {run.host})" if run.host else ""
                why = f"run {run.run_id[:12]}{on} has this key, but {problem}"
        return None, why

    def previous(self, project: str, workflow: str, step: str) -> Run | None:
        """The most recent run of the same step of the same workflow and project."""
        found = self.store.search_runs(
            tags={TAG_PROJECT: project, TAG_WORKFLOW: workflow, TAG_STEP: step}, limit=1
        )
        return found[0] if found else None

    @contextmanager
    def locked(self, key: str, cancelled: Any = None, on_wait: Any = None) -> Iterator[bool]:
        """Hold the key's lock; yields False (without the lock) if `cancelled()` turned
        true while waiting. The OS drops the lock if this process dies."""
        from mlrun.util.locks import FileLock

        lock = FileLock(self.lock_dir / f"{key}.lock")
        waited = False
        while not lock.exclusive(timeout=0.1):
            if cancelled is not None and cancelled():
                yield False
                return
            if not waited and on_wait is not None:
                on_wait()
            waited = True
        try:
            yield True
        finally:
            lock.release()
