"""The `workflows:` declaration: what is accepted, and one clear error (file, line,
key) for everything that is not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlrun.errors import SpecError, UsageError
from mlrun.spec.loader import load_project
from mlrun.workflow.graph import build
from mlrun.workflow.model import load_workflow
from tests.helpers import cli, write_project

HEAD = """\
entry_points:
  main: {command: "python -c pass"}
  train:
    parameters: {alpha: float}
    command: "python -c pass {alpha}"
workflows:
  w:
"""


def _load(tmp_path: Path, body: str, name: str = "w") -> object:
    project = write_project(tmp_path / "p", HEAD + textwrap.indent(textwrap.dedent(body), "    "))
    return build(load_workflow(load_project(project), name))


def _error(tmp_path: Path, body: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        _load(tmp_path, body)
    return info.value


def test_a_full_declaration_loads(tmp_path: Path) -> None:
    graph = _load(
        tmp_path,
        """\
        parameters:
          lr: {type: float, default: 0.1}
          name: string
        steps:
          prep: {entry_point: main}
          train:
            entry_point: train
            needs: prep
            matrix: {alpha: [0.1, 1], seed: [1, 2]}
            parameters: {alpha: "${{ matrix.alpha }}"}
            deps: [MLproject]
            cache: false
          pick:
            entry_point: main
            parameters: {all: "${{ steps.train.outputs.rmse }}", lr: "${{ params.lr }}"}
        """,
    )
    assert list(graph.nodes) == [  # type: ignore[attr-defined]
        "prep",
        "train[alpha=0.1,seed=1]",
        "train[alpha=0.1,seed=2]",
        "train[alpha=1,seed=1]",
        "train[alpha=1,seed=2]",
        "pick",
    ]
    pick = graph.nodes["pick"]  # type: ignore[attr-defined]
    assert pick.needs == tuple(graph.instances["train"])  # type: ignore[attr-defined]
    assert graph.workflow.steps["train"].cache is False  # type: ignore[attr-defined]
    assert graph.workflow.parameters["name"].default is None  # type: ignore[attr-defined]


def test_a_cycle_names_its_steps_and_line(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        """\
        steps:
          a: {entry_point: main, needs: [c]}
          b: {entry_point: main, needs: [a]}
          c: {entry_point: main, parameters: {x: "${{ steps.b.run_id }}"}}
        """,
    )
    assert "has a cycle: a -> b -> c -> a" in str(err)
    assert err.line in (9, 10, 11)


def test_self_need_is_a_cycle(tmp_path: Path) -> None:
    err = _error(tmp_path, "steps:\n  a: {entry_point: main, needs: [a]}\n")
    assert "needs itself" in str(err) and err.line == 9


@pytest.mark.parametrize(
    ("body", "words", "line"),
    [
        (
            "steps:\n  a: {entry_point: main, needs: [bb]}\n  b: {entry_point: main}\n",
            "needs unknown step 'bb' (did you mean `b`?)",
            9,
        ),
        ("steps:\n  a: {entry_point: mian}\n", "entry point 'mian'", 9),
        ("steps:\n  a: {entry_point: main, need: [b]}\n", "unknown key 'need'", 9),
        (
            "steps:\n  a:\n    entry_point: main\n    parameters: {x: '${{ params.nope }}'}\n",
            "no parameter 'nope'",
            11,
        ),
        (
            "steps:\n  a:\n    entry_point: main\n    parameters: {x: '${{ matrix.k }}'}\n",
            "its matrix has no 'k'",
            11,
        ),
        (
            "steps:\n  a:\n    entry_point: main\n    parameters: {x: '${{ stesp.b.run_id }}'}\n",
            "unknown reference",
            11,
        ),
        (
            "steps:\n  a:\n    entry_point: main\n    parameters: {x: '${{ steps.b.outputs'}\n",
            "never closes it",
            11,
        ),
        (
            "steps:\n  a: {entry_point: main}\n  b:\n    entry_point: main\n"
            "    parameters: {x: '${{ steps.a.matrix }}'}\n",
            "has no matrix",
            12,
        ),
        ("steps:\n  a: {entry_point: main, matrix: {k: []}}\n", "non-empty list", 9),
        ("steps:\n  a: {entry_point: main, cache: maybe}\n", "true or false", 9),
        ("steps: {}\n", "non-empty `steps`", 7),
        ("steps:\n  a: {entry_point: main}\nparameters: {p: {type: flaot}}\n", "unknown type", 10),
    ],
)
def test_bad_declarations(tmp_path: Path, body: str, words: str, line: int) -> None:
    err = _error(tmp_path, body)
    assert words in str(err), str(err)
    assert str(err).startswith(f"{tmp_path / 'p' / 'MLproject'}:{line}: "), str(err)


def test_workflow_named_like_an_entry_point_is_an_error(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main: {command: "python -c pass"}
        workflows:
          main:
            steps: {a: {entry_point: main}}
        """,
    )
    with pytest.raises(SpecError, match="has the name of an entry point"):
        load_workflow(load_project(project), "main")


