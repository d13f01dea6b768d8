"""Split the raw table into standardised train and test sets (test uses train's scaling)."""

import argparse
import csv
import math
import random

from steputil import artifact_path, write_outputs

parser = argparse.ArgumentParser()
parser.add_argument("--raw", required=True)
parser.add_argument("--test-fraction", type=float, default=0.25)
parser.add_argument("--seed", type=int, default=42)
args = parser.parse_args()

with open(args.raw, newline="") as fh:
    header, *rows = list(csv.reader(fh))
rows = [[float(v) for v in row] for row in rows]
random.Random(args.seed).shuffle(rows)
cut = int(len(rows) * (1 - args.test_fraction))
train, test = rows[:cut], rows[cut:]

features = len(header) - 1
means = [sum(r[j] for r in train) / len(train) for j in range(features)]
stds = [
    math.sqrt(sum((r[j] - means[j]) ** 2 for r in train) / len(train)) or 1.0
    for j in range(features)
]


def scaled(table):
    return [[(r[j] - means[j]) / stds[j] for j in range(features)] + [r[-1]] for r in table]


paths = {}
for name, table in (("train", train), ("test", test)):
    paths[name] = artifact_path(f"{name}.csv")
    with open(paths[name], "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(scaled(table))
print(f"train: {len(train)} rows, test: {len(test)} rows")
write_outputs({**paths, "train_rows": len(train), "test_rows": len(test)})
