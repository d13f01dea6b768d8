"""Bundles: a project packed into one file by `mlrun package`, run like a directory or a
git URL (`mlrun run FILE.tar.gz`).

A bundle is a gzipped tar whose first member is its manifest, `mlrun-bundle.json`: the
sha256, size and mode of every other member (and each symlink's target), the original
provenance of the project, its lock, and the run it was packaged from, if any. Then:

    project/...        the project's files (with its lock file beside its env spec)
    wheels/...         the locked packages' wheels (`--with-wheels`)
    image.tar          the docker image, as `docker save` writes it (`--with-image`)

Running one extracts it once per bundle digest (the sha256 of the file) into
`<cache>/bundles/<digest>/<n>/`, a slot leased to one run at a time (a file lock, as git
checkouts are) and reused while its files are as extracted. Extraction verifies as it
goes and refuses, before the project is used: a member the manifest does not list, or
whose bytes, size or type differ from it (a modified bundle); absolute paths and `..`;
links that lead out of the tree (symlinks whose target resolves outside it, hard links
to anything but an earlier file of the bundle); devices, fifos and other special files;
setuid, setgid and sticky bits."""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from mlrun.errors import BundleError, UsageError
from mlrun.reporting import Reporter
from mlrun.sources.manifest import (
    IMAGE,
    MANIFEST,
    PROJECT,
    WHEELS,
    manifest_of,
    normal_name,
    not_a_bundle,
    unsafe,
)
from mlrun.sources.model import Source

SUFFIXES = (".tar.gz", ".tgz")


def looks_like_bundle(uri: str, cwd: Path) -> bool:
    """A `.tar.gz` / `.tgz` file (decided without opening it)."""
    return uri.lower().endswith(SUFFIXES) and os.path.isfile(cwd / os.path.expanduser(uri))


def tree_digest(members: dict[str, dict[str, Any]]) -> str:
    """`sha256:<hex>` of the project's members (path, type, mode, content): the code
    identity of a bundle's project, the same whoever packed it and when."""
    from mlrun.util.sha import sha256

    digest = sha256()
    prefix = PROJECT + "/"
    for name in sorted(n for n in members if n.startswith(prefix)):
        info = members[name]
        value = info.get("sha256") or info.get("target") or ""
        line = f"{name[len(prefix) :]}\0{info.get('type')}\0{info.get('mode', 0):o}\0{value}\n"
        digest.update(line.encode("utf-8", "surrogateescape"))
    return "sha256:" + digest.hexdigest()


def resolve_bundle(
    uri: str, subdir: str, cwd: Path, *, version: str | None, reporter: Reporter
) -> Source:
    from mlrun.util.sha import file_sha256

    if subdir or version:
        raise UsageError(
            f"{uri} is a bundle: it holds one version of one project, so "
            + ("`#subdir`" if subdir else "--version")
            + " does not apply",
            hint="run the bundle as it is",
        )
    path = (cwd / os.path.expanduser(uri)).resolve()
    digest = file_sha256(path)
    slot, release = _lease(path, digest, reporter)
    try:
        manifest = json.loads((slot / MANIFEST).read_text())
    except (OSError, ValueError) as exc:  # it was verified when extracted
        release()
        raise BundleError(f"the extracted bundle at {slot} is unreadable: {exc}") from None
    return _source(path, digest, slot, manifest, release)


def _source(path: Path, digest: str, slot: Path, manifest: dict[str, Any], release: Any) -> Source:
    members = manifest["members"]
    identity = tree_digest(members)
    original = manifest.get("provenance") or {}
    provenance: dict[str, Any] = {
        "vcs": "bundle",
        "bundle": str(path),
        "bundle_sha256": digest,
        "bundle_created": manifest.get("created"),
        "packaged_by": manifest.get("mlrun_version"),
        "content_hash": identity,
        "project_dir": str(slot / PROJECT),
        "original": original,
    }
    run = manifest.get("run")
    if isinstance(run, dict) and run.get("run_id"):
        provenance["packaged_run"] = run["run_id"]
    supplies: dict[str, Any] = {}
    if (slot / WHEELS).is_dir():
        supplies["find_links"] = (str(slot / WHEELS),)
    image = manifest.get("image")
    if isinstance(image, dict) and image.get("id") and (slot / IMAGE).is_file():
        supplies["image_archive"] = (str(slot / IMAGE), str(image["id"]))
    return Source(
        project_dir=slot / PROJECT,
        uri=str(path),
        kind="bundle",
        provenance=provenance,
        code_identity="bundle:" + identity,
        release=release,
        root=slot / PROJECT,
        supplies=supplies,
    )


