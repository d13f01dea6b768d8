"""docs/architecture.md's package table is true to the code: every `import` of an mlrun
module, at any depth (inside functions and `if TYPE_CHECKING:` blocks too), is one the
table's "may import" column allows. The table is read from the document, so the test
follows it when it changes.

How the column reads: a list (commas or semicolons) of table entries (`spec`, `runner`),
of modules inside one (`execution.child`) or `all layers below` (every entry in the rows
after this one); or `everything`, `nothing`, `stdlib only` (no import outside the
standard library at all). Words in parentheses, or after a name, are remarks. Unless
its row says `nothing` or `stdlib only`, every module may also import its own package,
`errors` and `reporting` (what every layer raises and talks through), and `mlrun`
itself (for `__version__`)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.helpers import REPO

DOC = REPO / "docs" / "architecture.md"
SRC = REPO / "src"
EVERYTHING = "everything"
STDLIB_ONLY = "stdlib only"
BELOW = ("all layers below", "everything below")
ANYWHERE = ("errors", "reporting")  # may be imported by every module that imports anything


class Rule(NamedTuple):
    entry: str  # as the table writes it: `cli/`, `runner.py`
    allowed: frozenset[str]  # dotted names below mlrun, or {EVERYTHING} / {STDLIB_ONLY}


def _unit_of_entry(entry: str) -> str:
    """`cli/` -> cli, `runner.py` -> runner, `__init__.py` -> "" (the package root)."""
    name = entry.strip().strip("`").removesuffix("/").removesuffix(".py")
    return "" if name == "__init__" else name


def _allowed(cell: str, below: list[str]) -> frozenset[str]:
    text = re.sub(r"\([^)]*\)", "", cell).replace("`", "").strip()
    if text in ("nothing", ""):
        return frozenset()
    if text in (EVERYTHING, STDLIB_ONLY):
        return frozenset({text})
    items = [item.strip() for item in re.split(r"[,;]", text) if item.strip()]
    if EVERYTHING in items:
        return frozenset({EVERYTHING})
    # A name is one word; what follows it ("lazily") is a remark, like text in parentheses.
    expanded = [name for item in items for name in (below if item in BELOW else [item.split()[0]])]
    return frozenset([*expanded, *ANYWHERE])


def read_table(markdown: str) -> dict[str, Rule]:
    """{unit: Rule} from the table under "## Packages"."""
    section = re.split(r"^## Packages$", markdown, flags=re.M)[1]
    section = re.split(r"^## ", section, flags=re.M)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    where = header.index("may import")
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows[2:]]  # no |---|
    units = [_unit_of_entry(row[0]) for row in cells]
    return {
        unit: Rule(row[0], _allowed(row[where], [u for u in units[n + 1 :] if u]))
        for n, (unit, row) in enumerate(zip(units, cells, strict=True))
    }


class Import(NamedTuple):
    module: str  # the importing module, dotted
    line: int
    target: str  # the module imported, dotted


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> list[Import]:
    """Every import in the file, at any depth; `from a import b` names the module a.b
    when there is one, else a. Relative imports are resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(name, node.lineno, sub if sub in modules else base))
    return found


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _permits(rule: Rule, target: str) -> bool:
    if target.split(".")[0] != "mlrun":
        return STDLIB_ONLY not in rule.allowed or target.split(".")[0] in _STDLIB
    if EVERYTHING in rule.allowed or target == "mlrun":
        return True
    below = target.removeprefix("mlrun.")
    return any(below == a or below.startswith(a + ".") for a in rule.allowed)


_STDLIB = {*sys.stdlib_module_names, "__future__"}


def violations(rules: dict[str, Rule], files: list[Path]) -> list[str]:
    modules = {_module_name(p) for p in files}
    problems = []
    for path in files:
        unit = _unit(_module_name(path))
        rule = rules.get(unit)
        if rule is None:
            problems.append(f"{path.relative_to(REPO)}: `{unit or '__init__'}` has no table row")
            continue
        for imp in dict.fromkeys(imports_of(path, modules)):  # `from a import b, c`: once
            if _unit(imp.target) == unit and imp.target != "mlrun":
                continue  # its own package
            if not _permits(rule, imp.target):
                allowed = ", ".join(sorted(rule.allowed)) or "nothing"
                problems.append(
                    f"{path.relative_to(REPO)}:{imp.line} imports {imp.target}; "
                    f"{rule.entry} may import: {allowed}"
                )
    return problems


def _source_files() -> list[Path]:
    return sorted((SRC / "mlrun").rglob("*.py"))


def test_every_import_is_one_the_table_allows() -> None:
    problems = violations(read_table(DOC.read_text()), _source_files())
    assert not problems, "docs/architecture.md's package table is not true:\n" + "\n".join(problems)


def test_every_table_row_names_a_package_or_module_that_exists() -> None:
    units = {_unit(_module_name(p)) for p in _source_files()}
    assert set(read_table(DOC.read_text())) <= units


def test_every_permission_names_a_table_entry() -> None:
    rules = read_table(DOC.read_text())
    modules = {_module_name(p).removeprefix("mlrun.") for p in _source_files()}
    for rule in rules.values():
        for name in rule.allowed - {EVERYTHING, STDLIB_ONLY, *ANYWHERE}:
            assert name.split(".")[0] in rules and name in modules, (rule.entry, name)


# The checker itself, on a small made-up package: it must find what is wrong.

TABLE = """\
## Packages

| package | holds | may import |
|---|---|---|
| `top/` | the top | everything |
| `mid.py` | the middle | `low` lazily |
| `upper.py` | above the rest | all layers below; top (lazily) |
| `leaf.py` | copied into projects | stdlib only |
| `low/` | the bottom | nothing |

## Next
"""


@pytest.fixture
def made_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    files = {
        "mlrun/__init__.py": "",
        "mlrun/low/__init__.py": "from . import base\n",
        "mlrun/low/base.py": "import os\n",
        "mlrun/mid.py": "def f():\n    from mlrun.low import base\n    from mlrun import top\n",
        "mlrun/upper.py": "from mlrun import errors, leaf, low\nfrom mlrun.mid import f\n",
        "mlrun/errors.py": "",
        "mlrun/leaf.py": "import json\nimport yaml\n",
        "mlrun/top/__init__.py": "from mlrun import mid, low\nfrom ..low.base import x\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    return sorted((tmp_path / "mlrun").rglob("*.py"))


def test_the_checker_finds_imports_in_functions_and_third_party_in_stdlib_only(
    made_up: list[Path],
) -> None:
    rules = read_table(TABLE)
    assert rules["mid"].allowed == {"low", *ANYWHERE} and rules["low"].allowed == set()
    assert rules["upper"].allowed == {"leaf", "low", "top", *ANYWHERE}  # not mid: above
    rules[""] = Rule("`__init__.py`", frozenset())
    rules["errors"] = Rule("`errors.py`", frozenset())
    assert violations(rules, made_up) == [
        "mlrun/leaf.py:2 imports yaml; `leaf.py` may import: stdlib only",
        "mlrun/mid.py:3 imports mlrun.top; `mid.py` may import: errors, low, reporting",
        "mlrun/upper.py:2 imports mlrun.mid; "
        "`upper.py` may import: errors, leaf, low, reporting, top",
    ]
    del rules[""]
    assert "mlrun/__init__.py: `__init__` has no table row" in violations(rules, made_up)
