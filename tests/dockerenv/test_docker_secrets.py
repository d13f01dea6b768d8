"""A secret environment value reaches the container and nothing else: not mlrun's output
(even with --debug), not the run's logs or record, not the store file, not the build
logs, and not the command line of any process while the container runs."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from pathlib import Path

import pytest

from tests.dockerenv.runs import show, split_output
from tests.helpers import spawn_mlrun, write_project

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]


def _all_argv() -> list[bytes]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found.append(Path(f"/proc/{entry}/cmdline").read_bytes())
            except OSError:
                pass  # ended meanwhile
    return found


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_secret_values_reach_only_the_container(
    tmp_path: Path, busybox_image: str, mlrun_home: Path
) -> None:
    from_file = "pair-" + secrets.token_hex(16)
    from_host = "host-" + secrets.token_hex(16)
    from_args = "args-" + secrets.token_hex(16)
    signals = tmp_path / "signals"
    signals.mkdir()
    script = """\
        printf %s "$API_TOKEN" | sha256sum > /signals/file.sha
        printf %s "$HOST_TOKEN" | sha256sum > /signals/host.sha
        printf %s "$ARGS_TOKEN" | sha256sum > /signals/args.sha
        touch /signals/started
        while [ ! -e /signals/stop ]; do sleep 0.1; done
        echo done
        """
    project = write_project(
        tmp_path / "p",
        f"""\
        docker_env:
          image: {busybox_image}
          volumes: ["{signals}:/signals"]
          environment: [["API_TOKEN", "{from_file}"], HOST_TOKEN]
        entry_points:
          main:
            command: "sh step.sh"
        """,
        {"step.sh": script},
    )
    os.environ["HOST_TOKEN"] = from_host  # inherited by the mlrun process only
    try:
        proc = spawn_mlrun(
            "--debug", "run", str(project), "-A", f"env=ARGS_TOKEN={from_args}", "--json"
        )
    finally:
        del os.environ["HOST_TOKEN"]
    everything = [from_file.encode(), from_host.encode()]
    try:
        deadline = time.monotonic() + 60
        while not (signals / "started").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the container never started"
            time.sleep(0.05)
        argv = _all_argv()  # while the container runs
        assert len(argv) > 10
        for secret in everything:
            assert not any(secret in cmdline for cmdline in argv)
    finally:
        (signals / "stop").touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err

    for name, value in (("file", from_file), ("host", from_host), ("args", from_args)):
        expected = hashlib.sha256(value.encode()).hexdigest()
        assert (signals / f"{name}.sha").read_text().split()[0] == expected, name

    # -A env=NAME=VALUE is on mlrun's own command line by the user's choice; everything
    # mlrun writes must still mask it.
    everything.append(from_args.encode())
    command_output, result = split_output(out)
    assert command_output == "done\n"
    assert "mlrun: debug:" in err
    record = show(result["run_id"])
    assert record["env"]["environment"] == ["API_TOKEN", "HOST_TOKEN", "ARGS_TOKEN"]
    written = [out.encode(), err.encode(), repr(record).encode()]
    # Store, logs, cache; but not the run's copy of the project (its MLproject holds the
    # value as the user wrote it, as the project itself does).
    copies = mlrun_home / "cache" / "docker" / "code"
    mine = {(project / "MLproject").read_bytes(), (project / "step.sh").read_bytes()}
    for path in _files_under(mlrun_home):
        if path.is_relative_to(copies) and path.read_bytes() in mine:
            continue
        written.append(path.read_bytes())
    assert len(written) > 5
    for secret in everything:
        assert not any(secret in data for data in written)
