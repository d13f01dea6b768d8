"""python_env.yaml and conda.yaml: validation with file and line, normalisation (what the
key hashes), referenced files, and interpreter discovery."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from mlrun.envs.conda.spec import load_conda_env, to_python_env
from mlrun.envs.python import interpreters
from mlrun.envs.python.requirements import resolve
from mlrun.envs.python.spec import load_python_env
from mlrun.errors import EnvBuildError, SpecError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_reformatted_python_env_has_the_same_canonical_form(tmp_path: Path) -> None:
    block = load_python_env(
        _write(
            tmp_path / "a.yaml",
            """\
        python: "3.11"
        build_dependencies:
          - pip
        dependencies:
          - numpy >= 1.0   # a comment
          - pandas==2.0
        """,
        )
    )
    flow = load_python_env(
        _write(
            tmp_path / "b.yaml",
            """\
        dependencies: ['numpy>=1.0', "pandas == 2.0"]
        build_dependencies: [pip]
        python: '3.11'
        """,
        )
    )
    assert block.canonical() == flow.canonical()
    changed = load_python_env(
        _write(
            tmp_path / "c.yaml",
            """\
        python: "3.11"
        build_dependencies: [pip]
        dependencies: [numpy>=1.0, pandas==2.1]
        """,
        )
    )
    assert changed.canonical() != block.canonical()


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        ("python: 3.10\n", ["python", "quoted", "3.1"], 1),
        ("python: '3.x'\n", ["3.x", "version"], 1),
        ("python: '3.11'\ndependencies: numpy\n", ["dependencies", "list"], 2),
        ("dependencies:\n  - numpy\n  - {a: 1}\n", ["item 2", "string"], 3),
        ("- just a list\n", ["mapping"], None),
    ],
)
def test_bad_python_env_is_one_clear_error(
    tmp_path: Path, text: str, words: list[str], line: int | None
) -> None:
    path = _write(tmp_path / "python_env.yaml", text)
    with pytest.raises(SpecError) as caught:
        load_python_env(path)
    message = str(caught.value)
    assert str(path) in message and caught.value.exit_code == 2
    for word in words:
        assert word in message
    assert caught.value.line == line


def test_unknown_key_is_a_warning(tmp_path: Path) -> None:
    spec = load_python_env(_write(tmp_path / "p.yaml", "python: '3.11'\ndependecies: [x]\n"))
    assert any("dependecies" in w and "dependencies" in w for w in spec.warnings)


def test_requirement_files_and_local_paths_are_covered(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    _write(project / "requirements.txt", "-r more/extra.txt\nrequests\n")
    _write(project / "more" / "extra.txt", "six==1.16\n")
    _write(project / "pkg" / "pkg" / "__init__.py", "X = 1\n")
    _write(project / "pkg" / "pyproject.toml", "[project]\nname='pkg'\n")
    found = resolve(["-r requirements.txt", "./pkg", "numpy==1.26", "scipy>=1"], project, "f")
    assert found.lines == [
        f"-r {project / 'requirements.txt'}",
        str(project / "pkg"),
        "numpy==1.26",
        "scipy>=1",
    ]
    assert set(found.inputs) == {
        str(project / "requirements.txt"),
        str(project / "more" / "extra.txt"),
        str(project / "pkg"),
    }
    assert found.unpinned == ["requests", "scipy"]
    before = dict(found.inputs)
    _write(project / "more" / "extra.txt", "six==1.17\n")  # a nested file changed
    (project / "pkg" / "pkg" / "__init__.py").write_text("X = 22\n")  # and the source
    after = resolve(["-r requirements.txt", "./pkg"], project, "f").inputs
    assert after[str(project / "more" / "extra.txt")] != before[str(project / "more" / "extra.txt")]
    assert after[str(project / "pkg")] != before[str(project / "pkg")]
    assert after[str(project / "requirements.txt")] == before[str(project / "requirements.txt")]


def test_missing_requirement_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.txt.*does not exist"):
        resolve(["-r nope.txt"], tmp_path, "python_env.yaml")


def test_conda_yaml_parse_and_conversion(tmp_path: Path) -> None:
    spec = load_conda_env(
        _write(
            tmp_path / "conda.yaml",
            """\
        name: demo
        channels: [conda-forge]
        dependencies:
          - python=3.10.4
          - pip
          - pip:
              - mlt-alpha==1.0
        """,
        )
    )
    assert spec.channels == ("conda-forge",)
    assert spec.dependencies == ("python=3.10.4", "pip") and spec.pip == ("mlt-alpha==1.0",)
    assert spec.has_python()
    converted = to_python_env(spec)
    assert converted.python == "3.10.4"
    assert converted.build_dependencies == ("pip",)
    assert converted.dependencies == ("mlt-alpha==1.0",)
    with_numpy = load_conda_env(
        _write(
            tmp_path / "c2.yaml",
            """\
        dependencies: [python=3.10, numpy=1.26]
        """,
        )
    )
    without = to_python_env(with_numpy)  # as MLflow: a warning, not a refusal
    assert without.python == "3.10" and without.left_out == ("numpy=1.26",)
    assert any("not installed: numpy=1.26" in w for w in without.warnings)


def test_bad_conda_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path / "conda.yaml", "dependencies:\n  - python\n  - {pop: [x]}\n")
    with pytest.raises(SpecError) as caught:
        load_conda_env(path)
    assert caught.value.line == 3 and "pip" in str(caught.value)


def test_current_interpreter_needs_no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlrun.util.proc

    def _boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("probed an interpreter")

    monkeypatch.setattr(mlrun.util.proc, "run", _boom)
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found, note = interpreters.find(mine)
    assert found is not None and note is None
    assert found.version.startswith(mine + ".")
    assert interpreters.find(None)[0] == interpreters.current()


def _other_minor() -> str | None:
    for minor in ("3.10", "3.12", "3.13", "3.9", "3.11"):
        if minor != f"{sys.version_info[0]}.{sys.version_info[1]}":
            pyenv = Path.home() / ".pyenv" / "versions"
            if any(pyenv.glob(f"{minor}.*")) or any(
                Path(p, f"python{minor}").exists() for p in os.environ["PATH"].split(":")
            ):
                return minor
    return None


def test_other_version_is_found_and_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    minor = _other_minor()
    if minor is None:
        pytest.skip("no second Python version on this machine")
    found, _ = interpreters.find(minor)
    assert found is not None and found.minor == minor
    import mlrun.util.proc

    def _boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("probed again instead of using the remembered facts")

    monkeypatch.setattr(mlrun.util.proc, "run", _boom)
    again, _ = interpreters.find(minor)
    assert again == found


def test_missing_version_is_a_clear_error() -> None:
    found, note = interpreters.find("3.99")
    assert found is None and note is None
    error = interpreters.not_found("3.99", "python_env.yaml")
    assert isinstance(error, EnvBuildError) and error.exit_code == 125
    assert "3.99" in error.message and "python_env.yaml" in error.message
    assert error.hint is not None and "uv python install 3.99" in error.hint


def test_patch_mismatch_falls_back_to_same_minor_with_a_note() -> None:
    here = interpreters.current()
    major, minor, _ = here.version.split(".")
    found, note = interpreters.find(f"{major}.{minor}.999")
    assert found is not None and found.minor == f"{major}.{minor}"
    assert note is not None and "not installed" in note


def test_pyenv_and_uv_managed_interpreters_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    minor = _other_minor()
    real = next(iter(sorted((Path.home() / ".pyenv" / "versions").glob(f"{minor}.*"))), None)
    if minor is None or real is None:
        pytest.skip("no second pyenv Python version on this machine")
    version = real.name
    # only a uv-managed install (a symlink to that real interpreter) has this version
    managed = tmp_path / "uv-python" / f"cpython-{version}-linux-x86_64-gnu" / "bin"
    managed.mkdir(parents=True)
    (managed / "python3").symlink_to(real / "bin" / f"python{minor}")
    monkeypatch.setenv("PATH", "/usr/local/nothing")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uv-python"))
    found, note = interpreters.find(version)
    assert found is not None and note is None
    assert found.path == str(managed / "python3") and found.version == version
    # and the same version from pyenv's own layout
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("PYENV_ROOT", str(real.parent.parent))
    found, _ = interpreters.find(minor)
    assert found is not None and found.path.startswith(str(real.parent))
