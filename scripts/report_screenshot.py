"""Regenerate docs/report.png, the README's picture of `mlrun report`.

Runs the wine-pipeline example workflow with mlrun (in a temporary MLRUN_HOME), writes
its report, opens it in headless Chromium and saves the top of the page (workflow graph,
comparison table, the first charts) as a PNG.

    python scripts/report_screenshot.py [--output docs/report.png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.chromium import ChromiumPage  # noqa: E402
from tests.services import chromium_executable  # noqa: E402

WIDTH, HEIGHT = 1280, 1720
MAX_BYTES = 300_000


def mlrun(*args: str, env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mlrun", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"mlrun {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "report.png")
    args = parser.parse_args()
    browser = chromium_executable()
    if browser is None:
        raise SystemExit("no Chromium here (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="mlrun-shot-") as tmp:
        root = Path(tmp)
        project = root / "wine-pipeline"
        shutil.copytree(REPO / "example_projects" / "wine-pipeline", project)
        env = dict(os.environ, MLRUN_HOME=str(root / "home"))
        env.pop("MLRUN_TRACKING_URI", None)
        ran = json.loads(
            mlrun("run", str(project), "-e", "pipeline", "-j", "2", "--json", env=env, cwd=root)
        )
        page_path = root / "report.html"
        print(mlrun("report", ran["run_id"], "-o", str(page_path), env=env, cwd=root).strip())
        with ChromiumPage(browser, root / "profile", WIDTH, HEIGHT) as page:
            page.open(page_path.as_uri())
            if page.wait_for("document.body.dataset.charts", timeout=60) != "drawn":
                raise SystemExit("the report's charts were not drawn")
            page.screenshot(args.output)
    size = args.output.stat().st_size
    print(f"{args.output}: {size / 1000:.0f} KB")
    return 0 if size < MAX_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
