"""Benchmark: `mlrun package` of a 5,000-file project and `mlrun run` of the bundle (warm:
extracted by an earlier run), against `tar czf` of the same tree in the same run (the
baseline: what packing those files costs at least), and `mlrun run` of the directory.

    python bench/package.py [--files 5000] [--runs 5]

Every case is a fresh process, timed interleaved with the others (bench/_common.py).
The project declares no environment, so the figures are mlrun's own work: walking and
hashing the files, writing the manifest and the gzip (package); verifying the bundle's
digest, checking the extraction is as it was left and recording the run (run).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved, median_ms, mlrun_exe, report

MLPROJECT = """\
name: many-files
entry_points:
  main:
    command: "python -c 'import sys; sys.exit(0)'"
"""


def make_project(root: Path, files: int) -> None:
    """`files` source-like files (1-8 KiB of words, so gzip has something to do) in 50
    packages, plus the MLproject."""
    rng = random.Random(5000)
    words = [f"name{i}" for i in range(400)] + ["def", "return", "import", "self", "(", ")"]
    for i in range(files - 1):
        path = root / f"pkg{i % 50}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1024, 8192)
        text = " ".join(rng.choice(words) for _ in range(size // 6))
        path.write_text(text[:size] + "\n")
    (root / "MLproject").write_text(MLPROJECT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mlrun-bench-package-"))
    try:
        env = dict(os.environ, MLRUN_HOME=str(tmp / "home"))
        project = tmp / "project"
        make_project(project, args.files)
        bundle = tmp / "bundle.tar.gz"
        mlrun = mlrun_exe()
        cases = {
            "tar czf (baseline)": ["tar", "czf", str(tmp / "tar.tar.gz"), "-C", str(project), "."],
            "mlrun package": [*mlrun, "package", str(project), "-o", str(bundle), "-q"],
        }
        samples = interleaved(cases, args.runs, env=env)
        runs = {
            "mlrun run DIR (warm)": [*mlrun, "run", str(project), "-q"],
            "mlrun run BUNDLE (warm)": [*mlrun, "run", str(bundle), "-q"],
        }
        samples.update(interleaved(runs, args.runs, env=env))
        report(samples)
        tar_ms = median_ms(samples["tar czf (baseline)"])
        package_ms = median_ms(samples["mlrun package"])
        dir_ms = median_ms(samples["mlrun run DIR (warm)"])
        bundle_ms = median_ms(samples["mlrun run BUNDLE (warm)"])
        print(
            f"\n{args.files} files, {sum(p.stat().st_size for p in project.rglob('*')) >> 20} MiB;"
            f" tar.gz {(tmp / 'tar.tar.gz').stat().st_size >> 10} KiB,"
            f" bundle {bundle.stat().st_size >> 10} KiB"
        )
        print(f"mlrun package / tar czf:            {package_ms / tar_ms:.2f}x")
        print(f"mlrun run BUNDLE (warm) / tar czf:  {bundle_ms / tar_ms:.2f}x")
        print(f"mlrun run BUNDLE / mlrun run DIR:   {bundle_ms / dir_ms:.2f}x (both warm)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
