"""`mlrun package` and running bundles: real git projects, real env builds from the test
wheelhouse, a second MLRUN_HOME standing for another machine."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.helpers import cli, mlrun
from tests.packaging.projects import git_project, output_of, package, run

OLD_INDEX = ("mlt_alpha-1.0-py3-none-any.whl", "mlt_beta-1.0-py3-none-any.whl")


def _index(full: Path, target: Path, names: tuple[str, ...] = OLD_INDEX) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(full / name, target / name)
    return target


def _members(bundle: Path) -> dict[str, bytes]:
    found = {}
    with tarfile.open(bundle, "r:gz") as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.isreg() else None
            found[member.name] = handle.read() if handle else b""
    return found


def _another_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A fresh MLRUN_HOME and uv cache, and a package index with nothing on it."""
    monkeypatch.setenv("MLRUN_HOME", str(tmp_path / name / "home"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / name / "uv-cache"))
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(_index(tmp_path, tmp_path / name / "index", ())))


@pytest.mark.slow  # builds envs on two homes
def test_a_bundle_of_a_run_runs_offline_on_another_home_with_the_same_package_versions(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    commit = git_project(work)
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(_index(isolated_tools, tmp_path / "old")))
    first = run(work, "-P", "n=4", "--offline")
    assert first["env"]["packages"] == ["mlt-alpha==1.0", "mlt-beta==1.0"]
    bundle = tmp_path / "packed.tar.gz"
    summary = package(first["run_id"], bundle, "--with-wheels", "--offline")
    assert summary["run_id"] == first["run_id"] and summary["wheels"] == 2
    assert summary["lock"]["made"] == f"from the packages run {first['run_id'][:12]} had installed"
    members = _members(bundle)
    assert next(iter(members)) == "mlrun-bundle.json"
    assert {"project/MLproject", "project/train.py", "project/python_env.lock"} <= set(members)
    assert "wheels/mlt_beta-1.0-py3-none-any.whl" in members
    manifest = json.loads(members["mlrun-bundle.json"])
    assert manifest["provenance"]["commit"] == commit
    assert manifest["run"]["parameters"]["n"] == "4"
    assert manifest["run"]["outputs"] == first["outputs"]
    assert not (work / "python_env.lock").exists()  # the project itself is left as it was

    # Another machine: nothing on its index, a cold uv cache, no network.
    _another_machine(tmp_path, monkeypatch, "b")
    there = run(bundle, "-P", "n=4", "--offline")
    assert there["status"] == "FINISHED"
    assert there["env"]["packages"] == first["env"]["packages"]
    assert there["env"]["lock"]["sha256"] == summary["lock"]["sha256"]
    assert there["outputs"] == {"beta": "1.0", "data": "committed", "n": 4}
    source = there["source"]
    assert there["source_type"] == "bundle" and source["bundle_sha256"] == summary["sha256"]
    assert source["original"]["commit"] == commit and source["packaged_run"] == first["run_id"]
    # The wheels did it: the same bundle without them cannot build there.
    bare = tmp_path / "bare.tar.gz"
    monkeypatch.setenv("MLRUN_HOME", str(tmp_path / "home-a-again"))
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(tmp_path / "old"))
    package(work, bare, "--offline")
    _another_machine(tmp_path, monkeypatch, "c")
    proc = mlrun("run", str(bare), "--offline", timeout=300)
    assert proc.returncode == 125, proc.stderr


