"""The pieces on their own: references, graph selections, key inputs and their diff,
content identity, the per-key lock, the scheduler, and the view's lines."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mlrun.execution.supervisor import Cancel
from mlrun.workflow import refs
from mlrun.workflow import state as st
from mlrun.workflow.cache import KeyInputs, StepCache, portable_parameters, what_changed
from mlrun.workflow.code import changed_files, short_diff
from mlrun.workflow.refs import Ref, RefError, Upstream
from mlrun.workflow.scheduler import Scheduler
from mlrun.workflow.state import StepState
from mlrun.workflow.view import Board, live_lines, summary_rows, transition_line
from tests.helpers import wait_until


def test_reference_parsing_and_rendering() -> None:
    template = refs.parse("--in=${{ steps.prep.outputs.data }}/x ${{params.n}}")
    assert template == ("--in=", Ref("steps", "prep", "outputs", "data"), "/x ", Ref("params", "n"))
    values = {"params": "5", "steps": "/d"}
    assert refs.render(template, lambda r: values[r.root]) == "--in=/d/x 5"
    assert refs.literal(template) == "--in=${{ steps.prep.outputs.data }}/x ${{ params.n }}"
    # A command template's braces and the shell's $VAR are plain text to the parser.
    assert refs.parse("{alpha} $HOME ${HOME} {{x}}") == ("{alpha} $HOME ${HOME} {{x}}",)
    for bad in (
        "${{ steps.a }}",
        "${{ steps.a.run_id.x }}",
        "${{ env.HOME }}",
        "${{ params }}",
        "${{ params.a.b }}",
        "${{ matrix.1x }}",
        "${{ steps.a.outputs",
    ):
        with pytest.raises(RefError):
            refs.parse(bad)


def test_step_values_for_single_and_matrix_upstreams() -> None:
    one = Upstream("r1", {"path": "/p", "rmse": 0.5, "ok": True}, "/a1", {})
    assert refs.step_value(Ref("steps", "s", "outputs", "path"), [one], False) == "/p"
    assert refs.step_value(Ref("steps", "s", "outputs", "rmse"), [one], False) == "0.5"
    assert refs.step_value(Ref("steps", "s", "outputs", "ok"), [one], False) == "true"
    assert refs.step_value(Ref("steps", "s", "artifacts"), [one], False) == "/a1"
    two = Upstream("r2", {"path": "/q", "rmse": 0.25}, "/a2", {"alpha": "1"})
    first = Upstream("r1", one.outputs, "/a1", {"alpha": "0.1"})
    pair = [first, two]
    assert refs.step_value(Ref("steps", "s", "outputs", "rmse"), pair, True) == "[0.5, 0.25]"
    assert refs.step_value(Ref("steps", "s", "run_id"), pair, True) == '["r1", "r2"]'
    assert (
        refs.step_value(Ref("steps", "s", "matrix"), pair, True)
        == '[{"alpha": "0.1"}, {"alpha": "1"}]'
    )
    with pytest.raises(RefError, match="recorded no output 'nope' \\(its outputs: ok, path"):
        refs.step_value(Ref("steps", "s", "outputs", "nope"), [one], False)


def test_key_inputs_key_and_what_changed() -> None:
    base = KeyInputs(
        "python t.py {a}",
        {"a": "1", "b": "x"},
        "git:abc",
        "uv:k1",
        {"data.csv": "-h1"},
        {"prep": "k0"},
    )
    assert base.key() == KeyInputs.from_tag(__import__("json").dumps(base.to_json())).key()  # type: ignore[union-attr]
    changed = KeyInputs(
        "python t.py {a}",
        {"a": "2", "b": "x"},
        "git:def",
        "uv:k2",
        {"data.csv": "-h2"},
        {"prep": "k9"},
    )
    assert changed.key() != base.key()
    assert what_changed(base, changed, limit=10) == [
        "parameter a: '1' -> '2'",
        "code changed (git:abc -> git:def)",
        "environment changed (uv:k1 -> uv:k2)",
        "dep data.csv changed",
        "upstream prep changed",
    ]
    assert what_changed(base, changed, limit=2)[-1] == "and 3 more"
    names = {("git:abc", "git:def"): "train.py", ("-h1", "-h2"): "data.csv/x (new)"}
    named = what_changed(base, changed, lambda a, b: names.get((a, b), ""), limit=10)
    assert named[1] == "code changed: train.py"
    assert named[3] == "dep data.csv changed: data.csv/x (new)"


def test_changes_never_look_equal() -> None:
    """Issue 18: `code changed (git:757e4112df41 -> git:757e4112df41)` said nothing."""
    sha = "757e4112df41" + "0" * 28
    clean, dirty = f"git:{sha}", f"git:{sha}+dirty:{'ab' * 16}"
    assert short_diff(clean, dirty) == f"git:757e4112df41 -> git:757e4112df41+dirty:{'ab' * 6}"
    a, b = f"sha256:{'1' * 30}aaaa{'2' * 30}", f"sha256:{'1' * 30}bbbb{'2' * 30}"
    before, _, after = short_diff(a, b).partition(" -> ")
    assert before != after and before.startswith("sha256:") and len(before) < 60
    # Long parameter values are cut around their first difference.
    p1, p2 = "/home/u/runs/" + "x" * 40 + "/a.csv", "/home/u/runs/" + "x" * 40 + "/b.csv"
    words = what_changed(KeyInputs("c", {"p": p1}, "k", "e"), KeyInputs("c", {"p": p2}, "k", "e"))
    old, _, new = words[0].removeprefix("parameter p: ").partition(" -> ")
    assert old != new and old.endswith("/a.csv'") and new.endswith("/b.csv'")


def test_changed_files_and_their_description() -> None:
    before = {"a.py": "file:1", "b.py": "file:2", "gone.py": "file:3"}
    after = {"a.py": "file:1", "b.py": "exec:2", "new.py": "file:4"}
    assert changed_files(before, after) == "b.py, gone.py (removed), new.py (new)"
    many = {f"f{i}.py": "file:x" for i in range(7)}
    assert changed_files({}, many, limit=2) == "f0.py (new), f1.py (new) and 5 more"

    assert KeyInputs.from_tag("not json") is None


def test_key_lock_is_exclusive_across_threads(tmp_path: Path) -> None:
    from mlrun.tracking import open_store

    cache = StepCache(open_store(str(tmp_path / "db.sqlite")), tmp_path / "locks")
    inside: list[int] = []
    overlap: list[bool] = []
    holding = threading.Event()
    waiting = threading.Semaphore(0)  # one release per thread that found the lock taken

    def worker(first: bool) -> None:
        with cache.locked("k", on_wait=waiting.release) as got:
            assert got
            inside.append(1)
            overlap.append(len(inside) > 1)
            if first:  # hold the lock until both others say they wait for it
                holding.set()
                assert waiting.acquire(timeout=60) and waiting.acquire(timeout=60)
            inside.pop()

    threads = [threading.Thread(target=worker, args=(n == 0,)) for n in range(3)]
    threads[0].start()
    assert holding.wait(60)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(60)
    assert overlap == [False, False, False]
    # A cancelled waiter gives up without the lock.
    with cache.locked("k") as got:
        assert got
        result: list[bool] = []

        def waiter() -> None:
            with cache.locked("k", cancelled=lambda: True) as inner:
                result.append(inner)

        t = threading.Thread(target=waiter)
        t.start()
        t.join()
        assert result == [False]


def _scheduler(
    needs: dict[str, tuple[str, ...]], fail: set[str], **kw: object
) -> tuple[Scheduler, list[str], dict[str, str]]:
    started: list[str] = []
    blocked: dict[str, str] = {}

    def work(name: str, cancel: Cancel) -> bool:
        started.append(name)
        return name not in fail

    s = Scheduler(needs, work, on_blocked=blocked.__setitem__, **kw)  # type: ignore[arg-type]
    return s, started, blocked


def test_scheduler_order_fail_fast_and_keep_going() -> None:
    needs = {"a": (), "b": ("a",), "c": ("b",), "x": (), "y": ("x",)}
    s, started, blocked = _scheduler(needs, set())
    assert s.run() is None and started == ["a", "b", "c", "x", "y"]
    s, started, blocked = _scheduler(needs, {"a"})
    s.run()
    assert started == ["a"] and s.failed == ["a"]
    assert blocked == {
        "b": "needs a, which failed",
        "c": "needs a, which failed",
        "x": "stopped after a failed",
        "y": "stopped after a failed",
    }
    s, started, blocked = _scheduler(needs, {"a"}, keep_going=True)
    s.run()
    assert started == ["a", "x", "y"] and set(blocked) == {"b", "c"}
    s, started, _ = _scheduler(needs, set(), done={"a", "b"})
    s.run()
    assert started == ["c", "x", "y"]


def test_scheduler_cancel_reaches_running_nodes() -> None:
    outer = Cancel()
    seen: list[int] = []

    def work(name: str, cancel: Cancel) -> bool:
        if name == "slow":
            outer.request(15)
            wait_until(cancel.is_set, "the scheduler to pass the request on")
            seen.append(cancel.signum)
            return False
        return True

    blocked: dict[str, str] = {}
    s = Scheduler(
        {"slow": (), "next": ("slow",), "other": ()},
        work,
        cancel=outer,
        on_blocked=blocked.__setitem__,
    )
    assert s.run() == 15 and seen == [15]
    assert blocked == {"next": "needs slow, which failed", "other": "interrupted"}


def test_view_lines() -> None:
    board = Board()
    states = [
        StepState("a", "a", "ep", status=st.CACHED, run_id="r" * 32, reason="same"),
        StepState("b", "b", "ep", status=st.RUNNING, started=time.time() - 2),
        StepState("c", "c", "ep"),
        StepState("s", "s", "ep", status=st.SKIPPED),
    ]
    board.apply("workflow.start", {"workflow": "w", "run_id": "w1", "steps": states})
    lines = live_lines(board)
    assert lines[0].startswith("workflow w: 1/3 done, 1 running")
    assert any(line.split()[:1] == ["running"] and line.endswith("b") for line in lines)
    assert not any(line.endswith(" s") for line in lines)  # skipped steps are not shown
    failed = StepState(
        "b",
        "b",
        "ep",
        status=st.FAILED,
        run_id="f" * 32,
        exit_code=3,
        started=1.0,
        ended=3.5,
        reason="the command exited with 3",
    )
    assert board.apply("workflow.step", {"state": failed}) is failed
    assert transition_line(failed) == (
        "b: failed (run ffffffffffff) in 2.5s, exit code 3: the command exited with 3"
    )
    rows = summary_rows(board.snapshot())
    assert rows[1] == ["b", "failed", "2.5s", "ffffffffffff", "exit 3: the command exited with 3"]
    assert len(rows) == 3


def test_live_board_draws_and_erases_itself(capsys: pytest.CaptureFixture[str]) -> None:
    from mlrun.cli.workflow_run import WorkflowReporter

    reporter = WorkflowReporter(live=True)
    states = [StepState("a", "a", "ep", status=st.RUNNING, started=time.time())]
    reporter.event("workflow.start", workflow="w", run_id="r", steps=states)
    reporter.warn("a warning")  # printed above the board, which is redrawn below it
    reporter.event("workflow.end", workflow="w", run_id="r", steps=states)
    err = capsys.readouterr().err
    assert "mlrun: warning: a warning\nworkflow w: 0/1 done, 1 running" in err
    assert "running" in err and err.rstrip().endswith("\x1b[J")  # erased at the end


def test_key_parameters_hold_project_paths_relative_to_the_project() -> None:
    # The same project checked out at two paths: the same key parameters.
    for top in (Path("/home/alice/proj"), Path("/builds/ci/proj")):
        values = {
            "data": f"{top}/data/wine.csv",
            "dir": str(top),
            "other": f"{top}-old/x.csv",  # a sibling with the same prefix is not the project
            "upstream": "/mnt/mlrun/3f2a/outputs/artifacts/raw.csv",
            "alpha": "0.1",
        }
        assert portable_parameters(values, top) == {
            "data": "${project}/data/wine.csv",
            "dir": "${project}",
            "other": f"{top}-old/x.csv",
            "upstream": "/mnt/mlrun/3f2a/outputs/artifacts/raw.csv",
            "alpha": "0.1",
        }
