"""Fetch the raw table (any URL urllib can open; a local path means file://)."""

import argparse
import os
import pathlib
import urllib.request

from steputil import artifact_path, log_metric, write_outputs

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
args = parser.parse_args()

url = args.url if "://" in args.url else pathlib.Path(os.path.abspath(args.url)).as_uri()
target = artifact_path("raw.csv")
with urllib.request.urlopen(url) as response, open(target, "wb") as out:
    out.write(response.read())
with open(target) as fh:
    rows = sum(1 for _ in fh) - 1
print(f"downloaded {rows} rows from {url}")
log_metric("rows", rows)
write_outputs({"path": target, "rows": rows})
