"""`$VAR` in docker_env values, as MLflow's shell expands them, without a shell: checked
against bash itself (run from the project directory, as MLflow runs its `docker run`
line), engine-free."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlrun.envs.docker.expand import Tildes, expand, shell_variables
from mlrun.errors import UsageError
from tests.dockerenv.runs import bash_expands

BASH = shutil.which("bash")
ENV = {
    "A": "x y",
    "EMPTY": "",
    "HOME": "/home/someone",
    "DATA": "/srv/data",
    "DOLLARS": "$A ${DATA} $(touch CANARY)",  # a value is never expanded again
}

# What bash gives for the value in a double-quoted word: what the project means. MLflow
# puts it unquoted on its command line, which agrees for values without blanks or
# quotes and splits the others (mlrun keeps them whole).
AGREES_WITH_BASH = [
    "$A",
    "${A}/x",
    "pre-${HOME}-post",
    "$DATA/in",
    "${UID}",
    "$EUID",
    "${HOSTNAME}",
    "${PWD}/data",
    "$PWD",
    "${NOT_SET_ANYWHERE}",
    "${NOT_SET_ANYWHERE-default}",
    "${EMPTY-default}",
    "${EMPTY:-default}",
    "${NOT_SET_ANYWHERE:-$A/z}",
    "${A:-unused}",
    "${NOT_SET_ANYWHERE:-${DATA}/in}",
    "${NOT_SET_ANYWHERE:-two words}",
    "${NOT_SET_ANYWHERE:-a}b}",
    "${EMPTY-}",
    "$A_B",  # the longest name: A_B, unset
    "${A}_B",
    "$DATA$A",
    "$DOLLARS",
    "${DOLLARS}",
    "tab\there",
    "new\nline",
    "two  words",
    "a$",
    "a$ b $ c",
    "\\$A",
    "back\\slash",
    "it's",
    "50%",
    "*",
    "{brace}",
    "",
]


def _ours(value: str, project: Path) -> str:
    return expand(value, shell_variables(project, ENV), "test", lambda name: "")


def _bash(value: str, project: Path) -> str:
    return bash_expands(value, project, {**ENV, "PATH": os.environ["PATH"], "PWD": "/else"})


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_values_expand_as_bash_expands_them(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    for value in AGREES_WITH_BASH:
        assert _ours(value, project) == _bash(value, project), value


@pytest.mark.parametrize(
    "value",
    ["$(touch CANARY)", "`touch CANARY`", "$$", "$1", "$?", "$#", "$@", "$!", "$-", "$0"],
)
def test_nothing_is_ever_evaluated(tmp_path: Path, value: str) -> None:
    # bash would run the command, or give its pid, arguments, status...: mlrun keeps the
    # text as written.
    assert _ours(value, tmp_path) == value
    assert not (tmp_path / "CANARY").exists()


def test_bash_own_variables_and_the_environment_wins(tmp_path: Path) -> None:
    variables = shell_variables(tmp_path, {"UID": "4242"})
    # bash keeps an inherited UID, EUID or HOSTNAME; PWD is always where it runs.
    assert variables["UID"] == "4242"
    assert variables["EUID"] == str(os.geteuid())
    assert variables["PWD"] == str(tmp_path)
    assert "HOME" not in variables  # bash sets no HOME when it is unset
    assert shell_variables(tmp_path, {"PWD": "/caller"})["PWD"] == str(tmp_path)


def test_unset_variables_are_the_callers_decision(tmp_path: Path) -> None:
    seen: list[str] = []

    def _note(name: str) -> str:
        seen.append(name)
        return "<unset>"

    assert expand("$NOPE/${NADA}/${ZIP-d}", {}, "here", _note) == "<unset>/<unset>/d"
    assert seen == ["NOPE", "NADA"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${A%y}", "here uses ${A%y} in '${A%y}', which mlrun does not expand"),
        ("${#A}", "here uses ${#A} in '${#A}', which mlrun does not expand"),
        ("${A:+alt}", "here uses ${A:+alt} in '${A:+alt}', which mlrun does not expand"),
        ("x${A", "here has a `${` without its closing `}` in 'x${A'"),
    ],
)
def test_expansions_mlrun_does_not_do_are_refused(value: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        expand(value, ENV, "here", lambda name: "")
    assert caught.value.exit_code == 2
    assert caught.value.message == message


def test_a_value_is_never_expanded_twice(tmp_path: Path) -> None:
    # A variable whose value holds `$` gives that value as it is, as bash does.
    assert _ours("<$DOLLARS>", tmp_path) == "<$A ${DATA} $(touch CANARY)>"
    assert not (tmp_path / "CANARY").exists()


# A `~` as bash expands it in MLflow's unquoted `-e NAME=VALUE` and `-v VOLUME` words
# (values without blanks, quotes or globs: there the unquoted word is the value).
TILDES_IN_VALUES = [
    "~",
    "~/x",
    "~root/x",
    "~+/in",
    "a:~/lib:~root",
    "~/a:~",
    "x~/y",
    "~mlrun-no-such-user/x",
    "~$DATA",
    "~${DATA}/x",
    "$HOME~",
    "${NOT_SET_ANYWHERE:-~/d}",
    "${NOT_SET_ANYWHERE:-a:~/d}",
]
TILDES_IN_VOLUMES = ["~/v:/v", "~root:/r:ro", "~+/data:/data", "/a:~/b", "x~:/y"]


def _bash_word(word: str, project: Path, home: str | None) -> str:
    env = {**ENV, "PATH": os.environ["PATH"]}
    env.pop("HOME")
    if home is not None:
        env["HOME"] = home
    return bash_expands(word, project, env, quoted=False)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("home", ["/home/someone", None])
def test_tildes_expand_where_mlflows_shell_expands_them(tmp_path: Path, home: str | None) -> None:
    project = tmp_path / "p"
    project.mkdir()
    env = {k: v for k, v in ENV.items() if k != "HOME"}
    if home is not None:
        env["HOME"] = home
    variables = shell_variables(project, env)

    def ours(value: str, tildes: Tildes) -> str:
        return expand(value, variables, "test", lambda name: "", tildes)

    for value in TILDES_IN_VALUES:
        expected = _bash_word(f"NAME={value}", project, home).removeprefix("NAME=")
        assert ours(value, "assignment") == expected, value
    for volume in TILDES_IN_VOLUMES:
        assert ours(volume, "start") == _bash_word(volume, project, home), volume
    assert ours("~/x", "none") == "~/x"  # what is not a word MLflow gives bash
