"""Running a workflow: each node is planned on the one opened source, looked up in the
step cache, and run (through runner.execute) when it misses; the Scheduler decides
order and parallelism. The workflow itself is a run record that the steps point to
(parent_run_id)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrun.errors import MlrunError, ParameterError, UsageError
from mlrun.execution.supervisor import Cancel
from mlrun.reporting import Reporter
from mlrun.runner import Opened, Plan, RunRequest
from mlrun.tracking.base import RunStore
from mlrun.tracking.mlflow import Tracker
from mlrun.tracking.model import FINISHED as RUN_FINISHED
from mlrun.tracking.model import KILLED as RUN_KILLED
from mlrun.tracking.model import Run
from mlrun.workflow import cache as wcache
from mlrun.workflow import graph as wgraph
from mlrun.workflow import refs
from mlrun.workflow import state as st
from mlrun.workflow.cache import KeyInputs, StepCache
from mlrun.workflow.code import StepCode
from mlrun.workflow.graph import Graph, Node
from mlrun.workflow.model import Workflow, load_workflow
from mlrun.workflow.options import Options, flag
from mlrun.workflow.refs import Ref, RefError, Upstream
from mlrun.workflow.state import StepState

TAG_KIND = wcache.TAG_KIND


@dataclass
class Decision:
    action: str  # "run" | "cached"
    reason: str
    plan: Plan | None = None
    inputs: KeyInputs | None = None
    key: str | None = None
    hit: Run | None = None
    unreadable: str | None = None  # a run with this key whose files cannot be read here


@dataclass(frozen=True)
class WorkflowResult:
    run_id: str
    status: str  # FINISHED | FAILED | KILLED
    exit_code: int
    steps: list[StepState]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # final steps' outputs


class WorkflowRun:
    """One run of one workflow. Build it (bad input raises before anything runs), then
    call `dry_run()` or `execute(store)`."""

    def __init__(
        self,
        request: RunRequest,
        opened: Opened,
        options: Options,
        reporter: Reporter,
        store: RunStore,
    ) -> None:
        from mlrun.util.paths import cache_dir

        self.request = request
        self.opened = opened
        self.options = options
        self.reporter = reporter
        self.store = store
        self.cache = StepCache(store, cache_dir() / "workflow-locks")
        self.workflow: Workflow = load_workflow(opened.project, request.entry_point)
        self.graph: Graph = wgraph.build(self.workflow)
        self.project_id = opened.source.uri
        self.origin = self._find_origin()
        given = dict(request.parameters)
        if self.origin is not None:
            from mlrun.workflow import resume

            given = resume.parameters(self.origin.run, self.workflow.parameters, given)
        self.params = _resolve_params(self.workflow, given, request.cwd or Path.cwd())
        self.states = {
            name: StepState(name, n.step.name, n.step.entry_point)
            for name, n in self.graph.nodes.items()
        }
        self._select()
        self.code = _code_identity(opened)
        self.step_code = StepCode(opened.source, self.code)
        self.reused: dict[str, str] = {}  # node -> why its result is from an older run
        self.stale: dict[str, str] = {}  # reused nodes whose inputs differ now: how
        self.results: dict[str, Upstream] = {}
        self.keys: dict[str, str] = {}
        self.run_id: str | None = None
        self._root: Path | None = None
        self._record: Run | None = None
        self._tracker = Tracker()  # the workflow's MLflow run, once recorded
        self._log: Any = None
        self._lock = threading.Lock()
        self._env_lock = threading.Lock()
        self._envs_ready: set[tuple[str, str | None]] = set()

    # -- selection -------------------------------------------------------------------

    def _select(self) -> None:
        g, o = self.graph, self.options
        picked = [n for s in o.only for n in g.select(s)]
        picked += list(g.downstream(n for s in o.from_steps for n in g.select(s)))
        self.selected = set(picked) if (o.only or o.from_steps) else set(g.nodes)
        needed = g.upstream(self.selected)
        self.cache_only = needed - self.selected  # must come from the cache
        self.forced: set[str] = set(self.selected) if o.force else set()
        for s in o.force_steps:
            self.forced |= g.downstream(g.select(s)) & self.selected
        for name in g.nodes:
            if name not in needed:
                state = self.states[name]
                state.status = st.SKIPPED
                state.reason = f"not selected ({flag('only')}/{flag('from_steps')})"
        self.needed = [n for n in g.nodes if n in needed]

    # -- --resume (workflow/resume.py) -------------------------------------------------

    def _find_origin(self) -> Any:
        o = self.options
        if o.resume is None or o.resume is False:
            return None
        if o.only or o.from_steps or o.force:
            other = flag("only" if o.only else "from_steps" if o.from_steps else "force")
            raise UsageError(
                f"{flag('resume')} and {other} cannot be combined: {flag('resume')} decides "
                "what runs",
                hint=f"add {flag('force_steps')} STEP to {flag('resume')} to re-run a step "
                "that finished",
            )
        from mlrun.workflow import resume

        wanted = o.resume if isinstance(o.resume, str) and o.resume else None
        return resume.find(self.store, self.project_id, self.workflow.name, wanted)

    def _resolve_resumed(self, announce: bool = True) -> None:
        """Take the result of every node that finished in the resumed run (and whose
        needs were all taken too), whatever changed since; say when something did."""
        if self.origin is None:
            return
        from mlrun.workflow.resume import reuse_key

        origin_id = self.origin.run.run_id
        for name, node in self.graph.nodes.items():
            run = self.origin.finished.get(name)
            if run is None or name in self.forced or any(n not in self.reused for n in node.needs):
                continue
            key = reuse_key(run)
            changed = self._changed_since(node, run, key)
            self._use(node, run, key)
            note = f"reused from workflow run {origin_id[:12]} (--resume)"
            if changed:
                self.stale[name] = changed
                note += f"; changed since: {changed}"
            self.reused[name] = note
            changes = {
                "status": st.CACHED,
                "run_id": run.run_id,
                "reason": note,
                "parameters": dict(run.params),
                "key": key,
            }
            if announce:
                self._update(name, **changes)
            else:
                for field_name, value in changes.items():
                    setattr(self.states[name], field_name, value)

    def _changed_since(self, node: Node, run: Run, key: str) -> str:
        """What differs between the inputs `run` had and the ones the node has now."""
        try:
            decision = self._decide(node, judge=False)
        except (MlrunError, RefError) as exc:
            return f"its inputs cannot be planned now ({exc})"
        assert decision.inputs is not None
        if decision.key == key:
            return ""
        old = KeyInputs.from_tag(run.tags.get(wcache.TAG_INPUTS))
        if old is None:
            return "inputs changed"
        changes = wcache.what_changed(old, decision.inputs, self._files_changed(run))
        return "; ".join(changes) or "inputs changed"

    def _resume_tags(self, node: Node) -> dict[str, str]:
        if self.origin is None:
            return {}
        from mlrun.workflow.resume import TAG_OLDER, TAG_RESUMED

        tags = {TAG_RESUMED: self.origin.run.run_id}
        older = sorted(self.graph.upstream(node.needs) & set(self.stale))
        if older:
            tags[TAG_OLDER] = ", ".join(older)
        return tags

    # -- planning one node -----------------------------------------------------------

    def _lookup(self, node: Node, placeholders: bool = False) -> Callable[[Ref], str]:
        def lookup(ref: Ref) -> str:
            if ref.root == "params":
                return self.params[ref.name]
            if ref.root == "matrix":
                return node.matrix[ref.name]
            names = self.graph.instances[ref.name]
            if placeholders and any(n not in self.results for n in names):
                return ref.text
            return refs.step_value(
                ref, [self.results[n] for n in names], bool(self.workflow.steps[ref.name].matrix)
            )

        return lookup

    def _decide(self, node: Node, judge: bool = True) -> Decision:
        """Plan the node and compute its key; with `judge`, also whether the cache has it
        (and if not, why)."""
        step = node.step
        lookup = self._lookup(node)
        values = {k: refs.render(t, lookup) for k, t in step.parameters.items()}
        project_dir = self.opened.source.project_dir
        request = self.request._replace(
            entry_point=step.entry_point,
            parameters=values,
            cwd=project_dir,
            run_name=node.name,
            run_id=None,
            parent_run_id=self.run_id,
            tags={},
        )
        the_plan = _plan_entry_point(self.opened, request, self.reporter)
        deps = [refs.render(t, lookup) for t in step.deps]
        inputs = KeyInputs(
            command=the_plan.entry_point.command,
            parameters=wcache.portable_parameters(the_plan.params.all(), project_dir),
            code=self.step_code.identity(step.code, step.name),
            env=wcache.env_identity(the_plan.env_plan.key, the_plan.env_plan.manager),
            deps=self.step_code.deps(deps),
            upstream={n: self.keys[n] for n in node.needs},
        )
        key = inputs.key()
        decision = Decision("run", "", the_plan, inputs, key)
        if not judge:
            return decision
        if node.name in self.forced:
            decision.reason = f"forced ({flag('force' if self.options.force else 'force_steps')})"
        elif self.options.no_cache:
            decision.reason = flag("no_cache")
        elif not step.cache:
            decision.reason = "cache: false"
        else:
            hit, unreadable = self.cache.find(key)
            if hit is not None:
                decision.action, decision.hit = "cached", hit
                decision.reason = f"same inputs as the run of {_when(hit.start_time)}"
            elif unreadable is not None:
                decision.reason = decision.unreadable = unreadable
            else:
                decision.reason = self._miss_reason(node, inputs, key)
        return decision

    def _miss_reason(self, node: Node, inputs: KeyInputs, key: str) -> str:
        prev = self.cache.previous(self.project_id, self.workflow.name, node.name)
        if prev is None:
            return "no earlier run of this step"
        old = KeyInputs.from_tag(prev.tags.get(wcache.TAG_INPUTS))
        if old is None:
            return f"inputs changed since run {prev.run_id[:12]}"
        if old.key() == key:
            if prev.status == RUN_FINISHED:
                return f"the files of run {prev.run_id[:12]} are gone"
            return f"the last run with these inputs ({prev.run_id[:12]}) {prev.status}"
        changes = wcache.what_changed(old, inputs, self._files_changed(prev))
        return "; ".join(changes) + f" (since {prev.run_id[:12]})"

    def _files_changed(self, prev: Run) -> Any:
        """Names the files that changed since `prev`, from the per-file digests its
        workflow run kept (workflow/code.py)."""
        from mlrun.errors import MlrunError

        before = None
        if prev.parent_run_id:
            try:
                before = Path(self.store.get_run(prev.parent_run_id).run_dir).parent
            except MlrunError:
                before = None
        return self.step_code.changes(before)

    def _use(self, node: Node, run: Run, key: str | None) -> None:
        self.results[node.name] = Upstream(
            run.run_id, dict(run.outputs), str(Path(run.run_dir) / "artifacts"), node.matrix
        )
        if key is not None:
            self.keys[node.name] = key

    def _can_cache(self, node: Node) -> bool:
        return not self.options.no_cache and node.step.cache

    # -- dry run ---------------------------------------------------------------------

    def dry_run(self) -> list[dict[str, Any]]:
        """What would happen to each node, without running or recording anything."""
        will_run: set[str] = set()
        rows = []
        self._resolve_resumed(announce=False)
        for name, node in self.graph.nodes.items():
            state = self.states[name]
            row: dict[str, Any] = {
                "name": name,
                "step": node.step.name,
                "entry_point": node.step.entry_point,
            }
            if name in self.reused:
                rows.append(
                    {
                        **row,
                        "parameters": dict(state.parameters),
                        "action": "cached",
                        "reason": state.reason,
                        "key": state.key,
                        "run_id": state.run_id,
                    }
                )
                continue
            if state.status == st.SKIPPED:
                rows.append(
                    {
                        **row,
                        "parameters": {},
                        "action": "skip",
                        "reason": state.reason,
                        "key": None,
                        "run_id": None,
                    }
                )
                continue
            upstream_runs = [n for n in node.needs if n in will_run]
            if upstream_runs:
                lookup = self._lookup(node, placeholders=True)
                params = {k: refs.render(t, lookup) for k, t in node.step.parameters.items()}
                rows.append(
                    {
                        **row,
                        "parameters": params,
                        "action": "run",
                        "reason": f"upstream {upstream_runs[0]} will run",
                        "key": None,
                        "run_id": None,
                    }
                )
                will_run.add(name)
                continue
            decision = self._decide(node)
            assert decision.plan is not None
            if decision.action == "cached" and decision.hit is not None:
                self._use(node, decision.hit, decision.key)
            else:
                if name in self.cache_only:
                    raise self._not_cached(name, decision.reason)
                will_run.add(name)
            rows.append(
                {
                    **row,
                    "parameters": decision.plan.params.all(),
                    "action": decision.action,
                    "reason": decision.reason,
                    "key": decision.key,
                    "run_id": decision.hit.run_id if decision.hit else None,
                }
            )
        return rows

    def _not_cached(self, name: str, why: str) -> UsageError:
        return UsageError(
            f"step {name} is needed by the selected steps but has no cached result ({why})",
            hint="select it too (--from an earlier step), or run the whole workflow first",
        )

    def _resolve_cache_only(self) -> None:
        for name in self.needed:
            if name not in self.cache_only:
                continue
            node = self.graph.nodes[name]
            decision = self._decide(node)
            if decision.action != "cached" or decision.hit is None:
                raise self._not_cached(name, decision.reason)
            self._use(node, decision.hit, decision.key)
            self._update(
                name,
                status=st.CACHED,
                run_id=decision.hit.run_id,
                reason=decision.reason + " (needed by the selection)",
                parameters=dict(decision.hit.params),
                key=decision.key,
            )

    # -- execution -------------------------------------------------------------------

    def execute(
        self, cancel: Cancel | None = None, on_record: Callable[[str], None] | None = None
    ) -> WorkflowResult:
        """Run the workflow to its end; the result's exit code is the first failed step's
        (128+N when a signal or `cancel` stopped it). `on_record(run_id)` is called once
        the workflow's record exists."""
        from mlrun import recording
        from mlrun.errors import StoreError, signal_name
        from mlrun.execution import reaping
        from mlrun.tracking.model import FAILED, KILLED
        from mlrun.util import signals
        from mlrun.workflow.scheduler import Scheduler

        self._resolve_cache_only()  # bad selections fail here, before any record exists
        # In the command-line process a signal is only recorded from here on, and acted
        # on by the scheduler (or before it starts); see runner.execute.
        with signals.deferred():
            self.run_id = self._create_record()
            try:
                if on_record is not None:
                    on_record(self.run_id)
                self.reporter.info(
                    f"running workflow {self.workflow.name!r} of {self.opened.source.uri} "
                    f"({len(self.needed)} steps, {self.options.jobs} at a time; "
                    f"run {self.run_id})"
                )
                self.reporter.event(
                    "workflow.start",
                    workflow=self.workflow.name,
                    run_id=self.run_id,
                    steps=[s.snapshot() for s in self.states.values()],
                )
                self._tracker = self._mlflow_prepare()
                self._resolve_resumed()
                scheduler = Scheduler(
                    {n: self.graph.nodes[n].needs for n in self.needed},
                    self._work,
                    jobs=self.options.jobs,
                    keep_going=self.options.keep_going,
                    done=set(self.cache_only) | set(self.reused),
                    on_blocked=self._blocked,
                    cancel=cancel,
                    tick=self._heartbeat,
                )
                stopped_by = scheduler.run()
                reaping.sweep()  # the CLI's subreaper: whatever the steps left
            except BaseException as exc:
                stopped = isinstance(exc, KeyboardInterrupt) or signals.first() is not None
                self._tracker.finish(self.store, KILLED if stopped else FAILED, self.reporter)
                recording.finish_on_error(self.store, self.run_id, exc, self.reporter)
                self._close_log()
                self.step_code.save(self._root)
                raise
            if stopped_by is not None:
                status, code = KILLED, 128 + stopped_by
                reason = f"stopped by {signal_name(stopped_by)}"
            elif scheduler.failed:
                first = self.states[scheduler.failed[0]]
                status, code = FAILED, first.exit_code if first.exit_code else 1
                reason = f"step {first.name} {first.status}" + (
                    f": {first.reason}" if first.reason else ""
                )
            else:
                status, code, reason = RUN_FINISHED, 0, None
            results = self._final_outputs()
            try:
                self.store.log_outputs(
                    self.run_id,
                    {
                        "results": results,
                        "steps": {
                            s.name: {
                                "status": s.status,
                                "run_id": s.run_id,
                                "exit_code": s.exit_code,
                                "needs": list(self.graph.nodes[s.name].needs),
                                **self._reuse_note(s.name),
                            }
                            for s in self.states.values()
                        },
                    },
                )
            except StoreError as exc:  # the final status still goes through finish()
                self.reporter.debug(f"the workflow's outputs are not recorded: {exc}")
            self.step_code.save(self._root)
            late = signals.seal()
            if late is not None and stopped_by is None:  # came after the last step ended
                status, code = KILLED, 128 + late
                reason = f"{recording.stopped_by(late)} (after the steps ended)"
            self._tracker.finish(self.store, status, self.reporter)
            recording.finish(self.store, self.run_id, status, code, reason, self.reporter)
        self._log_line(
            f"workflow {self.workflow.name} {status}" + (f": {reason}" if reason else "")
        )
        self._close_log()
        steps = [s.snapshot() for s in self.states.values()]
        self.reporter.event(
            "workflow.end",
            workflow=self.workflow.name,
            run_id=self.run_id,
            status=status,
            exit_code=code,
            steps=steps,
        )
        return WorkflowResult(self.run_id, status, code, steps, results)

    def _final_outputs(self) -> dict[str, dict[str, Any]]:
        """The outputs of the steps nothing else needs: the workflow's result (what the
        example's evaluate step picks), by node name."""
        needed = {n for name in self.needed for n in self.graph.nodes[name].needs}
        return {
            name: dict(self.results[name].outputs)
            for name in self.needed
            if name not in needed and name in self.results and self.results[name].outputs
        }

    def _reuse_note(self, name: str) -> dict[str, Any]:
        if name not in self.reused or self.origin is None:
            return {}
        return {"reused_from": self.origin.run.run_id, "changed_since": self.stale.get(name)}

    def _work(self, name: str, cancel: Cancel) -> bool:
        """One node, in a worker thread. Never raises: every failure becomes its state."""
        node = self.graph.nodes[name]
        try:
            return self._work_node(node, cancel)
        except RefError as exc:
            self._finish(name, st.FAILED, 2, str(exc))
        except MlrunError as exc:
            if cancel.is_set():  # e.g. its env build, interrupted as the workflow stops
                self._finish(name, st.KILLED, 128 + cancel.signum, str(exc))
            else:
                self._finish(name, st.FAILED, exc.exit_code, str(exc))
        except Exception as exc:  # a bug: the workflow must still end and be recorded
            from mlrun.util.crashlog import write_crash_log

            log = write_crash_log(exc, f"workflow {self.workflow.name}, step {name}")
            where = f"; this is a bug in mlrun, the traceback is in {log}" if log else ""
            self._finish(name, st.FAILED, 1, f"mlrun failed: {exc!r}{where}")
        return False

    def _work_node(self, node: Node, cancel: Cancel) -> bool:
        decision = self._decide(node)
        if decision.action == "cached" and decision.hit is not None:
            return self._cached(node, decision.hit, decision.key, decision.reason)
        if decision.unreadable is not None:
            self.reporter.warn(f"step {node.name}: {decision.unreadable}; running it again")
        if not self._can_cache(node):
            return self._run(node, decision, cancel)
        assert decision.key is not None

        def _waiting() -> None:
            self._update(
                node.name,
                status=st.LOCKED,
                reason="waiting for another run of the same step (same key)",
            )

        with self.cache.locked(decision.key, cancelled=cancel.is_set, on_wait=_waiting) as got:
            if not got:
                self._finish(node.name, st.KILLED, 128 + cancel.signum, "interrupted")
                return False
            if node.name not in self.forced:
                # Look again under the lock: a concurrent workflow may have just run it.
                hit = self.cache.lookup(decision.key)
                if hit is not None:
                    return self._cached(
                        node,
                        hit,
                        decision.key,
                        f"computed meanwhile by run {hit.run_id[:12]} (same key)",
                    )
            return self._run(node, decision, cancel)

    def _cached(self, node: Node, hit: Run, key: str | None, reason: str) -> bool:
        self._use(node, hit, key)
        self._update(
            node.name,
            status=st.CACHED,
            run_id=hit.run_id,
            reason=reason,
            parameters=dict(hit.params),
            key=key,
        )
        return True

    def _run(self, node: Node, decision: Decision, cancel: Cancel) -> bool:
        from mlrun import runner

        the_plan, inputs = decision.plan, decision.inputs
        assert the_plan is not None and inputs is not None and decision.key is not None
        tags = {
            wcache.TAG_WORKFLOW: self.workflow.name,
            wcache.TAG_STEP: node.name,
            wcache.TAG_PROJECT: self.project_id,
            wcache.TAG_INPUTS: _json(inputs.to_json()),
            **self._resume_tags(node),
        }
        if self._can_cache(node):
            tags[wcache.TAG_KEY] = decision.key
        the_plan.request = the_plan.request._replace(parent_run_id=self.run_id, tags=tags)
        self._update(
            node.name,
            status=st.RUNNING,
            reason=decision.reason,
            started=time.time(),
            parameters=the_plan.params.all(),
            key=decision.key,
        )

        def _recorded(run_id: str) -> None:
            self._update(node.name, run_id=run_id)

        if cancel.is_set():
            self._finish(node.name, st.KILLED, 128 + cancel.signum, "interrupted")
            return False
        self._ensure_env(the_plan)
        self.step_code.manifest(inputs.code)  # kept, so a later miss can name the files
        result = runner.execute(
            the_plan,
            self.store,
            self.reporter,
            forward_signals=False,
            cancel=cancel,
            on_record=_recorded,
        )
        if result.status == RUN_FINISHED:
            self._use(node, self.store.get_run(result.run_id), decision.key)
            self._finish(node.name, st.FINISHED, 0, decision.reason)
            return True
        status = st.KILLED if result.status == RUN_KILLED else st.FAILED
        self._finish(node.name, status, result.exit_code, result.reason)
        return False

    def _ensure_env(self, the_plan: Plan) -> None:
        """Build the environment once, before the first step that runs, instead of in
        every parallel step at once; later steps then find it in the env cache (and do
        not rebuild it again for --rebuild-env)."""
        env_plan = the_plan.env_plan
        ident = (env_plan.manager, env_plan.key)
        with self._env_lock:
            if ident not in self._envs_ready and not (
                env_plan.cached and not env_plan.options.rebuild
            ):
                from mlrun.envs import get_manager

                get_manager(env_plan.manager).prepare(env_plan, self.reporter).release()
            self._envs_ready.add(ident)
        the_plan.env_plan = env_plan._replace(
            cached=True, options=env_plan.options._replace(rebuild=False)
        )

    def _blocked(self, name: str, why: str) -> None:
        self._update(name, status=st.NOT_RUN, reason=why)

    # -- state, events, the workflow's own record --------------------------------------

    def _update(self, name: str, **changes: Any) -> None:
        with self._lock:
            state = self.states[name]
            for field_name, value in changes.items():
                setattr(state, field_name, value)
            snapshot = state.snapshot()
        if "status" in changes:
            self._log_line(
                f"{name}: {snapshot.status}"
                + (f" (run {snapshot.run_id})" if snapshot.run_id else "")
                + (f": {snapshot.reason}" if snapshot.reason else "")
            )
        self.reporter.event("workflow.step", state=snapshot)

    def _finish(self, name: str, status: str, exit_code: int | None, reason: str | None) -> None:
        state = self.states[name]
        self._update(
            name,
            status=status,
            exit_code=exit_code,
            reason=reason,
            ended=time.time() if state.started is not None else None,
        )

    def _create_record(self) -> str:
        from mlrun import recording
        from mlrun.execution.logs import LogSink
        from mlrun.workflow.resume import TAG_RESUMED

        request, source = self.request, self.opened.source
        argv = ["mlrun", "run", source.uri, "-e", self.workflow.name]
        for k, v in self.params.items():
            argv += ["-P", f"{k}={v}"]
        record, root = recording.create(
            self.store,
            request._replace(run_id=None),
            source,
            entry_point=self.workflow.name,
            params=dict(self.params),
            command=argv,
            command_mode="workflow",
            env_kind="workflow",
            env={"code": self.code},
            tags={
                TAG_KIND: "workflow",
                wcache.TAG_WORKFLOW: self.workflow.name,
                wcache.TAG_PROJECT: self.project_id,
                **({TAG_RESUMED: self.origin.run.run_id} if self.origin else {}),
                **request.tags,
            },
            reporter=self.reporter,
        )
        self._root, self._record = root, record
        self._log = LogSink(root / "logs", echo=False)
        return record.run_id

    def _mlflow_prepare(self) -> Tracker:
        """The workflow's MLflow run: the parent of its steps' runs (tracking/mlflow)."""
        from mlrun.tracking.mlflow import prepare

        assert self._record is not None
        return prepare(self._record, self.store, self.reporter)

    def _heartbeat(self) -> None:
        from mlrun.errors import StoreError

        if self.run_id is not None:
            try:
                self.store.heartbeat(self.run_id)
            except StoreError as exc:
                self.reporter.debug(f"heartbeat not recorded: {exc}")

    def _log_line(self, text: str) -> None:
        if self._log is not None:
            stamp = time.strftime("%H:%M:%S")
            self._log.write("stdout", f"{stamp} {text}\n".encode())

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _plan_entry_point(opened: Opened, request: RunRequest, reporter: Reporter) -> Plan:
    from mlrun.runner import plan_entry_point

    return plan_entry_point(opened, request, reporter)


