"""mlrun: run MLproject projects reproducibly.

The package namespace is kept import-light: the Python API (`run`, `SubmittedRun`,
`load_project`) and the step helpers (`log_metric`, `log_param`, `set_tag`, `log_output`,
`log_artifact`) are loaded on first use, so `import mlrun` inside a step costs nothing.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {"run", "SubmittedRun", "load_project"}
_ERRORS = {"ExecutionException"}
_STEP_HELPERS = {
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "log_output",
    "log_outputs",
    "log_artifact",
    "run_dir",
}

__all__ = [
    "ExecutionException",
    "SubmittedRun",
    "__version__",
    "load_project",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_output",
    "log_outputs",
    "log_param",
    "log_params",
    "run",
    "run_dir",
    "set_tag",
    "set_tags",
]


def __dir__() -> list[str]:
    # The API is loaded on first use (above), so the module's own namespace does not
    # show it; dir(mlrun), and completion in a REPL or notebook, should.
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in _API:
        from mlrun import api

        return getattr(api, name)
    if name in _ERRORS:
        from mlrun import errors

        return getattr(errors, name)
    if name in _STEP_HELPERS:
        from mlrun import steplog

        return getattr(steplog, name)
    raise AttributeError(f"module 'mlrun' has no attribute {name!r}")
