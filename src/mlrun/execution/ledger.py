"""A live run's ledger: what the next mlrun needs when a supervisor ends without
finishing its run's record -- killed outright, or unable to write to a full disk.

`<data dir>/live/<run id>` is written when the run's record is created (before anything
of the run exists) and removed once the record is finished. It names the supervisor
(pid, start token, host: is it alive?), the store, the run's directory and where its
command started (backend, processes or a container). When the store cannot take the
run's outcome, the outcome is written into it (`keep_outcome`), in place: the file is
created at its full size, so writing it later needs no free space.

The format is a few `key value` lines padded with spaces (no JSON on a run's start-up
path). `recording.settle()` reads the ledgers of dead supervisors."""

from __future__ import annotations

import os
from pathlib import Path

from mlrun.util.files import write_all

SIZE = 4096  # bytes: one page, allocated when the file is created
_MAGIC = "mlrun-ledger 1"
_REASON_MAX = 2000


def live_dir() -> Path:
    from mlrun.util.paths import data_dir

    return data_dir() / "live"


class Ledger:
    def __init__(self, path: Path, fields: dict[str, str]) -> None:
        self.path = path
        self.fields = fields

    @classmethod
    def create(cls, run_id: str, **fields: str) -> Ledger | None:
        """Write the ledger of a new run; None when it cannot be written (the run goes on
        without one: only a full disk at its end would then lose its outcome)."""
        path = live_dir() / run_id
        ledger = cls(path, {"run": run_id, **fields})
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return ledger if ledger._write(os.O_CREAT | os.O_TRUNC) else None

    def keep_outcome(self, status: str, exit_code: int | None, reason: str | None, *,
                     outputs: bool) -> bool:  # fmt: skip
        """Write the run's outcome into the ledger, for the next mlrun to record
        (`outputs`: the step's outputs still need recording too). False when even that
        fails."""
        self.fields.update(
            status=status,
            exit_code="" if exit_code is None else str(exit_code),
            reason=(reason or "")[:_REASON_MAX],
            outputs="1" if outputs else "0",
        )
        return self._write(0)  # over the same bytes: no new block needed

    def _write(self, flags: int) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | flags, 0o600)
            try:
                write_all(fd, self._encode())
            finally:
                os.close(fd)
        except OSError:
            return False
        return True

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _encode(self) -> bytes:
        lines = (f"{key} {_escape(value)}" for key, value in self.fields.items())
        text = "\n".join([_MAGIC, *lines]) + "\n"
        data = text.encode("utf-8", "surrogateescape")
        if len(data) > SIZE:  # a very long path: the ledger grows (needs space then)
            return data
        return data + b" " * (SIZE - len(data))

    # -- reading (the next mlrun) ----------------------------------------------------------

    @classmethod
    def read(cls, path: Path) -> Ledger | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        lines = data.decode("utf-8", "surrogateescape").rstrip(" \n").split("\n")
        if not lines or lines[0] != _MAGIC:
            return None
        fields = {}
        for line in lines[1:]:
            key, _, value = line.partition(" ")
            fields[key] = _unescape(value)
        return cls(path, fields)

    def int_field(self, key: str) -> int | None:
        try:
            return int(self.fields[key])
        except (KeyError, ValueError):
            return None

    def outcome(self) -> tuple[str, int | None, str | None, bool] | None:
        """(status, exit code, reason, outputs to record) when one was kept."""
        status = self.fields.get("status")
        if not status:
            return None
        reason = self.fields.get("reason") or None
        return status, self.int_field("exit_code"), reason, self.fields.get("outputs") == "1"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append("\n" if text[i + 1] == "n" else text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
