"""No value is ever evaluated by the shell, whatever surrounds its placeholder (issue 11.1).

Each template below puts a placeholder in one quoting context of bash. For every hostile
value, the command mlrun runs (`script` with its `env`) must create no canary file, must
give the same output as the command mlrun shows and records (`shell`), and, for values
MLflow's rendering does not evaluate, the same output as MLflow's rendering."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from mlrun.errors import ParameterError, SpecError
from mlrun.spec.model import Command, EntryPoint, Parameter, ResolvedParameters
from mlrun.spec.render import render_command, template_problems

P = "printf '%s\\0'"
# (template, when MLflow gives the same words for harmless values: "always", "no-spaces"
# (MLflow splits a quoted value with spaces into words there), or "never" (MLflow
# evaluates the value even then)). Templates are str.format templates ({{ and }} are
# literal braces); P stands for a printf of the words it gets.
TEMPLATES = [
    ("P {a} | cat", "always"),
    ('P "{a}" | cat', "always"),
    ("P 'x{a}y' | cat", "no-spaces"),
    ("P $'x{a}y' | cat", "no-spaces"),
    ("P pre{a}post\"{a}\"'{a}' | cat", "no-spaces"),
    ('P "$(printf %s "{a}")" | cat', "always"),
    ("P \"$(printf %s '{a}')\" | cat", "no-spaces"),
    ("P `printf %s {a}` x | cat", "no-spaces"),
    ('P "`printf %s "{a}"`" | cat', "always"),
    ('P "`printf %s \\"{a}\\"`" | cat', "always"),
    ('P "${{x:-{a}}}" "${{x:-"{a}"}}" | cat', "always"),
    ('P ${{x:-"{a}"}} ${{x:-{a}}}x | cat', "no-spaces"),
    ('P "${a}" ${a} x | cat', "never"),  # MLflow expands $value as a variable
    ('P \\{a} "\\{a}" | cat', "never"),  # MLflow escapes its own opening quote
    ('X={a}; Y="{a}"; P "$X" "$Y"', "always"),
    ('export A="{a}" && P "$A"', "always"),
    ('f() {{ P "$@"; }}; f "{a}" {a}', "always"),
    ('if true; then P "{a}"; fi', "always"),
    ('case "{a}" in zz) ;; *) P "{a}" ;; esac', "always"),
    ('[[ "{a}" == zz ]] || P "{a}"', "always"),
    ("P {a} # {a}\n", "always"),
    ("cat <<EOF\n{a}\n\"{a}\" '{a}' $HOME\nEOF\n", "always"),
    ("cat <<-'EOF'\n\t{a}\n\tEOF\n", "always"),
    ('P "$(cat <<EOF\n{a}\nEOF\n)"', "always"),
    ("P {a!r} {a!s} | cat", "always"),
]
TEMPLATES = [(t.replace("P ", P + " "), same) for t, same in TEMPLATES]
VALUES = [
    "plain",
    "two words",
    "",
    "$(touch CANARY)",
    "`touch CANARY`",
    "; touch CANARY",
    "' ; touch CANARY ; '",
    '" ; touch CANARY ; "',
    "$(touch${IFS}CANARY)",
    "${IFS}",
    "$HOME",
    "\\",
    "a\\",
    "\\$(touch CANARY)",
    "it's",
    '"',
    "*",
    "~",
    "!$",
    "$((1+1))",
    "a[$(touch CANARY)]",
    "{x} {{y}}",
    "%s %n",
    "-n",
    "line1\nline2",
    "x\n$(touch CANARY)\n`touch CANARY`",
    "ünï ✓",
]


def entry_point(command: str, *names: str) -> EntryPoint:
    parameters = {n: Parameter(n, "string", "string", None) for n in names}
    return EntryPoint("main", command, parameters, line=3, file=Path("/p/MLproject"))


def render(command: str, **values: str) -> Command:
    ep = entry_point(command, *values)
    return render_command(ep, ResolvedParameters(values=values, extra={}))


def bash(text: str, cwd: Path, env: dict[str, str] | None = None) -> bytes:
    proc = subprocess.run(
        ["bash", "-c", text],
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=30,
    )
    return proc.stdout


def mlflow_rendering(template: str, value: str) -> str:
    return template.format(a=shlex.quote(value))


@pytest.mark.parametrize("template,mlflow_same", TEMPLATES)
def test_no_value_is_evaluated_in_any_context(
    template: str, mlflow_same: str, tmp_path: Path
) -> None:
    canary = tmp_path / "CANARY"
    for value in VALUES:
        try:
            command = render(template, a=value)
        except ParameterError:
            # Only a conversion ({a!r}) that puts `$` or quotes into the text is refused.
            assert "!r}" in template, (template, value)
            continue
        assert command.mode == "shell", template
        assert command.script is not None and command.shell is not None
        ran = bash(command.script, tmp_path, dict(command.env))
        assert not canary.exists(), (template, value, command.script)
        shown = bash(command.shell, tmp_path)
        assert not canary.exists(), (template, value, command.shell)
        assert ran == shown, (template, value)
        harmless = all(c.isalnum() or c in " .,:/=+-_" for c in value)
        if harmless and (
            mlflow_same == "always" or (mlflow_same == "no-spaces" and " " not in value)
        ):
            assert ran == bash(mlflow_rendering(template, value), tmp_path), (template, value)


def test_the_values_reach_bash_through_the_environment() -> None:
    command = render('echo "{a}" {a} | cat', a="$(touch CANARY)")
    assert command.script == 'echo "${MLRUN_P_1}" "${MLRUN_P_2}" | cat'
    assert dict(command.env) == {"MLRUN_P_1": "'$(touch CANARY)'", "MLRUN_P_2": "$(touch CANARY)"}
    # What is shown and recorded: the value in place, escaped for its context.
    assert command.shell == "echo \"'\\$(touch CANARY)'\" '$(touch CANARY)' | cat"
    assert command.launch_argv() == ["bash", "-c", command.script]


def test_mlflow_hole_is_real(tmp_path: Path) -> None:
    # The reason for all this: MLflow's own rendering runs the value (GHSA-p2gf-345f-mhmm).
    bash(mlflow_rendering('echo "{a}" | cat', "$(touch CANARY)"), tmp_path)
    assert (tmp_path / "CANARY").exists()


@pytest.mark.parametrize(
    "template",
    [
        "echo $(( {a} + 1 )) | cat",
        "(( x = {a} )); echo $x",
        "echo $[ {a} ] | cat",
        "a=(1 2 3); echo ${{a[{a}]}} | cat",
        "x=abcdef; echo ${{x:{a}:2}} | cat",
        "let x={a}; echo $x",
        '[[ "{a}" -eq 1 ]] && echo one',
        "[[ 1 -lt {a} ]] && echo less",
        "declare -i x={a}; echo $x",
        "[[ $(echo {a}) -gt 0 ]] && echo yes",
    ],
)
def test_arithmetic_takes_integers_only(template: str, tmp_path: Path) -> None:
    # Bash evaluates these as arithmetic, and arithmetic runs `a[$(cmd)]` subscripts.
    command = render(template, a="3")
    assert command.script is not None
    bash(command.script, tmp_path, dict(command.env))
    for value in ("a[$(touch CANARY)]", "x", "1+1", "3 ", ""):
        with pytest.raises(ParameterError, match="arithmetic, and not an integer"):
            render(template, a=value)


@pytest.mark.parametrize(
    "template",
    [
        "[[ -v {a} ]] && echo set",
        "test -v {a} || echo unset",
        "printf -v {a} %s 1; echo done",
        "unset {a}; echo done",
        "declare {a}=1; echo done",
        "echo ${{!{a}}} | cat",
    ],
)
def test_variable_names_take_names_only(template: str, tmp_path: Path) -> None:
    command = render(template, a="HOME")
    assert command.script is not None
    bash(command.script, tmp_path, dict(command.env))
    with pytest.raises(ParameterError, match="variable name"):
        render(template, a="a[$(touch CANARY)]")


def test_a_value_cannot_end_a_here_document(tmp_path: Path) -> None:
    for template in ("cat <<EOF\n{a}\nEOF\necho after\n", "cat <<'EOF'\n{a}\nEOF\n"):
        assert render(template, a="x\nEOFX").script is not None
        with pytest.raises(ParameterError, match="line 'EOF' into a here-document"):
            render(template, a="x\nEOF\ntouch CANARY")


def test_a_placeholder_cannot_be_a_here_document_delimiter() -> None:
    with pytest.raises(SpecError, match="here-document delimiter"):
        render("cat <<{a}\nx\n", a="EOF")


def test_a_conversion_that_would_expand_is_refused() -> None:
    # {a!r} puts repr('...') into the text: double quotes around a value with `$`.
    with pytest.raises(ParameterError, match="would expand"):
        render("echo {a!r} | cat", a="$(touch CANARY)")


def test_extra_parameters_are_placed_too(tmp_path: Path) -> None:
    ep = entry_point("true && " + P + ' "{a}"', "a")
    hostile = "$(touch CANARY)"
    command = render_command(ep, ResolvedParameters(values={"a": "x"}, extra={"k": hostile}))
    assert command.script is not None
    out = bash(command.script, tmp_path, dict(command.env))
    assert out.split(b"\0")[:-1] == [b"x", b"--k", hostile.encode()]
    assert not (tmp_path / "CANARY").exists()


def test_argv_mode_has_no_shell_at_all() -> None:
    command = render('python -c "print({x})" {x}', x="$(touch CANARY)")
    assert command.argv == ("python", "-c", "print('$(touch CANARY)')", "$(touch CANARY)")
    assert command.env == {}


@pytest.mark.parametrize("text", ["a\0b", "a\udcffb"], ids=["nul", "not-utf8"])
def test_values_no_program_can_receive_are_refused(text: str) -> None:
    with pytest.raises(ParameterError, match="parameter 'a'"):
        render("prog {a}", a=text)
    with pytest.raises(SpecError, match="command of entry point 'main'"):
        render_command(entry_point(f"prog {text}"), ResolvedParameters({}, {}))


def test_validate_explains_placeholders_in_quotes() -> None:
    ep = entry_point("python -c \"f({a})\" '{b}' $(( {c} )) | cat # {d}\n", "a", "b", "c", "d")
    notes = "\n".join(template_problems(ep))
    assert "{a} inside double quotes: the program gets the value quoted as MLflow" in notes
    assert "{b} inside single quotes: mlrun passes the value unchanged" in notes
    assert "{c} in shell arithmetic: its value must be an integer" in notes
    assert "{d} inside a # comment" in notes
    assert template_problems(entry_point("python train.py {a}", "a")) == []
