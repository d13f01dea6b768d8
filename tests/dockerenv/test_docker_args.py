"""-A NAME[=VALUE] to docker SDK keyword arguments (engine-free; the e2e tests in
test_docker_run.py check that the engine applies them)."""

from __future__ import annotations

import pytest

from mlrun.envs.docker.args import parse
from mlrun.errors import UsageError


@pytest.mark.parametrize(
    ("given", "kwargs"),
    [
        ({"gpus": "all"}, {"device_requests": [{"capabilities": [["gpu"]], "count": -1}]}),
        ({"gpus": "2"}, {"device_requests": [{"capabilities": [["gpu"]], "count": 2}]}),
        (
            {"gpus": '"device=0,2"'},
            {"device_requests": [{"capabilities": [["gpu"]], "device_ids": ["0", "2"]}]},
        ),
        ({"network": "host"}, {"network_mode": "host"}),
        ({"net": "my-net"}, {"network": "my-net"}),
        ({"shm-size": "1g"}, {"shm_size": 1 << 30}),
        ({"m": "512MiB"}, {"mem_limit": 512 << 20}),
        ({"cpus": "1.5"}, {"nano_cpus": 1_500_000_000}),
        ({"privileged": None}, {"privileged": True}),
        ({"init": "false"}, {"init": False}),
        ({"u": "1000:1000"}, {"user": "1000:1000"}),
        ({"cap-add": "SYS_PTRACE,NET_ADMIN"}, {"cap_add": ["SYS_PTRACE", "NET_ADMIN"]}),
        ({"add-host": "db:10.0.0.5"}, {"extra_hosts": {"db": "10.0.0.5"}}),
        (
            {"ulimit": "nofile=1024:2048"},
            {"ulimits": [{"name": "nofile", "soft": 1024, "hard": 2048}]},
        ),
        ({"tmpfs": "/scratch:size=64m"}, {"tmpfs": {"/scratch": "size=64m"}}),
        ({"p": "8080:80"}, {"ports": {"80/tcp": 8080}}),
        ({"ipc": "host"}, {"ipc_mode": "host"}),
    ],
)
def test_mapping(given: dict[str, str | None], kwargs: dict[str, object]) -> None:
    assert dict(parse(given).kwargs) == kwargs


def test_env_and_volume_are_kept_apart_and_values_never_shown() -> None:
    args = parse({"e": "TOKEN=abc", "v": "/data:/data:ro"})
    assert args.env == {"TOKEN": "abc"}
    assert args.binds == ("/data:/data:ro",)
    assert dict(args.shown) == {"env": "TOKEN", "volume": "/data:/data:ro"}
    assert dict(args.kwargs) == {}
    assert parse({"env": "FROM_HOST"}).env == {"FROM_HOST": None}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"frobnicate": "1"}, "-A frobnicate is not a docker run option mlrun knows"),
        ({"name": "x"}, "-A name=x: mlrun sets this itself"),
        ({"t": None}, "-A t: mlrun sets this itself"),
        ({"cpus": "0"}, "-A cpus=0: expects a positive number of CPUs, e.g. 1.5"),
        ({"gpus": "some"}, "-A gpus=some: expects all, a number, or device=ID[,ID...]"),
        ({"ulimit": "nofile"}, "-A ulimit=nofile: expects NAME=SOFT[:HARD], e.g. nofile=1024:2048"),
        ({"label": "novalue"}, "-A label=novalue: expects KEY=VALUE"),
        ({"memory": None}, "-A memory: this option needs a value"),
    ],
)
def test_errors_name_the_option(given: dict[str, str | None], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(given)
    assert str(info.value) == message
