"""Resume after a fix (issue 18, item 1): a step's declared `code:` is its only code in
the key; `--resume` reuses what finished in an earlier run whatever changed; a miss
names the files that changed. The acceptance runs use the example workflow itself."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import mlrun as mlrun_api
from mlrun.errors import ExecutionError
from tests.helpers import REPO, cli, mlrun
from tests.sources.gitrepos import commit, git
from tests.workflow.wfhelpers import env_with, flow_project, reasons, run_json, statuses

EXAMPLE = REPO / "example_projects" / "wine-pipeline"
NODES = ("download", "prepare", "train[alpha=0.01]", "train[alpha=0.1]", "train[alpha=1.0]")
BREAK = 'raise SystemExit("evaluate is broken")\n'


def _example(tmp_path: Path, with_code: bool) -> Path:
    project = tmp_path / "wine-pipeline"
    shutil.copytree(EXAMPLE, project)
    if not with_code:
        text = (project / "MLproject").read_text()
        text = re.sub(r"\n *code: \[[^\]]*\][^\n]*(\n +#[^\n]*)?", "", text)
        assert "code:" not in text
        (project / "MLproject").write_text(text)
    return project


def _break_evaluate(project: Path) -> None:
    script = project / "evaluate.py"
    text = script.read_text()
    script.write_text(text.replace("candidates = json.loads", BREAK + "candidates = json.loads"))


def _fix_evaluate(project: Path) -> None:
    script = project / "evaluate.py"
    script.write_text(script.read_text().replace(BREAK, ""))


def by_run(result: dict[str, Any], name: str) -> str:
    return str({s["name"]: s for s in result["steps"]}[name]["run_id"])


def _show(run_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cli("runs", "show", run_id, "--json", check=True).stdout)
    return data


@pytest.mark.slow  # runs the example pipeline four times (~3 s)
def test_example_with_code_declared_reruns_only_the_fixed_step(tmp_path: Path) -> None:
    project = _example(tmp_path, with_code=True)
    _break_evaluate(project)
    failed = run_json(project, "-e", "pipeline", expect=1)
    assert statuses(failed)["evaluate"] == "failed"
    assert all(statuses(failed)[n] == "finished" for n in NODES)
    _fix_evaluate(project)
    fixed = run_json(project, "-e", "pipeline")
    assert statuses(fixed) == {**dict.fromkeys(NODES, "cached"), "evaluate": "finished"}
    why = reasons(fixed)["evaluate"]
    assert why.startswith("code changed: evaluate.py (since "), why
    # The result the example picks: the final step's outputs, in the summary and record.
    picked = fixed["outputs"]["evaluate"]
    assert set(picked) == {"best_alpha", "best_rmse", "model"}
    assert _show(fixed["run_id"])["outputs"]["results"] == {"evaluate": picked}
    text = mlrun("run", str(project), "-e", "pipeline")
    assert f"outputs of evaluate (run {by_run(fixed, 'evaluate')[:12]}):" in text.stderr
    assert f"  best_alpha: {picked['best_alpha']}" in text.stderr
    # An edit to a file no step lists re-runs nothing; one to a shared file, every step.
    (project / "NOTES.md").write_text("not code of any step\n")
    assert set(statuses(run_json(project, "-e", "pipeline")).values()) == {"cached"}
    steputil = project / "steputil.py"
    steputil.write_text(steputil.read_text() + "\n# a comment is an edit\n")
    again = run_json(project, "-e", "pipeline")
    assert set(statuses(again).values()) == {"finished"}
    assert all("code changed: steputil.py" in r for r in reasons(again).values())


@pytest.mark.slow  # runs the example pipeline three times (~2 s)
def test_example_without_code_resume_reruns_only_the_failed_step(tmp_path: Path) -> None:
    project = _example(tmp_path, with_code=False)
    _break_evaluate(project)
    failed = run_json(project, "-e", "pipeline", expect=1)
    _fix_evaluate(project)
    # Without --resume the edit is new code for every step, and the miss names the file.
    planned = json.loads(cli("run", str(project), "-e", "pipeline", "--dry-run", "--json").stdout)
    first = planned["steps"][0]
    assert first["action"] == "run" and first["reason"].startswith("code changed: evaluate.py")
    resumed = run_json(project, "-e", "pipeline", "--resume")
    assert statuses(resumed) == {**dict.fromkeys(NODES, "cached"), "evaluate": "finished"}
    by_name = {s["name"]: s for s in resumed["steps"]}
    for name in NODES:
        assert by_name[name]["run_id"] == {s["name"]: s for s in failed["steps"]}[name]["run_id"]
        note = by_name[name]["reason"]
        assert note.startswith(f"reused from workflow run {failed['run_id'][:12]} (--resume)")
        assert "changed since: code changed: evaluate.py" in note
    # Recorded: the workflow run says what it resumed and which results are older code;
    # the step that ran says which of its inputs came from older code.
    record = _show(resumed["run_id"])
    assert record["system_tags"]["mlrun.resumed_from"] == failed["run_id"]
    download = record["outputs"]["steps"]["download"]
    assert download["reused_from"] == failed["run_id"]
    assert download["changed_since"] == "code changed: evaluate.py"
    evaluate = _show(by_name["evaluate"]["run_id"])
    assert evaluate["system_tags"]["mlrun.resumed_from"] == failed["run_id"]
    assert evaluate["system_tags"]["mlrun.older_upstream"] == ", ".join(sorted(NODES))
    # Nothing left to resume: every step is reused, nothing runs.
    again = run_json(project, "-e", "pipeline", "--resume", resumed["run_id"])
    assert set(statuses(again).values()) == {"cached"}


@pytest.mark.slow  # four workflow runs (~2 s)
def test_resume_a_named_run_with_parameters_and_forced_steps(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    failed = run_json(project, "-e", "flow", "-P", "vb=7", env=env_with(WF_FAIL="c"), expect=3)
    later = run_json(project, "-e", "flow")  # another run in between: not the one resumed
    assert later["status"] == "FINISHED"
    resumed = run_json(project, "-e", "flow", "--resume", failed["run_id"][:10])
    # c failed there and runs again; d did not run there, and is found in the step cache
    # (the run in between computed it with the same inputs): steps that are not reused
    # follow the cache as usual.
    assert statuses(resumed) == {"a": "cached", "b": "cached", "c": "finished", "d": "cached"}
    assert reasons(resumed)["a"].startswith("reused from workflow run")
    assert reasons(resumed)["d"].startswith("same inputs as the run of")
    # The resumed run's parameters are kept (b's value came from vb=7).
    assert {s["name"]: s for s in resumed["steps"]}["c"]["parameters"]["input"] == "b:7"
    assert _show(resumed["run_id"])["params"] == {"va": "1", "vb": "7"}
    forced = run_json(project, "-e", "flow", "--resume", failed["run_id"], "--force-step", "b")
    # --force-step re-runs b and what follows it, as without --resume.
    assert statuses(forced) == {"a": "cached", "b": "finished", "c": "finished", "d": "cached"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume", "--from", "b"], "--resume and --from cannot be combined"),
        (["--resume", "--force"], "--resume and --force cannot be combined"),
        (["--resume", "-P", "va=2"], "which ran with va=1, not va=2"),
        (["--resume", "0000ffff"], "--resume 0000ffff: there is no such run"),
        (["--resume", "../other"], "--resume '../other': a run id is hexadecimal"),
    ],
)
def test_resume_refusals_are_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    project, _ = flow_project(tmp_path)
    run_json(project, "-e", "flow", env=env_with(WF_FAIL="b"), expect=3)
    proc = cli("run", str(project), "-e", "flow", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_resume_needs_an_earlier_workflow_run(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    proc = cli("run", str(project), "-e", "flow", "--resume")
    assert proc.returncode == 2
    assert "there is no earlier run of workflow 'flow'" in proc.stderr
    out = mlrun("run", str(project), "-e", "step", "-P", "name=x", "--json", check=True).stdout
    step_run = json.loads(out)["run_id"]
    proc = cli("run", str(project), "-e", "flow", "--resume", step_run)
    assert proc.returncode == 2 and "is not a run of workflow 'flow'" in proc.stderr


def test_python_api_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, _ = flow_project(tmp_path)
    monkeypatch.setenv("WF_FAIL", "b")
    with pytest.raises(ExecutionError):
        mlrun_api.run(str(project), "flow", echo=False)
    monkeypatch.delenv("WF_FAIL")
    submitted = mlrun_api.run(str(project), "flow", echo=False, workflow_options={"resume": True})
    steps = _show(submitted.run_id)["outputs"]["steps"]
    assert {k: v["status"] for k, v in steps.items()} == {
        "a": "cached",
        "b": "finished",
        "c": "finished",
        "d": "finished",
    }
    assert steps["a"]["reused_from"] and steps["a"]["changed_since"] is None


@pytest.mark.slow  # git and five workflow runs (~2 s)
def test_declared_code_in_git_is_content_not_commits(tmp_path: Path) -> None:
    """With `code:`, what counts is the listed files' content on disk: committing an
    edit already run does not re-run, an edit elsewhere does not either, and a dirty
    edit of a listed file does (named)."""
    work = tmp_path / "repo"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit(
        work,
        {
            "MLproject": (
                "entry_points:\n  main:\n    command: python job.py\n"
                "workflows:\n  wf:\n    steps:\n"
                "      job: {entry_point: main, code: [job.py, 'lib/']}\n"
            ),
            "job.py": "print('job')\n",
            "lib/helper.py": "X = 1\n",
            "README.md": "readme\n",
            ".gitignore": "ignored/\n",
        },
    )
    assert statuses(run_json(work, "-e", "wf")) == {"job": "finished"}
    commit(work, {"README.md": "another commit, not code of the step\n"})
    (work / "ignored").mkdir()
    (work / "ignored" / "out.txt").write_text("git ignores it\n")
    (work / "lib" / "__pycache__").mkdir()
    (work / "lib" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\0")
    assert statuses(run_json(work, "-e", "wf")) == {"job": "cached"}
    (work / "lib" / "helper.py").write_text("X = 2\n")  # uncommitted
    dirty = run_json(work, "-e", "wf")
    assert statuses(dirty) == {"job": "finished"}
    assert reasons(dirty)["job"].startswith("code changed: lib/helper.py (since ")
    git(work, "commit", "-q", "-am", "commit the edit that already ran")
    assert statuses(run_json(work, "-e", "wf")) == {"job": "cached"}
    (work / "lib" / "new.py").write_text("Y = 1\n")
    added = run_json(work, "-e", "wf")
    assert reasons(added)["job"].startswith("code changed: lib/new.py (new)")


def test_code_pattern_that_matches_nothing_is_bad_input(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    text = (project / "MLproject").read_text()
    (project / "MLproject").write_text(
        text.replace(
            "      d:\n        entry_point: step",
            "      d:\n        entry_point: step\n        code: [stpe.py]",
        )
    )
    proc = cli("run", str(project), "-e", "flow")
    assert proc.returncode == 2
    assert "code pattern 'stpe.py' of step 'd' matches no file" in proc.stderr


def test_a_directory_dep_names_the_file_that_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("1\n")
    (data / "b.csv").write_text("2\n")
    project = tmp_path / "p"
    project.mkdir()
    (project / "MLproject").write_text(
        "entry_points:\n  main: {command: 'python -c pass'}\n"
        f"workflows:\n  wf:\n    steps:\n      s: {{entry_point: main, deps: ['{data}']}}\n"
    )
    run_json(project, "-e", "wf")
    (data / "b.csv").write_text("3\n")
    (data / "c.csv").write_text("new\n")
    why = reasons(run_json(project, "-e", "wf"))["s"]
    assert why.startswith(f"dep {data} changed: b.csv, c.csv (new) (since "), why
