"""Hostile and damaged bundles: every unsafe member and every mismatch with the manifest
is refused (exit 2, one sentence naming the member) before anything of the bundle is
used, and nothing is written outside the extraction directory or left in the cache."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import cli
from tests.packaging.bundles import (
    MLPROJECT,
    file_entry,
    good_members,
    header,
    regular,
    special,
    write_bundle,
)

PROJECT = (regular("project/MLproject", MLPROJECT), MLPROJECT)
EVIL = b"#!/bin/sh\necho pwned\n"


def _refused(bundle: Path, *words: str) -> str:
    proc = cli("run", str(bundle), "--dry-run", cwd=bundle.parent)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr
    bundles = Path(os.environ["MLRUN_HOME"]) / "cache" / "bundles"
    left = [p for p in bundles.glob("*/*") if p.is_dir()] if bundles.is_dir() else []
    assert not left, f"an extraction was left behind: {left}"
    return proc.stderr


@pytest.mark.parametrize(
    ("name", "members", "words"),
    [
        ("dotdot", [PROJECT, (regular("project/../../evil", EVIL), EVIL)], ["leads outside"]),
        ("plain-dotdot", [PROJECT, (regular("../evil", EVIL), EVIL)], ["leads outside"]),
        ("absolute", [PROJECT, (regular("/tmp/mlrun-evil", EVIL), EVIL)], ["leads outside"]),
        ("top-level", [PROJECT, (regular("evil.sh", EVIL), EVIL)], ["outside project/"]),
        (
            "symlink-up",
            [PROJECT, special("project/up", tarfile.SYMTYPE, "../../..")],
            ["symlink", "out of the tree"],
        ),
        (
            "symlink-absolute",
            [PROJECT, special("project/passwd", tarfile.SYMTYPE, "/etc/passwd")],
            ["symlink", "out of the tree"],
        ),
        (
            "symlink-to-wheels",
            [PROJECT, special("project/w", tarfile.SYMTYPE, "../wheels")],
            ["out of the tree"],
        ),
        (
            # Each link looks inside when judged alone and in tar order: `a` before `s`
            # exists reads as project/; together they lead to the bundle's top.
            "symlink-chain",
            [
                PROJECT,
                special("project/a", tarfile.SYMTYPE, "s/.."),
                special("project/s", tarfile.SYMTYPE, "."),
            ],
            ["project/a", "leading out of the tree"],
        ),
        (
            "hardlink-out",
            [PROJECT, special("project/h", tarfile.LNKTYPE, "/etc/passwd")],
            ["hard link", "outside"],
        ),
        (
            "hardlink-unknown",
            [PROJECT, special("project/h", tarfile.LNKTYPE, "project/nothing")],
            ["hard link"],
        ),
        ("device", [PROJECT, special("project/dev", tarfile.CHRTYPE)], ["a device"]),
        ("fifo", [PROJECT, special("project/pipe", tarfile.FIFOTYPE)], ["a fifo"]),
        ("setuid", [PROJECT, (regular("project/su", EVIL, 0o4755), EVIL)], ["setuid"]),
        ("setgid", [PROJECT, (regular("project/sg", EVIL, 0o2755), EVIL)], ["setuid"]),
        (
            "through-symlink",
            [
                PROJECT,
                (regular("project/d/x", EVIL), EVIL),
                special("project/d", tarfile.SYMTYPE, "."),
            ],
            ["written over another member"],
        ),
    ],
)
def test_unsafe_members_are_refused(
    tmp_path: Path, name: str, members: list[object], words: list[str]
) -> None:
    bundle = write_bundle(tmp_path / f"{name}.tar.gz", members)  # type: ignore[arg-type]
    _refused(bundle, "is unsafe", *words)
    assert not (tmp_path / "evil").exists() and not Path("/tmp/mlrun-evil").exists()


@pytest.mark.parametrize("name", ["project/../../evil", "../evil", "/tmp/mlrun-evil", "evil.sh"])
def test_an_unsafe_name_the_manifest_does_not_list_is_refused_too(
    tmp_path: Path, name: str
) -> None:
    members = [PROJECT, (regular(name, EVIL), EVIL)]
    _refused(write_bundle(tmp_path / "b.tar.gz", members, good_members()), repr(name), "outside")
    assert not (tmp_path / "evil").exists() and not Path("/tmp/mlrun-evil").exists()


def test_a_setuid_member_the_manifest_calls_plain_is_refused(tmp_path: Path) -> None:
    members = [PROJECT, (regular("project/su", EVIL, 0o4755), EVIL)]
    manifest = {**good_members(), "project/su": file_entry(EVIL, 0o755)}
    _refused(write_bundle(tmp_path / "b.tar.gz", members, manifest), "'project/su' has the setuid")


def test_a_modified_member_is_refused(tmp_path: Path) -> None:
    manifest = good_members()
    manifest["project/train.py"] = file_entry(b"print('honest')\n")
    bundle = write_bundle(
        tmp_path / "b.tar.gz",
        [PROJECT, (regular("project/train.py", EVIL), EVIL)],
        manifest,
    )
    message = _refused(bundle, "does not match its manifest", "project/train.py")
    assert "modified" in message


def test_members_missing_from_the_bundle_or_the_manifest_are_refused(tmp_path: Path) -> None:
    manifest = {**good_members(), "project/train.py": file_entry(b"x")}
    _refused(write_bundle(tmp_path / "missing.tar.gz", [PROJECT], manifest), "project/train.py")
    extra = [PROJECT, (regular("project/extra.py", EVIL), EVIL)]
    bundle = write_bundle(tmp_path / "extra.tar.gz", extra, good_members())
    _refused(bundle, "project/extra.py", "is not in the manifest")
    twice = [PROJECT, PROJECT]
    _refused(write_bundle(tmp_path / "twice.tar.gz", twice, good_members()), "appears twice")


def test_what_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "late.tar.gz", [PROJECT], manifest_first=False)
    _refused(bundle, "its first member is not mlrun-bundle.json")
    (tmp_path / "junk.tar.gz").write_bytes(b"not gzip at all")
    _refused(tmp_path / "junk.tar.gz", "is not a bundle mlrun can read")
    with tarfile.open(tmp_path / "future.tar.gz", "w:gz") as tar:
        data = json.dumps({"format": 99, "members": {}}).encode()
        tar.addfile(regular("mlrun-bundle.json", data), __import__("io").BytesIO(data))
    _refused(tmp_path / "future.tar.gz", "not one this mlrun reads")


def test_a_sound_hand_made_bundle_runs_with_links_inside_it(tmp_path: Path) -> None:
    script = b"print(open('data/link.txt').read())\n"
    bundle = write_bundle(
        tmp_path / "ok.tar.gz",
        [
            special("project/data", tarfile.DIRTYPE, mode=0o755),  # implied by its files
            PROJECT,
            (regular("project/show.py", script), script),
            (regular("project/data/real.txt", b"inside"), b"inside"),
            special("project/data/link.txt", tarfile.SYMTYPE, "real.txt"),
            special("project/copy.txt", tarfile.LNKTYPE, "project/data/real.txt"),
        ],
        {
            **good_members(),
            "project/show.py": file_entry(script),
            "project/data/real.txt": file_entry(b"inside"),
            "project/data/link.txt": {"type": "symlink", "target": "real.txt", "mode": 0o777},
            "project/copy.txt": file_entry(b"inside"),
        },
    )
    proc = cli("run", str(bundle), "-e", "show.py", "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(cli("runs", "show", json.loads(proc.stdout)["run_id"], "--json").stdout)
    assert Path(shown["log_paths"]["stdout"]).read_text() == "inside\n"
    assert shown["source_type"] == "bundle" and shown["source"]["bundle_sha256"]


def test_huge_members_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    # A member whose header claims a terabyte (its data never comes: nothing may be read
    # or written for it) where the manifest says 5 bytes.
    manifest = {**good_members(), "project/big.bin": file_entry(b"small")}
    bundle = write_bundle(
        tmp_path / "grown.tar.gz", [PROJECT], manifest, tail=header("project/big.bin", 1 << 40)
    )
    _refused(bundle, "does not match its manifest", "'project/big.bin' is 1099511627776 bytes")
    # A manifest that owns up to an exabyte: refused before the first member.
    manifest["project/big.bin"] = {**file_entry(b""), "size": 1 << 60}
    bundle = write_bundle(
        tmp_path / "exa.tar.gz", [PROJECT], manifest, tail=header("project/big.bin", 1 << 60)
    )
    _refused(bundle, "unpacks to 1,099,511,627,776 MiB, more than the", "free in")
    # A sparse member (a small file standing for a huge one) is never extracted.
    sparse = regular("project/sparse.bin", b"")
    sparse.type = tarfile.GNUTYPE_SPARSE
    bundle = write_bundle(tmp_path / "sparse.tar.gz", [PROJECT, sparse])
    _refused(bundle, "is unsafe", "'project/sparse.bin' is a sparse file")
    # A manifest larger than any mlrun writes (its data never comes either).
    with tarfile.open(tmp_path / "manifest.tar.gz", "w:gz") as tar:
        tar.fileobj.write(header("mlrun-bundle.json", 1 << 30))  # type: ignore[union-attr]
    _refused(tmp_path / "manifest.tar.gz", "its manifest is 1073741824 bytes, more than")


BAD_MANIFESTS = {
    "not-json": (b"{format: 1", "its manifest is not valid JSON"),
    "a-list": (b"[1, 2]", "not one this mlrun reads"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "its manifest is not"),
    "entry-not-object": ({"project/MLproject": "yes"}, "members['project/MLproject'] is not an"),
    "size-text": (
        {"project/MLproject": {**file_entry(MLPROJECT), "size": "12"}},
        "members['project/MLproject'].size is '12', not a number of bytes",
    ),
    "size-negative": (
        {"project/MLproject": {**file_entry(MLPROJECT), "size": -1}},
        ".size is -1",
    ),
    "sha-bad": (
        {"project/MLproject": {**file_entry(MLPROJECT), "sha256": "x" * 64}},
        ".sha256 is not a sha256 in hex",
    ),
    "mode-text": (
        {"project/MLproject": {**file_entry(MLPROJECT), "mode": "0755"}},
        ".mode is '0755', not a file mode",
    ),
    "mode-setuid": (
        {"project/MLproject": {**file_entry(MLPROJECT), "mode": 0o4755}},
        "'project/MLproject' has the setuid, setgid or sticky bit",
    ),
    "type-device": (
        {"project/MLproject": {**file_entry(MLPROJECT), "type": "chardev"}},
        ".type is 'chardev', not 'file' or 'symlink'",
    ),
    "symlink-no-target": (
        {**good_members(), "project/l": {"type": "symlink", "target": 7}},
        "members['project/l'].target is not a path",
    ),
    "name-unclean": (
        {**good_members(), "project//x": file_entry(b"")},
        "members['project//x'] is not a clean path",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_a_malformed_manifest_is_refused_naming_the_key(tmp_path: Path, case: str) -> None:
    value, words = BAD_MANIFESTS[case]
    document = value if isinstance(value, bytes) else None
    members = None if isinstance(value, bytes) else value
    bundle = write_bundle(tmp_path / f"{case}.tar.gz", [PROJECT], members, document=document)
    _refused(bundle, words)


@pytest.mark.parametrize(
    ("run", "words"),
    [
        ("packaged", "'run' is not an object"),
        ({"entry_point": "main"}, "run.run_id is None, not a str"),
        ({"run_id": "r1", "entry_point": "main", "parameters": [1]}, "run.parameters is [1]"),
        (
            {"run_id": "r1", "entry_point": "main", "parameters": {"n": {"$ne": 1}}},
            "run.parameters['n'] is {'$ne': 1}, not a value",
        ),
        ({"run_id": "r1", "entry_point": "main", "exit_code": "0"}, "run.exit_code is '0'"),
        ({"run_id": "r1", "entry_point": "main", "metrics": [{"key": 1}]}, "run.metrics[0] is"),
    ],
)
def test_a_malformed_run_in_the_manifest_is_refused_by_reproduce_and_run(
    tmp_path: Path, run: object, words: str
) -> None:
    document = json.dumps({"format": 1, "members": good_members(), "run": run}).encode()
    bundle = write_bundle(tmp_path / "run.tar.gz", [PROJECT], document=document)
    proc = cli("reproduce", str(bundle), "--check")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "its manifest is malformed" in proc.stderr and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    _refused(bundle, words)


def test_a_directory_holding_no_member_is_refused(tmp_path: Path) -> None:
    # Else a bundle of a few KiB could make millions of directories.
    empty = special("project/empty", tarfile.DIRTYPE, mode=0o755)
    bundle = write_bundle(tmp_path / "dirs.tar.gz", [PROJECT, empty], good_members())
    _refused(bundle, "'project/empty' is a directory holding no member of the manifest")


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """MLRUN_HOME on a 1 MiB tmpfs with room for 64 files (root mounts it)."""
    import subprocess

    disk = tmp_path / "small"
    disk.mkdir()
    options = "size=1m,nr_inodes=64"
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {proc.stderr.strip()}")
    monkeypatch.setenv("MLRUN_HOME", str(disk / "home"))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_bundle_that_does_not_fit_on_the_disk_is_refused_before_extraction(
    tmp_path: Path, small_disk: Path
) -> None:
    big = b"x" * (2 << 20)  # 2 MiB, on a 1 MiB disk
    bundle = write_bundle(tmp_path / "big.tar.gz", [PROJECT, (regular("project/big", big), big)])
    _refused(bundle, "unpacks to 2 MiB, more than the", "free in")
    many = [(regular(f"project/f{i}", b"1"), b"1") for i in range(100)]
    bundle = write_bundle(tmp_path / "many.tar.gz", [PROJECT, *many])
    _refused(bundle, "unpacks to 102 files and directories, more than the")
    small = write_bundle(tmp_path / "small.tar.gz", [PROJECT, *many[:10]])
    assert cli("run", str(small), "--dry-run").returncode == 0  # what fits is extracted