@pytest.mark.slow  # builds an env
def test_packaging_a_directory_makes_its_lock_on_the_fly_and_refuses_a_stale_one(
    tmp_path: Path, isolated_tools: Path
) -> None:
    work = tmp_path / "work"
    git_project(work)
    summary = package(work, tmp_path / "p.tar.gz", "--offline")
    assert summary["lock"] == {
        "file": "python_env.lock",
        "sha256": summary["lock"]["sha256"],
        "made": "made when packaged",
    }
    members = _members(tmp_path / "p.tar.gz")
    assert b"# spec: python_env.yaml" in members["project/python_env.lock"]
    assert not (work / "python_env.lock").exists()
    assert ".gitignore" in {n.removeprefix("project/") for n in members}
    assert not any(n.startswith("project/.git/") for n in members)
    # A fresh lock of the project's own is taken as it is; a stale one is refused.
    assert cli("lock", str(work), "--offline").returncode == 0
    own = package(work, tmp_path / "own.tar.gz", "--offline")
    assert own["lock"]["made"] == "the project's lock"
    assert own["lock"]["sha256"] == summary["lock"]["sha256"]  # the same resolution
    (work / "python_env.yaml").write_text((work / "python_env.yaml").read_text() + "# x\n")
    (work / "python_env.yaml").write_text("dependencies: [mlt-gamma]\n")
    proc = cli("package", str(work), "-o", str(tmp_path / "stale.tar.gz"))
    assert proc.returncode == 2 and "the lock is stale" in proc.stderr
    assert not (tmp_path / "stale.tar.gz").exists()
    assert package(work, tmp_path / "nolock.tar.gz", "--no-lock")["lock"]["made"] is None
    # The same content packed twice: the same members, the same project digest.
    again = package(work, tmp_path / "again.tar.gz", "--no-lock")
    assert (
        again["project_sha256"] == package(work, tmp_path / "x.tgz", "--no-lock")["project_sha256"]
    )
    assert cli("package", str(work), "-o", str(tmp_path / "p.zip")).returncode == 2


@pytest.mark.slow  # builds an env
def test_a_dirty_run_is_packaged_with_its_diff_and_its_untracked_files(
    tmp_path: Path, isolated_tools: Path
) -> None:
    work = tmp_path / "work"
    git_project(work)
    (work / "data" / "input.txt").write_text("edited, not committed\n")
    (work / "data" / "extra.txt").write_text("untracked\n")
    (work / "ignored").mkdir()
    (work / "ignored" / "big.bin").write_text("ignored by git\n")
    dirty = run(work, "--offline")
    assert dirty["source"]["dirty"] is True
    assert dirty["outputs"]["data"] == "edited, not committed"
    (work / "data" / "input.txt").write_text("moved on since\n")  # the working tree moves on
    bundle = tmp_path / "dirty.tar.gz"
    package(dirty["run_id"], bundle, "--offline")
    members = _members(bundle)
    assert members["project/data/input.txt"] == b"edited, not committed\n"
    assert members["project/data/extra.txt"] == b"untracked\n"
    assert "project/ignored/big.bin" not in members
    assert output_of(run(bundle, "--offline")).startswith("beta=2.0 data=edited, not committed")
    # The untracked file's content is not kept by mlrun: once it changed, the run's
    # code is gone, and packaging it says so instead of packing something else.
    (work / "data" / "extra.txt").write_text("changed since\n")
    proc = cli("package", dirty["run_id"], "-o", str(tmp_path / "gone.tar.gz"))
    assert proc.returncode == 2
    assert "untracked files (data/extra.txt)" in proc.stderr and "changed" in proc.stderr


@pytest.mark.slow  # builds an env, runs a bundle several times
def test_a_bundle_is_extracted_once_per_digest_and_again_when_a_run_changed_it(
    tmp_path: Path, isolated_tools: Path
) -> None:
    from mlrun import sources

    work = tmp_path / "work"
    git_project(work)
    bundle = tmp_path / "b.tar.gz"
    package(work, bundle, "--offline")
    first = mlrun("run", str(bundle), "--offline", timeout=300)
    assert first.returncode == 0 and "extracting and verifying" in first.stderr
    second = mlrun("run", str(bundle), "--offline", timeout=300)
    assert second.returncode == 0 and "extracting" not in second.stderr
    digest = json.loads(cli("package", str(work), "-o", str(tmp_path / "x.tgz"), "--json").stdout)
    slots = Path(os.environ["MLRUN_HOME"]) / "cache" / "bundles"
    (slot,) = [p for p in slots.glob("*/0") if p.is_dir()]
    # A run that writes into its project leaves a changed tree: the next run does not get it.
    (slot / "project" / "stray.txt").write_text("left by a run")
    third = mlrun("run", str(bundle), "--offline", timeout=300)
    assert third.returncode == 0 and "extracting and verifying" in third.stderr
    assert not (slot / "project" / "stray.txt").exists()
    # A run holding the extraction: a concurrent one gets its own.
    with sources.resolve(str(bundle), cwd=tmp_path) as held:
        assert held.project_dir == slot / "project"
        concurrent = run(bundle, "--offline")
        assert concurrent["source"]["project_dir"] == str(
            slots / slot.parent.name / "1" / "project"
        )
    assert digest["project_sha256"]
