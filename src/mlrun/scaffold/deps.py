"""What a project's python_env.yaml should say, read from the project: its
requirements.txt, else the `[project] dependencies` of its pyproject.toml, else the
modules its code imports (the standard library and the project's own modules left out,
import names mapped to the distributions that provide them where they differ). The
Python version comes from `.python-version`, else the interpreter running mlrun."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import NamedTuple

# Import names whose distribution on PyPI has another name (the common ones).
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "yaml": "pyyaml",
    "PIL": "pillow",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "jwt": "pyjwt",
    "attr": "attrs",
    "Crypto": "pycryptodome",
    "serial": "pyserial",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "fitz": "pymupdf",
    "OpenSSL": "pyopenssl",
    "zmq": "pyzmq",
    "git": "gitpython",
    "umap": "umap-learn",
    "hydra": "hydra-core",
    "mpl_toolkits": "matplotlib",
    "pkg_resources": "setuptools",
    "MySQLdb": "mysqlclient",
    "psycopg2": "psycopg2-binary",
    "faiss": "faiss-cpu",
    "slugify": "python-slugify",
    "magic": "python-magic",
    "Levenshtein": "levenshtein",
    "google.protobuf": "protobuf",
    "tensorflow_hub": "tensorflow-hub",
    "lightning": "lightning",
    "pytorch_lightning": "pytorch-lightning",
}
# Imported by steps, never to be installed from PyPI under that name: PyPI's `mlrun` is
# another project (mlrun's step helper is steplog.py, which may be copied in).
_NOT_DISTRIBUTIONS = {"mlrun"}
_SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox", "build"}


class EnvGuess(NamedTuple):
    python: str
    dependencies: tuple[str, ...]
    source: str  # where they were read: "requirements.txt", "pyproject.toml", "imports"
    notes: tuple[str, ...] = ()


def guess_env(project: Path) -> EnvGuess:
    python = _python_version(project)
    if (project / "requirements.txt").is_file():
        return EnvGuess(python, ("-r requirements.txt",), "requirements.txt")
    listed = _pyproject_dependencies(project)
    if listed is not None:
        return EnvGuess(python, tuple(listed), "pyproject.toml")
    found, notes = imported_distributions(project)
    return EnvGuess(python, tuple(found), "imports", tuple(notes))


def _python_version(project: Path) -> str:
    pinned = project / ".python-version"
    if pinned.is_file():
        words = pinned.read_text().split()
        parts = words[0].split(".") if words else []
        if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]):
            return ".".join(parts[:2])
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _pyproject_dependencies(project: Path) -> list[str] | None:
    path = project / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return None
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return None
    deps = data.get("project", {}).get("dependencies")
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        return None
    return list(deps)


def imported_distributions(project: Path) -> tuple[list[str], list[str]]:
    """(distributions the project's code imports, notes)."""
    local = _local_modules(project)
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    found: set[str] = set()
    notes: list[str] = []
    for path in _python_files(project):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            notes.append(f"{path.relative_to(project)} does not parse: its imports were not read")
            continue
        for name in _imports(tree):
            top = name.split(".")[0]
            if top in stdlib or top in local:
                continue
            if top in _NOT_DISTRIBUTIONS:
                notes.append(
                    f"{path.relative_to(project)} imports {top}, which is not added: PyPI's "
                    f"`{top}` is another project (copy mlrun's steplog.py into the project)"
                )
                continue
            found.add(DISTRIBUTIONS.get(name) or DISTRIBUTIONS.get(top) or top)
    return sorted(found, key=str.lower), sorted(set(notes))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    # `google.protobuf` is a name the table knows; `google` alone is a namespace.
    return {n for n in names if n.split(".")[0] != "google" or n in DISTRIBUTIONS}


def _python_files(project: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if f.endswith(".py")]
    return found


def _local_modules(project: Path) -> set[str]:
    """Top-level names the project's own code provides: its .py files and packages (also
    under a src/ layout)."""
    names = set()
    for base in (project, project / "src"):
        if not base.is_dir():
            continue
        for entry in base.iterdir():
            if entry.suffix == ".py":
                names.add(entry.stem)
            elif entry.is_dir() and any(entry.glob("*.py")):
                names.add(entry.name)
    return names
