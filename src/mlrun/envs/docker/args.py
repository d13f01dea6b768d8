"""`-A NAME[=VALUE]`: extra `docker run` settings, as MLflow's --docker-args, mapped to
docker SDK keyword arguments and checked before anything runs.

MLflow turns `-A gpus=all` into `docker run --gpus all` on a command line. mlrun talks
to the engine through the SDK, so each name must be known: an unknown one is an error
(exit 2) naming it, rather than a flag silently dropped. Values are plain data here
(no docker import): the SDK accepts dicts for device requests and ulimits."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlrun.errors import UsageError

Value = str | None


@dataclass(frozen=True)
class DockerArgs:
    kwargs: Mapping[str, Any] = field(default_factory=dict)  # for containers.create()
    binds: tuple[str, ...] = ()  # -A volume=HOST:CONTAINER[:MODE]
    # value None: copy from the host. Values are secret: kept out of repr().
    env: Mapping[str, str | None] = field(default_factory=dict, repr=False)
    shown: Mapping[str, Value] = field(default_factory=dict)  # for the record: no env values


def _fail(name: str, value: Value, problem: str, hint: str | None = None) -> UsageError:
    given = f"-A {name}" if value is None else f"-A {name}={value}"
    return UsageError(f"{given}: {problem}", hint=hint)


def _needs(name: str, value: Value) -> str:
    if value is None or value == "":
        raise _fail(name, value, "this option needs a value", f"write -A {name}=VALUE")
    return value


def _flag(name: str, value: Value) -> bool:
    if value is None or value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise _fail(name, value, "expects no value, or true/false")


def _text(name: str, value: Value) -> str:
    return _needs(name, value)


def _int(name: str, value: Value) -> int:
    try:
        return int(_needs(name, value))
    except ValueError:
        raise _fail(name, value, "expects a whole number") from None


_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def _bytes(name: str, value: Value) -> int:
    match = _SIZE.fullmatch(_needs(name, value).strip())
    if match is None:
        raise _fail(name, value, "expects a size such as 512m or 2g")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _cpus(name: str, value: Value) -> int:
    try:
        cpus = float(_needs(name, value))
    except ValueError:
        cpus = -1.0
    if cpus <= 0:
        raise _fail(name, value, "expects a positive number of CPUs, e.g. 1.5")
    return int(cpus * 1e9)  # the engine counts nano-CPUs


def _list(name: str, value: Value) -> list[str]:
    return [item.strip() for item in _needs(name, value).split(",") if item.strip()]


def _pair(sep: str) -> Callable[[str, Value], dict[str, str]]:
    def parse(name: str, value: Value) -> dict[str, str]:
        key, found, rest = _needs(name, value).partition(sep)
        if not found or not key:
            raise _fail(name, value, f"expects KEY{sep}VALUE")
        return {key: rest}

    return parse


def _gpus(name: str, value: Value) -> list[dict[str, Any]]:
    text = _needs(name, value).strip().strip("\"'")
    request: dict[str, Any] = {"capabilities": [["gpu"]]}
    if text == "all":
        request["count"] = -1
    elif text.isdigit():
        request["count"] = int(text)
    elif text.startswith("device="):
        request["device_ids"] = [d for d in text[len("device=") :].split(",") if d]
    else:
        raise _fail(name, value, "expects all, a number, or device=ID[,ID...]")
    return [request]


def _network(name: str, value: Value) -> tuple[str, str]:
    text = _needs(name, value)
    if text in ("host", "none", "bridge", "default") or text.startswith("container:"):
        return "network_mode", text
    return "network", text  # a user-defined network, attached by name


def _ulimit(name: str, value: Value) -> list[dict[str, Any]]:
    key, _, limits = _needs(name, value).partition("=")
    soft, _, hard = limits.partition(":")
    try:
        if not key:
            raise ValueError(value)
        return [{"name": key, "soft": int(soft), "hard": int(hard or soft)}]
    except ValueError:
        raise _fail(name, value, "expects NAME=SOFT[:HARD], e.g. nofile=1024:2048") from None


def _tmpfs(name: str, value: Value) -> dict[str, str]:
    path, _, options = _needs(name, value).partition(":")
    return {path: options}


def _ports(name: str, value: Value) -> dict[str, int | None]:
    text = _needs(name, value)
    host, _, container = text.rpartition(":") if ":" in text else ("", "", text)
    try:
        return {container if "/" in container else f"{container}/tcp": int(host) if host else None}
    except ValueError:
        raise _fail(name, value, "expects [HOST_PORT:]CONTAINER_PORT") from None


# canonical name -> (SDK keyword, converter)
_TABLE: dict[str, tuple[str, Callable[[str, Value], Any]]] = {
    "gpus": ("device_requests", _gpus),
    "shm-size": ("shm_size", _bytes),
    "memory": ("mem_limit", _bytes),
    "memory-swap": ("memswap_limit", _bytes),
    "memory-reservation": ("mem_reservation", _bytes),
    "cpus": ("nano_cpus", _cpus),
    "cpu-shares": ("cpu_shares", _int),
    "cpuset-cpus": ("cpuset_cpus", _text),
    "cpuset-mems": ("cpuset_mems", _text),
    "pids-limit": ("pids_limit", _int),
    "privileged": ("privileged", _flag),
    "init": ("init", _flag),
    "read-only": ("read_only", _flag),
    "oom-kill-disable": ("oom_kill_disable", _flag),
    "user": ("user", _text),
    "group-add": ("group_add", _list),
    "ipc": ("ipc_mode", _text),
    "pid": ("pid_mode", _text),
    "uts": ("uts_mode", _text),
    "userns": ("userns_mode", _text),
    "hostname": ("hostname", _text),
    "add-host": ("extra_hosts", _pair(":")),
    "dns": ("dns", _list),
    "dns-search": ("dns_search", _list),
    "cap-add": ("cap_add", _list),
    "cap-drop": ("cap_drop", _list),
    "security-opt": ("security_opt", _list),
    "device": ("devices", _list),
    "runtime": ("runtime", _text),
    "platform": ("platform", _text),
    "tmpfs": ("tmpfs", _tmpfs),
    "ulimit": ("ulimits", _ulimit),
    "sysctl": ("sysctls", _pair("=")),
    "label": ("labels", _pair("=")),
    "entrypoint": ("entrypoint", lambda n, v: [_needs(n, v)]),
    "publish": ("ports", _ports),
}
_ALIASES = {
    "m": "memory",
    "c": "cpu-shares",
    "u": "user",
    "h": "hostname",
    "l": "label",
    "net": "network",
    "e": "env",
    "v": "volume",
    "p": "publish",
}
# `docker run` options that mlrun decides itself; the reason is the hint.
_MANAGED = {
    "rm": "mlrun removes the container after the run (keep it with --keep-container)",
    "name": "the container is named after the run id (mlrun-RUN_ID)",
    "detach": "mlrun supervises the container until it ends",
    "interactive": "runs have no standard input",
    "tty": "output is captured into the run's logs, which needs no terminal",
    "workdir": "the working directory is the project code, /mlflow/projects/code",
}
_MANAGED.update(
    {
        "d": _MANAGED["detach"],
        "i": _MANAGED["interactive"],
        "t": _MANAGED["tty"],
        "w": _MANAGED["workdir"],
    }
)
KNOWN = sorted([*_TABLE, "network", "env", "volume"])


def parse(args: Mapping[str, Value]) -> DockerArgs:
    """Validate -A settings ({name: value or None}) into SDK keyword arguments."""
    kwargs: dict[str, Any] = {}
    binds: list[str] = []
    env: dict[str, str | None] = {}
    shown: dict[str, Value] = {}
    for raw_name, value in args.items():
        name = _ALIASES.get(raw_name, raw_name)
        if name in _MANAGED:
            raise _fail(raw_name, value, "mlrun sets this itself", _MANAGED[name])
        if name == "network":
            key, net = _network(raw_name, value)
            kwargs[key] = net
        elif name == "env":
            var, found, var_value = _needs(raw_name, value).partition("=")
            env[var] = var_value if found else None
            shown[name] = var  # never the value
            continue
        elif name == "volume":
            binds.append(_needs(raw_name, value))
        elif name in _TABLE:
            key, convert = _TABLE[name]
            kwargs[key] = convert(raw_name, value)
        else:
            raise UsageError(
                f"-A {raw_name} is not a docker run option mlrun knows",
                hint="known: " + ", ".join(KNOWN),
            )
        shown[name] = value
    return DockerArgs(kwargs, tuple(binds), env, shown)
