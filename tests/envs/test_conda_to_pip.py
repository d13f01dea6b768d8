"""conda.yaml without conda: MLflow's reading (Python version, pip/setuptools/wheel, the
`pip:` section; the other conda packages warned about by name), and `--conda-to-pip`'s
translation of conda package specs into pip requirements."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from mlrun.envs.conda import topip
from mlrun.envs.conda.spec import load_conda_env, to_python_env, without_conda

# conda spec -> pip requirement, or None (not attempted)
TRANSLATIONS = {
    "numpy=1.21": "numpy==1.21.*",  # conda's `=` is a prefix match
    "numpy=1.21.0": "numpy==1.21.0.*",
    "numpy==1.21.0": "numpy==1.21.0",
    "numpy 1.21": "numpy==1.21",  # a bare version after a space is exact
    "numpy 1.21.*": "numpy==1.21.*",
    "numpy 1.21 py38_0": "numpy==1.21",  # the build string is conda's only
    "numpy=1.21=py38h0": "numpy==1.21",
    "conda-forge::numpy>=1.14.3": "numpy>=1.14.3",
    "numpy >= 1.14, < 2": "numpy>=1.14,<2",
    "numpy[version='>=1.14']": "numpy>=1.14",
    "numpy !=1.21.*": "numpy!=1.21.*",
    "numpy *": "numpy",
    "scikit-learn>0.19.1": "scikit-learn>0.19.1",
    "Pandas": "pandas",
    "pytorch=1.12": "torch==1.12.*",  # a conda name that differs on PyPI
    "py-xgboost": "xgboost",
    "matplotlib-base>=3.5": "matplotlib>=3.5",
    "numpy=1.21|1.23": None,  # an "or": no pip equivalent
    "numpy>=1.2*": None,
    "numpy=1.0_1": None,  # not a version pip can read
    # conda-only packages are never tried from PyPI, whatever squats their names there
    "cudatoolkit=11.3": None,
    "cudnn": None,
    "cuda-nvcc": None,
    "pytorch-cuda=11.8": None,
    "mkl": None,
    "mkl-service": None,
    "libgcc-ng": None,
    "libstdcxx-ng>=12": None,
    "_libgcc_mutex": None,
    "_openmp_mutex": None,
    "gxx_linux-64": None,
    "ld_impl_linux-64": None,
    "openssl": None,
    "r-base": None,
    "r-ggplot2": None,
    "boost-cpp": None,
    "graphviz": None,  # the C tool; PyPI's graphviz is conda's python-graphviz
    "python-graphviz": "graphviz",
    "nomkl": None,
    "git": None,
    "a b c d": None,
}


@pytest.mark.parametrize("conda", sorted(TRANSLATIONS))
def test_conda_specs_become_pip_requirements(conda: str) -> None:
    requirement, why = topip.to_pip(conda)
    assert requirement == TRANSLATIONS[conda]
    assert bool(why) == (requirement is None)


@pytest.mark.skipif(importlib.util.find_spec("rattler") is None, reason="py-rattler absent")
@pytest.mark.parametrize(
    "conda", [c for c, pip in sorted(TRANSLATIONS.items()) if pip and "::" not in c]
)
def test_version_reading_agrees_with_rattler(conda: str) -> None:
    """conda's own parser (py-rattler) reads each spec as we do: the same name, and a
    version constraint that says the same thing to pip."""
    import rattler

    ours = topip.parse(conda)
    theirs = rattler.MatchSpec(conda)
    assert ours is not None and theirs.name is not None
    assert ours.name == theirs.name.normalized
    version = str(theirs.version) if theirs.version is not None else ""
    assert topip.pip_version(ours.version) == topip.pip_version(version)


def _conda(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conda.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_mlflow_reading_warns_naming_what_is_left_out(tmp_path: Path) -> None:
    """mlflow/mlflow-example's conda.yaml, as in the corpus."""
    path = _conda(
        tmp_path,
        """\
        name: tutorial
        channels:
          - defaults
        dependencies:
          - numpy>=1.14.3
          - pandas>=1.0.0
          - scikit-learn>0.19.1
          - pip
          - pip:
            - mlflow
        """,
    )
    spec = to_python_env(load_conda_env(path))
    assert spec.python is None  # none named: the Python running mlrun, as MLflow
    assert spec.build_dependencies == ("pip",) and spec.dependencies == ("mlflow",)
    assert spec.converted == ()
    assert spec.left_out == ("numpy>=1.14.3", "pandas>=1.0.0", "scikit-learn>0.19.1")
    warning = next(w for w in spec.warnings if "not installed" in w)
    assert warning.startswith(f"{path}: without conda, these conda packages are not installed")
    assert "numpy>=1.14.3, pandas>=1.0.0, scikit-learn>0.19.1" in warning
    assert "--conda-to-pip would install" in warning
    assert any("names no Python version" in w for w in spec.warnings)

    converted = to_python_env(load_conda_env(path), conda_to_pip=True)
    assert converted.converted == ("numpy>=1.14.3", "pandas>=1.0.0", "scikit-learn>0.19.1")
    assert converted.left_out == () and not any("not installed" in w for w in converted.warnings)
    assert converted.canonical()["converted"] == list(converted.converted)
    assert "converted" not in spec.canonical()  # keys of envs without it are unchanged


@pytest.mark.parametrize(
    ("dep", "python", "noted"),
    [
        ("python=3.8", "3.8", False),
        ("python=3.8.*", "3.8", False),
        ("python==3.8.13", "3.8.13", False),
        ("python 3.8.13", "3.8.13", False),
        ("python=3.8.13=h12debd9_0", "3.8.13", False),  # MLflow's regex misses this one
        ("python>=3.8", "3.8", False),  # MLflow's choice
        ("python<=3.10", "3.10", False),
        ("python", None, True),  # MLflow refuses these; conda accepts them
        ("python>=3.8,<3.11", None, True),
        ("python<3.11", None, True),
        ("python!=3.9", None, True),
    ],
)
def test_python_version_as_mlflow_takes_it(
    tmp_path: Path, dep: str, python: str | None, noted: bool
) -> None:
    path = _conda(tmp_path, f"dependencies: ['{dep}', 'pip=23.1', setuptools, 'wheel>=0.40']\n")
    plan = without_conda(load_conda_env(path))
    assert plan.python == python
    assert any(dep in note for note in plan.notes) == noted
    assert plan.build == ("pip==23.1.*", "setuptools", "wheel>=0.40")
    assert plan.convertible == () and plan.not_convertible == ()


def test_conda_to_pip_names_what_it_cannot_install(tmp_path: Path) -> None:
    path = _conda(
        tmp_path,
        "dependencies: [python=3.10, pytorch=1.12, cudatoolkit=11.3, 'numpy=1.2|1.3', mkl]\n",
    )
    spec = to_python_env(load_conda_env(path), conda_to_pip=True)
    assert spec.converted == ("torch==1.12.*",)
    assert spec.left_out == ("cudatoolkit=11.3", "numpy=1.2|1.3", "mkl")
    warning = next(w for w in spec.warnings if "not installed" in w)
    assert "cudatoolkit=11.3: a conda-only package" in warning
    assert "numpy=1.2|1.3: its version `=1.2|1.3` has no pip equivalent" in warning
