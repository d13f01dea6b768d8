"""--dry-run, --only / --from, `mlrun dag`, and the example project. Dry runs, errors and
the store's views run the CLI in this process; the workflows themselves run in one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO, bash, cli, readme_block
from tests.workflow.wfhelpers import flow_project, reasons, run_json, statuses


def _dry(project: Path, *args: str) -> dict:  # type: ignore[type-arg]
    proc = cli("run", str(project), "-e", "flow", "--dry-run", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_dry_run_lists_run_or_cached_with_reasons_and_runs_nothing(tmp_path: Path) -> None:
    project, dep = flow_project(tmp_path)
    before = _dry(project)
    assert before["workflow"] == "flow"
    assert [(s["name"], s["action"]) for s in before["steps"]] == [
        ("a", "run"),
        ("b", "run"),
        ("c", "run"),
        ("d", "run"),
    ]
    for step in before["steps"]:
        assert {"name", "entry_point", "parameters", "action", "reason"} <= set(step)
    assert before["steps"][0]["reason"] == "no earlier run of this step"
    assert before["steps"][1]["reason"] == "upstream a will run"
    assert before["steps"][1]["parameters"]["input"] == "${{ steps.a.outputs.name }}"
    assert json.loads(cli("runs", "list", "--json").stdout) == []  # nothing recorded
    run_json(project, "-e", "flow")
    dep.write_text("changed\n")
    after = _dry(project)
    assert [(s["name"], s["action"]) for s in after["steps"]] == [
        ("a", "cached"),
        ("b", "run"),
        ("c", "run"),
        ("d", "cached"),
    ]
    assert "dep" in after["steps"][1]["reason"] and "changed" in after["steps"][1]["reason"]
    text = cli("run", str(project), "-e", "flow", "--dry-run").stdout
    assert "a  " in text and "cached" in text and "upstream b will run" in text


@pytest.mark.slow  # runs the workflow three times (~2 s)
def test_only_and_from(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    proc = cli("run", str(project), "-e", "flow", "--only", "c")
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "mlrun: error: step a is needed by the selected steps but "
        "has no cached result (no earlier run of this step)"
    )
    run_json(project, "-e", "flow")
    only = run_json(project, "-e", "flow", "--only", "c", "--force")
    assert statuses(only) == {"a": "cached", "b": "cached", "c": "finished", "d": "skipped"}
    assert "needed by the selection" in reasons(only)["b"]
    # --from b: b and what follows; a only from the cache, d not at all.
    frm = run_json(project, "-e", "flow", "--from", "b", "-P", "vb=9")
    assert statuses(frm) == {"a": "cached", "b": "finished", "c": "finished", "d": "skipped"}
    proc = cli("run", str(project), "-e", "flow", "--from", "a", "--only", "nope")
    assert proc.returncode == 2 and "has no step 'nope'" in proc.stderr
    # An upstream whose inputs changed cannot come from the cache.
    proc = cli("run", str(project), "-e", "flow", "--only", "c", "-P", "va=5")
    assert proc.returncode == 2 and "step a is needed" in proc.stderr
    assert "parameter value: '1' -> '5'" in proc.stderr


def test_dag_formats(tmp_path: Path) -> None:
    project = REPO / "example_projects" / "wine-pipeline"
    text = cli("dag", str(project), check=True).stdout
    assert "workflow pipeline (6 steps)" in text
    assert "      evaluate" in text and "<- train[alpha=0.01], train[alpha=0.1]" in text
    mermaid = cli("dag", str(project), "-e", "pipeline", "--format", "mermaid", check=True).stdout
    # Fenced, ready for Markdown; --no-fence gives the bare diagram (mermaid-cli).
    assert mermaid.startswith("```mermaid\nflowchart TD\n") and mermaid.endswith("\n```\n")
    assert 'n2["train[alpha=0.01]"]' in mermaid
    bare = cli("dag", str(project), "--format", "mermaid", "--no-fence", check=True).stdout
    assert bare == mermaid.removeprefix("```mermaid\n").removesuffix("```\n")
    assert "n1 --> n2" in mermaid
    dot = cli("dag", str(project), "--format", "dot", check=True).stdout
    assert dot.startswith('digraph "pipeline" {') and '"prepare" -> "train[alpha=1.0]";' in dot
    proc = cli("dag", str(REPO / "example_projects" / "elasticnet"))
    assert proc.returncode == 2 and "no workflows" in proc.stderr


@pytest.mark.slow  # runs the example pipeline (~1.5 s)
def test_example_pipeline_runs_then_is_fully_cached(tmp_path: Path) -> None:
    project = REPO / "example_projects" / "wine-pipeline"
    first = run_json(project, "-e", "pipeline", "-j", "2")
    assert set(statuses(first).values()) == {"finished"} and len(first["steps"]) == 6
    evaluate = json.loads(
        cli("runs", "show", first["steps"][-1]["run_id"], "--json", check=True).stdout
    )
    trains = [
        json.loads(cli("runs", "show", s["run_id"], "--json", check=True).stdout)
        for s in first["steps"]
        if s["name"].startswith("train[")
    ]
    best = min(trains, key=lambda r: r["outputs"]["rmse"])
    assert evaluate["outputs"]["best_alpha"] == best["outputs"]["alpha"]
    assert evaluate["outputs"]["best_rmse"] == best["outputs"]["rmse"]
    assert Path(evaluate["outputs"]["model"]).is_file()
    second = run_json(project, "-e", "pipeline", "-j", "2")
    assert set(statuses(second).values()) == {"cached"}
    assert [s["run_id"] for s in second["steps"]] == [s["run_id"] for s in first["steps"]]
    # The project directory was not written to by any step (else the cache could not hit).
    assert not (project / "local-run").exists()


@pytest.mark.slow  # runs the example pipeline twice (~1 s)
def test_readme_workflow_command_runs_and_its_second_run_is_cached() -> None:
    proc = bash(readme_block("quickstart-workflow"), cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    second = proc.stderr[proc.stderr.rindex("running workflow") :]
    table = [
        line
        for line in second.splitlines()
        if line.startswith(("download", "prepare", "train[", "evaluate"))
    ]
    assert len(table) == 6 and all(line.split()[1] == "cached" for line in table), second
