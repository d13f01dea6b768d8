"""The exception tree. Every user-facing failure is an MlrunError: one clear sentence
(`message`), an optional `hint`, and the exit code the CLI maps it to (see the table in
docs/architecture.md). Lower layers raise these; only the CLI prints them."""

from __future__ import annotations

# Exit codes, decided here and nowhere else.
EXIT_OK = 0
EXIT_USAGE = 2  # bad input before anything ran: MLproject, parameters, URI, options
EXIT_PREPARE = 125  # mlrun could not prepare the run: env build, git fetch, docker engine
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127
EXIT_INTERNAL = 1  # a bug in mlrun (an unexpected exception); the CLI writes a crash log


class MlrunError(Exception):
    """Base of all expected failures."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MlrunError):
    """Bad input: options, parameters, URIs. Nothing ran."""

    exit_code = EXIT_USAGE


class SpecError(UsageError):
    """The MLproject (or an env file it references) is invalid."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        super().__init__(where + message, hint)
        self.text = message  # without the file and line
        self.file = file
        self.line = line
        self.key = key


class SpecErrors(SpecError):
    """Every error found in one pass over a file (MLproject, python_env.yaml, ...): the
    message is the first in line order; `errors` holds them all and `warnings` the
    warnings found on the way (for `mlrun validate`, which shows everything at once)."""

    def __init__(self, errors: list[SpecError], warnings: list[object] | None = None) -> None:
        errors = sorted(errors, key=lambda e: (e.file or "", e.line or 0))
        first = errors[0]
        more = len(errors) - 1
        message = first.message + (
            f" (and {more} more error{'s' if more > 1 else ''}; `mlrun validate` lists them)"
            if more
            else ""
        )
        UsageError.__init__(self, message, first.hint)
        self.text, self.file, self.line, self.key = first.text, first.file, first.line, first.key
        self.errors = errors
        self.warnings = list(warnings or [])


class ParameterError(UsageError):
    """A -P value (or a missing one) does not fit the entry point's declaration."""


class BundleError(UsageError):
    """A bundle (`mlrun package`'s file) that is not one, is unsafe to extract, or does
    not match its manifest: refused before anything of it is used."""


class NotAvailableError(UsageError):
    """An option MLflow has that mlrun does not implement yet."""


class PrepareError(MlrunError):
    """mlrun could not prepare the run (fetch, environment, engine)."""

    exit_code = EXIT_PREPARE


class FetchError(PrepareError):
    """Fetching a project failed (network, auth, missing version)."""


class EnvBuildError(PrepareError):
    """Building an environment failed."""


class EngineError(PrepareError):
    """A container engine or other backend is unreachable or refused."""


class LaunchError(MlrunError):
    """The command could not be started at all."""

    exit_code = EXIT_CANNOT_EXECUTE


class CommandNotFoundError(LaunchError):
    exit_code = EXIT_NOT_FOUND


class StoreError(MlrunError):
    """The run store is unreachable or corrupt."""

    exit_code = EXIT_PREPARE


class RunNotFoundError(UsageError):
    """No run matches the given id."""


class ExecutionException(MlrunError):
    """A synchronous `mlrun.run()` whose run did not succeed. Named and shaped like
    MLflow's `mlflow.exceptions.ExecutionException` (an MlflowException), so code written
    for `mlflow.projects.run` catches and reads it the same way, without mlflow: the
    message begins "Run (ID '<id>') failed", and `message`, `error_code`, `json_kwargs`,
    `serialize_as_json()` and `get_http_status_code()` are MLflow's. mlrun adds `run_id`,
    `status` and `exit_code` (the command's; 1 when it never ended by itself)."""

    def __init__(self, message: str, run_id: str, status: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.status = status
        self.exit_code = exit_code
        # MLflow's values for its default code (mlflow 3.x: INTERNAL_ERROR).
        self.error_code = "INTERNAL_ERROR"
        self.error_class = "CLIENT_INTERNAL_ERROR"
        self.sqlstate = "XXM00"
        self.json_kwargs: dict[str, object] = {}

    def serialize_as_json(self) -> str:
        import json

        return json.dumps(
            {
                "error_code": self.error_code,
                "message": self.message,
                "sqlstate": self.sqlstate,
                "error_class": self.error_class,
                **self.json_kwargs,
            }
        )

    def get_http_status_code(self) -> int:
        return 400 if self.error_code == "INVALID_PARAMETER_VALUE" else 500  # as MLflow

    @classmethod
    def invalid_parameter_value(cls, message: str, **kwargs: object) -> ExecutionException:
        """MLflow's constructor of the same name (for code that calls it on the class)."""
        error = cls(message, run_id="", status="FAILED")
        error.error_code = "INVALID_PARAMETER_VALUE"
        error.error_class, error.sqlstate = "INVALID_PARAMETER_VALUE", "KAM00"
        error.json_kwargs = dict(kwargs)
        return error


# The name mlrun used first; the same class.
ExecutionError = ExecutionException


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP stopped mlrun (the CLI turns each into this, see
    util/signals.py). A KeyboardInterrupt, so code that already cleans up after Ctrl-C
    does so for every stopping signal; the exit code is 128+N."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum

    def __str__(self) -> str:
        return f"stopped by {signal_name(self.signum)}"


def signal_name(signum: int) -> str:
    """SIGTERM for 15 (a number that names no signal stays a number)."""
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