def test_cli_reports_one_clear_line_with_exit_2(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        HEAD + "    steps:\n"
        "      a: {entry_point: main, needs: [b]}\n"
        "      b: {entry_point: main, needs: [a]}\n",
    )
    for args in (
        ["run", str(project), "-e", "w"],
        ["dag", str(project)],
        ["validate", str(project)],
    ):
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith(
            f"mlrun: error: {project / 'MLproject'}:9: workflow 'w' has a cycle: a -> b -> a"
        ), proc.stderr
        assert "Traceback" not in proc.stderr


def test_workflow_parameters_are_typed_and_required(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        HEAD
        + """\
    parameters: {n: int, opt: {type: string, default: x}}
    steps: {a: {entry_point: main}}
""",
    )
    proc = cli("run", str(project), "-e", "w")
    assert proc.returncode == 2 and "needs a value for parameter 'n'" in proc.stderr
    proc = cli("run", str(project), "-e", "w", "-P", "n=many")
    assert proc.returncode == 2 and "expects an int, got 'many'" in proc.stderr
    proc = cli("run", str(project), "-e", "w", "-P", "n=1", "-P", "typo=2")
    assert proc.returncode == 2 and "has no parameter 'typo'" in proc.stderr
    proc = cli("run", str(project), "-e", "nope")
    assert proc.returncode == 2 and "no entry point 'nope'" in proc.stderr


def test_workflow_options_on_a_plain_entry_point_are_an_error(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", HEAD + "    steps: {a: {entry_point: main}}\n")
    proc = cli("run", str(project), "-e", "main", "-j", "2")
    assert proc.returncode == 2 and "--jobs only applies to workflows" in proc.stderr


def test_unknown_workflow_of_a_malformed_section(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main: {command: "python -c pass"}
        workflows: [a, b]
        """,
    )
    proc = cli("run", str(project), "-e", "w")
    assert proc.returncode == 2 and ":3: workflows must be a mapping" in proc.stderr
    with pytest.raises(UsageError):
        load_workflow(
            load_project(
                write_project(tmp_path / "q", HEAD + "    steps: {a: {entry_point: main}}\n")
            ),
            "other",
        )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("[/abs/x.py]", "code pattern '/abs/x.py' of step 'a' is not relative to the project"),
        ("['../x.py']", "code pattern '../x.py' of step 'a' reaches outside the project"),
        ("['${{ params.p }}']", "holds a reference; code patterns are plain globs"),
        ("[]", "code of step 'a' is empty; leave it out to mean the whole project"),
        ("{x: 1}", "code of step 'a' must be a list of paths"),
    ],
)
def test_code_patterns_are_checked(tmp_path: Path, code: str, message: str) -> None:
    err = _error(tmp_path, f"steps:\n  a: {{entry_point: main, code: {code}}}\n")
    assert message in str(err) and err.line == 9


def test_code_patterns_load(tmp_path: Path) -> None:
    graph = _load(tmp_path, "steps:\n  a: {entry_point: main, code: [a.py, 'lib/**/*.py']}\n")
    assert graph.workflow.steps["a"].code == ("a.py", "lib/**/*.py")  # type: ignore[attr-defined]
