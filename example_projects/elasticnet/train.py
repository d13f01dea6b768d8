"""Elastic-net linear regression on a small wine-quality table, standard library only.

Metrics and results go to $MLRUN_RUN_DIR using mlrun's file protocol (metrics.jsonl,
params.json, outputs.json, artifacts/), so this works in any environment, with or
without mlrun importable."""

import argparse
import csv
import json
import math
import os
import random


def record_metric(key, value, step=0):
    run_dir = os.environ.get("MLRUN_RUN_DIR")
    if run_dir:
        with open(os.path.join(run_dir, "metrics.jsonl"), "a") as fh:
            fh.write(json.dumps({"key": key, "value": value, "step": step}) + "\n")


def record_json(name, data):
    run_dir = os.environ.get("MLRUN_RUN_DIR")
    if run_dir:
        with open(os.path.join(run_dir, name), "w") as fh:
            json.dump(data, fh, indent=1)


def load(path):
    with open(path, newline="") as fh:
        rows = [[float(v) for v in row] for row in list(csv.reader(fh))[1:]]
    xs = [r[:-1] for r in rows]
    ys = [r[-1] for r in rows]
    return xs, ys


def standardise(xs):
    cols = list(zip(*xs))
    means = [sum(c) / len(c) for c in cols]
    stds = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) or 1.0 for c, m in zip(cols, means)]
    return [[(v - m) / s for v, m, s in zip(row, means, stds)] for row in xs]


def fit(xs, ys, alpha, l1_ratio, iterations):
    """Coordinate descent for elastic net (as in scikit-learn's objective)."""
    n, p = len(xs), len(xs[0])
    w = [0.0] * p
    b = sum(ys) / n
    for it in range(iterations):
        for j in range(p):
            resid = [y - b - sum(w[k] * x[k] for k in range(p) if k != j) for x, y in zip(xs, ys)]
            rho = sum(x[j] * r for x, r in zip(xs, resid)) / n
            norm = sum(x[j] ** 2 for x in xs) / n
            l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
            w[j] = math.copysign(max(abs(rho) - l1, 0.0), rho) / (norm + l2)
        if it % 20 == 0:
            record_metric("train_rmse", rmse(xs, ys, w, b), step=it)
    return w, b


def rmse(xs, ys, w, b):
    err = [(y - b - sum(wi * xi for wi, xi in zip(w, x))) ** 2 for x, y in zip(xs, ys)]
    return math.sqrt(sum(err) / len(err))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--l1-ratio", type=float, default=0.1)
    parser.add_argument("--data", default="data/wine-quality.csv")
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()

    xs, ys = load(args.data)
    xs = standardise(xs)
    rnd = random.Random(42)
    order = list(range(len(xs)))
    rnd.shuffle(order)
    cut = int(len(order) * 0.75)
    train, test = order[:cut], order[cut:]
    w, b = fit(
        [xs[i] for i in train], [ys[i] for i in train], args.alpha, args.l1_ratio, args.iterations
    )
    test_rmse = rmse([xs[i] for i in test], [ys[i] for i in test], w, b)
    print(f"Elasticnet model (alpha={args.alpha:f}, l1_ratio={args.l1_ratio:f}):")
    print(f"  test RMSE: {test_rmse:.4f}")
    record_metric("test_rmse", test_rmse)
    record_json("outputs.json", {"test_rmse": test_rmse, "weights": w, "intercept": b})
    run_dir = os.environ.get("MLRUN_RUN_DIR")
    if run_dir:
        os.makedirs(os.path.join(run_dir, "artifacts"), exist_ok=True)
        record_json(os.path.join("artifacts", "model.json"), {"weights": w, "intercept": b})


if __name__ == "__main__":
    main()
