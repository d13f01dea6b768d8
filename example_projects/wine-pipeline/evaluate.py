"""Pick the best of the trained models (lowest test RMSE) and keep a report."""

import argparse
import json
import shutil

from steputil import artifact_path, log_metric, write_outputs

parser = argparse.ArgumentParser()
parser.add_argument("--candidates", required=True, help="JSON list of train outputs")
args = parser.parse_args()

candidates = json.loads(args.candidates)
best = min(candidates, key=lambda c: c["rmse"])
for c in sorted(candidates, key=lambda c: c["rmse"]):
    mark = "*" if c is best else " "
    print(f"{mark} alpha={c['alpha']:<6} test RMSE {c['rmse']:.4f}")
shutil.copyfile(best["model"], artifact_path("best-model.json"))
with open(artifact_path("report.json"), "w") as fh:
    json.dump({"best": best, "candidates": candidates}, fh, indent=1)
log_metric("best_rmse", best["rmse"])
write_outputs(
    {
        "best_alpha": best["alpha"],
        "best_rmse": best["rmse"],
        "model": artifact_path("best-model.json"),
    }
)
