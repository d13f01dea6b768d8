"""The `code` part of a step's cache key, and the words for what changed in it.

By default a step's code is the whole project: the source's code identity (a git commit
plus a digest of uncommitted changes, or a content hash of a plain directory), so any
edit re-runs every step. A step that declares `code: [evaluate.py, lib/]` is keyed by
the content of the files those globs select (sources/codefiles.py), as they are on disk:
committed or not, dirty or clean makes no difference, only content does; an edit to any
other file leaves its key alone.

So that a miss can name the files that changed, a workflow run keeps the per-file
digests behind every code identity and directory dep it used in `code-files.json` in its
run directory (next to `logs/`); the next run compares its own against the ones the
step's last run used. Without them (older runs, removed run directories, a dep directory
of more than cache.MANIFEST_LIMIT files) the two identities are shown abbreviated just
enough to tell them apart."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from mlrun.errors import UsageError
from mlrun.sources.model import Source

MANIFEST = "code-files.json"
FILES_PREFIX = "files:"


class StepCode:
    """The code identities of one workflow run's steps (thread-safe: steps are planned
    in worker threads)."""

    def __init__(self, source: Source, default_identity: str) -> None:
        self.project_dir = source.project_dir
        self.root = source.root  # relative deps may not lead outside it
        self.in_git = source.provenance.get("vcs") == "git"
        self.default = default_identity
        self.manifests: dict[str, dict[str, str]] = {}
        self._files: list[str] | None = None
        self._by_patterns: dict[tuple[str, ...], str] = {}
        self._lock = threading.Lock()

    def identity(self, patterns: tuple[str, ...], step: str) -> str:
        """The step's code identity: the project's, or a digest of its `code:` files."""
        if not patterns:
            return self.default
        with self._lock:
            known = self._by_patterns.get(patterns)
            if known is not None:
                return known
            from mlrun.sources.codefiles import select
            from mlrun.sources.contenthash import combine, file_digests

            chosen = select(patterns, self._project_files())
            for pattern, files in chosen.items():
                if not files:
                    raise UsageError(
                        f"code pattern {pattern!r} of step {step!r} matches no file "
                        f"in {self.project_dir}",
                        hint="code: lists files, directories or globs relative to the project",
                    )
            files = sorted({f for found in chosen.values() for f in found})
            manifest = file_digests(self.project_dir, files)
            ident = FILES_PREFIX + combine(manifest)
            self.manifests[ident] = manifest
            self._by_patterns[patterns] = ident
            return ident

    def manifest(self, identity: str) -> dict[str, str] | None:
        """The per-file digests behind an identity of this run (the project's are
        computed on first use)."""
        with self._lock:
            if identity not in self.manifests and identity == self.default:
                from mlrun.sources.contenthash import file_digests

                self.manifests[identity] = file_digests(self.project_dir, self._project_files())
            return self.manifests.get(identity)

    def deps(self, paths: list[str]) -> dict[str, str]:
        """The digests of a step's deps (workflow/cache.py), keeping the per-file digests
        of directory deps like those of code."""
        from mlrun.workflow.cache import deps_digests

        found: dict[str, dict[str, str]] = {}
        digests = deps_digests(paths, self.project_dir, found, self.root)
        with self._lock:
            self.manifests.update(found)
        return digests

    def changes(self, before: Path | None) -> Callable[[str, str], str]:
        """`files(old, new)` for cache.what_changed: the files that differ between an
        identity (or dep digest) the workflow run in `before` (its directory) used and
        one of this run; '' when either side's per-file digests are unknown."""

        saved: dict[str, dict[str, str]] = {}

        def files(old: str, new: str) -> str:
            if before is not None and not saved:
                saved.update(saved_manifests(before))
            earlier, now = saved.get(old), self.manifest(new) if old in saved else None
            return changed_files(earlier, now) if earlier is not None and now is not None else ""

        return files

    def save(self, run_root: Path | None) -> None:
        """Keep the manifests with the workflow run (a cache: failure costs only words)."""
        with self._lock:
            if run_root is None or not self.manifests:
                return
            data = json.dumps(self.manifests, sort_keys=True, separators=(",", ":"))
        from mlrun.util.files import atomic_write

        try:
            atomic_write(run_root / MANIFEST, data)
        except OSError:
            pass

    def _project_files(self) -> list[str]:
        if self._files is None:
            from mlrun.sources.codefiles import project_files

            self._files = project_files(self.project_dir, self.in_git)
        return self._files


def saved_manifests(run_root: Path) -> dict[str, dict[str, str]]:
    """The manifests a workflow run saved ({} when they are gone or unreadable)."""
    try:
        data = json.loads((run_root / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def changed_files(before: Mapping[str, str], after: Mapping[str, str], limit: int = 4) -> str:
    """`evaluate.py, lib/x.py (new), old.py (removed) and 3 more`; '' if none differ."""
    names = []
    for path in sorted(set(before) | set(after)):
        if path not in before:
            names.append(f"{path} (new)")
        elif path not in after:
            names.append(f"{path} (removed)")
        elif before[path] != after[path]:
            names.append(path)
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def short_diff(old: str, new: str) -> str:
    """`A -> B` with each long hex run cut to 12 characters, or to as many as it takes
    for A and B to look different (never two equal-looking values)."""
    width = 12
    while True:
        a, b = _abbrev(old, width), _abbrev(new, width)
        if a != b or width > 64:
            return f"{a} -> {b}"
        width *= 2


def _abbrev(value: str, width: int) -> str:
    """Each run of hex digits longer than `width` keeps its first `width` characters."""
    import re

    return re.sub(f"[0-9a-f]{{{width + 1},}}", lambda m: m.group(0)[:width], value)
