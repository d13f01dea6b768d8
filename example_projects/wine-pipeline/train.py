"""Elastic-net regression by coordinate descent; reports the test RMSE."""

import argparse
import csv
import json
import math

from steputil import artifact_path, log_metric, write_outputs


def load(path):
    with open(path, newline="") as fh:
        rows = [[float(v) for v in row] for row in list(csv.reader(fh))[1:]]
    return [r[:-1] for r in rows], [r[-1] for r in rows]


def predict(w, b, x):
    return b + sum(wi * xi for wi, xi in zip(w, x))


def rmse(xs, ys, w, b):
    return math.sqrt(sum((y - predict(w, b, x)) ** 2 for x, y in zip(xs, ys)) / len(ys))


def fit(xs, ys, alpha, l1_ratio, iterations, on_iteration=None):
    n, p = len(xs), len(xs[0])
    w, b = [0.0] * p, sum(ys) / n
    resid = [y - b for y in ys]
    norms = [sum(x[j] ** 2 for x in xs) / n for j in range(p)]
    if on_iteration is not None:
        on_iteration(0, resid)
    for iteration in range(1, iterations + 1):
        for j in range(p):
            rho = sum(x[j] * (r + w[j] * x[j]) for x, r in zip(xs, resid)) / n
            l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
            new = math.copysign(max(abs(rho) - l1, 0.0), rho) / (norms[j] + l2)
            if new != w[j]:
                resid = [r - (new - w[j]) * x[j] for x, r in zip(xs, resid)]
                w[j] = new
        if on_iteration is not None:
            on_iteration(iteration, resid)
    return w, b


parser = argparse.ArgumentParser()
parser.add_argument("--train", required=True)
parser.add_argument("--test", required=True)
parser.add_argument("--alpha", type=float, required=True)
parser.add_argument("--l1-ratio", type=float, default=0.5)
parser.add_argument("--iterations", type=int, default=60)
args = parser.parse_args()


def training_curve(iteration, resid):
    """The training RMSE before the first pass (step 0) and after each one: `mlrun
    report` draws it over steps."""
    log_metric("train_rmse", math.sqrt(sum(r * r for r in resid) / len(resid)), iteration)


w, b = fit(*load(args.train), args.alpha, args.l1_ratio, args.iterations, training_curve)
test_rmse = rmse(*load(args.test), w, b)
print(f"alpha={args.alpha} l1_ratio={args.l1_ratio}: test RMSE {test_rmse:.4f}")
model = artifact_path("model.json")
with open(model, "w") as fh:
    json.dump({"weights": w, "intercept": b}, fh)
log_metric("test_rmse", test_rmse)
write_outputs({"rmse": test_rmse, "alpha": args.alpha, "l1_ratio": args.l1_ratio, "model": model})
