"""The Slurm backend's settings (`-c/--backend-config`), checked before anything runs.

Every value that becomes a `#SBATCH` line is checked for what sbatch would misread: a
newline would start a new line of the batch script, and sbatch splits a directive at
whitespace without honouring quotes, so the known keys accept only the characters their
Slurm option takes. Errors are one sentence naming the key and the value (exit 2); the
checks every backend's settings share are in backends/config.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrun.backends.config import (
    bad_setting,
    flag_setting,
    lines_setting,
    path_setting,
    refuse_unknown,
    seconds_setting,
)
from mlrun.errors import UsageError

LABEL = "Slurm"  # how errors name the backend

DEFAULT_POLL_INTERVAL = 10.0  # the longest wait between two questions to the controller

# key -> (sbatch option, pattern its value must match, what it looks like)
_NAME = r"[A-Za-z0-9_.+@-]+"
OPTIONS: dict[str, tuple[str, str, str]] = {
    "partition": ("--partition", rf"{_NAME}(,{_NAME})*", "a partition name (or a list: a,b)"),
    "time": ("--time", r"(\d+-)?\d+(:\d{1,2}){0,2}|UNLIMITED|INFINITE", "minutes or [D-]HH:MM:SS"),
    "mem": ("--mem", r"\d+[KMGT]?", "a size in MB, or with a unit: 500M, 4G"),
    "cpus_per_task": ("--cpus-per-task", r"[1-9]\d*", "a positive whole number"),
    "gpus": ("--gpus", r"([A-Za-z0-9_.-]+:)?[1-9]\d*", "a count, or TYPE:COUNT"),
    "account": ("--account", _NAME, "an account name"),
    "qos": ("--qos", _NAME, "a QOS name"),
    "constraint": ("--constraint", r"[A-Za-z0-9_.,&|\[\]*()!:-]+", "node features: a&b, a|b, ..."),
}  # fmt: skip
# SBATCH_* variables that would set the same thing as a key: a key given in the config must
# win over the user's defaults (sbatch prefers its environment to #SBATCH lines).
SHADOWED_ENV: dict[str, tuple[str, ...]] = {
    "partition": ("SBATCH_PARTITION",),
    "time": ("SBATCH_TIMELIMIT",),
    "mem": ("SBATCH_MEM_PER_NODE", "SBATCH_MEM_PER_CPU", "SBATCH_MEM_PER_GPU"),
    "gpus": ("SBATCH_GPUS",),
    "account": ("SBATCH_ACCOUNT",),
    "qos": ("SBATCH_QOS",),
    "constraint": ("SBATCH_CONSTRAINT",),
}
OTHER_KEYS = ("extra", "setup", "env_cache", "poll_interval", "requeue")
KNOWN = (*OPTIONS, *OTHER_KEYS)


class SlurmConfig:
    """The checked settings. A plain class: built once per run."""

    def __init__(
        self,
        options: dict[str, str],
        extra: list[str],
        setup: list[str],
        env_cache: Path | None,
        poll_interval: float,
        requeue: bool,
    ) -> None:
        self.options = options  # config key -> value, for the known #SBATCH keys given
        self.extra = extra  # further #SBATCH lines, as given ("--exclusive")
        self.setup = setup  # shell lines run before the command
        self.env_cache = env_cache
        self.poll_interval = poll_interval
        self.requeue = requeue

    def directives(self) -> list[str]:
        """The #SBATCH lines the config asks for, in a fixed order."""
        lines = [f"#SBATCH {OPTIONS[key][0]}={value}" for key, value in self.options.items()]
        return lines + [f"#SBATCH {line}" for line in self.extra]


def parse(config: Mapping[str, Any]) -> SlurmConfig:
    refuse_unknown(LABEL, config, KNOWN)
    options = {}
    for key, (_, pattern, looks) in OPTIONS.items():
        if key in config and config[key] is not None:
            options[key] = _option(key, config[key], pattern, looks)
    return SlurmConfig(
        options=options,
        extra=[_extra_line(line) for line in lines_setting(LABEL, "extra", config.get("extra"))],
        setup=lines_setting(LABEL, "setup", config.get("setup")),
        env_cache=path_setting(
            LABEL,
            "env_cache",
            config.get("env_cache"),
            "a directory path that the compute nodes see",
        ),
        poll_interval=seconds_setting(
            LABEL, "poll_interval", config.get("poll_interval"), DEFAULT_POLL_INTERVAL, 0.1, 3600
        ),
        requeue=flag_setting(LABEL, "requeue", config.get("requeue", False)),
    )


def _option(key: str, value: Any, pattern: str, looks: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise bad_setting(LABEL, key, value, looks)
    text = str(value).strip()
    if not re.fullmatch(pattern, text):
        raise bad_setting(LABEL, key, value, looks)
    return text


def _extra_line(line: str) -> str:
    text = line.strip()
    if text.startswith("#SBATCH"):
        text = text[len("#SBATCH") :].strip()
    if not text.startswith("-") or "\n" in text or "\r" in text:
        raise UsageError(
            f"Slurm setting 'extra' must list sbatch options, one per item: {line!r} is not one",
            hint='e.g. "extra": ["--exclusive", "--nodes=2"]',
        )
    return text
