"""Backends: WHERE a run's command starts (the environment says WHAT starts).

The registry is `BACKENDS` (name -> module; a module exposes `BACKEND`, see base.py),
imported only when used. Adding a backend = one module + one line here. Third-party
packages register theirs in the `mlrun.backends` entry-point group, e.g. in their
pyproject.toml:

    [project.entry-points."mlrun.backends"]
    mycluster = "mycluster_mlrun.backend"      # a module exposing BACKEND, or the object

Installed packages are looked up (importlib.metadata) only for a name that is not built
in, so start-up never scans them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from importlib.metadata import EntryPoint

    from mlrun.backends.base import Backend
    from mlrun.tracking.base import RunStore
    from mlrun.tracking.model import Run

BACKENDS: dict[str, str] = {
    "local": "mlrun.backends.local",
    "slurm": "mlrun.backends.slurm",
    "kubernetes": "mlrun.backends.kubernetes",
}
DEFAULT = "local"
GROUP = "mlrun.backends"


def get_backend(name: str) -> Backend:
    """The backend registered as `name`; NotAvailableError (exit 2) naming the known ones
    when there is none."""
    module_name = BACKENDS.get(name)
    if module_name is not None:
        found: Any = importlib.import_module(module_name)
    else:
        entry = _entry_points().get(name)
        if entry is None:
            from mlrun.errors import NotAvailableError

            raise NotAvailableError(
                f"backend {name!r} is not available yet (known backends: "
                f"{', '.join(known_names())})",
                hint=f"choose one of those, or install a plugin that registers {name!r} "
                f"in the {GROUP!r} entry-point group",
            )
        found = _load(entry)
    backend: Backend = getattr(found, "BACKEND", found)
    return backend


def reconcile(store: RunStore, runs: Sequence[Run], reasons: Mapping[str, str]) -> set[str]:
    """RUNNING runs whose mlrun process is gone (`reasons`: how that was found) and that
    a backend claims (their mlrun.backend tag, tracking/liveness.py): each backend with a
    `reconcile` finishes the ones whose command ended, from its own records, and leaves
    the ones still running alone. Returns the ids the backends answered for; the store
    records the others KILLED as it would any run. A backend that cannot be asked (not
    installed here, its service silent) answers for its runs by leaving them RUNNING:
    a run must never be declared dead while its command may still run."""
    from mlrun.tracking.liveness import BACKEND_TAG

    answered: set[str] = set()
    by_name: dict[str, list[Run]] = {}
    for run in runs:
        by_name.setdefault(run.tags.get(BACKEND_TAG, ""), []).append(run)
    for name, group in by_name.items():
        try:
            answer = getattr(get_backend(name), "reconcile", None)
        except Exception:  # a plugin missing here: its runs cannot be judged from here
            answered.update(run.run_id for run in group)
            continue
        if answer is not None:
            answered.update(answer(store, group, reasons))
    return answered


def known_names() -> list[str]:
    """Every backend name: the built-in ones first, then the installed plugins'."""
    return [*BACKENDS, *sorted(n for n in _entry_points() if n not in BACKENDS)]


def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def _load(entry: EntryPoint) -> Any:
    from mlrun.errors import UsageError

    try:
        return entry.load()
    except Exception as exc:  # a broken plugin is the plugin's fault, said in one line
        raise UsageError(
            f"backend {entry.name!r} (from {entry.value!r}) could not be loaded: {exc!r}",
            hint="reinstall or remove the package that provides it",
        ) from None
