"""Fuzzing MLproject files and -P values (issue 11, acceptance).

Whatever the file and the values: no traceback and no crash log, a documented exit code,
and no shell evaluation of any value (a canary file that a value tries to create must
never appear). The budget is fixed and the examples are derandomized, so CI runs the
same examples every time: most go through the CLI in this process (`run_cli`), which
makes them cheap; the commands themselves always run as real processes (bash and the
programs it starts), and a few examples go through a real `mlrun` process end to end.
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers import mlrun
from tests.security.conftest import Cli

pytestmark = pytest.mark.slow

CANARY = "CANARY"  # relative: commands run in the project directory
HOSTILE = [
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f";touch {CANARY}",
    f"; touch {CANARY} #",
    f"&& touch {CANARY}",
    f"| touch {CANARY}",
    f"$(touch${{IFS}}{CANARY})",
    f"'$(touch {CANARY})'",
    f'"$(touch {CANARY})"',
    f"\\$(touch {CANARY})",
    f"\ntouch {CANARY}\n",
    f"\nEOF\ntouch {CANARY}\n",
    f"a[$(touch {CANARY})]",
    f"x[`touch {CANARY}`]",
    f"$((a[$(touch {CANARY})]))",
    f"${{x:-$(touch {CANARY})}}",
    f"{{{CANARY}}}",
    "'",
    '"',
    "\\",
    "$IFS",
    "*",
    "-n",
    "",
    "0",
    "1.5",
    "true",
    "caf\udce9",  # the byte 0xe9 of a Latin-1 argument, as Python keeps it
    "nul\0byte",
]
# Where a placeholder may sit in a shell command: {p} is the placeholder.
FRAGMENTS = [
    "{p}",
    '"{p}"',
    "'{p}'",
    "$'{p}'",
    "pre{p}post",
    '"$(printf %s "{p}")"',
    "$(printf %s {p})",
    '`printf %s "{p}"`',
    '"${{x:-{p}}}"',
    "${{x:-{p}}}",
    "$(( {p} ))",
    '"${p}"',
    "\\{p}",
    '"\\{p}"',
    "{p!r}",
    "{p!s:>3}",
]
WRAPPERS = [
    "printf '[%s]' {f} | cat",
    "true && printf '[%s]' {f}",
    "printf '[%s]' {f}; echo",
    "[[ {f} == zz ]] || printf '[%s]' {f}",
    "X={f}; printf '[%s]' \"$X\"",
    "cat <<EOF\n{f}\nEOF\n",
    "cat <<'EOF'\n{f}\nEOF\n",
    "printf '[%s]' {f} # {f}\n",
    'python -c "import sys; print(sys.argv)" {f}',
]
TYPES = ["string", "str", "float", "int", "bool", "path", "uri", "weird"]

values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
    st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=3).map("".join),
)
commands = st.builds(
    lambda wrapper, fragment, name: wrapper.replace("{f}", fragment.replace("{p", "{" + name)),
    st.sampled_from(WRAPPERS),
    st.sampled_from(FRAGMENTS),
    st.sampled_from(["a", "b"]),
)


@st.composite
def mlprojects(draw: st.DrawFn) -> str:
    """MLproject texts: mostly well-formed with hostile commands and defaults, some
    with wrong types, broken YAML, aliases, env sections."""
    params = {}
    for name in ("a", "b"):
        # Hypothesis leans to the first choices: the well-formed ones come first.
        kind = draw(st.sampled_from(["long", "long", "short", "long", "none", "bad"]))
        if kind == "short":
            params[name] = draw(st.sampled_from(TYPES))
        elif kind == "long":
            default = draw(st.one_of(values, st.none(), st.integers(), st.floats()))
            ptype = draw(st.sampled_from(["string", "string", "string", *TYPES]))
            params[name] = {"type": ptype, "default": default}
        elif kind == "bad":
            params[name] = draw(st.sampled_from([[], {"type": []}, 3, {"default": {}}]))
    entry: dict[str, object] = {"command": draw(commands), "parameters": params}
    if draw(st.integers(0, 7)) == 7:
        entry["command"] = draw(st.sampled_from([None, [], {}, 3, "", "{", "{0}", "\0"]))
    data: dict[str, object] = {"name": "fuzz", "entry_points": {"main": entry}}
    env = draw(st.sampled_from([None] * 7 + ["python_env", "conda_env", "docker_env"]))
    if env == "docker_env":
        data["docker_env"] = {"image": "busybox", "volumes": draw(st.sampled_from([[], ["d:/d"]]))}
    elif env is not None:
        data[env] = draw(st.sampled_from(["missing.yaml", "../x.yaml", 3]))
    if draw(st.booleans()):
        data["workflows"] = {
            "flow": {
                "steps": {
                    "s": {
                        "entry_point": "main",
                        "parameters": {"a": draw(values)},
                        "matrix": {
                            "b": draw(st.lists(values, min_size=1, max_size=3, unique=True))
                        },
                    }
                }
            }
        }
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    mutation = draw(st.sampled_from(["none"] * 6 + ["cut", "junk", "alias", "laughs"]))
    if mutation == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif mutation == "junk":
        text += draw(st.sampled_from(["\n  - [", "\n: :", "\t\n", "\nx: *nope", "\n\xff"]))
    elif mutation == "alias":
        text = "base: &b [1, 2]\nmore: [*b, *b, *b]\n" + text
    elif mutation == "laughs":  # nine aliases of nine aliases...: 4.8 million values
        levels = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        levels += [f"l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 7)]
        text = "\n".join(levels) + "\n" + text
    return text


def _project(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    (root / "MLproject").write_text(text, errors="surrogateescape")
    return root


def _params(drawn: dict[str, str]) -> list[str]:
    return [arg for k, v in drawn.items() for arg in ("-P", f"{k}={v}")]


def _documented(code: int) -> bool:
    # 0, the command's own 1..125 (never mlrun's 1 here: that leaves a crash log),
    # 2 bad input, 125 could not prepare, 126/127 launch, 128+N a signal.
    return 0 <= code <= 127 or 129 <= code <= 192


def _check(result_code: int, err: str, out: str, home: Path, root: Path) -> None:
    assert _documented(result_code), result_code
    assert "Traceback" not in err + out
    assert "internal error" not in err
    assert not list(home.glob("crash-*.log")), err
    assert not (root / CANARY).exists(), "a value was evaluated by the shell"


FUZZ = settings(
    derandomize=True,  # the same examples on every run: CI is reproducible
    database=None,
    deadline=timedelta(seconds=10),  # per example, on a loaded 2-core box
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_count = itertools.count()


@settings(FUZZ, max_examples=200)
@given(
    text=mlprojects(),
    given_params=st.dictionaries(st.sampled_from(["a", "b", "c", "x-y"]), values, max_size=3),
)
def test_fuzz_plan_and_validate_in_process(
    tmp_path: Path, cli: Cli, mlrun_home: Path, text: str, given_params: dict[str, str]
) -> None:
    root = _project(tmp_path / f"p{next(_count)}", text)
    args = _params(given_params)
    for command in (
        ("validate", str(root)),
        ("validate", str(root), "--json"),
        ("run", str(root), "--dry-run", "--json", *args),
        ("run", str(root), "-e", "flow", "--dry-run", *args),
        ("dag", str(root), "-e", "flow"),
    ):
        result = cli(*command)
        event(f"{command[0]} {command[2] if len(command) > 2 else ''}: exit {result.code}")
        assert result.code in (0, 2), (command, result)
        _check(result.code, result.err, result.out, mlrun_home, root)
        if result.code == 0 and "--json" in command:
            json.loads(result.out)  # the JSON is whole


@settings(FUZZ, max_examples=80)
@given(command=commands, a=values, b=values)
def test_fuzz_commands_run_without_evaluating_values(
    tmp_path: Path, cli: Cli, mlrun_home: Path, command: str, a: str, b: str
) -> None:
    text = yaml.safe_dump(
        {
            "entry_points": {
                "main": {"command": command, "parameters": {"a": "string", "b": "string"}}
            }
        }
    )
    root = _project(tmp_path / f"r{next(_count)}", text)
    result = cli("run", str(root), "-q", "-P", f"a={a}", "-P", f"b={b}")
    event(f"exit {result.code}")
    _check(result.code, result.err, result.out, mlrun_home, root)
    assert result.code in (0, 1, 2), result  # the command's own codes, or a refused value


@pytest.mark.parametrize("seed", range(6))
def test_fuzz_through_a_real_mlrun_process(tmp_path: Path, mlrun_home: Path, seed: int) -> None:
    # The end-to-end path: console entry, a separate process, signals, the terminal.
    wrapper = WRAPPERS[seed % len(WRAPPERS)]
    fragment = FRAGMENTS[(seed * 5) % len(FRAGMENTS)]
    command = wrapper.replace("{f}", fragment.replace("{p", "{a"))
    text = yaml.safe_dump(
        {"entry_points": {"main": {"command": command, "parameters": {"a": "string"}}}}
    )
    root = _project(tmp_path / "p", text)
    for value in HOSTILE[seed::6]:
        if "\0" in value:
            continue  # no process can get a NUL in its argv
        proc = mlrun("run", str(root), "-q", "-P", f"a={value}", env=dict(os.environ))
        _check(proc.returncode, proc.stderr, proc.stdout, mlrun_home, root)
