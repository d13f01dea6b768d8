"""The outputs protocol: files written by the step helper are read back by mlrun."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from mlrun.execution.outputs import collect

SRC = Path(__file__).resolve().parents[2] / "src" / "mlrun" / "steplog.py"


def test_helper_copied_alone_writes_what_collect_reads(tmp_path: Path) -> None:
    """The helper works as a single vendored file, without mlrun importable."""
    vendored = tmp_path / "vendor"
    vendored.mkdir()
    (vendored / "steplog.py").write_text(SRC.read_text())
    (tmp_path / "model.bin").write_bytes(b"weights")
    run_dir = tmp_path / "run"
    code = (
        "import steplog as m\n"
        "m.log_metric('rmse', 0.5, step=1)\n"
        "m.log_metric('rmse', 0.25, step=2)\n"
        "m.log_metric('bad', float('nan'))\n"
        "m.log_params({'alpha': 0.1})\n"
        "m.set_tag('stage', 'train')\n"
        "m.log_output('best', {'alpha': 0.1, 'paths': ['a', 'b']})\n"
        "m.log_artifact('model.bin', 'models')\n"
    )
    env = {"PATH": os.environ["PATH"], "MLRUN_RUN_DIR": str(run_dir), "PYTHONPATH": str(vendored)}
    prelude = f"import sys; sys.path.insert(0, {str(vendored)!r})\n"
    subprocess.run([sys.executable, "-I", "-c", prelude + code], cwd=tmp_path, env=env, check=True)
    got = collect(run_dir)
    assert got.warnings == []
    assert [(m.key, m.value, m.step) for m in got.metrics[:2]] == [
        ("rmse", 0.5, 1),
        ("rmse", 0.25, 2),
    ]
    assert math.isnan(got.metrics[2].value)
    assert got.params == {"alpha": "0.1"}
    assert got.tags == {"stage": "train"}
    assert got.outputs == {"best": {"alpha": 0.1, "paths": ["a", "b"]}}
    assert [(a.path, a.size) for a in got.artifacts] == [("models/model.bin", 7)]


def test_any_language_can_write_the_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    script = (
        'echo \'{"key": "acc", "value": 0.9, "step": 3}\' >> "$MLRUN_RUN_DIR/metrics.jsonl"\n'
        'echo \'{"model": "m.pkl"}\' > "$MLRUN_RUN_DIR/outputs.json"\n'
    )
    run_dir.mkdir()
    subprocess.run(["bash", "-c", script], env={"MLRUN_RUN_DIR": str(run_dir)}, check=True)
    got = collect(run_dir)
    assert [(m.key, m.value, m.step) for m in got.metrics] == [("acc", 0.9, 3)]
    assert got.outputs == {"model": "m.pkl"}


def test_malformed_files_become_warnings_not_failures(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text('{"key": "a", "value": 1}\nnot json\n{"key": "b"}\n')
    (tmp_path / "params.json").write_text("[1, 2]")
    (tmp_path / "outputs.json").write_text("{broken")
    got = collect(tmp_path)
    assert [m.key for m in got.metrics] == ["a"]
    assert got.params == {} and got.outputs == {}
    assert len(got.warnings) == 4
    assert any("metrics.jsonl:2" in w for w in got.warnings)
    assert any("metrics.jsonl:3" in w for w in got.warnings)


def test_helper_outside_mlrun_is_a_noop_with_one_warning(tmp_path: Path) -> None:
    code = "import mlrun; mlrun.log_metric('a', 1); mlrun.log_param('b', 2); print('ok')"
    env = {k: v for k, v in os.environ.items() if k != "MLRUN_RUN_DIR"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout == "ok\n"
    assert proc.stderr.count("MLRUN_RUN_DIR is not set") == 1
    assert list(tmp_path.iterdir()) == []


def test_concurrent_param_merges_lose_nothing(tmp_path: Path) -> None:
    code = "import sys, mlrun\nfor i in range(50): mlrun.log_param(f'{sys.argv[1]}_{i}', i)\n"
    env = dict(os.environ, MLRUN_RUN_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", code, f"w{n}"], env=env) for n in range(4)]
    assert all(p.wait() == 0 for p in procs)
    params = json.loads((tmp_path / "params.json").read_text())
    assert len(params) == 200
