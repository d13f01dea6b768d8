"""Lock files: what `mlrun lock` writes beside an environment spec, and how builds find
and trust one.

    python_env.yaml  ->  python_env.lock   every package, exact version and sha256 hashes
                                           (a requirements file: pip/uv `--require-hashes`)
    conda.yaml       ->  conda.lock        an explicit conda package list (URL#sha256:...)
    docker_env       ->  docker_env.lock   beside the MLproject: the image's digest

A lock starts with a header of `# key: value` comment lines, the same for every kind:
its format, kind, the spec it was made from and the sha256 of that spec (`spec-sha256`,
see `spec_digest`: the spec's normalised content and the files it references), and how
it was made (Python version, platform, resolver). A lock whose `spec-sha256` is not the
spec's digest today is stale: the spec changed since, and builds refuse it (exit 2) until
`mlrun lock` runs again or `--no-lock` is given. The lock's own digest (the sha256 of
its bytes) is the env's cache key and is recorded with every run."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from mlrun.errors import SpecError
from mlrun.util.sha import sha256

if TYPE_CHECKING:
    from mlrun.envs.base import EnvOptions
    from mlrun.spec.model import Project

FORMAT = "1"
DOCKER_LOCK = "docker_env.lock"
_HEADER_LINE = re.compile(r"^# ([a-z][a-z0-9-]*): (.*)$")
_KIND_OF_ENV = {"python_env": "python", "conda_env": "conda", "docker_env": "docker"}


class Lock(NamedTuple):
    path: Path
    kind: str  # "python" | "conda" | "docker"
    header: Mapping[str, str]
    body: str  # everything after the header
    sha256: str  # of the file's bytes: the env key and what runs record

    @property
    def spec_sha256(self) -> str:
        return self.header.get("spec-sha256", "")

    def describe(self, base: Path | None = None) -> dict[str, str]:
        """What a run records about the lock it was built from."""
        shown = str(self.path)
        if base is not None and self.path.is_relative_to(base):
            shown = self.path.relative_to(base).as_posix()
        return {"file": shown, "sha256": self.sha256, "kind": self.kind}


def kind_of(project: Project) -> str | None:
    """The lock kind of the project's environment; None when it declares none."""
    if project.env.kind == "docker_env" or project.env.file is not None:
        return _KIND_OF_ENV.get(project.env.kind)
    return None


def lock_path(project: Project) -> Path | None:
    """Where the project's lock lives (whether or not it exists); None when there is
    nothing to lock (no environment declared)."""
    kind = kind_of(project)
    if kind == "docker":
        base = project.file.parent if project.file is not None else project.directory
        return base / DOCKER_LOCK
    if kind is None or project.env.file is None:
        return None
    spec = project.env.file
    return spec.with_name(spec.stem + ".lock" if spec.suffix else spec.name + ".lock")


def render(kind: str, spec_name: str, spec_sha: str, facts: Mapping[str, str], body: str) -> str:
    """The text of a lock file: the header, then the body."""
    lines = [
        f"# Made by `mlrun lock` from {spec_name}: change {spec_name} and run `mlrun lock` "
        "again rather than editing this file.",
        f"# mlrun-lock: {FORMAT}",
        f"# kind: {kind}",
        f"# spec: {spec_name}",
        f"# spec-sha256: {spec_sha}",
        *(f"# {key}: {value}" for key, value in facts.items()),
    ]
    return "\n".join(lines) + "\n\n" + body.strip("\n") + "\n"


def read(path: Path) -> Lock:
    """The lock at `path`; SpecError when it is not a lock mlrun can use."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the lock file: {exc.strerror}", file=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("the lock file is not UTF-8 text", file=str(path)) from None
    header: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 - the body starts at `index`
        match = _HEADER_LINE.match(line)
        if match:
            header[match.group(1)] = match.group(2).strip()
        elif not line.startswith("#"):
            break
    else:
        index = len(lines)
    kind = header.get("kind", "")
    if header.get("mlrun-lock") != FORMAT or kind not in _KIND_OF_ENV.values():
        raise SpecError(
            "this is not a lock file mlrun can read (no `# mlrun-lock: 1` header with a "
            "known `# kind:`)",
            hint="delete it and run `mlrun lock` again",
            file=str(path),
        )
    body = "\n".join(lines[index:]).strip("\n")
    return Lock(path, kind, header, body, sha256(data).hexdigest())


def spec_digest(project: Project) -> str:
    """The sha256 of the environment spec as a lock sees it: its normalised content
    (comments, quoting and key order do not count) and the content of every file it
    references (`-r requirements.txt`, a local wheel), by path relative to the project."""
    env = project.env
    data: dict[str, object]
    if env.kind == "docker_env" and env.docker is not None:
        docker = env.docker
        data = {"image": docker.image, "dockerfile": docker.dockerfile, "context": docker.context}
    elif env.kind == "python_env" and env.file is not None:
        from mlrun.envs.python.spec import load_python_env

        spec = load_python_env(env.file)
        entries = spec.build_dependencies + spec.dependencies
        data = {"python": spec.python, **spec.canonical()}
        data["files"] = _file_digests(entries, project.directory, str(env.file))
    elif env.kind == "conda_env" and env.file is not None:
        from mlrun.envs.conda.spec import load_conda_env

        conda = load_conda_env(env.file)
        data = {**conda.canonical()}
        data["files"] = _file_digests(conda.pip, project.directory, str(env.file))
    else:
        raise SpecError("the project declares no environment to lock")
    return sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _file_digests(entries: tuple[str, ...], directory: Path, file: str) -> dict[str, str]:
    from mlrun.envs.python.requirements import resolve
    from mlrun.envs.python.venv import relative_files
    from mlrun.util.sha import file_sha256

    found = resolve(entries, directory, file).inputs
    # Files only: a local package directory is not pinned by a lock (it is installed
    # from the project as it is), so editing its sources does not make the lock stale.
    contents = {path: file_sha256(path) for path in found if Path(path).is_file()}
    return relative_files(contents, directory)


def stale_reason(project: Project, lock: Lock) -> str | None:
    """Why `lock` does not fit the project's spec today (None: it fits)."""
    if lock.kind != kind_of(project):
        return f"it locks a {lock.kind} environment and the project declares a {project.env.kind}"
    if lock.spec_sha256 != spec_digest(project):
        spec = lock.header.get("spec") or "the environment spec"
        return f"{spec} changed since it was made"
    return None


def stale_error(project: Project, lock: Lock, reason: str) -> SpecError:
    spec = lock.header.get("spec") or "the environment spec"
    return SpecError(
        f"the lock is stale: {reason}; run `mlrun lock` again, or pass --no-lock to build "
        f"from {spec} without it",
        file=str(lock.path),
    )


def find(project: Project, options: EnvOptions) -> Lock | None:
    """The lock a build of this project must follow: `options.lock_file` when given
    (`mlrun reproduce`), else the one beside the spec; None with --no-lock or when
    there is none. A stale or unreadable lock is a SpecError (exit 2)."""
    if options.no_lock:
        return None
    path = Path(options.lock_file) if options.lock_file else lock_path(project)
    if path is None or not path.is_file():
        return None
    lock = read(path)
    reason = stale_reason(project, lock)
    if reason is not None:
        raise stale_error(project, lock, reason)
    return lock
