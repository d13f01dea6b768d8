"""`mlrun reproduce`: a recorded run again from its record alone (the commit from the
mirror cache, the recorded package versions, parameters and entry point), and `--check`
comparing the outcomes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, bash, cli, mlrun, readme_block
from tests.packaging.projects import git_project, output_of, package, run, show
from tests.packaging.test_package import _another_machine, _index
from tests.sources.gitrepos import commit, git


def _reproduce(*args: str, code: int = 0) -> tuple[dict[str, object], str]:
    proc = mlrun("reproduce", *args, "--json", timeout=300)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.slow  # builds envs
def test_reproduce_check_passes_for_a_deterministic_run_with_the_recorded_versions(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    first_commit = git_project(work)
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(_index(isolated_tools, tmp_path / "old")))
    original = run(work, "-P", "n=5", "--offline")
    assert original["outputs"]["beta"] == "1.0"
    # Time passes: the project moves on, the index offers a newer mlt-beta.
    commit(work, {"data/input.txt": "a later commit\n", "train.py": "raise SystemExit(9)\n"})
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(isolated_tools))
    result, err = _reproduce(original["run_id"], "--check", "--offline")
    assert result["reproduced"] is True and result["differences"] == []
    assert result["reproduces"] == original["run_id"] and result["exit_code"] == 0
    assert "reproduced: run" in err
    again = show(str(result["run_id"]))
    assert again["system_tags"]["mlrun.reproduces"] == original["run_id"]
    assert again["source"]["commit"] == first_commit
    assert again["entry_point"] == "main" and again["params"]["n"] == "5"
    assert again["params"]["data"].endswith("/data/input.txt")
    assert again["params"]["data"] != original["params"]["data"]  # rebased onto the checkout
    assert again["outputs"] == original["outputs"]  # the commit's data, mlt-beta 1.0
    assert again["env"]["packages"] == original["env"]["packages"]
    assert again["env"]["lock"]["file"].endswith(".lock")
    assert again["experiment"] == original["experiment"]
    # Without --check the exit code is the new run's.
    plain = mlrun("reproduce", original["run_id"], "--offline", timeout=300)
    assert plain.returncode == 0, plain.stderr


@pytest.mark.slow  # builds an env
def test_reproduce_check_fails_naming_the_metric_of_a_run_that_reads_the_clock(
    tmp_path: Path, isolated_tools: Path
) -> None:
    work = tmp_path / "work"
    git_project(work)
    original = run(work, "-e", "clock", "--offline")
    result, err = _reproduce(original["run_id"], "--check", "--offline", code=1)
    assert result["reproduced"] is False
    differences = result["differences"]
    assert isinstance(differences, list) and len(differences) == 1
    assert differences[0].startswith("metric started_at (step 0): ")
    assert "not reproduced" in err and "metric started_at" in err and "constant" not in err
    # A tolerance wide enough for the clock makes it pass (1e9 s is ~32 years).
    _reproduce(original["run_id"], "--check", "--offline", "--atol", "1e9")


@pytest.mark.slow  # builds an env
def test_reproduce_offline_from_the_mirror_when_the_remote_is_gone(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    git_project(work)
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(remote))
    monkeypatch.setenv("UV_OFFLINE", "1")  # packages from the wheelhouse; git from the remote
    original = run(remote.as_uri(), "-P", "n=2")
    assert original["source_type"] == "git"
    shutil.rmtree(remote)  # the server is gone; the mirror cache holds the commit
    result, _ = _reproduce(original["run_id"], "--check", "--offline")
    assert result["reproduced"] is True
    assert show(str(result["run_id"]))["source"]["commit"] == original["source"]["commit"]


@pytest.mark.slow  # builds envs on two homes
def test_reproduce_a_bundle_of_a_run_on_another_home(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    git_project(work)
    monkeypatch.setenv("MLRUN_FIND_LINKS", str(_index(isolated_tools, tmp_path / "old")))
    original = run(work, "-P", "n=3", "--offline")
    bundle = tmp_path / "run.tar.gz"
    package(original["run_id"], bundle, "--with-wheels", "--offline")
    _another_machine(tmp_path, monkeypatch, "elsewhere")
    result, _ = _reproduce(str(bundle), "--check", "--offline")
    assert result["reproduced"] is True and result["reproduces"] == original["run_id"]
    again = show(str(result["run_id"]))
    assert again["env"]["packages"] == original["env"]["packages"]
    assert output_of(again) == output_of(original)
    # A bundle of a project (no run in it) has nothing to reproduce.
    package(work, tmp_path / "project.tar.gz", "--no-lock")
    proc = cli("reproduce", str(tmp_path / "project.tar.gz"))
    assert proc.returncode == 2 and "not from a run" in proc.stderr


def test_reproduce_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    proc = cli("reproduce", "0123456789abcdef")
    assert proc.returncode == 2 and "neither a project" in proc.stderr
    assert cli("reproduce", "x", "--rtol", "nan").returncode == 2


@pytest.mark.slow  # runs the example twice
def test_the_readme_quick_start_packages_the_example_run_and_reproduces_it(tmp_path: Path) -> None:
    import re

    quick_start = re.search(
        r"mlrun run example_projects/elasticnet[^&\n]*", readme_block("quickstart-run")
    )
    assert quick_start is not None
    example = Path("example_projects") / "elasticnet"
    shutil.copytree(REPO / example, tmp_path / example)
    proc = bash(f"{quick_start.group(0).strip()} && {readme_block('quickstart-package')}", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced: run" in proc.stdout and (tmp_path / "elasticnet.tar.gz").is_file()
    runs = json.loads(cli("runs", "list", "--json").stdout)
    assert len(runs) == 2 and runs[0]["system_tags"]["mlrun.reproduces"] == runs[1]["run_id"]


def test_an_mlflow_model_compares_without_the_lines_naming_its_run(tmp_path: Path) -> None:
    from types import SimpleNamespace
    from typing import Any

    from mlrun.tracking.outcome import _artifact_digest
    from mlrun.util.sha import sha256

    def digest(run: str, text: str) -> str | None:
        path = tmp_path / run / "artifacts" / "model" / "MLmodel"
        path.parent.mkdir(parents=True)
        path.write_text(text)
        fake: Any = SimpleNamespace(run_dir=str(tmp_path / run))
        return _artifact_digest(fake, "model/MLmodel", sha256(text.encode()).hexdigest())

    model = "flavors:\n  sklearn: {sklearn_version: 1.5.0}\nrun_id: RUN\nutc_time_created: 'AT'\n"
    first = digest("a", model.replace("RUN", "aaaa").replace("AT", "2026-12-01 10:00"))
    assert first == digest("b", model.replace("RUN", "bbbb").replace("AT", "2026-12-01 11:00"))
    assert first != digest("c", model.replace("1.5.0", "1.6.0"))
    # A file that changed since its run recorded it keeps the recorded digest.
    fake: Any = SimpleNamespace(run_dir=str(tmp_path / "a"))
    assert _artifact_digest(fake, "model/MLmodel", "0" * 64) == "0" * 64
    assert _artifact_digest(fake, "model.txt", "1" * 64) == "1" * 64
