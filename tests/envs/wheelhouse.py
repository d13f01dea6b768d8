"""Tiny real packages for env tests: wheels written by hand (a wheel is a zip with a
dist-info directory), and a source package with its own in-tree PEP 517 backend, so every
build works offline with no build tool installed."""

from __future__ import annotations

import base64
import hashlib
import shutil
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def make_wheel(
    out: Path, name: str, version: str, files: Mapping[str, str], requires: Sequence[str] = ()
) -> Path:
    """Write `name-version-py3-none-any.whl` into `out` and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    dist = f"{name.replace('-', '_')}-{version}"
    entries = dict(files)
    entries[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires)
    )
    entries[f"{dist}.dist-info/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: mlrun-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, text in entries.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    entries[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = out / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in entries.items():
            archive.writestr(path, text)
    return wheel


def module(name: str, version: str) -> str:
    return f"NAME = {name!r}\nVERSION = {version!r}\n"


def build_wheelhouse(out: Path) -> Path:
    """mlt-alpha 1.0 (needs mlt-beta), mlt-beta 1.0 and 2.0, mlt-gamma 1.0, plus pip and
    setuptools (virtualenv's bundled wheels) for build_dependencies."""
    make_wheel(
        out,
        "mlt-alpha",
        "1.0",
        {"mlt_alpha/__init__.py": module("alpha", "1.0")},
        requires=["mlt-beta"],
    )
    for version in ("1.0", "2.0"):
        make_wheel(out, "mlt-beta", version, {"mlt_beta/__init__.py": module("beta", version)})
    make_wheel(
        out,
        "mlt-gamma",
        "1.0",
        {
            "mlt_gamma/__init__.py": module("gamma", "1.0"),
            "mlt_gamma/tests/__init__.py": "",  # a test suite shipped in the package
            "mlt_gamma/tests/test_gamma.py": "def test_it():\n    pass\n",
        },
    )
    import virtualenv.seed.wheels.embed as embed

    for wheel in sorted(Path(embed.__file__).parent.glob("*.whl")):
        if wheel.name.startswith(("pip-", "setuptools-")):
            shutil.copy(wheel, out / wheel.name)
    return out


BACKEND = '''\
"""A PEP 517 backend in the package itself: builds the wheel by hand. When the file named
by $MLT_SLOW_FLAG exists it writes $MLT_SLOW_FLAG.started and waits until the flag is
removed: a build "halfway"."""
import base64, hashlib, os, time, zipfile

NAME, VERSION = "mlt-local", "0.1"

def _record(entries):
    lines = []
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        lines.append(f"{path},sha256={digest.decode()},{len(data)}")
    return "\\n".join(lines + ["mlt_local-0.1.dist-info/RECORD,,"]) + "\\n"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    flag = os.environ.get("MLT_SLOW_FLAG")
    if flag and os.path.exists(flag):
        open(flag + ".started", "w").close()
        deadline = time.time() + 120
        while os.path.exists(flag) and time.time() < deadline:
            time.sleep(0.05)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "mlt_local", "__init__.py"), "rb") as fh:
        code = fh.read()
    info = "mlt_local-0.1.dist-info/"
    entries = {"mlt_local/__init__.py": code,
               info + "METADATA": b"Metadata-Version: 2.1\\nName: mlt-local\\nVersion: 0.1\\n",
               info + "WHEEL": b"Wheel-Version: 1.0\\nGenerator: x\\nRoot-Is-Purelib: true\\n"
                               b"Tag: py3-none-any\\n"}
    entries["mlt_local-0.1.dist-info/RECORD"] = _record(entries).encode()
    name = "mlt_local-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
    return name
'''


def local_package(root: Path, text: str = "local") -> Path:
    """A source package `mlt-local` (import mlt_local) built by its own in-tree backend."""
    (root / "mlt_local").mkdir(parents=True, exist_ok=True)
    (root / "mlt_local" / "__init__.py").write_text(f"NAME = {text!r}\n")
    (root / "backend.py").write_text(BACKEND)
    (root / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [project]
        name = "mlt-local"
        version = "0.1"
        [build-system]
        requires = []
        build-backend = "backend"
        backend-path = ["."]
        """)
    )
    return root


STANDIN_MLFLOW = '''\
"""A stand-in for mlflow's tracking calls (tests only): it remembers what is logged."""
import contextlib

VERSION = "0.0.1"
logged = {}


@contextlib.contextmanager
def start_run(**kwargs):
    yield None


def log_param(key, value):
    logged[key] = value


log_metric = log_param
'''


def build_standins(out: Path) -> Path:
    """Small stand-ins for the PyPI packages of mlflow/mlflow-example (mlflow, numpy,
    pandas, scikit-learn), for offline builds of its conda.yaml. Their versions are
    lower than the real ones', so a build with an index never prefers them."""
    make_wheel(out, "mlflow", "0.0.1", {"mlflow/__init__.py": STANDIN_MLFLOW})
    make_wheel(out, "numpy", "1.14.5", {"numpy/__init__.py": module("numpy", "1.14.5")})
    make_wheel(out, "pandas", "1.0.1", {"pandas/__init__.py": module("pandas", "1.0.1")})
    make_wheel(out, "scikit-learn", "0.20.0", {"sklearn/__init__.py": module("sklearn", "0.20.0")})
    return out
