"""Writing results where mlrun reads them ($MLRUN_RUN_DIR), without importing mlrun."""

import json
import os


def run_dir():
    return os.environ.get("MLRUN_RUN_DIR") or os.path.abspath("local-run")


def artifact_path(name):
    path = os.path.join(run_dir(), "artifacts", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def write_outputs(values):
    """outputs.json: what the following steps of the workflow read."""
    os.makedirs(run_dir(), exist_ok=True)
    with open(os.path.join(run_dir(), "outputs.json"), "w") as fh:
        json.dump(values, fh, indent=1)


def log_metric(key, value, step=0):
    with open(os.path.join(run_dir(), "metrics.jsonl"), "a") as fh:
        fh.write(json.dumps({"key": key, "value": value, "step": step}) + "\n")
