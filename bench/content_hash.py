"""Benchmark: the content hash of a plain (non-git) project directory, which every run of
such a directory computes. Compares a repeat run (stat cache warm) with hashing every file
again (the baseline: no cache), for a few project sizes.

    python bench/content_hash.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from mlrun.sources import contenthash
from mlrun.util.sha import file_sha256


def make_tree(root: Path, files: int, size: int) -> None:
    past = time.time() - 3600  # outside the racy window, as files of a real project are
    for i in range(files):
        path = root / f"pkg{i % 20}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        os.utime(path, (past, past))


def median_ms(fn: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mlrun-bench-hash-"))
    os.environ["MLRUN_HOME"] = str(tmp / "home")
    print(f"{'project':>22} {'no cache':>10} {'first run':>10} {'repeat':>8} {'speed-up':>9}")
    for files, size in ((50, 4096), (1000, 8192), (5000, 16384)):
        root = tmp / f"p{files}"
        make_tree(root, files, size)
        first_start = time.perf_counter()
        contenthash.tree_hash(root)  # writes the stat cache
        first = (time.perf_counter() - first_start) * 1000
        warm = median_ms(lambda r=root: contenthash.tree_hash(r), args.runs)

        def uncached(r: Path = root) -> None:
            for rel, _st in contenthash.walk(r):
                file_sha256(r / rel)

        cold = median_ms(uncached, args.runs)
        label = f"{files} files x {size // 1024} KiB"
        print(f"{label:>22} {cold:9.1f}ms {first:9.1f}ms {warm:7.1f}ms {cold / warm:8.1f}x")


if __name__ == "__main__":
    main()
