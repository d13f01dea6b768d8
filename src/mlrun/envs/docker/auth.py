"""--docker-auth / `mlrun.run(docker_auth=...)`: a registry login for pulling (and
building from) the project's image, MLflow's `docker_auth`: the keyword arguments of
the docker SDK's `DockerClient.login` (username, password, registry, ...). The password
is masked in every message and never recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlrun.errors import UsageError

_KEYS = ("username", "password", "registry", "email", "reauth", "dockercfg_path")


def check_auth(data: Mapping[str, Any], flag: str = "--docker-auth") -> dict[str, Any]:
    """The login settings, or UsageError (exit 2) naming the key that is wrong."""
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise UsageError(
            f"{flag} has the unknown key {unknown[0]!r}",
            hint=f"the keys are those of docker login: {', '.join(_KEYS)}",
        )
    if not isinstance(data.get("username"), str) or not data["username"]:
        raise UsageError(
            f'{flag} needs a "username" (a string)',
            hint='e.g. {"registry": "registry.example.com", "username": "me", "password": "..."}',
        )
    for key, value in data.items():
        wanted, word = (bool, "true or false") if key == "reauth" else (str, "a string")
        if not isinstance(value, wanted):
            raise UsageError(f"{flag}: the value of {key!r} must be {word}")
    return dict(data)
