"""docker_env + options -> run settings, engine-free: volumes, environment, summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun.envs.base import EnvOptions
from mlrun.envs.docker.settings import resolve
from mlrun.spec.loader import load_project
from tests.helpers import write_project


def _settings(tmp_path: Path, docker_env: str, **options: object):  # type: ignore[no-untyped-def]
    project = write_project(
        tmp_path / "p",
        f"docker_env:\n{docker_env}\nentry_points:\n  main: {{command: 'true'}}\n",
        {"Dockerfile": "FROM scratch\n"},
    )
    return resolve(load_project(project), EnvOptions(**options))  # type: ignore[arg-type]


def test_volume_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, home = tmp_path / "srv-data", tmp_path / "home"
    for folder in (data / "in", home / "models", tmp_path / "p" / "out"):
        folder.mkdir(parents=True)
    monkeypatch.setenv("DATA", str(data))
    monkeypatch.setenv("HOME", str(home))
    settings = _settings(
        tmp_path,
        '  image: x\n  volumes: ["${DATA}/in:/in:ro", '
        '"cache:/cache", "~/models:/models:ro,z", "./sub/../out:/out", "${PWD}/out:/o2"]',
    )
    assert settings.binds == (
        f"{data}/in:/in:ro",
        "cache:/cache:rw",
        f"{home}/models:/models:ro,z",
        f"{tmp_path / 'p' / 'out'}:/out:rw",
        f"{tmp_path / 'p' / 'out'}:/o2:rw",  # ${PWD} is the project, as under MLflow
    )


def test_environment_values_stay_out_of_everything_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FROM_HOST", "host-secret-value")
    monkeypatch.delenv("ABSENT", raising=False)
    settings = _settings(
        tmp_path, '  image: x\n  environment: [FROM_HOST, ABSENT, ["PAIR", "pair-secret-value"]]'
    )
    assert dict(settings.env) == {"FROM_HOST": "host-secret-value", "PAIR": "pair-secret-value"}
    assert settings.missing_env == ("ABSENT",)
    shown = repr(settings.describe()) + settings.key() + settings.summary() + repr(settings)
    assert "secret-value" not in shown
    assert settings.describe()["environment"] == ["FROM_HOST", "ABSENT", "PAIR"]


def test_build_variant_and_build_image_summary(tmp_path: Path) -> None:
    built = _settings(tmp_path, "  dockerfile: Dockerfile", build_image=True)
    assert built.builds and built.context == tmp_path / "p"
    assert built.summary() == (
        "docker image built from Dockerfile, with the code copied in (--build-image)"
    )
    plain = _settings(tmp_path, "  image: python:3.11")
    assert plain.summary() == (
        "docker image python:3.11, a writable copy of the code at /mlflow/projects/code"
    )
    mounted = _settings(tmp_path, "  image: python:3.11", mount_code=True)
    assert mounted.summary() == (
        "docker image python:3.11, code mounted read-only at /mlflow/projects/code"
    )
    assert plain.key() != built.key()


def test_a_pwd_volume_through_a_link_out_of_the_project_is_refused(tmp_path: Path) -> None:
    from mlrun.errors import UsageError

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "data").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UsageError) as caught:
        _settings(tmp_path, '  image: x\n  volumes: ["${PWD}/data:/d"]')
    assert "leads outside the project" in caught.value.message


def test_names_alone_are_copied_verbatim_and_pairs_are_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = tmp_path / "caller"
    (tmp_path / "p" / "out").mkdir(parents=True)
    caller.mkdir()
    monkeypatch.chdir(caller)  # ${PWD} is the project whatever the caller's directory
    monkeypatch.setenv("PWD", str(caller))
    monkeypatch.setenv("HOME", "/home/me")
    monkeypatch.setenv("RAW", "~/$HOME and ${PWD}")
    settings = _settings(
        tmp_path,
        '  image: x\n  environment: [RAW, [AT, "${PWD}"], [ESC, "\\\\$HOME"], '
        '[MIX, "$HOME/${RAW}"], [TILDE, "~/x:~+/y"]]',
        docker_args={"env": "EXTRA=$PWD/x", "volume": "${PWD}/out:/o:ro"},
    )
    project = tmp_path / "p"
    assert dict(settings.env) == {
        "RAW": "~/$HOME and ${PWD}",  # `docker run -e RAW` copies the value as it is
        "AT": str(project),
        "ESC": "$HOME",
        "MIX": "/home/me/~/$HOME and ${PWD}",
        "TILDE": f"/home/me/x:{project}/y",  # as bash reads MLflow's `-e TILDE=...`
        "EXTRA": f"{project}/x",
    }
    assert settings.binds == (f"{project / 'out'}:/o:ro",)
    assert settings.unset_vars == ()


def test_an_unset_variable_is_empty_in_a_value_and_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLRUN_TEST_UNSET", raising=False)
    settings = _settings(
        tmp_path,
        '  image: x\n  environment: [[A, "a${MLRUN_TEST_UNSET}b"], '
        '[B, "${MLRUN_TEST_UNSET-dflt}"]]',
        docker_args={"env": "C=$MLRUN_TEST_UNSET"},
    )
    assert dict(settings.env) == {"A": "ab", "B": "dflt", "C": ""}
    where = str(tmp_path / "p" / "MLproject")
    assert settings.unset_vars == (
        (f"{where}: docker_env.environment[0] (A)", "MLRUN_TEST_UNSET"),
        ("-A env=C", "MLRUN_TEST_UNSET"),
    )
