"""Reading a script's command-line parameters from its source, without running it: the
`add_argument` calls of argparse and the `@click.option` / `@click.argument` decorators
of click, read with `ast`.

What becomes of each declaration (the MLproject can only pass values):

- `type=float` / `int` / `str`, or a literal default of that type: float / int / string;
- a path (`type=pathlib.Path`, `click.Path()`, `argparse.FileType()`, or a string default
  that names a file or directory of the project): `path` when the default exists in the
  project (values are then made absolute and checked), else string;
- a literal `default`: the parameter's default; `required=True`, a positional: required;
- `action="store_true"` / `"store_false"`, click `is_flag` and `--x/--no-x`: a bool
  (default false / true), the command passing the flag when the value says so;
- `choices=[...]`, `click.Choice([...])`: the type, the choices in a comment;
- a default computed when the script runs (`os.environ.get(...)`), an option's
  `default=None`: left out of the command (the script's own default applies), in a comment;
- `nargs="*"`/`"+"`/N, `action="append"`/`"count"`/..., click `multiple=True`: left out
  (a parameter is one value), in a comment; a required one takes one value.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

# argparse's `type=bool` is a known trap (bool("false") is True): passed as a string.
_TYPES = {"float": "float", "int": "int", "str": "string"}
_CLICK_TYPES = {
    "FLOAT": "float",
    "INT": "int",
    "STRING": "string",
    "BOOL": "bool",
    "IntRange": "int",
    "FloatRange": "float",
}
_MAX_SOURCE = 4 << 20
_PATHS = {"Path", "PurePath", "FileType", "File"}
_FLAG_ACTIONS = {"store_true": False, "store_false": True}
_NAME = re.compile(r"[^A-Za-z0-9_]+")


class Param(NamedTuple):
    name: str  # the MLproject parameter name (argparse's dest, click's name)
    option: str | None  # `--l1-ratio` as the script spells it; None: positional
    type: str  # string | float | int | bool | path
    default: Any = None  # a Python literal; None with `required`
    required: bool = False
    flag: str | None = None  # "true": pass `option` when true; "false": when false
    off_option: str | None = None  # click `--x/--no-x`: what false passes
    note: str = ""  # a comment for the MLproject (choices, help)


class Script(NamedTuple):
    path: Path
    framework: str  # "argparse" | "click" | "" (no parameters declared)
    params: tuple[Param, ...]
    left_out: tuple[str, ...]  # `--name: why`, for comments


def read_script(path: Path, project: Path) -> Script | None:
    """The script's parameters; None when the file is not a script (a module without a
    `__main__` guard, an argument parser or a click command), does not parse, or is
    larger than any script (_MAX_SOURCE: a data file named `.py`, say)."""
    try:
        if path.stat().st_size > _MAX_SOURCE:
            return None
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError, RecursionError, MemoryError):
        return None
    params: list[Param] = []
    left_out: list[str] = []
    framework = ""
    for call in _calls(tree, "add_argument"):
        framework = "argparse"
        _argparse(call, project, params, left_out)
    for decorator, kind in _click_decorators(tree):
        framework = framework or "click"
        _click(decorator, kind, project, params, left_out)
    if not framework and not _has_main_guard(tree):
        return None
    return Script(path, framework, tuple(params), tuple(left_out))


def _calls(tree: ast.AST, method: str) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == method
        ):
            yield node


def _click_decorators(tree: ast.AST) -> Iterator[tuple[ast.Call, str]]:
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        # Decorators apply bottom-up, but click lists parameters in the written order.
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call):
                name = _dotted(decorator.func).rsplit(".", 1)[-1]
                if name in ("option", "argument"):
                    yield decorator, name


def _has_main_guard(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return True
    return False


def _dotted(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _literal(node: ast.AST | None) -> tuple[bool, Any]:
    """(is a literal, its value)."""
    if node is None:
        return True, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _keywords(call: ast.Call) -> dict[str, ast.AST]:
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


def _strings(call: ast.Call) -> list[str]:
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _argparse(call: ast.Call, project: Path, params: list[Param], left_out: list[str]) -> None:
    names = _strings(call)
    if not names or any(n in ("-h", "--help") for n in names):
        return
    kw = _keywords(call)
    options = [n for n in names if n.startswith("-")]
    long = next((n for n in options if n.startswith("--")), options[0] if options else None)
    dest_node = kw.get("dest")
    dest = dest_node.value if isinstance(dest_node, ast.Constant) else None
    name = str(dest or (long.lstrip("-") if long else names[0]))
    name = _NAME.sub("_", name.replace("-", "_"))
    shown = long or name
    action = kw.get("action")
    action_name = str(action.value) if isinstance(action, ast.Constant) else _dotted(action)
    if action_name in _FLAG_ACTIONS and long:
        default = _FLAG_ACTIONS[action_name]
        params.append(Param(name, long, "bool", default, flag="false" if default else "true"))
        return
    if action_name.endswith("BooleanOptionalAction") and long:
        ok, value = _literal(kw.get("default"))
        params.append(
            Param(
                name,
                long,
                "bool",
                bool(value) if ok else False,
                flag="true",
                off_option="--no-" + long[2:],
            )
        )
        return
    if action is not None and action_name not in ("store", ""):
        left_out.append(f"{shown}: action={action_name!r} (not a single value)")
        return
    nargs = _literal(kw.get("nargs"))[1]
    required = not options or _is_true(kw.get("required"))
    if nargs not in (None, "?", 1):
        if not required:
            left_out.append(f"{shown}: nargs={nargs!r} (several values)")
            return
    ok, default = _literal(kw.get("default"))
    if not ok and not required:
        left_out.append(f"{shown}: its default is computed when the script runs")
        return
    if nargs == "?" and not options:
        required = False
    if default is None and not required:
        left_out.append(f"{shown}: no default (the script's None applies)")
        return
    ptype = _param_type(kw.get("type"), default, project)
    note = _note(kw.get("choices"), kw.get("help"))
    if nargs not in (None, "?", 1):
        note = (note + "; " if note else "") + f"takes one value here (nargs={nargs!r})"
    params.append(Param(name, long, ptype, None if required else default, required, note=note))


def _click(
    call: ast.Call, kind: str, project: Path, params: list[Param], left_out: list[str]
) -> None:
    names = _strings(call)
    if not names:
        return
    kw = _keywords(call)
    if kind == "argument":
        name = _NAME.sub("_", names[0].replace("-", "_"))
        ok, default = _literal(kw.get("default"))
        required = kw.get("default") is None or _is_true(kw.get("required"))
        ptype = _param_type(kw.get("type"), default, project)
        params.append(Param(name, None, ptype, None if required else default, required))
        return
    decls = [n for n in names if n.startswith("-")]
    if not decls:
        return
    on, _, off = decls[0].partition("/")
    longs = [d.partition("/")[0] for d in decls if d.startswith("--")]
    option = longs[0] if longs else on
    explicit = next((n for n in names if n.isidentifier()), None)
    name = explicit or _NAME.sub(
        "_", max((d.partition("/")[0] for d in decls), key=len).lstrip("-").replace("-", "_")
    )
    if _is_true(kw.get("multiple")) or _literal(kw.get("nargs"))[1] not in (None, 1):
        left_out.append(f"{option}: several values")
        return
    ok, default = _literal(kw.get("default"))
    if off:
        params.append(
            Param(name, on, "bool", bool(default) if ok else False, flag="true", off_option=off)
        )
        return
    if _is_true(kw.get("is_flag")):
        value = bool(default) if ok else False
        params.append(Param(name, option, "bool", value, flag="false" if value else "true"))
        return
    required = _is_true(kw.get("required"))
    if not ok and not required:
        left_out.append(f"{option}: its default is computed when the script runs")
        return
    if default is None and not required:
        left_out.append(f"{option}: no default (the script's None applies)")
        return
    ptype = _param_type(kw.get("type"), default, project)
    note = _note(_choices_of(kw.get("type")), kw.get("help"))
    params.append(Param(name, option, ptype, None if required else default, required, note=note))


def _is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _param_type(node: ast.AST | None, default: Any, project: Path) -> str:
    name = _dotted(node).rsplit(".", 1)[-1] if node is not None else ""
    if name in ("", "str") and "/" in str(default) and _in_project(default, project):
        found = "path"  # a string naming a file of the project: `data/train.csv`
    elif name in _TYPES:
        found = _TYPES[name]
    elif name in _CLICK_TYPES:
        found = _CLICK_TYPES[name]
    elif name in _PATHS:
        return "path" if _in_project(default, project) else "string"
    elif node is None and isinstance(default, bool):
        found = "string"
    elif node is None and isinstance(default, (int, float)):
        found = "float" if isinstance(default, float) else "int"
    else:
        found = "string"
    return found


def _in_project(default: Any, project: Path) -> bool:
    """A relative path default naming a file or directory of the project."""
    if not isinstance(default, str) or not default or default.startswith(("/", "~")):
        return False
    return ".." not in default.split("/") and (project / default).exists()


def _choices_of(node: ast.AST | None) -> ast.AST | None:
    if isinstance(node, ast.Call) and _dotted(node.func).endswith("Choice") and node.args:
        return node.args[0]
    return None


def _note(choices: ast.AST | None, help_node: ast.AST | None) -> str:
    parts = []
    ok, values = _literal(choices)
    if ok and isinstance(values, (list, tuple)) and values:
        parts.append("one of: " + ", ".join(str(v) for v in values))
    if isinstance(help_node, ast.Constant) and isinstance(help_node.value, str):
        parts.append(" ".join(help_node.value.split()))
    return "; ".join(parts)
