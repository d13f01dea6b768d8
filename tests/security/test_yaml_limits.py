"""Every YAML file mlrun reads has a size limit and an alias-expansion limit, each a clear
error naming the file, exit 2 (issue 11.3)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun.errors import SpecError
from mlrun.spec import yamlio
from mlrun.spec.loader import load_project
from tests.helpers import write_project
from tests.security.conftest import Cli

# Nine aliases of nine aliases of ...: 385 bytes that expand to hundreds of millions of
# values. PyYAML shares them; anything walking the data as a tree does not.
LAUGHS = """\
name: laughs
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
entry_points: {main: {command: "echo hi"}}
"""
MEMORY_LIMIT = 1 << 30  # the address space the CLI may use below


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_billion_laughs_mlproject_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", LAUGHS)
    assert len(LAUGHS.encode()) < 400
    # Under a 1 GiB address-space limit: a tracker that expands the aliases dies here.
    proc = subprocess.run(
        [sys.executable, "-m", "mlrun", "validate", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{project / 'MLproject'}: the file's aliases (*name) expand it to" in proc.stderr
    assert "Traceback" not in proc.stderr


def _laughs(levels: int) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["python_env.yaml", "conda.yaml"])
def test_env_files_have_the_same_limits(tmp_path: Path, name: str, cli: Cli) -> None:
    key = "python_env" if name == "python_env.yaml" else "conda_env"
    project = write_project(
        tmp_path / "p", f"name: x\n{key}: {name}\nentry_points: {{main: {{command: x}}}}\n"
    )
    (project / name).write_text(_laughs(7))
    result = cli("run", str(project), "--dry-run")
    assert result.code == 2
    assert f"mlrun: error: {project / name}: the file's aliases (*name) expand it" in result.err


def test_workflows_have_the_same_limits(tmp_path: Path, cli: Cli) -> None:
    # Workflows live in the MLproject; a bomb under `workflows:` never gets that far.
    bomb = _laughs(7).replace("\n", "\n  ")
    project = write_project(
        tmp_path / "p", f"entry_points: {{main: {{command: x}}}}\nworkflows:\n  {bomb}"
    )
    result = cli("run", str(project), "-e", "flow")
    assert result.code == 2
    assert "the file's aliases (*name) expand it to" in result.err


def test_oversized_files_are_not_read(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "name: big\n")
    with (project / "MLproject").open("a") as fh:
        fh.write("# padding\n" * (yamlio.MAX_BYTES // 10 + 1))
    with pytest.raises(SpecError) as caught:
        load_project(project)
    assert str(caught.value).startswith(f"{project / 'MLproject'}: the file is 4.0 MiB;")
    assert "up to 4 MiB" in str(caught.value)


def test_a_file_that_grows_past_the_limit_is_not_served_from_the_cache(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "name: small\n")
    past = 1_600_000_000
    os.utime(project / "MLproject", (past, past))
    assert load_project(project).name == "small"  # now in the parse cache
    with (project / "MLproject").open("a") as fh:
        fh.write("#" * yamlio.MAX_BYTES)
    os.utime(project / "MLproject", (past, past))
    with pytest.raises(SpecError, match="mlrun reads YAML files of up to"):
        load_project(project)


def test_legitimate_aliases_keep_working_with_lines() -> None:
    text = b"""\
common: &common {type: float, default: 0.5}
entry_points:
  main:
    parameters:
      alpha: *common
      beta: {<<: *common, default: 0.1}
    command: "python train.py {alpha} {beta}"
"""
    doc = yamlio.load_yaml(text, "MLproject")
    params = doc.data["entry_points"]["main"]["parameters"]
    assert params["alpha"] == {"type": "float", "default": 0.5}
    assert params["beta"] == {"type": "float", "default": 0.1}
    assert doc.line("entry_points", "main", "parameters", "beta", "default") == 6
    assert doc.line("entry_points", "main", "parameters", "alpha") == 5


def test_aliases_just_under_the_limit_load() -> None:
    doc = yamlio.load_yaml(_laughs(5).encode(), "x.yaml")  # 9**5 = 59049 leaves
    assert len(doc.data["l4"]) == 9


def test_expanded_size_counts_uses_and_survives_cycles() -> None:
    shared = ["x"]
    tree = [shared, shared, [shared]]
    kids = lambda v: v if isinstance(v, list) else []  # noqa: E731
    assert yamlio.expanded_size(tree, kids) == (1 + 2 + 2 + 3, 4)
    loop: list[object] = []
    loop.append(loop)
    assert yamlio.expanded_size(loop, kids) == (2, 1)
