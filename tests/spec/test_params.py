from __future__ import annotations

from pathlib import Path

import pytest

from mlrun.errors import ParameterError
from mlrun.spec.loader import load_project
from mlrun.spec.model import EntryPoint, Parameter, ParamType
from mlrun.spec.params import default_warnings, resolve_parameters
from tests.spec.conftest import MakeProject


def ep_with(*params: tuple[str, ParamType, str | None], command: str = "run") -> EntryPoint:
    return EntryPoint(
        name="main",
        command=command,
        parameters={n: Parameter(n, t, t, d) for n, t, d in params},
    )


def test_defaults_fill_in_and_order_is_declaration_order(tmp_path: Path) -> None:
    ep = ep_with(("b", "int", "1"), ("a", "string", "x"), ("c", "float", None))
    resolved = resolve_parameters(ep, {"c": "2.5", "a": "y"}, tmp_path)
    assert list(resolved.values.items()) == [("b", "1"), ("a", "y"), ("c", "2.5")]
    assert resolved.extra == {}


def test_missing_required_names_all(tmp_path: Path) -> None:
    ep = ep_with(("alpha", "float", None), ("l1", "float", "0.1"), ("beta", "int", None))
    with pytest.raises(ParameterError) as caught:
        resolve_parameters(ep, {}, tmp_path)
    assert str(caught.value) == "entry point 'main' needs a value for parameters 'alpha', 'beta'"
    assert caught.value.hint == "pass -P alpha=VALUE -P beta=VALUE"


def test_relative_path_and_uri_defaults_are_anchored_to_the_project(
    make_project: MakeProject, tmp_path: Path
) -> None:
    root = make_project(
        """
        entry_points:
          main:
            parameters:
              data: {type: path, default: data/x.csv}
              out: {type: path, default: "file:out/dir"}
              remote: {type: path, default: "s3://b/k"}
              absolute: {type: path, default: /srv/x}
              model: {type: uri, default: models/m}
              registry: {type: uri, default: "models:/m/1"}
              name: {type: string, default: data/x.csv}
            command: run {data} {out} {remote} {absolute} {model} {registry} {name}
        """
    )
    ep = load_project(root).entry_points["main"]
    # not checked for existence, and not relative to the caller's cwd
    values = resolve_parameters(ep, {}, tmp_path / "elsewhere").values
    assert values == {
        "data": str(root / "data/x.csv"),
        "out": str(root / "out/dir"),
        "remote": "s3://b/k",
        "absolute": "/srv/x",
        "model": str(root / "models/m"),
        "registry": "models:/m/1",
        "name": "data/x.csv",
    }


def test_defaults_are_not_validated(tmp_path: Path) -> None:
    ep = ep_with(("devices", "int", "None"), ("lr", "float", "1e-1"), ("p", "path", "nope"))
    assert resolve_parameters(ep, {}, tmp_path).values == {
        "devices": "None",
        "lr": "1e-1",
        "p": "nope",
    }


@pytest.mark.parametrize(
    ("ptype", "value"),
    [
        ("float", "0.5"),
        ("float", "1e-1"),
        ("float", "-3"),
        ("float", "inf"),
        ("int", "10"),
        ("int", "-2"),
        ("bool", "true"),
        ("bool", "FALSE"),
        ("bool", "Yes"),
        ("bool", "no"),
        ("bool", "1"),
        ("bool", "0"),
        ("string", ""),
        ("string", "anything $(at) all; `x`"),
    ],
)
def test_values_that_fit_pass_through_as_written(
    tmp_path: Path, ptype: ParamType, value: str
) -> None:
    ep = ep_with(("p", ptype, None))
    assert resolve_parameters(ep, {"p": value}, tmp_path).values["p"] == value


@pytest.mark.parametrize(
    ("ptype", "value", "message"),
    [
        ("float", "abc", "parameter 'p' expects a float, got 'abc'"),
        ("float", "", "parameter 'p' expects a float, got ''"),
        ("int", "1.5", "parameter 'p' expects an int, got '1.5'"),
        ("int", "None", "parameter 'p' expects an int, got 'None'"),
        ("bool", "maybe", "parameter 'p' expects a bool, got 'maybe'"),
        ("uri", "", "parameter 'p' expects a uri, got ''"),
    ],
)
def test_type_mismatch_messages(tmp_path: Path, ptype: ParamType, value: str, message: str) -> None:
    ep = ep_with(("p", ptype, None))
    with pytest.raises(ParameterError) as caught:
        resolve_parameters(ep, {"p": value}, tmp_path)
    assert str(caught.value) == message