def _lease(path: Path, digest: str, reporter: Reporter) -> tuple[Path, Any]:
    """A slot holding the verified extraction of the bundle, leased until released."""
    from mlrun.sources import slots
    from mlrun.util.files import atomic_write
    from mlrun.util.paths import cache_dir

    def _fill(slot: Path, marker: Path) -> None:
        if _reusable(slot, marker, digest):
            return
        marker.unlink(missing_ok=True)
        shutil.rmtree(slot, ignore_errors=True)
        with reporter.progress(f"extracting and verifying {path.name}"):
            extract(path, slot)
        atomic_write(marker, json.dumps({"digest": digest, "state": _state(slot)}))

    def _too_many() -> Exception:
        return BundleError(f"{slots.MAX_SLOTS} runs of {path} are already using extractions of it")

    slot, _, release = slots.lease(cache_dir() / "bundles" / digest[:32], _fill, _too_many)
    return slot, release


def _reusable(slot: Path, marker: Path, digest: str) -> bool:
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(recorded, dict)
        and recorded.get("digest") == digest
        and recorded.get("state") == _state(slot)
    )


def _state(slot: Path) -> str:
    """A digest of every file's path, type, size and mtime under the slot (the noise
    contenthash skips, such as __pycache__, left out): an earlier run that changed, added
    or removed a file makes the slot extracted again."""
    from mlrun.sources.contenthash import walk
    from mlrun.util.sha import sha256

    digest = sha256()
    for rel, st in sorted(walk(slot), key=lambda item: item[0]):
        shape = (st.st_mode, st.st_size, st.st_mtime_ns) if st is not None else ()
        digest.update(f"{rel}\0{shape}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def extract(path: Path, target: Path) -> dict[str, Any]:
    """Extract the bundle at `path` into the new directory `target`, verifying every
    member against the manifest; BundleError (and nothing left behind) when it is
    unsafe or modified. Returns the manifest."""
    target.mkdir(parents=True)
    try:
        with tarfile.open(path, "r|gz") as archive:
            return _Extraction(archive, target, path).run()
    except BaseException as exc:
        shutil.rmtree(target, ignore_errors=True)
        if isinstance(exc, (OSError, tarfile.TarError, EOFError)):
            raise not_a_bundle(path, exc) from None
        raise


class _Extraction:
    def __init__(self, archive: tarfile.TarFile, target: Path, path: Path) -> None:
        self.archive = archive
        self.target = target
        self.path = path
        self.seen: set[str] = set()
        self.links: list[tuple[str, str]] = []

    def refuse(self, name: str, why: str) -> BundleError:
        return unsafe(self.path, name, why)

    def tampered(self, name: str, why: str) -> BundleError:
        return BundleError(
            f"the bundle {self.path} does not match its manifest: {name!r} {why} (it was "
            "modified after it was made); nothing of it was used",
            hint="get the bundle again from where it was made",
        )

    def run(self) -> dict[str, Any]:
        manifest = manifest_of(self.archive, self.archive.next(), self.path)
        self.members: dict[str, dict[str, Any]] = manifest["members"]
        self.check_space()
        # Directories are implied by the members (mlrun package writes no directory
        # entries); one that holds no member is refused, so that a bundle cannot make
        # more directories than its manifest lists members.
        self.directories = _ancestors(self.members)
        (self.target / MANIFEST).write_text(json.dumps(manifest))
        for member in _members(self.archive):
            self.member(member)
        missing = sorted(set(self.members) - self.seen)
        if missing:
            raise self.tampered(missing[0], "is listed in the manifest but not in the bundle")
        # Links last, so no file is ever written through one; judged once they all exist,
        # so that no order of creation hides a chain that leads out.
        for name, link in self.links:
            os.symlink(link, self.place(name))
        for name, _link in self.links:
            self.confined(name)
        return manifest

    def check_space(self) -> None:
        """Refuse, before writing anything, a bundle whose files would not fit on the
        disk (each member is held to its manifest's size before it is written, so a
        member cannot grow past what was counted here)."""
        total = sum(e["size"] for e in self.members.values() if e["type"] == "file")
        free = shutil.disk_usage(self.target).free
        if total > free:
            raise BundleError(
                f"the bundle {self.path} unpacks to {_mib(total)}, more than the {_mib(free)} "
                f"free in {self.target.parent}; nothing of it was used",
                hint="free some space, or set MLRUN_HOME to a directory on a larger disk",
            )
        fs = os.statvfs(self.target)
        entries = len(self.members) + len(_ancestors(self.members))
        if fs.f_files and entries > fs.f_favail:  # f_files 0: no inode limit (btrfs...)
            raise BundleError(
                f"the bundle {self.path} unpacks to {entries:,} files and directories, more "
                f"than the {fs.f_favail:,} the disk of {self.target.parent} has room for; "
                "nothing of it was used",
                hint="free some space, or set MLRUN_HOME to a directory on a larger disk",
            )

    def member(self, member: tarfile.TarInfo) -> None:
        name = self.checked_name(member)
        if member.isdir():
            if name not in self.directories:
                raise self.tampered(name, "is a directory holding no member of the manifest")
            self.place(name, directory=True).mkdir(exist_ok=True)
            return
        self.check_kind(name, member)  # what is unsafe is refused whatever the manifest says
        expected = self.members.get(name)
        if expected is None:
            raise self.tampered(name, "is not in the manifest")
        if name in self.seen:
            raise self.refuse(name, "appears twice")
        self.seen.add(name)
        if member.issym():
            if expected.get("type") != "symlink" or expected.get("target") != member.linkname:
                raise self.tampered(name, f"is a symlink to {member.linkname!r}")
            self.links.append((name, member.linkname))
        elif member.islnk():
            self.copy_of(name, normal_name(member.linkname) or "", expected)
        else:
            if expected.get("type") == "file" and member.size != expected["size"]:
                raise self.tampered(name, f"is {member.size} bytes, not {expected['size']}")
            handle = self.archive.extractfile(member)
            assert handle is not None
            self.write(name, handle, member.size, expected)

    def check_kind(self, name: str, member: tarfile.TarInfo) -> None:
        if member.issym():
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
            if member.linkname.startswith("/") or target.split("/")[0] != name.split("/")[0]:
                raise self.refuse(name, f"is a symlink to {member.linkname!r}, out of the tree")
        elif member.islnk():
            source = normal_name(member.linkname)
            if source is None or source not in self.seen or source == name:
                raise self.refuse(name, f"is a hard link to {member.linkname!r}, outside it")
        elif member.issparse():
            raise self.refuse(name, "is a sparse file (mlrun package never writes one)")
        elif not member.isreg():
            kind = "a fifo" if member.isfifo() else "a device" if member.isdev() else "special"
            raise self.refuse(name, f"is {kind}, not a file")

    def checked_name(self, member: tarfile.TarInfo) -> str:
        raw = member.name
        name = normal_name(raw)
        if name is None:
            raise self.refuse(raw, "leads outside the bundle's directory (absolute or `..`)")
        if member.mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX):
            raise self.refuse(raw, "has the setuid, setgid or sticky bit")
        top = name.split("/")[0]
        if top not in (PROJECT, WHEELS) and name != IMAGE:
            raise self.refuse(raw, "is outside project/, wheels/ and image.tar")
        return name

    def place(self, name: str, directory: bool = False) -> Path:
        """Where member `name` goes, its parent directories made; refused when a symlink
        stands on the way or (but for a directory) something is there already."""
        path = self.target / name
        for ancestor in reversed(path.relative_to(self.target).parents):
            if os.path.islink(self.target / ancestor):
                raise self.refuse(name, "would be written through a symlink")
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path) and not (directory and path.is_dir()):
            raise self.refuse(name, "would be written over another member")
        return path

    def write(self, name: str, data: IO[bytes], size: int, expected: dict[str, Any]) -> None:
        import hashlib

        if expected.get("type") != "file":
            raise self.tampered(name, "is a file")
        path = self.place(name)
        mode = 0o755 if int(expected.get("mode", 0o644)) & 0o111 else 0o644
        digest = hashlib.sha256()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(path, flags, mode), "wb") as out:
            while block := data.read(1 << 20):
                digest.update(block)
                out.write(block)
        if size != expected.get("size") or digest.hexdigest() != expected.get("sha256"):
            raise self.tampered(name, "has other content than its manifest says")

    def copy_of(self, name: str, source: str, expected: dict[str, Any]) -> None:
        if self.members.get(source, {}).get("sha256") != expected.get("sha256"):
            raise self.tampered(name, "has other content than its manifest says")
        with open(self.target / source, "rb") as data:
            self.write(name, data, int(expected.get("size", -1)), expected)

    def confined(self, name: str) -> None:
        from mlrun.util.confine import escapes

        real = escapes(self.target / name.split("/")[0], self.target / name)
        if real is not None:
            raise self.refuse(name, f"is a symlink leading out of the tree (to {real})")


def _ancestors(names: Iterable[str]) -> set[str]:
    """Every directory above the names (`project/a/b.py`: `project/a`, `project`)."""
    found: set[str] = set()
    for name in names:
        parent = posixpath.dirname(name)
        while parent and parent not in found:
            found.add(parent)
            parent = posixpath.dirname(parent)
    return found


def _members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (member := archive.next()) is not None:
        yield member


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB"