def _resolve_params(workflow: Workflow, user: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """-P values for a workflow: typed and defaulted like an entry point's; unknown
    names are an error (there is no command to append them to)."""
    from mlrun.spec.model import EntryPoint
    from mlrun.spec.params import resolve_parameters

    declared = workflow.parameters
    unknown = [k for k in user if k not in declared]
    if unknown:
        known = ", ".join(declared) or "none"
        raise ParameterError(
            f"workflow {workflow.name!r} has no parameter {unknown[0]!r}",
            hint=f"its parameters: {known} (declared under workflows.{workflow.name}.parameters)",
        )
    missing = [k for k, p in declared.items() if p.default is None and k not in user]
    if missing:
        raise ParameterError(
            f"workflow {workflow.name!r} needs a value for parameter {missing[0]!r}",
            hint="pass " + " ".join(f"-P {m}=VALUE" for m in missing),
        )
    ep = EntryPoint(name=workflow.name, command="", parameters=declared, file=workflow.file)
    return dict(resolve_parameters(ep, user, cwd).values)


def _code_identity(opened: Opened) -> str:
    source = opened.source
    if source.code_identity is None:  # every source kind sets it (sources/); a new one must
        raise AssertionError(f"source {source.uri} has no code identity")
    return source.code_identity


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _json(data: Any) -> str:
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"))
