"""Regenerate the example datasets deterministically (bundled scikit-learn data plus one synthetic table).

Run: python examples/generate.py   (the CSV files are committed; this documents how they were made)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

HERE = Path(__file__).parent


def iris() -> pd.DataFrame:
    bunch = datasets.load_iris(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = [bunch.target_names[i] for i in bunch.target]
    return frame.drop(columns=["target"])


def breast_cancer() -> pd.DataFrame:
    bunch = datasets.load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" ", "_"))
    frame["diagnosis"] = np.where(bunch.target == 1, "benign", "malignant")
    return frame.drop(columns=["target"])


def diabetes() -> pd.DataFrame:
    bunch = datasets.load_diabetes(as_frame=True, scaled=False)
    return bunch.frame.rename(columns={"target": "progression"})


def churn(rows: int = 1500, seed: int = 7) -> pd.DataFrame:
    """A customer table with categorical columns and missing values; churn depends on a few of them."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "standard", "premium"], rows, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west"], rows)
    tenure = rng.integers(1, 72, rows).astype(float)
    monthly = np.round(rng.normal(50, 15, rows) + np.select([plan == "premium", plan == "standard"], [40, 15], 0), 2)
    tickets = rng.poisson(1.5, rows).astype(float)
    logit = 0.2 + 0.9 * tickets - 0.07 * tenure + 0.04 * (monthly - 60) + np.where(plan == "basic", 1.2, 0)
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "plan": plan,
            "region": region,
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "support_tickets": tickets,
            "churned": np.where(churned, "yes", "no"),
        }
    )
    for column, share in (("region", 0.08), ("tenure_months", 0.05), ("monthly_charges", 0.03)):
        mask = rng.random(rows) < share
        frame[column] = frame[column].astype(object).where(~mask, None)
    return frame


def main() -> None:
    for name, frame in {
        "iris": iris(),
        "breast-cancer": breast_cancer(),
        "diabetes": diabetes(),
        "churn": churn(),
    }.items():
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        frame.to_csv(folder / f"{name}.csv", index=False)
        print(f"{folder / (name + '.csv')}: {len(frame)} rows")


if __name__ == "__main__":
    main()
