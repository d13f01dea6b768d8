from __future__ import annotations

import json

from mlrun.spec.loader import load_project
from mlrun.spec.summary import project_summary
from tests.spec.conftest import MakeProject


def test_summary_shape(make_project: MakeProject) -> None:
    root = make_project(
        """
        name: demo
        python_env: env/python_env.yaml
        entry_points:
          main:
            parameters:
              alpha: {type: str, default: 0.5}
              n: {type: int, default: None}
              req: path
            command: python train.py {alpha} {n} {req}
          other:
            commnd: typo
            command: echo hi
        """,
        {"env/python_env.yaml": ""},
    )
    summary = project_summary(load_project(root))
    file = root / "MLproject"
    assert summary == {
        "name": "demo",
        "env": {"kind": "python_env", "file": "env/python_env.yaml"},
        "entry_points": {
            "main": {
                "command": "python train.py {alpha} {n} {req}",
                "parameters": {
                    "alpha": {"type": "str", "default": "0.5"},
                    "n": {"type": "int", "default": "None"},
                    "req": {"type": "path", "default": None},
                },
            },
            "other": {"command": "echo hi", "parameters": {}},
        },
        "warnings": [
            (
                f"{file}:11: unknown key 'commnd' in entry point 'other' "
                "(did you mean `command`?); it is ignored, as MLflow does"
            ),
            (
                f"{file}:7: default 'None' of parameter 'n' (int): it is not an int; "
                "it is passed unchanged, as MLflow does"
            ),
        ],
    }
    json.dumps(summary)


def test_summary_local_project(make_project: MakeProject) -> None:
    summary = project_summary(load_project(make_project(None)))
    assert summary == {
        "name": None,
        "env": {"kind": "local", "file": None},
        "entry_points": {},
        "warnings": [],
    }


def test_summary_docker_never_shows_env_values(make_project: MakeProject) -> None:
    root = make_project(
        """
        docker_env:
          image: img:1
          volumes: ["/data:/data"]
          environment: [HOME, [API_TOKEN, s3cr3t-value]]
        entry_points: {main: {command: run}}
        """
    )
    summary = project_summary(load_project(root))
    assert summary["env"] == {"kind": "docker_env", "file": None}
    assert summary["docker"] == {
        "image": "img:1",
        "dockerfile": None,
        "context": None,
        "volumes": ["/data:/data"],
        "environment": ["HOME", "API_TOKEN"],
    }
    assert "s3cr3t-value" not in json.dumps(summary)
