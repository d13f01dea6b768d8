"""MLflow's file-store layout, read and written without mlflow: the flat meta.yaml
reader agrees with PyYAML on what clients write, metric lines of every client version
parse, and keys cannot leave their directory."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from mlrun.tracking.mlflow import filestore as fs

# meta.yaml files as MLflow 3.17 and 2.22 write them (copied from real stores).
META_3 = """\
artifact_location: file:///tmp/store/0
creation_time: 1796120625300
effective_trace_archival_retention: null
experiment_id: '0'
last_update_time: 1796120625300
lifecycle_stage: active
name: Default
trace_location: null
workspace: default
"""
META_2 = """\
artifact_uri: file:///tmp/store/0/ace5b61610d7441f84e9139555b8f0a0/artifacts
end_time: 1796120666858
entry_point_name: ''
experiment_id: '0'
lifecycle_stage: active
run_id: ace5b61610d7441f84e9139555b8f0a0
run_name: dazzling-fox-963
run_uuid: ace5b61610d7441f84e9139555b8f0a0
source_name: ''
source_type: 4
source_version: ''
start_time: 1796120650625
status: 3
tags: []
user_id: root
"""
ODD = """\
name: "it's \\"quoted\\": yes"
run_name: 'it''s'
plain: a b (c)
nested:
  key: value
"""
BROKEN = "name: it's: not: yaml\n"


@pytest.mark.parametrize("text", [META_3, META_2, ODD])
def test_meta_yaml_reads_as_pyyaml_reads_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "meta.yaml"
    path.write_text(text)
    assert fs.read_meta(path) == yaml.safe_load(text)


def test_written_run_reads_back_as_yaml(tmp_path: Path) -> None:
    meta = fs.RunMeta(
        experiment_id="0",
        run_id="a" * 32,
        run_name='run "x" \u00e9',
        artifact_uri="file:///x%20y",
        start_ms=5,
        user="me",
        source_name="/src",
        entry_point="main",
    )
    run_dir = fs.write_run(tmp_path, meta, {"alpha": "0.5", "a/b": "c"}, {"mlflow.user": "me"})
    data = yaml.safe_load((run_dir / "meta.yaml").read_text())
    assert data["run_id"] == data["run_uuid"] == "a" * 32
    assert data["run_name"] == 'run "x" \u00e9' and data["status"] == 1 and data["tags"] == []
    assert fs.read_meta(run_dir / "meta.yaml") == data
    assert fs.read_values(run_dir / "params") == {"alpha": "0.5", "a/b": "c"}
    assert all((run_dir / sub).is_dir() for sub in ("metrics", "params", "artifacts", "tags"))
    # Ending the run keeps the rest, and puts back run_uuid if a 3.x client dropped it.
    text = (run_dir / "meta.yaml").read_text().replace(f'run_uuid: "{"a" * 32}"\n', "")
    (run_dir / "meta.yaml").write_text(text)
    fs.set_status(run_dir, "KILLED", 99)
    data2 = yaml.safe_load((run_dir / "meta.yaml").read_text())
    assert (data2["status"], data2["end_time"], data2["run_uuid"]) == (5, 99, "a" * 32)
    assert data2["run_name"] == data["run_name"]


def test_metric_lines_of_every_client_version(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    (metrics / "val").mkdir(parents=True)
    (metrics / "loss").write_text(
        "1000 1.5 0\n"
        "2000 0.5 1\n"
        "2000 0.5 1\n"  # logged twice: one value, as in MLflow's SQL store
        "3000 nan 2\n"
        "4000 inf 3 m-123 dataset digest\n"  # newer clients append fields
        "garbage\n"
        "\n"
    )
    (metrics / "val" / "acc").write_text("5000 0.9 7\n")
    (metrics / "old").write_text("6000 2.0\n")  # MLflow 0.x: no step
    warnings: list[str] = []
    got = sorted(fs.read_metrics(metrics, warnings), key=lambda m: (m.key, m.timestamp))
    assert [(m.key, m.step, m.timestamp) for m in got] == [
        ("loss", 0, 1.0), ("loss", 1, 2.0), ("loss", 2, 3.0), ("loss", 3, 4.0),
        ("old", 0, 6.0), ("val/acc", 7, 5.0),
    ]  # fmt: skip
    assert math.isnan(got[2].value) and math.isinf(got[3].value)
    assert len(warnings) == 1 and "loss:6" in warnings[0]


@pytest.mark.parametrize("key", ["alpha", "a/b", "loss:val", "with space", "x.y-z"])
def test_keys_mlflow_accepts(key: str) -> None:
    assert fs.valid_key(key)


@pytest.mark.parametrize("key", ["", "../up", "/abs", "a/../b", "a//b", "semi;colon", "a/"])
def test_keys_that_would_leave_their_directory_or_mlflow_refuses(key: str) -> None:
    assert not fs.valid_key(key)


def test_a_broken_meta_yaml_reads_as_nothing(tmp_path: Path) -> None:
    path = tmp_path / "meta.yaml"
    path.write_text(BROKEN)
    assert fs.read_meta(path) == {}
    assert fs.read_meta(tmp_path / "missing.yaml") == {}
