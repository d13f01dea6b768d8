"""On the real engine: each run gets a writable copy of the code as its working directory
(no image built), the project directory is never written, what the run left there is
listed in the record and kept on request; --mount-code and --build-image still work;
an engine that cannot mount the overlay gets the code in an image instead."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.runs import docker_project, run_json
from tests.helpers import mlrun

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]

TRAIN = """\
import os
import pickle

import helper  # a module of the project: Python caches its bytecode next to it

print("fresh" if not os.path.exists("model.pkl") else "stale")
with open("model.pkl", "wb") as fh:
    pickle.dump({"weights": helper.WEIGHTS}, fh)
with open("model.pkl", "rb") as fh:
    print("read back", pickle.load(fh))
os.makedirs("plots", exist_ok=True)
with open("plots/loss.png", "wb") as fh:
    fh.write(b"not really a png")
"""


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes | str]]:
    """Every entry under `root`: mode, mtime and contents (or link target)."""
    found: dict[str, tuple[int, int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            content: bytes | str = os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            content = path.read_bytes()
        else:
            content = b""
        found[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, content)
    return found


def test_a_script_writes_model_pkl_next_to_itself_and_reads_it_back(
    tmp_path: Path, python_image: str
) -> None:
    project = docker_project(
        tmp_path / "p",
        python_image,
        "python train.py",
        files={"train.py": TRAIN, "helper.py": "WEIGHTS = [1, 2, 3]\n"},
    )
    before = _snapshot(project)
    _, output, record = run_json(project)
    assert output.splitlines() == ["fresh", "read back {'weights': [1, 2, 3]}"]
    assert _snapshot(project) == before  # not a byte, mode or time of the project changed
    env = record["env"]
    assert (env["code"], env["code_via"], env["code_copy_built"]) == ("copy", "overlay", True)
    # The list has no __pycache__: bytecode caches are noise, not results.
    model, plot = env["workdir_files"]
    assert (model["path"], model["change"]) == ("model.pkl", "added") and model["size"] > 20
    assert plot == {"path": "plots/loss.png", "change": "added", "size": 16}
    assert record["artifacts"] == []  # listed, not kept, unless asked

    # The next run starts from the project again (the copy is reused, not the workdir).
    _, output, again = run_json(project)
    assert output.splitlines()[0] == "fresh"
    assert again["env"]["code_copy_built"] is False
    assert again["env"]["code_digest"] == env["code_digest"]
    assert _snapshot(project) == before


def test_keep_workdir_keeps_what_the_run_added_or_changed(
    tmp_path: Path, busybox_image: str
) -> None:
    project = docker_project(
        tmp_path / "p",
        busybox_image,
        "sh step.sh",
        files={
            "step.sh": """\
                echo new > new.txt
                echo more >> changed.txt
                rm gone.txt
                mkdir -p out/deep && echo deep > out/deep/d.txt
                ln -s /etc/passwd link
                mkdir __pycache__ && echo noise > __pycache__/m.pyc
                """,
            "changed.txt": "original\n",
            "gone.txt": "bye\n",
        },
    )
    before = _snapshot(project)
    _, _, record = run_json(project, "--keep-workdir")
    assert _snapshot(project) == before
    assert record["env"]["workdir_files"] == [
        {"path": "changed.txt", "change": "changed", "size": 14},
        {"path": "gone.txt", "change": "deleted"},
        {"path": "link", "change": "added", "size": len("/etc/passwd"), "link": True},
        {"path": "new.txt", "change": "added", "size": 4},
        {"path": "out/deep/d.txt", "change": "added", "size": 5},
    ]
    artifacts = {a["path"]: a["size"] for a in record["artifacts"]}
    assert artifacts == {
        "workdir/changed.txt": 14,
        "workdir/new.txt": 4,
        "workdir/out/deep/d.txt": 5,
    }
    shown = mlrun("runs", "show", record["run_id"], check=True).stdout
    assert "left in the working directory:\n  changed.txt (changed, 14 bytes)\n" in shown
    assert "  gone.txt (deleted)\n" in shown
    kept = Path(record["run_dir"]) / "artifacts" / "workdir"
    assert (kept / "changed.txt").read_text() == "original\nmore\n"
    assert not (kept / "link").exists()  # a link is listed, never followed out
    from mlrun.envs.docker.workdir import workdirs_root

    assert list(workdirs_root().iterdir()) == []  # the run's overlay is gone


def test_mount_code_is_read_only_and_lists_nothing(tmp_path: Path, busybox_image: str) -> None:
    project = docker_project(
        tmp_path / "p",
        busybox_image,
        "sh -c 'echo x > model.pkl'",
    )
    proc, _, record = run_json(project, "--mount-code", code=1)
    assert "Read-only file system" in proc.stderr
    assert record["env"]["code"] == "mounted" and "workdir_files" not in record["env"]
    assert not (project / "model.pkl").exists()


def test_build_image_lists_and_keeps_through_the_container(
    tmp_path: Path, busybox_image: str, project_name: str
) -> None:
    project = docker_project(
        tmp_path / "p",
        busybox_image,
        "sh -c 'echo model > model.pkl; echo more >> data.txt; rm old.txt'",
        name=project_name,
        files={"data.txt": "data\n", "old.txt": "old\n"},
    )
    before = _snapshot(project)
    _, _, record = run_json(project, "--build-image", "--keep-workdir")
    assert _snapshot(project) == before
    assert record["env"]["code"] == "image" and record["env"]["code_image_built"] is True
    assert record["env"]["workdir_files"] == [
        {"path": "data.txt", "change": "changed"},
        {"path": "model.pkl", "change": "added"},
        {"path": "old.txt", "change": "deleted"},
    ]
    kept = Path(record["run_dir"]) / "artifacts" / "workdir"
    assert (kept / "model.pkl").read_text() == "model\n"
    assert (kept / "data.txt").read_text() == "data\nmore\n"


def test_ignored_and_secret_files_never_reach_the_copy(
    tmp_path: Path, busybox_image: str, mlrun_home: Path
) -> None:
    project = docker_project(
        tmp_path / "p",
        busybox_image,
        "sh -c 'find . | sort'",
        files={
            ".dockerignore": "data/\n*.log\n",
            ".env": "TOKEN=secret\n",
            "id_rsa": "-----BEGIN-----\n",
            "certs/site.pem": "pem\n",
            ".git/config": "[core]\n",
            "data/big.csv": "1,2\n",
            "train.log": "log\n",
            "src/model.py": "pass\n",
        },
    )
    _, output, _ = run_json(project)
    assert output.splitlines() == [
        ".",
        "./.dockerignore",
        "./MLproject",
        "./certs",
        "./src",
        "./src/model.py",
    ]
    copies = mlrun_home / "cache" / "docker" / "code"
    (copy,) = [p for p in copies.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*")) == [
        ".dockerignore",
        "MLproject",
        "certs",
        "src",
        "src/model.py",
    ]


def _docker_gid() -> int | None:
    try:
        return os.stat("/var/run/docker.sock").st_gid
    except OSError:
        return None


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="mlrun-other-user-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_non_root_caller_owns_what_the_run_wrote(
    shared_dir: Path, busybox_image: str, docker_client: Any
) -> None:
    setpriv, gid, uid = shutil.which("setpriv"), _docker_gid(), 4321
    if os.geteuid() != 0 or setpriv is None or gid is None:
        pytest.skip("needs root, setpriv and the engine's socket group to act as another user")
    project = docker_project(
        shared_dir / "p",
        busybox_image,
        "sh step.sh",
        files={
            "data.txt": "data\n",
            "step.sh": "id -u\necho m > model.pkl\necho more >> data.txt\n"
            "mkdir o && echo x > o/x\n",
        },
    )
    home = shared_dir / "home"
    home.mkdir()
    for path in [shared_dir, *shared_dir.rglob("*")]:
        os.chown(path, uid, uid)
    env = dict(os.environ, MLRUN_HOME=str(home), HOME=str(home))
    proc = subprocess.run(
        [
            setpriv,
            f"--reuid={uid}",
            f"--regid={uid}",
            f"--groups={gid}",
            sys.executable,
            "-m",
            "mlrun",
            "run",
            str(project),
            "--keep-workdir",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0 and (
        ("Permission denied" in proc.stderr and "python" in proc.stderr)
        or "No module named mlrun" in proc.stderr  # a checkout under a 0700 directory
    ):
        pytest.skip(f"this interpreter or checkout is not usable by uid {uid}")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    record = json.loads(
        subprocess.run(
            [sys.executable, "-m", "mlrun", "runs", "show", run_id, "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert Path(record["log_paths"]["stdout"]).read_text().splitlines()[0] == str(uid)
    listed = [f["path"] for f in record["env"]["workdir_files"]]
    assert listed == ["data.txt", "model.pkl", "o/x"]
    kept = Path(record["run_dir"]) / "artifacts" / "workdir"
    for name in ("data.txt", "model.pkl", "o/x"):
        assert (kept / name).stat().st_uid == uid
    # The run's overlay directories are gone, the kernel's root-owned one included.
    assert list((home / "cache" / "docker" / "workdirs").iterdir()) == []
    assert (project / "data.txt").read_text() == "data\n"


@pytest.fixture
def overlay_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An MLRUN_HOME on an overlay filesystem, where no overlay's upper layer may live:
    as on engines that cannot mount mlrun's overlay (Docker Desktop, NFS homes)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount an overlay")
    parts = [tmp_path / "ovl" / name for name in ("lower", "upper", "work", "merged")]
    for part in parts:
        part.mkdir(parents=True)
    lower, upper, work, merged = parts
    mounted = subprocess.run(
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={lower},upperdir={upper},workdir={work}",
            str(merged),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount an overlay here: {mounted.stderr.strip()}")
    monkeypatch.setenv("MLRUN_HOME", str(merged))
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-l", str(merged)], check=False)


def test_an_engine_that_cannot_mount_the_overlay_gets_the_code_in_an_image(
    tmp_path: Path, busybox_image: str, project_name: str, overlay_home: Path
) -> None:
    project = docker_project(
        tmp_path / "p",
        busybox_image,
        "sh -c 'test -e model.pkl && echo stale; echo m > model.pkl; cat model.pkl'",
        name=project_name,
    )
    before = _snapshot(project)
    proc, output, record = run_json(project)
    assert output == "m\n"
    assert "copied into an image instead" in proc.stderr
    env = record["env"]
    assert (env["code"], env["code_via"], env["code_image_built"]) == ("copy", "image", True)
    assert env["workdir_files"] == [{"path": "model.pkl", "change": "added"}]
    (answer,) = (overlay_home / "cache" / "docker").glob("overlay-*.json")
    assert json.loads(answer.read_text()) == {"supported": False}  # asked once
    _, output, again = run_json(project)
    assert output == "m\n" and again["env"]["code_image_built"] is False
    assert _snapshot(project) == before


def test_code_options_that_contradict_each_other_are_exit_2(tmp_path: Path) -> None:
    project = docker_project(tmp_path / "p", "x", "true")
    both = mlrun("run", str(project), "--mount-code", "--build-image")
    assert both.returncode == 2
    assert both.stderr.startswith(
        "mlrun: error: --mount-code and --build-image are two ways for the code to get in"
    )
    keep = mlrun("run", str(project), "--mount-code", "--keep-workdir")
    assert keep.returncode == 2
    assert "--mount-code makes read-only" in keep.stderr.splitlines()[0]
    assert json.loads(mlrun("runs", "list", "--json").stdout) == []


def test_keep_workdir_never_follows_a_link_the_run_left(tmp_path: Path, busybox_image: str) -> None:
    victim = tmp_path / "victim"  # a host directory the container cannot see
    victim.mkdir()
    project = docker_project(
        tmp_path / "p",
        busybox_image,
        "sh step.sh",
        files={
            "step.sh": f"""\
                mkdir -p "$MLRUN_RUN_DIR/artifacts/workdir"
                ln -s {victim} "$MLRUN_RUN_DIR/artifacts/workdir/out"
                echo mine > "$MLRUN_RUN_DIR/artifacts/workdir/note.txt"
                mkdir out && echo payload > out/x.txt
                echo other > note.txt
                echo fine > fine.txt
                """
        },
    )
    proc, _, record = run_json(project, "--keep-workdir")
    assert list(victim.iterdir()) == []
    assert "--keep-workdir could not keep out/x.txt" in proc.stderr
    assert "leads outside the run directory" in proc.stderr
    assert "--keep-workdir could not keep note.txt: the run already wrote" in proc.stderr
    kept = Path(record["run_dir"]) / "artifacts" / "workdir"
    assert (kept / "note.txt").read_text() == "mine\n"  # the run's own artifact stays
    assert (kept / "fine.txt").read_text() == "fine\n"


def test_the_python_api_takes_the_same_choices(tmp_path: Path, busybox_image: str) -> None:
    import mlrun as api
    from mlrun.tracking import open_store

    project = docker_project(tmp_path / "p", busybox_image, "sh -c 'echo r > result.txt'")
    kept = api.run(str(project), keep_workdir=True, echo=False)
    run = open_store(None).get_run(kept.run_id)
    assert [a.path for a in run.artifacts] == ["workdir/result.txt"]
    with pytest.raises(api.errors.ExecutionError):
        api.run(str(project), mount_code=True, echo=False)  # read-only: the write fails
