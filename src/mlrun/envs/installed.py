"""What is installed in an env, read from its metadata files (no subprocess, no imports)."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path


def python_packages(prefix: Path) -> list[str]:
    """`name==version` for every distribution in the env's site-packages, sorted."""
    found: set[str] = set()
    pattern = os.path.join(
        glob.escape(str(prefix)), "lib", "python*", "site-packages", "*.dist-info", "METADATA"
    )
    for metadata in glob.glob(pattern):
        name = version = None
        try:
            with open(metadata, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if not line.strip():
                        break  # end of the headers
                    key, _, value = line.partition(":")
                    if key == "Name":
                        name = value.strip()
                    elif key == "Version":
                        version = value.strip()
        except OSError:
            continue
        if name and version:
            found.add(f"{name}=={version}")
    return sorted(found, key=str.lower)


def conda_packages(prefix: Path) -> list[str]:
    """`name=version=build` for every conda package in the prefix, sorted."""
    found = []
    for record in glob.glob(os.path.join(glob.escape(str(prefix)), "conda-meta", "*.json")):
        try:
            with open(record) as fh:
                data = json.load(fh)
            found.append(f"{data['name']}={data['version']}={data['build']}")
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found)
