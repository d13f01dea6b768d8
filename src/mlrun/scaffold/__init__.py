"""`mlrun init`: make existing code a project -- an MLproject with an entry point per
script (its parameters read from the source: scaffold/scripts.py) and a python_env.yaml
(scaffold/deps.py) -- then check it as `mlrun validate` does. A file that exists is
never replaced without `force`: it is kept, and said so.

Scripts are the top-level `*.py` files of the directory that declare command-line
parameters (argparse, click) or have a `__main__` guard; tests, `setup.py`,
`conftest.py` and `__init__.py` are not. Each entry point is named by its script's stem;
a lone script's is `main`, so `mlrun run .` runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from mlrun.errors import UsageError
from mlrun.scaffold.deps import EnvGuess, guess_env
from mlrun.scaffold.scripts import Param, Script, read_script

_NOT_SCRIPTS = re.compile(r"^(setup|conftest|__init__|__main__|test_.*|.*_test)\.py$")
_TRUE = "[Tt][Rr][Uu][Ee]|1|[Yy][Ee][Ss]"
_FALSE = "[Ff][Aa][Ll][Ss][Ee]|0|[Nn][Oo]"
_CONDA_FILES = ("conda.yaml", "conda.yml", "environment.yml", "environment.yaml")


class InitResult(NamedTuple):
    directory: Path
    written: list[str]  # files written (relative to the directory)
    kept: list[str]  # files that existed and were left as they are
    scripts: dict[str, str]  # entry point -> script
    env: EnvGuess | None  # None when the project already has its env file
    notes: list[str]
    texts: dict[str, str]  # what was (or, dry, would be) written


def init(directory: Path, *, force: bool = False, dry_run: bool = False) -> InitResult:
    directory = directory.absolute()
    if not directory.is_dir():
        raise UsageError(
            f"{directory} is not a directory", hint="give the directory holding your scripts"
        )
    scripts = _scripts(directory)
    if not scripts:
        raise UsageError(
            f"{directory} has no Python script at its top (a .py file with argparse or click "
            'parameters, or an `if __name__ == "__main__":` block)',
            hint="run mlrun init in the directory holding the scripts you run",
        )
    names = _entry_point_names(scripts)
    notes: list[str] = []
    env_key, env_file, guess = _env(directory, force)
    texts = {"MLproject": _mlproject(directory.name, env_key, env_file, names, scripts)}
    if guess is not None:
        texts["python_env.yaml"] = _python_env(guess)
        notes += guess.notes
    written, kept = [], []
    for name, text in texts.items():
        path = directory / name
        if path.exists() and not force:
            kept.append(name)
            continue
        written.append(name)
        if not dry_run:
            from mlrun.util.files import atomic_write

            atomic_write(path, text)
    return InitResult(
        directory,
        written,
        kept,
        {names[s.path]: s.path.name for s in scripts},
        guess,
        notes,
        texts,
    )


def _scripts(directory: Path) -> list[Script]:
    found = []
    for path in sorted(directory.glob("*.py")):
        if not path.is_file() or _NOT_SCRIPTS.match(path.name):
            continue
        script = read_script(path, directory)
        if script is not None:
            found.append(script)
    return found


def _entry_point_names(scripts: list[Script]) -> dict[Path, str]:
    if len(scripts) == 1:
        return {scripts[0].path: "main"}
    return {s.path: re.sub(r"[^A-Za-z0-9_.-]+", "_", s.path.stem) for s in scripts}


def _env(directory: Path, force: bool) -> tuple[str, str, EnvGuess | None]:
    """(the MLproject key, its file, what to write into it or None to keep it). A conda
    file is the project's choice: kept, and named."""
    for name in _CONDA_FILES:
        if (directory / name).is_file():
            return "conda_env", name, None
    if (directory / "python_env.yaml").is_file() and not force:
        return "python_env", "python_env.yaml", None
    return "python_env", "python_env.yaml", guess_env(directory)


def _python_env(guess: EnvGuess) -> str:
    lines = [
        f"# Made by `mlrun init` from the project's {_what(guess.source)}.",
        "# Pin versions with `mlrun lock` (it writes python_env.lock).",
        f'python: "{guess.python}"',
    ]
    if guess.dependencies:
        lines.append("dependencies:")
        lines += [f"  - {json.dumps(d)}" for d in guess.dependencies]
    else:
        lines.append("dependencies: []")
    return "\n".join(lines) + "\n"


def _what(source: str) -> str:
    return {"imports": "imports (the standard library and its own modules left out)"}.get(
        source, source
    )


def _mlproject(
    name: str, env_key: str, env_file: str, names: dict[Path, str], scripts: list[Script]
) -> str:
    lines = [
        "# Made by `mlrun init`: parameters read from the scripts' argparse/click declarations.",
        f"name: {json.dumps(name)}",
        f"{env_key}: {env_file}",
        "",
        "entry_points:",
    ]
    for script in scripts:
        lines += _entry_point(names[script.path], script)
    return "\n".join(lines) + "\n"


def _entry_point(name: str, script: Script) -> list[str]:
    lines = [
        f"  {name}:",
        f"    # {script.path.name}" + (f" ({script.framework})" if script.framework else ""),
    ]
    if script.params:
        lines.append("    parameters:")
    for param in script.params:
        lines.append(f"      {param.name}: {_declaration(param)}" + _comment(param))
    for item in script.left_out:
        lines.append(f"    # left out, the script's own default applies: {item}")
    lines.append(f"    command: {json.dumps(_command(script), ensure_ascii=False)}")
    return lines


def _declaration(param: Param) -> str:
    if param.required:
        return f"{{type: {param.type}}}"
    return f"{{type: {param.type}, default: {json.dumps(param.default, ensure_ascii=False)}}}"


def _comment(param: Param) -> str:
    parts = [param.note] if param.note else []
    if param.flag == "true":
        parts.append(
            f"true passes {param.option}"
            + (f", false {param.off_option}" if param.off_option else "")
        )
    elif param.flag == "false":
        parts.append(f"false passes {param.option}")
    return f"  # {'; '.join(parts)}" if parts else ""


def _command(script: Script) -> str:
    words = ["python", _quoted(script.path.name)]
    positional = [p for p in script.params if p.option is None]
    options = [p for p in script.params if p.option is not None]
    words += [f"{{{p.name}}}" for p in positional]
    for param in options:
        assert param.option is not None
        if param.flag is None:
            words += [param.option, f"{{{param.name}}}"]
        elif param.off_option:
            words.append(
                f"$(case {{{param.name}}} in {_TRUE}) echo {param.option};; "
                f"*) echo {param.off_option};; esac)"
            )
        else:
            pattern = _TRUE if param.flag == "true" else _FALSE
            words.append(f"$(case {{{param.name}}} in {pattern}) echo {param.option};; esac)")
    return " ".join(words)


def _quoted(name: str) -> str:
    import shlex

    return shlex.quote(name).replace("{", "{{").replace("}", "}}")


def summary(result: InitResult) -> dict[str, Any]:
    """The --json shape of `mlrun init`."""
    return {
        "directory": str(result.directory),
        "written": result.written,
        "kept": result.kept,
        "entry_points": result.scripts,
        "dependencies": list(result.env.dependencies) if result.env else None,
        "dependencies_from": result.env.source if result.env else None,
        "notes": result.notes,
    }
