from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun.errors import ParameterError, SpecError
from mlrun.spec.model import Command, EntryPoint, Parameter, ResolvedParameters
from mlrun.spec.render import has_shell_syntax, render_command


def ep_for(command: str, *names: str) -> EntryPoint:
    return EntryPoint(
        name="main",
        command=command,
        parameters={n: Parameter(n, "string", "string", None) for n in names},
        line=7,
        file=Path("/p/MLproject"),
    )


def render(command: str, values: dict[str, str], extra: dict[str, str] | None = None) -> Command:
    ep = ep_for(command, *values)
    return render_command(ep, ResolvedParameters(values=values, extra=extra or {}))


def nasty_values(marker: Path) -> list[str]:
    return [
        "two words",
        "it's",
        'say "hi"',
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"; touch {marker}",
        "a\nb",
        "--leading-dash",
        "-",
        "ünï ✓ 日本",
        "",
        "$HOME ~ *.py {x} {{y}} \\ \\\\ '\"",
        "trailing space ",
        "#notacomment",
    ]


# --- argv mode -------------------------------------------------------------------------


def test_values_land_verbatim_in_argv(tmp_path: Path) -> None:
    values = nasty_values(tmp_path / "pwned")
    names = [f"v{i}" for i in range(len(values))]
    template = "prog " + " ".join("{" + n + "}" for n in names)
    command = render(template, dict(zip(names, values, strict=True)))
    assert command.mode == "argv"
    assert command.argv == ("prog", *values)


def test_values_inside_quoted_and_glued_words(tmp_path: Path) -> None:
    value = "a b'c\"d $(e)"
    quoted = shlex.quote(value)  # MLflow's text, which double quotes keep as it is
    command = render("""prog --x={v} '{v}' "{v}" pre{v}post "{v} and {v}" ''""", {"v": value})
    assert command.argv == (
        "prog",
        f"--x={value}",
        value,
        quoted,
        f"pre{value}post",
        f"{quoted} and {quoted}",
        "",
    )


def test_double_quoted_placeholder_gives_mlflow_words() -> None:
    # MLflow: python -c "f('a b')" -- the quotes shlex.quote added reach the program.
    command = render('python -c "f({x})"', {"x": "a b"})
    assert command.argv == ("python", "-c", "f('a b')")
    assert render('python -c "f({x})"', {"x": "ab"}).argv == ("python", "-c", "f(ab)")


