"""Elastic-net regression of wine quality, tracked with the MLflow client as in MLflow's
own tutorial: parameters, metrics, a plot-free residuals file, and the fitted model in
MLflow's sklearn format. Nothing here knows about mlrun."""

import argparse
import os
import tempfile

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--l1-ratio", type=float, default=0.1)
    parser.add_argument("--data", default="data/wine-quality.csv")
    args = parser.parse_args()

    table = pd.read_csv(args.data)
    train, test = train_test_split(table, test_size=0.25, random_state=42)
    train_x, test_x = train.drop(columns=["quality"]), test.drop(columns=["quality"])
    train_y, test_y = train["quality"], test["quality"]

    with mlflow.start_run():
        mlflow.log_param("alpha", args.alpha)
        mlflow.log_param("l1_ratio", args.l1_ratio)
        mlflow.set_tag("model_family", "linear")

        model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
        model.fit(train_x, train_y)
        predicted = model.predict(test_x)
        rmse = float(np.sqrt(mean_squared_error(test_y, predicted)))
        mae = float(mean_absolute_error(test_y, predicted))
        r2 = float(r2_score(test_y, predicted))
        print(f"Elasticnet model (alpha={args.alpha:f}, l1_ratio={args.l1_ratio:f}):")
        print(f"  RMSE: {rmse:.4f}  MAE: {mae:.4f}  R2: {r2:.4f}")
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # A learning curve: the test RMSE as the training set grows (metric history).
        for step, size in enumerate(range(50, len(train_x) + 1, 50)):
            partial = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
            partial.fit(train_x[:size], train_y[:size])
            curve = float(np.sqrt(mean_squared_error(test_y, partial.predict(test_x))))
            mlflow.log_metric("rmse_by_train_size", curve, step=step)

        residuals = os.path.join(tempfile.mkdtemp(), "residuals.csv")
        pd.DataFrame({"actual": test_y, "predicted": predicted}).to_csv(residuals, index=False)
        mlflow.log_artifact(residuals)

        mlflow.sklearn.log_model(model, name="model", input_example=train_x.head(3))


if __name__ == "__main__":
    main()
