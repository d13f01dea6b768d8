"""The `mlrun` command: a lazy click group and the one place that maps errors to exit codes."""

from __future__ import annotations

import importlib
import os
import signal
import sys

import click

from mlrun import __version__

# Subcommand modules are imported only when used, so `mlrun --help` and `mlrun run` on a
# local project stay fast (no docker, git or virtualenv imports).
_COMMANDS = {
    "run": ("mlrun.cli.run_cmd", "run"),
    "validate": ("mlrun.cli.validate_cmd", "validate"),
    "runs": ("mlrun.cli.runs_cmd", "runs"),
    "dag": ("mlrun.cli.dag_cmd", "dag"),
    "env": ("mlrun.cli.env_cmd", "env"),
    "lock": ("mlrun.cli.lock_cmd", "lock"),
    "package": ("mlrun.cli.package_cmd", "package"),
    "reproduce": ("mlrun.cli.reproduce_cmd", "reproduce"),
    "report": ("mlrun.cli.report_cmd", "report"),
    "init": ("mlrun.cli.init_cmd", "init"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module, attr = _COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlrun")
@click.option(
    "--debug", is_flag=True, envvar="MLRUN_DEBUG", help="Show tracebacks and debug detail."
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Run MLproject projects reproducibly: MLflow-compatible, fast, supervised.

    \b
    Exit codes: 0 success; 1-125 the entry point's own code; 2 bad input;
    125 mlrun could not prepare the run; 126/127 command not executable/found;
    128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM).
    """
    ctx.obj = {"debug": debug}
    if debug:
        os.environ["MLRUN_DEBUG"] = "1"


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_cli(argv))


def run_cli(argv: list[str] | None = None) -> int:
    from mlrun.cli.output import json_stdout
    from mlrun.util import signals

    # The console script installed them first thing (cli/entry.py); an in-process
    # caller gets them for the call and its own back afterwards.
    previous = None if signals.installed() else signals.install()
    try:
        args = sys.argv[1:] if argv is None else argv
        given = args[: args.index("--")] if "--" in args else args
        debug = os.environ.get("MLRUN_DEBUG") == "1" or "--debug" in given
        with json_stdout("--json" in given):
            problem = _not_text(args)
            if problem is not None:
                hint = "mlrun keeps what it is given as text in its run records; use UTF-8"
                _print_error(problem, hint, 2, "UsageError")
                return 2
            return _run(args, debug)
    finally:
        if previous is not None:
            signals.uninstall(previous)


def _run(args: list[str], debug: bool) -> int:
    from mlrun.errors import MlrunError

    try:
        result = cli.main(args=_debug_first(args), prog_name="mlrun", standalone_mode=False)
    except MlrunError as exc:
        _print_error(
            exc.message,
            exc.hint,
            exc.exit_code,
            type(exc).__name__,
            file=getattr(exc, "file", None),
            line=getattr(exc, "line", None),
            key=getattr(exc, "key", None),
        )
        if debug:
            import traceback

            from mlrun.util.redact import redact

            click.echo(redact(traceback.format_exc()), err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        code = 2 if isinstance(exc, click.UsageError) else exc.exit_code
        from mlrun.util.redact import redact

        _json_error("UsageError", redact(exc.format_message()), None, code)
        return code
    except (KeyboardInterrupt, click.Abort) as exc:
        # click turns a KeyboardInterrupt (errors.Interrupted: any stopping signal) into
        # Abort; the signal is on the cause.
        cause = exc.__cause__ if isinstance(exc, click.Abort) else exc
        signum = getattr(cause, "signum", signal.SIGINT)
        _print_error(
            "interrupted" if signum == signal.SIGINT else str(cause),
            None,
            128 + signum,
            "Interrupted",
        )
        return 128 + signum
    except BrokenPipeError:
        # `mlrun runs list | head`: the reader left; not an error worth a traceback.
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug: say so, keep the traceback in a crash log
        return _crash(exc, debug)
    return int(result or 0)


def _not_text(args: list[str]) -> str | None:
    """Which argument (or MLRUN_* variable) holds bytes that are not UTF-8: Python keeps
    them as lone surrogates, which no run record, terminal or JSON can take."""
    candidates = [("an argument", arg) for arg in args]
    candidates += [(f"${k}", v) for k, v in os.environ.items() if k.startswith("MLRUN_")]
    for what, text in candidates:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return f"{what} ({os.fsencode(text)!r}) is not valid UTF-8 text"
    return None


def _debug_first(args: list[str]) -> list[str]:
    """`--debug` is the group's option; accept it after the subcommand too
    (`mlrun run . --debug`), as users type it."""
    if "--debug" not in args:
        return args
    end = args.index("--") if "--" in args else len(args)
    head = [a for a in args[:end] if a != "--debug"]
    return ["--debug", *head, *args[end:]]


def _print_error(
    message: str,
    hint: str | None = None,
    exit_code: int = 1,
    kind: str = "MlrunError",
    **extra: object,
) -> None:
    from mlrun.util.redact import redact  # the last net: no error shows a token

    message = redact(message)
    hint = redact(hint) if hint else hint
    click.echo(f"mlrun: error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    _json_error(kind, message, hint, exit_code, **extra)


def _json_error(kind: str, message: str, hint: str | None, exit_code: int, **extra: object) -> None:
    from mlrun.cli.output import dump_json_error

    dump_json_error(kind, message, hint, exit_code, **extra)


def _crash(exc: Exception, debug: bool) -> int:
    import traceback

    from mlrun.util.crashlog import write_crash_log
    from mlrun.util.redact import redact  # a token in a URL must reach no log or terminal

    text = redact("".join(traceback.format_exception(exc)))
    log = write_crash_log(exc)
    _print_error(
        f"internal error: {type(exc).__name__}: {exc}",
        f"this is a bug in mlrun; the traceback is in {log}" if log else None,
        1,
        "InternalError",
        crash_log=str(log) if log else None,
    )
    if debug:
        click.echo(text, err=True)
    return 1