def test_path_is_made_absolute_against_the_callers_cwd(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("")
    ep = ep_with(("p", "path", None))
    assert resolve_parameters(ep, {"p": "data/x.csv"}, tmp_path).values["p"] == str(
        tmp_path / "data" / "x.csv"
    )
    assert resolve_parameters(ep, {"p": "data/../data"}, tmp_path).values["p"] == str(
        tmp_path / "data"
    )
    absolute = str(tmp_path / "data" / "x.csv")
    assert resolve_parameters(ep, {"p": absolute}, Path("/")).values["p"] == absolute


def test_path_must_exist(tmp_path: Path) -> None:
    ep = ep_with(("p", "path", None))
    with pytest.raises(ParameterError) as caught:
        resolve_parameters(ep, {"p": "missing.csv"}, tmp_path)
    assert "parameter 'p' expects a path, got 'missing.csv'" in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_path_file_uri_is_local(tmp_path: Path) -> None:
    (tmp_path / "a b.txt").write_text("")
    ep = ep_with(("p", "path", None))
    uri = (tmp_path / "a b.txt").as_uri()
    assert resolve_parameters(ep, {"p": uri}, Path("/")).values["p"] == str(tmp_path / "a b.txt")
    with pytest.raises(ParameterError):
        resolve_parameters(ep, {"p": "file:///definitely/not/here"}, tmp_path)


@pytest.mark.parametrize("value", ["s3://bucket/key", "https://x.org/a.csv", "runs:/abc/model"])
def test_path_remote_uri_passes_unchanged(tmp_path: Path, value: str) -> None:
    ep = ep_with(("p", "path", None))
    assert resolve_parameters(ep, {"p": value}, tmp_path).values["p"] == value


def test_uri_semantics(tmp_path: Path) -> None:
    ep = ep_with(("u", "uri", None))

    def resolve(value: str) -> str:
        return resolve_parameters(ep, {"u": value}, tmp_path).values["u"]

    assert resolve("models:/m/1") == "models:/m/1"
    assert resolve("file:///x") == "file:///x"
    assert resolve("/abs/not/checked") == "/abs/not/checked"
    assert resolve("rel/not/checked") == str(tmp_path / "rel/not/checked")


def test_extras_keep_order(tmp_path: Path) -> None:
    ep = ep_with(("a", "int", "1"))
    resolved = resolve_parameters(ep, {"z": "1", "a": "2", "m": "x y", "b.c-d": ""}, tmp_path)
    assert resolved.values == {"a": "2"}
    assert list(resolved.extra.items()) == [("z", "1"), ("m", "x y"), ("b.c-d", "")]
    assert resolved.all() == {"a": "2", "z": "1", "m": "x y", "b.c-d": ""}


@pytest.mark.parametrize("key", ["a;b", "$(x)", "a b", "-a", "", "x=y"])
def test_invalid_extra_names(tmp_path: Path, key: str) -> None:
    with pytest.raises(ParameterError, match="is not valid"):
        resolve_parameters(ep_with(), {key: "v"}, tmp_path)


def test_default_warnings(make_project: MakeProject) -> None:
    root = make_project(
        """
        entry_points:
          main:
            parameters:
              devices: {type: int, default: None}
              lr: {type: float, default: 1e-1}
              switch: {type: bool, default: maybe}
              flag: {type: bool, default: true}
              data: {type: path, default: data/x.csv}
              there: {type: path, default: present.txt}
              remote: {type: path, default: "s3://b/k"}
              u: {type: uri, default: ""}
              unused: {type: string, default: x}
            command: run {devices} {lr} {switch} {flag} {data} {there} {remote} {u}
        """,
        {"present.txt": ""},
    )
    ep = load_project(root).entry_points["main"]
    warnings = default_warnings(ep)
    by_key = {w.key: w for w in warnings}
    assert set(by_key) == {
        "entry_points.main.parameters.devices",
        "entry_points.main.parameters.switch",
        "entry_points.main.parameters.data",
        "entry_points.main.parameters.u",
        "entry_points.main",
    }
    devices = by_key["entry_points.main.parameters.devices"]
    assert devices.line == 4
    assert "it is not an int" in devices.message
    assert "passed unchanged" in devices.message
    assert "never uses it" in by_key["entry_points.main"].message


def test_default_warnings_report_bad_templates() -> None:
    ep = ep_with(("a", "string", "x"), command="run {a} {b}")
    (warning,) = default_warnings(ep)
    assert "placeholder {b}" in warning.message
