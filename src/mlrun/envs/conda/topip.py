"""conda package specs read as pip requirements, for building a conda.yaml without conda.

    numpy=1.21            -> numpy==1.21.*     (conda's `=` is a prefix match)
    numpy 1.21            -> numpy==1.21       (a bare version after a space is exact)
    numpy>=1.14,<2        -> numpy>=1.14,<2
    conda-forge::numpy=1.21=py38_0 -> numpy==1.21   (channel and build string dropped)
    pytorch=1.12          -> torch==1.12.*     (a few well-known conda names differ on PyPI)

`--conda-to-pip` installs such packages by their pip names, best effort: a conservative
rule says which conda packages are never Python packages (compilers, system libraries,
CUDA, MKL, R, conda's own metapackages...), and the package index decides about the
rest when the env is built (a name it does not have is skipped with a warning). Only
name-for-name equivalents are attempted: a PyPI package that merely shares a conda
system library's name is never installed in its place."""

from __future__ import annotations

import re
from typing import NamedTuple

# Conda names whose PyPI package has another name (the same software).
RENAMED = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "python-graphviz": "graphviz",
    "python-kaleido": "kaleido",
    "tensorflow-base": "tensorflow",
    "py-opencv": "opencv-python",
}
# Conda-only packages, or conda packages whose PyPI namesake is other software.
NEVER = {
    "blas", "openblas", "nomkl", "tbb", "tbb-devel", "openmp", "cudatoolkit", "cudnn", "nccl",
    "cutensor", "magma", "cpuonly", "pytorch-mutex", "pytorch-cuda", "cuda", "python_abi",
    "openssl", "zlib", "xz", "bzip2", "lz4-c", "zstd", "ca-certificates", "ncurses",
    "readline", "sqlite", "tk", "tzdata", "icu", "krb5", "git", "git-lfs", "nodejs", "openjdk",
    "make", "cmake", "ninja", "pkg-config", "autoconf", "automake", "libtool", "jpeg",
    "freetype", "fontconfig", "hdf5", "netcdf4-c", "ffmpeg", "graphviz", "expat", "yaml",
    "c-ares", "glib", "cairo", "pango", "harfbuzz", "eigen", "gflags", "glog", "compilers",
    "gcc", "gxx", "gfortran", "clang", "clangxx", "llvm", "binutils", "sysroot", "mesalib",
    "xorg", "dbus", "gettext", "pcre", "pcre2", "perl", "r", "rust", "go", "curl", "wget",
    "libopencv", "qt", "pyqt", "gstreamer", "gst-plugins-base", "poppler", "proj", "geos",
    "gdal", "libgdal", "boost", "boost-cpp", "arrow-cpp", "protobuf-cpp", "grpc-cpp",
}  # fmt: skip
# Families of conda-only names: system libraries, toolchains, CUDA, MKL, R packages,
# conda's underscore metapackages, C/C++ builds of libraries, platform compilers.
_NEVER_PATTERNS = re.compile(
    r"^(_|lib|r-|cuda|mkl|intel-|llvm-|gcc_|gxx_|gfortran_|clang_|ld_impl|kernel-headers|"
    r"xorg-|qt-|fonts?-|gst-)|(-cpp|-devel|-dev|-static|-compiler|-cuda|_linux-64|"
    r"_linux-aarch64|_osx-64|_osx-arm64|_win-64|-headers|-openmp)$"
)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!]*$")
_OP = re.compile(r"^(===|==|!=|>=|<=|~=|>|<|=)?\s*(.+)$")


class MatchSpec(NamedTuple):
    name: str  # lower case, as conda names are
    version: str  # conda's version constraint ("" for any)
    build: str  # the build string, "" for any


def parse(text: str) -> MatchSpec | None:
    """`[channel::]name[ version[ build]]`, `name=version[=build]`, `name>=1,<2`,
    `name[version='>=1']`; None when it is none of these."""
    spec = " ".join(text.split())
    spec = re.sub(r"\s*([<>!=~]=?=?|,)\s*", r"\1", spec)  # `numpy >= 1.0, < 2`
    if "::" in spec:
        spec = spec.split("::", 1)[1]
    brackets: dict[str, str] = {}
    if spec.endswith("]") and "[" in spec:
        spec, _, inner = spec[:-1].partition("[")
        for key, value in re.findall(r"(\w+)\s*=\s*[\"']?([^\"',]*)[\"']?", inner):
            brackets[key] = value.strip()
        spec = spec.strip()
    if " " in spec:
        name, _, rest = spec.partition(" ")
        version, _, build = rest.partition(" ")
    else:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", spec)
        if not match:
            return None
        name, rest = match.groups()
        version, build = rest, ""
        if rest.startswith("=") and not rest.startswith("=="):
            # name=1.2 (a prefix match) or name=1.2=build (that exact version)
            fuzzy, _, build = rest[1:].partition("=")
            version = f"=={fuzzy}" if build else f"={fuzzy}"
    version = brackets.get("version", version).strip()
    build = brackets.get("build", build).strip()
    if not _NAME.match(name) or " " in version:
        return None
    return MatchSpec(name.lower(), version, build)


def pip_version(conda: str) -> str | None:
    """A conda version constraint in pip's syntax ("" for any version); None when pip
    cannot say it (`1.2|1.4`: an "or")."""
    if conda in ("", "*"):
        return ""
    if "|" in conda:
        return None
    parts = []
    for item in conda.split(","):
        match = _OP.match(item.strip())
        if not match:
            return None
        op, version = match.group(1) or "", match.group(2).strip()
        # `=1.2`, `1.2*` and `1.2.*` are prefix matches; a bare `1.2` or `==1.2` is exact
        prefix = version.endswith("*") or op == "="
        version = version.rstrip("*").rstrip(".")
        if not _VERSION.match(version):
            return None
        op = "==" if op in ("", "=") else op
        if prefix and op not in ("==", "!="):
            return None  # `>=1.2*` means nothing to pip
        parts.append(op + version + (".*" if prefix else ""))
    return ",".join(parts)


def pip_name(name: str) -> tuple[str | None, str]:
    """(the name to ask the package index for, or None; why not)."""
    if name in RENAMED:
        return RENAMED[name], ""
    if name in NEVER or _NEVER_PATTERNS.search(name):
        return None, "a conda-only package"
    return name, ""


def to_pip(text: str) -> tuple[str | None, str]:
    """(a pip requirement for a conda dependency, or None; why not)."""
    spec = parse(text)
    if spec is None:
        return None, "not a conda package spec mlrun can read"
    name, why = pip_name(spec.name)
    if name is None:
        return None, why
    version = pip_version(spec.version)
    if version is None:
        return None, f"its version `{spec.version}` has no pip equivalent"
    return name + version, ""