def test_argv_really_reaches_the_program_verbatim(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    values = nasty_values(marker)
    names = [f"v{i}" for i in range(len(values))]
    template = (
        f"{shlex.quote(sys.executable)} -c "
        "'import sys; sys.stdout.write(\"\\0\".join(sys.argv[1:]))' "
        + " ".join("{" + n + "}" for n in names)
    )
    command = render(template, dict(zip(names, values, strict=True)))
    assert command.argv is not None
    out = subprocess.run(list(command.argv), capture_output=True, check=True, cwd=tmp_path)
    assert out.stdout.decode().split("\0") == values
    assert not marker.exists()


def test_multiline_continuations_argv() -> None:
    template = "python train.py \\\n  --alpha {alpha} \\\n  --name={name}\n"
    command = render(template, {"alpha": "0.5", "name": "x y"}, {"extra": "z"})
    assert command.argv == (
        "python",
        "train.py",
        "--alpha",
        "0.5",
        "--name=x y",
        "--extra",
        "z",
    )


def test_extras_are_two_words() -> None:
    command = render("prog", {}, {"k": "v w", "e": "", "d": "-x"})
    assert command.argv == ("prog", "--k", "v w", "--e", "", "--d", "-x")


def test_literal_braces_and_quotes_in_template() -> None:
    assert render("echo 'Main entry point'", {}).argv == ("echo", "Main entry point")
    assert render("prog 'a{{b}}c'", {}).argv == ("prog", "a{b}c")


# --- shell mode ------------------------------------------------------------------------


def run_bash(shell: str, cwd: Path) -> list[str]:
    out = subprocess.run(["bash", "-c", shell], capture_output=True, check=True, cwd=cwd)
    return out.stdout.decode().split("\0")[:-1]


def test_values_land_verbatim_through_bash(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    values = nasty_values(marker)
    names = [f"v{i}" for i in range(len(values))]
    template = "printf '%s\\0' " + " ".join("{" + n + "}" for n in names) + " | cat"
    command = render(template, dict(zip(names, values, strict=True)))
    assert command.mode == "shell"
    assert command.shell is not None
    assert run_bash(command.shell, tmp_path) == values
    assert not marker.exists()


def test_extras_through_bash(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    # Extras go to the end of the text, i.e. to the last command, as in MLflow.
    command = render(
        "true && printf '%s\\0' {a}\n", {"a": "x"}, {"k": f"$(touch {marker}) y", "e": ""}
    )
    assert command.shell is not None
    assert run_bash(command.shell, tmp_path) == ["x", "--k", f"$(touch {marker}) y", "--e", ""]
    assert not marker.exists()


def test_multiline_continuations_shell(tmp_path: Path) -> None:
    template = "true && printf '%s\\0' \\\n  {a} \\\n  --b={b} \\\n"
    command = render(template, {"a": "1 2", "b": "it's"}, {"c": "3"})
    assert command.shell is not None
    assert run_bash(command.shell, tmp_path) == ["1 2", "--b=it's", "--c", "3"]


def test_shell_mode_is_mlflow_rendering() -> None:
    # MLflow: template.format(**{k: shlex.quote(v)}) + " --key value" per extra.
    command = render("cat {path} | wc -l", {"path": "a b"}, {"x": "1"})
    assert command.shell == "cat 'a b' | wc -l --x 1"
    assert command.words() == ["cat", "a b", "|", "wc", "-l", "--x", "1"]


def test_extras_after_a_trailing_comment_are_refused() -> None:
    with pytest.raises(ParameterError, match="ends with a # comment"):
        render("prog {a} # note", {"a": "1"}, {"x": "2"})
    assert render("prog {a} # note", {"a": "1"}).shell == "prog 1 # note"


def test_format_conversions_use_the_shell_path(tmp_path: Path) -> None:
    # MLflow renders `printf ... "'x y'"`: the program receives 'x y' with its quotes.
    command = render("printf '%s\\0' {a!r}", {"a": "x y"})
    assert command.mode == "shell"
    assert command.script is not None
    out = subprocess.run(
        ["bash", "-c", command.script],
        env={**os.environ, **command.env},
        capture_output=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.decode().split("\0")[:-1] == ["'x y'"]
    assert run_bash(command.shell or "", tmp_path) == ["'x y'"]


# --- has_shell_syntax ------------------------------------------------------------------

SIMPLE = [
    "python train.py {alpha} {l1_ratio}",
    "python train.py \\\n  --a {a} \\\n  --b {b}\n",
    "echo 'Main entry point'",
    "prog 'a | b; c $d `e` *'",
    'prog "a | b; c * ~"',
    "prog --opt=value a=b",
    "prog a#b",
    "prog \\$HOME \\|",
    "  prog  \n\n",
    "printf '%s\\n' {a}",
]
SHELL = [
    "cat {path} | wc -l",
    "a && b",
    "a || b",
    "a; b",
    "a & b",
    "a > out",
    "a < in",
    "a 2>&1",
    "(a)",
    "echo $HOME",
    "echo ${HOME}",
    'echo "$HOME"',
    "echo `date`",
    'echo "`date`"',
    "echo $(date)",
    "ls *.py",
    "ls file?.py",
    "ls [ab].py",
    "ls ~/data",
    "echo {{a,b}}",
    "cd sub",
    "cd sub && python x.py",
    "export A=1",
    "source env.sh",
    ". env.sh",
    "A=1 python x.py",
    "python x.py # comment",
    "# just a comment",
    "python a.py\npython b.py",
    "if true; then x; fi",
    "time python x.py",
    "exec python x.py",
    "prog 'unterminated",
    'prog "unterminated',
    "prog trailing\\",
    "prog {a!r}",
    "prog {a:>10}",
    "prog {a.real}",
    "prog {",
    "! prog",
    "",
    "   ",
]


@pytest.mark.parametrize("template", SIMPLE)
def test_simple_templates(template: str) -> None:
    assert not has_shell_syntax(template)


@pytest.mark.parametrize("template", SHELL)
def test_shell_templates(template: str) -> None:
    assert has_shell_syntax(template)


# --- errors ----------------------------------------------------------------------------


def test_unknown_placeholder_is_a_spec_error() -> None:
    ep = ep_for("prog {alpha} {beta}", "alpha")
    with pytest.raises(SpecError) as caught:
        render_command(ep, ResolvedParameters(values={"alpha": "1"}, extra={"beta": "2"}))
    message = str(caught.value)
    assert message.startswith("/p/MLproject:7: ")
    assert "{beta}" in message
    assert "'main'" in message
    assert caught.value.key == "entry_points.main.command"


@pytest.mark.parametrize("template", ["prog {}", "prog {0}", "prog {a", "prog }"])
def test_malformed_templates_are_spec_errors(template: str) -> None:
    with pytest.raises(SpecError):
        render_command(ep_for(template, "a"), ResolvedParameters(values={"a": "1"}, extra={}))


def test_placeholder_without_a_value_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError):
        render_command(ep_for("prog {a}", "a"), ResolvedParameters(values={}, extra={}))
